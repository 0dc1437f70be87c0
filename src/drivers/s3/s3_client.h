// S3 requests: addressing, signing, retries, error bodies, resumable reads (internal).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "drivers/s3/sigv4.h"
#include "glance_store/error.h"
#include "glance_store/stream.h"
#include "net/http.h"
#include "net/transfer.h"

namespace glance_store::s3 {

/// Where requests go and who signs them.
struct Endpoint {
  std::string base_url;  ///< scheme://host[:port][/path], no trailing '/'
  SigningKey key;
  bool virtual_host = false;  ///< bucket.host/key rather than host/bucket/key
};

/// An S3 error response: the HTTP status and, where the server sent a body, its code.
struct S3Failure {
  long status = 0;
  std::string code = {};     ///< "NoSuchKey", "SignatureDoesNotMatch", … or "" (HEAD: no body)
  std::string message = {};  ///< the server's message, if any
  /// "SignatureDoesNotMatch (HTTP 403): The request signature …", for error messages.
  std::string describe() const;
  /// A 401/403, the same kind whatever the operation: BadStoreConfiguration when the server
  /// did not accept the credentials (SignatureDoesNotMatch, InvalidAccessKeyId: as glance_store
  /// reports a refused HEAD), Forbidden when it accepted them and refused the request.
  bool refused() const { return status == 401 || status == 403; }
  ErrorKind refused_kind() const;
};
S3Failure parse_failure(long status, std::string_view body);

using Query = std::vector<std::pair<std::string, std::string>>;

/// One S3 operation on a bucket (and a key, or "" for the bucket itself).
struct Operation {
  std::string method = {};
  std::string bucket = {};
  std::string key = {};
  Query query = {};
  net::Headers headers = {};  ///< extra headers; x-amz-* ones are signed with the rest
  std::span<const std::byte> body = {};
  /// …or a body streamed from its first byte for each attempt, of `body_size` bytes.
  std::function<net::BodySource()> body_stream = {};
  std::optional<std::uint64_t> body_size = {};
  /// Sign the body's sha256 (small XML bodies) rather than UNSIGNED-PAYLOAD.
  bool sign_body = false;
};

class S3Client {
 public:
  S3Client(std::shared_ptr<net::HttpClient> http, int max_retries);

  /// Sends an operation, again on transient failures (transport errors, 5xx, SlowDown) with
  /// backoff. Returns the final response whatever its status; throws TransportError when the
  /// server could not be reached after the retries.
  net::Response send(const Endpoint& endpoint, const Operation& operation);
  /// send(), with a transport failure reported as Error (transport_error) prefixed by `what`.
  net::Response call(const Endpoint& endpoint, const Operation& operation, std::string_view what);
  /// The signed request for an operation (its body is left to the caller).
  net::Request build(const Endpoint& endpoint, const Operation& operation) const;
  /// Opens a GET of the object (from `offset`, `length` bytes or to the end) whose body is read
  /// as a stream; a connection that breaks is resumed where it stopped, with If-Match on the
  /// object's ETag, at most max_retries times. Throws NotFound for a missing object, Error for
  /// other failures.
  GetResult get_object(const Endpoint& endpoint, const std::string& bucket, const std::string& key,
                       std::uint64_t offset, std::optional<std::uint64_t> length);

  int max_retries() const { return max_retries_; }
  net::HttpClient& http() { return *http_; }
  /// Whether a response is worth sending again.
  static bool is_transient(const net::Response& response);

 private:
  std::shared_ptr<net::HttpClient> http_;
  int max_retries_;
};

using net::transport_error;

}  // namespace glance_store::s3
