// The one place where the filesystem store's errno values become error kinds (internal).
#pragma once

#include <string>
#include <string_view>

#include "glance_store/error.h"

namespace glance_store::filesystem {

/// A failed write's errno: ENOSPC/EFBIG/EDQUOT → StorageFull, EACCES/EPERM/EROFS →
/// StorageWriteDenied, anything else → BackendException naming the operation.
Error write_error(int err, std::string_view what);

/// A failed open of image `shown` for reading: ENOENT → NotFound, EACCES/EPERM/ELOOP (a
/// symbolic link) → Forbidden, anything else → BackendException.
Error open_error(int err, const std::string& shown);

/// A failed unlink of image `shown`: ENOENT → NotFound, anything else → Forbidden.
Error delete_error(int err, const std::string& shown);

/// A failed read of an open image: BackendException.
Error read_error(int err);

}  // namespace glance_store::filesystem
