#include "drivers/rbd/rbd_errors.h"

#include <cerrno>
#include <cstring>
#include <string>

namespace glance_store::rbd {
namespace {

std::string describe(int result, std::string_view what) {
  return std::string(what) + ": " + std::strerror(-result);
}

}  // namespace

Error rbd_error(int result, std::string_view what) {
  const int err = -result;
  const auto kind = [err] {
    switch (err) {
      case ENOENT:
        return ErrorKind::kNotFound;
      case EEXIST:
        return ErrorKind::kDuplicate;
      case ENOSPC:
      case EDQUOT:
        return ErrorKind::kStorageFull;
      case EBUSY:
        return ErrorKind::kInUseByStore;
      case ENOTEMPTY:
        return ErrorKind::kHasSnapshot;
      case EACCES:
      case EPERM:
        return ErrorKind::kForbidden;
      case ETIMEDOUT:
        return ErrorKind::kRemoteServiceUnavailable;
      default:
        return ErrorKind::kBackendException;
    }
  }();
  return {kind, describe(result, what), err};
}

Error connect_error(int result, std::string_view what) {
  const int err = -result;
  const bool refused = err == ENOENT || err == EACCES || err == EPERM || err == EINVAL;
  if (refused) return bad_store_configuration_error("rbd", describe(result, what));
  return {ErrorKind::kRemoteServiceUnavailable, describe(result, what), err};
}

}  // namespace glance_store::rbd
