#include "glance_store/error.h"

#include <array>

namespace glance_store {
namespace {

struct KindInfo {
  std::string_view name;
  std::string_view message;
};

// Indexed by ErrorKind's value; the texts are glance_store's templates (ChecksumMismatch is ours).
constexpr std::array<KindInfo, 28> kKinds = {{
    {"NotFound", "Image %(image)s not found"},
    {"Duplicate", "Image %(image)s already exists"},
    {"Invalid", "Data supplied was not valid."},
    {"BadStoreUri", "The Store URI was malformed: %(uri)s"},
    {"UnknownScheme", "Unknown scheme '%(scheme)s' found in URI"},
    {"UnknownHashingAlgo", "Unknown hashing algorithm identifier: %(algo)s"},
    {"BadStoreConfiguration",
     "Store %(store_name)s could not be configured correctly. Reason: %(reason)s"},
    {"StorageFull", "There is not enough disk space on the image storage media."},
    {"StorageWriteDenied", "Permission to write image storage media denied."},
    {"Forbidden", "You are not authorized to complete this action."},
    {"AuthorizationFailure", "Authorization failed."},
    {"MaxRedirectsExceeded", "Maximum redirects (%(redirects)s) was exceeded."},
    {"StoreAddDisabled",
     "Configuration for store failed. Adding images to this store is disabled."},
    {"StoreGetNotSupported", "Getting images from this store is not supported."},
    {"StoreRandomGetNotSupported",
     "Getting images randomly from this store is not supported. Offset: %(offset)s, length: "
     "%(chunk_size)s"},
    {"StoreDeleteNotSupported", "Deleting images from this store is not supported."},
    {"RemoteServiceUnavailable", "Remote server where the image is present is unavailable."},
    {"BackendException", ""},
    {"TimeoutError",
     "Operation timed out after %(timeout)ds. Check storage health and connectivity."},
    {"NotAuthenticated", "You are not authenticated."},
    {"MissingCredentialError", "Missing required credential: %(required)s"},
    {"AuthBadRequest", "Connect error/bad request to Auth service at URL %(url)s."},
    {"AuthUrlNotFound", "Auth service at URL %(url)s not found."},
    {"UnsupportedBackend", ""},
    {"DriverLoadFailure", "Driver %(driver_name)s could not be loaded."},
    {"ChecksumMismatch", "The image's %(algo)s is %(actual)s, expected %(expected)s."},
    {"HasSnapshot", "The image cannot be deleted because it has snapshot(s)."},
    {"InUseByStore",
     "The image cannot be deleted because it is in use through the backend store outside of "
     "Glance."},
}};

const KindInfo& info(ErrorKind kind) { return kKinds.at(static_cast<std::size_t>(kind)); }

}  // namespace

std::string_view kind_name(ErrorKind kind) { return info(kind).name; }
std::string_view default_message(ErrorKind kind) { return info(kind).message; }

Error::Error(ErrorKind kind, std::string message, int sys_errno)
    : kind_(kind),
      message_(message.empty() ? std::string(default_message(kind)) : std::move(message)),
      errno_(sys_errno) {}

bool Error::is(ErrorKind kind) const noexcept {
  if (kind_ == kind) return true;
  if (kind == ErrorKind::kStoreGetNotSupported) {
    return kind_ == ErrorKind::kStoreRandomGetNotSupported;
  }
  if (kind == ErrorKind::kBackendException) return kind_ == ErrorKind::kUnsupportedBackend;
  return false;
}

std::string Error::format(std::string_view pattern,
                          std::initializer_list<std::pair<std::string_view, std::string>> args) {
  // As Python's `template % kwargs`: all placeholders are filled, or (one lacking a value) none.
  std::string out;
  out.reserve(pattern.size() + 32);
  std::size_t i = 0;
  while (i < pattern.size()) {
    if (pattern.compare(i, 2, "%(") == 0) {
      const std::size_t close = pattern.find(')', i + 2);
      if (close != std::string_view::npos && close + 1 < pattern.size() &&
          (pattern[close + 1] == 's' || pattern[close + 1] == 'd')) {
        const std::string_view name = pattern.substr(i + 2, close - i - 2);
        const std::string* value = nullptr;
        for (const auto& [key, val] : args) {
          if (key == name) value = &val;
        }
        if (value == nullptr) return std::string(pattern);
        out += *value;
        i = close + 2;
        continue;
      }
    }
    out += pattern[i++];
  }
  return out;
}

Error not_found_error(std::string_view image) {
  return {ErrorKind::kNotFound,
          Error::format(default_message(ErrorKind::kNotFound), {{"image", std::string(image)}})};
}

Error duplicate_error(std::string_view image) {
  return {ErrorKind::kDuplicate,
          Error::format(default_message(ErrorKind::kDuplicate), {{"image", std::string(image)}})};
}

Error bad_store_uri_error(std::string_view redacted_uri_or_reason, bool is_reason) {
  if (is_reason) return {ErrorKind::kBadStoreUri, std::string(redacted_uri_or_reason)};
  return {ErrorKind::kBadStoreUri, Error::format(default_message(ErrorKind::kBadStoreUri),
                                                 {{"uri", std::string(redacted_uri_or_reason)}})};
}

Error unknown_scheme_error(std::string_view scheme) {
  return {ErrorKind::kUnknownScheme, Error::format(default_message(ErrorKind::kUnknownScheme),
                                                   {{"scheme", std::string(scheme)}})};
}

Error bad_store_configuration_error(std::string_view store_name, std::string_view reason) {
  return {
      ErrorKind::kBadStoreConfiguration,
      Error::format(default_message(ErrorKind::kBadStoreConfiguration),
                    {{"store_name", std::string(store_name)}, {"reason", std::string(reason)}})};
}

Error checksum_mismatch_error(std::string_view algo, std::string_view actual,
                              std::string_view expected) {
  return {ErrorKind::kChecksumMismatch, Error::format(default_message(ErrorKind::kChecksumMismatch),
                                                      {{"algo", std::string(algo)},
                                                       {"actual", std::string(actual)},
                                                       {"expected", std::string(expected)}})};
}

}  // namespace glance_store
