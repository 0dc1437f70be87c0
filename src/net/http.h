// The HTTP layer every network store shares: libcurl requests with pooled connections, bodies
// from memory or streamed, and responses read whole or pulled as a stream (internal).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "glance_store/stream.h"

namespace glance_store::net {

/// Request headers, in the order sent; response headers, names lower-cased.
using Headers = std::vector<std::pair<std::string, std::string>>;

/// The header's value, or nullptr. Names compare case-insensitively.
const std::string* find_header(const Headers& headers, std::string_view name);

/// How a client reaches its servers.
struct HttpOptions {
  std::string ca_file;               ///< CA bundle for TLS; empty: the system's
  bool verify_tls = true;            ///< false: accept any certificate (https_insecure)
  std::string proxy;                 ///< a proxy URL for every request; empty: none
  std::vector<std::string> resolve;  ///< CURLOPT_RESOLVE pins, "host:port:address"
  long connect_timeout_s = 30;
  /// A transfer with no byte moved for this long fails (and may be retried).
  long stall_timeout_s = 60;
};

/// A failure below HTTP: no connection, a reset, a timeout, TLS. `retryable` when sending the
/// request again may work.
class TransportError : public std::runtime_error {
 public:
  TransportError(const std::string& what, bool retryable, bool tls)
      : std::runtime_error(what), retryable_(retryable), tls_(tls) {}
  bool retryable() const { return retryable_; }
  bool tls() const { return tls_; }

 private:
  bool retryable_;
  bool tls_;
};

/// Supplies a streamed request body: fills `out`, returns how many bytes, 0 at the end.
/// Throwing aborts the request.
using BodySource = std::function<std::size_t(std::span<std::byte> out)>;

struct Request {
  std::string method = "GET";
  std::string url;
  Headers headers;
  /// A body held in memory (PUT, POST)…
  std::span<const std::byte> body;
  /// …or streamed, with its length when known (else chunked transfer encoding).
  BodySource body_source;
  std::optional<std::uint64_t> body_size;
  /// Follow redirects (at most this many); 0: return 3xx as they are.
  long max_redirects = 0;
  /// Remove `.` and `..` segments from the path as a browser would (RFC 3986). Off for the
  /// object stores: there a path names one object exactly, and `a/../b` must not reach `b`.
  bool remove_dot_segments = false;
};

struct Response {
  long status = 0;
  Headers headers;
  std::string body;
  /// The URL that answered (after redirects).
  std::string effective_url;
  const std::string* header(std::string_view name) const { return find_header(headers, name); }
};

class ResponseStream;

/// Sends requests; safe to use from several threads at once (each request takes its own
/// connection handle from a pool, so connections are reused between requests).
class HttpClient {
 public:
  explicit HttpClient(HttpOptions options);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  /// Sends the request and reads the whole response. Throws TransportError.
  Response perform(const Request& request);
  /// Sends the request and returns once the response's status and headers are in; the body is
  /// then pulled with read(). Throws TransportError.
  std::unique_ptr<ResponseStream> open(const Request& request);

  const HttpOptions& options() const { return options_; }

 private:
  friend class ResponseStream;
  struct Handle;
  std::unique_ptr<Handle> acquire();
  void release(std::unique_ptr<Handle> handle);
  void prepare(Handle& handle, const Request& request);

  HttpOptions options_;
  std::mutex mutex_;  // guards idle_
  std::vector<std::unique_ptr<Handle>> idle_;
};

/// A response whose body is pulled as it arrives, with a bounded buffer.
class ResponseStream final : public InputStream {
 public:
  ~ResponseStream() override;
  long status() const { return status_; }
  const Headers& headers() const { return headers_; }
  const std::string* header(std::string_view name) const { return find_header(headers_, name); }
  /// Reads body bytes; 0 at the end of a complete body. Throws TransportError when the
  /// connection breaks before the end.
  std::size_t read(std::span<std::byte> out) override;
  /// The rest of the body (for error responses).
  std::string read_rest();

 private:
  friend class HttpClient;
  struct Transfer;
  ResponseStream(HttpClient& client, std::unique_ptr<HttpClient::Handle> handle);
  /// Drives the transfer until body bytes are buffered or it ends.
  void pump();

  HttpClient& client_;
  std::unique_ptr<HttpClient::Handle> handle_;
  std::unique_ptr<Transfer> transfer_;
  long status_ = 0;
  Headers headers_;
};

/// Percent-encodes like AWS's UriEncode: unreserved characters kept, '/' kept when
/// `keep_slash`, everything else %XX (upper-case hex).
std::string uri_encode(std::string_view s, bool keep_slash);

}  // namespace glance_store::net
