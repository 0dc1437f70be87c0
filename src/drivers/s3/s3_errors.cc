#include "drivers/s3/s3_errors.h"

#include <pugixml.hpp>

namespace glance_store::s3 {

std::string S3Failure::describe() const {
  std::string out = code.empty() ? "HTTP " + std::to_string(status)
                                 : code + " (HTTP " + std::to_string(status) + ")";
  if (!message.empty()) out += ": " + message;
  return out;
}

ErrorKind S3Failure::refused_kind() const {
  return code == "SignatureDoesNotMatch" || code == "InvalidAccessKeyId"
             ? ErrorKind::kBadStoreConfiguration
             : ErrorKind::kForbidden;
}

S3Failure parse_failure(long status, std::string_view body) {
  S3Failure failure;
  failure.status = status;
  pugi::xml_document doc;
  if (!body.empty() && doc.load_buffer(body.data(), body.size())) {
    const auto error = doc.child("Error");
    failure.code = error.child_value("Code");
    failure.message = error.child_value("Message");
  }
  return failure;
}

Error failure_error(std::string_view what, const S3Failure& failure) {
  std::string message = std::string(what) + ": " + failure.describe();
  if (failure.bad_digest()) message += " (the server received other bytes than were sent)";
  return {failure.refused() ? failure.refused_kind() : ErrorKind::kBackendException, message};
}

std::optional<std::string> transient(const net::Response& response) {
  if (response.status >= 500 || response.status == 429 || response.status == 400) {
    const S3Failure failure = parse_failure(response);
    // BadDigest: the part's bytes changed on the way (its Content-MD5 is of the bytes held, which
    // every attempt sends again).
    if (response.status != 400 || failure.code == "RequestTimeout" || failure.code == "SlowDown" ||
        failure.code == "BadDigest") {
      return "the server answered " + failure.describe();
    }
  }
  return std::nullopt;
}

std::optional<std::string> transient(const net::ResponseStream& stream) {
  if (stream.status() >= 500 || stream.status() == 429) {
    return "the server answered HTTP " + std::to_string(stream.status());
  }
  return std::nullopt;
}

}  // namespace glance_store::s3
