// The one place where S3's answers become error kinds (internal): statuses, the error codes of
// S3's XML error bodies, and which failures are worth sending again.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "glance_store/error.h"
#include "net/http.h"

namespace glance_store::s3 {

/// An S3 error response: the HTTP status and, where the server sent a body, its code.
struct S3Failure {
  long status = 0;
  std::string code = {};     ///< "NoSuchKey", "SignatureDoesNotMatch", … or "" (HEAD: no body)
  std::string message = {};  ///< the server's message, if any
  /// "SignatureDoesNotMatch (HTTP 403): The request signature …", for error messages.
  std::string describe() const;
  /// A 401/403: the server refused the credentials or the request.
  bool refused() const { return status == 401 || status == 403; }
  /// A refusal's kind, the same whatever the operation: BadStoreConfiguration when the server
  /// did not accept the credentials (SignatureDoesNotMatch, InvalidAccessKeyId: as glance_store
  /// reports a refused HEAD), Forbidden when it accepted them and refused the request.
  ErrorKind refused_kind() const;
  /// The server received other bytes than were sent (Content-MD5 did not match).
  bool bad_digest() const { return code == "BadDigest" || code == "InvalidDigest"; }
  /// A CompleteMultipartUpload that finds no upload: a retry of one that went through.
  bool no_such_upload() const { return code == "NoSuchUpload"; }
  /// A CreateBucket of a bucket that is already ours.
  bool already_owned() const { return code == "BucketAlreadyOwnedByYou"; }
};

/// The failure an answer describes (its body parsed when it is S3's XML error).
S3Failure parse_failure(long status, std::string_view body);
inline S3Failure parse_failure(const net::Response& response) {
  return parse_failure(response.status, response.body);
}

/// `what: <failure>` as an Error: a refusal's kind for a 401/403, else BackendException.
Error failure_error(std::string_view what, const S3Failure& failure);

/// Why an answer is worth sending again (5xx, 429, SlowDown, RequestTimeout, and BadDigest: the
/// bytes of a part, held whole, changed on the way), or nullopt.
std::optional<std::string> transient(const net::Response& response);
/// As above for an answer whose body is not read (SlowDown is a 503).
std::optional<std::string> transient(const net::ResponseStream& stream);

}  // namespace glance_store::s3
