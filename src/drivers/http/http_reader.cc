#include "drivers/http/http_reader.h"

#include <curl/curl.h>
#include <openssl/evp.h>

#include <memory>

#include "core/log.h"
#include "core/url.h"
#include "drivers/http/http_errors.h"
#include "glance_store/error.h"
#include "net/http.h"
#include "net/ranged_read.h"
#include "net/transfer.h"

namespace glance_store::http {
namespace {

// glance_store's MAX_REDIRECTS counts requests: the fifth answer may not be a redirect again.
constexpr int kMaxRequests = 5;
// A failed read is tried again from where it stopped at most this many times.
constexpr int kMaxResumes = 5;

std::string basic_credentials(const HttpLocation& location) {
  const std::string user = internal::percent_unquote(location.user().value_or(""));
  const std::string password = internal::percent_unquote(location.password().value_or(""));
  const std::string plain = user + ":" + password;
  std::string encoded(4 * ((plain.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(encoded.data()),
                                reinterpret_cast<const unsigned char*>(plain.data()),
                                static_cast<int>(plain.size()));
  encoded.resize(static_cast<std::size_t>(n));
  return "Basic " + encoded;
}

// A Location header resolved against the URL that sent it (RFC 3986), by libcurl's URL parser.
std::string resolve_reference(const std::string& base, const std::string& reference) {
  std::unique_ptr<CURLU, decltype(&curl_url_cleanup)> url(curl_url(), &curl_url_cleanup);
  char* resolved = nullptr;
  if (!url || curl_url_set(url.get(), CURLUPART_URL, base.c_str(), 0) != CURLUE_OK ||
      curl_url_set(url.get(), CURLUPART_URL, reference.c_str(),
                   CURLU_NON_SUPPORT_SCHEME | CURLU_PATH_AS_IS) != CURLUE_OK ||
      curl_url_get(url.get(), CURLUPART_URL, &resolved, 0) != CURLUE_OK) {
    throw bad_location_error(reference);
  }
  std::string out(resolved);
  curl_free(resolved);
  return out;
}

// glance_store (through requests) sends basic auth only when the URI's credentials are not both
// empty.
bool has_credentials(const HttpLocation& location) {
  return location.user() && (!location.user()->empty() || !location.password()->empty());
}

bool is_conditional(const net::Headers& headers) {
  return net::find_header(headers, "if-match") != nullptr ||
         net::find_header(headers, "if-unmodified-since") != nullptr;
}

// The answer of a query, and the client its stream borrows (a stream must not outlive it).
struct Answer {
  std::unique_ptr<net::ResponseStream> stream;
  std::shared_ptr<net::HttpClient> client;
};

// Statuses the caller handles itself rather than query().
using StatusFilter = bool (*)(long status, const net::Headers& request_headers);

bool glance_statuses(long status, const net::Headers& headers) {
  // A Range past the end, and a conditional request's "precondition failed", are answers only
  // requests that asked for them get.
  return (status == 416 && net::find_header(headers, "range") != nullptr) ||
         (status == 412 && is_conditional(headers));
}

// Sends `method` to the location and follows 301 and 302 the way glance_store does, within
// kMaxRequests requests. Returns the first answer below 300, or one `handled` accepts. Throws
// Error for the statuses glance_store refuses, TransportError when a server cannot be reached.
Answer query(const Clients& clients, const HttpLocation& start, const std::string& method,
             const net::Headers& headers, StatusFilter handled = glance_statuses) {
  std::unique_ptr<HttpLocation> redirected;
  const HttpLocation* hop = &start;
  std::optional<std::string> inherited_auth;
  for (int request = 1;; ++request) {
    net::Request r;
    r.method = method;
    r.url = hop->request_url();
    r.remove_dot_segments = true;  // a web URL, resolved as glance's requests resolves it
    r.headers = headers;
    if (has_credentials(*hop)) {
      r.headers.emplace_back("Authorization", basic_credentials(*hop));
    } else if (inherited_auth) {
      r.headers.emplace_back("Authorization", *inherited_auth);
    }
    Answer answer{nullptr, clients.at(hop->scheme())};
    answer.stream = answer.client->open(r);
    const long status = answer.stream->status();
    if (status < 300 || handled(status, r.headers)) return answer;
    if (status >= 400) throw status_error(hop->path(), status, answer.stream->read_rest());
    if (status != 301 && status != 302) throw redirect_status_error(hop->path(), status);
    if (request == kMaxRequests) throw max_redirects_error(kMaxRequests);
    const std::string* target = answer.stream->header("location");
    if (target == nullptr || internal::strip_py_whitespace(*target).empty()) {
      throw missing_location_error(hop->path(), status);
    }
    auto next = HttpLocation::parse(
        resolve_reference(r.url, std::string(internal::strip_py_whitespace(*target))));
    // Credentials go along to the same server only (as a browser does), never elsewhere.
    const bool same_origin = next->scheme() == hop->scheme() && next->netloc() == hop->netloc();
    if (!same_origin) {
      inherited_auth.reset();
    } else if (has_credentials(*hop) && !next->user()) {
      inherited_auth = basic_credentials(*hop);
    }
    internal::logger()->debug("HTTP store: {} {} redirected ({}) to {}", method, hop->display_url(),
                              status, next->display_url());
    redirected = std::move(next);
    hop = redirected.get();
  }
}

// A body of unknown length (chunked), streamed as it comes: it cannot be resumed, and a broken
// connection is an Error like any other store failure.
class UnknownLengthBody final : public InputStream {
 public:
  UnknownLengthBody(Answer answer, std::string what)
      : client_(std::move(answer.client)),
        stream_(std::move(answer.stream)),
        what_(std::move(what)) {}
  std::size_t read(std::span<std::byte> out) override {
    try {
      const std::size_t n = stream_->read(out);
      delivered_ += n;
      return n;
    } catch (const net::TransportError& e) {
      throw broken_body_error(what_, delivered_, e);
    }
  }

 private:
  std::shared_ptr<net::HttpClient> client_;  // first: the stream borrows it
  std::unique_ptr<net::ResponseStream> stream_;
  std::string what_;
  std::uint64_t delivered_ = 0;
};

}  // namespace

GetResult open_image(const Clients& clients, const HttpLocation& location, std::uint64_t offset,
                     std::optional<std::uint64_t> length) {
  const std::string what = "the image at " + location.display_url();
  // A resume asks for the rest from the original location again (a redirect may point somewhere
  // new each time) and must find the same image: without a validator it does not resume. The
  // lambda owns the clients the streams borrow.
  net::ObjectRead read{
      .what = what,
      .open =
          [clients,
           start = std::make_shared<const HttpLocation>(location)](const net::Headers& headers) {
            return query(clients, *start, "GET", headers,
                         [](long status, const net::Headers&) { return status >= 400; })
                .stream;
          },
      .describe =
          [](long status, std::string_view) {
            return "the server answered " + std::to_string(status) + " to a Range request";
          }};
  Answer answer;
  try {
    answer = query(clients, location, "GET", net::range_headers(offset, length));
  } catch (const net::TransportError& e) {
    throw unreachable_error(e);
  }
  if (answer.stream->status() != 416 && !answer.stream->header("content-length")) {
    if (offset != 0 || length) {
      throw Error(ErrorKind::kBackendException,
                  "The HTTP server sent no Content-Length for a read by offset and length");
    }
    GetResult result;
    result.stream = std::make_unique<UnknownLengthBody>(std::move(answer), what);
    result.size_known = false;
    return result;
  }
  read.validator = net::Validator::of(*answer.stream, /*last_modified=*/true);
  return net::get_result(
      net::read_object(std::move(read), std::move(answer.stream), offset, length, kMaxResumes));
}

std::uint64_t image_size(const Clients& clients, const HttpLocation& location) {
  Answer head;
  try {
    head = query(clients, location, "HEAD", {});
  } catch (const net::TransportError& e) {
    throw size_unreachable_error(e);
  }
  return net::parse_u64(head.stream->header("content-length")).value_or(0);
}

}  // namespace glance_store::http
