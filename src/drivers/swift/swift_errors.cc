#include "drivers/swift/swift_errors.h"

namespace glance_store::swift {

std::string describe_failure(long status, std::string_view body) {
  std::string out = "HTTP " + std::to_string(status);
  // Swift's error bodies are short text or HTML; keep the start of them.
  std::string text;
  for (const char c : body.substr(0, 200)) text += (c == '\n' || c == '\r') ? ' ' : c;
  if (!text.empty()) out += ": " + text;
  return out;
}

Error read_error(std::string_view what, long status, std::string_view body) {
  const std::string message = std::string(what) + ": " + describe_failure(status, body);
  if (status == 401 || status == 403) return {ErrorKind::kForbidden, message};
  return {ErrorKind::kBackendException, message};
}

Error add_error(long status, std::string_view body) {
  if (status == 412 || status == 409) {  // 409: a newer PUT of the object already landed
    return {ErrorKind::kDuplicate, "Swift already has an image at this location"};
  }
  if (status == 413) return {ErrorKind::kStorageFull, describe_failure(status, body)};
  const std::string message =
      "Failed to add object to Swift.\nGot error from Swift: " + describe_failure(status, body) +
      ".";
  if (status == 401 || status == 403) return {ErrorKind::kForbidden, message};
  return {ErrorKind::kBackendException, message};
}

ErrorKind auth_failure_kind(long status) {
  return status == 401 || status == 403 ? ErrorKind::kAuthorizationFailure
         : status == 404                ? ErrorKind::kAuthUrlNotFound
         : status == 400                ? ErrorKind::kAuthBadRequest
                                        : ErrorKind::kBackendException;
}

Error keystone_error(std::string_view what, const net::Response& response) {
  return {response.status == 401 || response.status == 403 ? ErrorKind::kAuthorizationFailure
                                                           : ErrorKind::kBackendException,
          std::string(what) + ": " + describe_failure(response.status, response.body)};
}

std::optional<std::string> transient(long status, bool body_resendable) {
  if (status >= 500 || status == 429 || status == 408) {
    return "Swift answered HTTP " + std::to_string(status);
  }
  if (status == 422 && body_resendable) {
    return "Swift received other bytes than were sent (HTTP 422)";
  }
  return std::nullopt;
}

}  // namespace glance_store::swift
