// S3 requests: addressing, signing and retries (internal).
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

#include "drivers/s3/s3_errors.h"
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
  /// As send(), for an answer read as a stream.
  std::unique_ptr<net::ResponseStream> open(const Endpoint& endpoint, const Operation& operation);
  /// send(), with a transport failure reported as Error (transport_error) prefixed by `what`.
  net::Response call(const Endpoint& endpoint, const Operation& operation, std::string_view what);
  /// The signed request for an operation (its body is left to the caller).
  net::Request build(const Endpoint& endpoint, const Operation& operation) const;
  int max_retries() const { return max_retries_; }
  net::HttpClient& http() { return *http_; }

 private:
  std::shared_ptr<net::HttpClient> http_;
  int max_retries_;
};

using net::transport_error;

}  // namespace glance_store::s3
