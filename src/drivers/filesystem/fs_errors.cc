#include "drivers/filesystem/fs_errors.h"

#include <cerrno>
#include <cstring>

namespace glance_store::filesystem {

Error write_error(int err, std::string_view what) {
  switch (err) {
    case ENOSPC:
    case EFBIG:
    case EDQUOT:
      return {ErrorKind::kStorageFull, "", err};
    case EACCES:
    case EPERM:
    case EROFS:
      return {ErrorKind::kStorageWriteDenied, "", err};
    default:
      return {ErrorKind::kBackendException, std::string(what) + ": " + std::strerror(err), err};
  }
}

Error open_error(int err, const std::string& shown) {
  if (err == ENOENT) return not_found_error(shown);
  if (err == EACCES || err == EPERM || err == ELOOP) {
    return {ErrorKind::kForbidden, "You cannot read file " + shown, err};
  }
  return {ErrorKind::kBackendException, "cannot open " + shown + ": " + std::strerror(err), err};
}

Error delete_error(int err, const std::string& shown) {
  if (err == ENOENT) return not_found_error(shown);
  return {ErrorKind::kForbidden, "You cannot delete file " + shown, err};
}

Error read_error(int err) {
  return {ErrorKind::kBackendException, std::string("cannot read the image: ") + std::strerror(err),
          err};
}

}  // namespace glance_store::filesystem
