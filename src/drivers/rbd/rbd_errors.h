// The one place where librados' and librbd's errno values become error kinds (internal).
#pragma once

#include <string_view>

#include "glance_store/error.h"

namespace glance_store::rbd {

/// The error for a failed librados/librbd call (`result` < 0, a negative errno) while doing
/// `what` (e.g. "creating RBD image x"): ENOENT NotFound, EEXIST Duplicate, ENOSPC and EDQUOT
/// StorageFull, EBUSY InUseByStore, ENOTEMPTY HasSnapshot, EACCES and EPERM Forbidden,
/// ETIMEDOUT RemoteServiceUnavailable, the rest BackendException.
Error rbd_error(int result, std::string_view what);

/// The error for a failed connection to the cluster: a configuration the cluster refuses
/// (no such file, key or user) is BadStoreConfiguration; a cluster that does not answer
/// within the timeout, RemoteServiceUnavailable.
Error connect_error(int result, std::string_view what);

/// Throws rbd_error(result, what) when result < 0; returns result otherwise.
inline int check(int result, std::string_view what) {
  if (result < 0) throw rbd_error(result, what);
  return result;
}

}  // namespace glance_store::rbd
