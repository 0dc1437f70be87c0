// The read-only HTTP store: glance_store's redirect rules and error kinds, plus reads by offset
// and length and reads that resume after a broken connection.
#include <curl/curl.h>
#include <openssl/evp.h>

#include <map>
#include <memory>

#include "core/log.h"
#include "core/url.h"
#include "drivers/http/http.h"
#include "drivers/http/http_location.h"
#include "glance_store/error.h"
#include "net/http.h"
#include "net/transfer.h"

namespace glance_store::http {
namespace {

// glance_store's MAX_REDIRECTS counts requests: the fifth answer may not be a redirect again.
constexpr int kMaxRequests = 5;
// A failed read is tried again from where it stopped at most this many times.
constexpr int kMaxResumes = 5;
constexpr std::size_t kMaxQuotedBody = 1000;

const HttpLocation& as_http(const StoreLocation& location) {
  const auto* http = dynamic_cast<const HttpLocation*>(&location);
  if (http == nullptr) throw Error(ErrorKind::kBadStoreUri, "not an http:// or https:// location");
  return *http;
}

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
    throw Error(ErrorKind::kBadStoreUri,
                "The HTTP server redirected to an invalid location: " + redact_uri(reference));
  }
  std::string out(resolved);
  curl_free(resolved);
  return out;
}

std::string quoted_body(std::string body) {
  if (body.size() > kMaxQuotedBody) body.resize(kMaxQuotedBody);
  return body;
}

// The options of one store, as configured.
struct HttpStoreOptions {
  std::optional<std::string> ca_file;
  bool insecure = true;
  std::map<std::string, std::string> proxies;  // by the scheme of the requested URL
};

// oslo.config's DictOpt: "key:value" pairs separated by commas, split at the first ':'.
std::map<std::string, std::string> read_proxies(const OptionReader& reader) {
  std::map<std::string, std::string> out;
  for (const auto& item : reader.get_list("http_proxy_information")) {
    const std::size_t colon = item.find(':');
    if (colon == std::string::npos) {
      reader.fail("http_proxy_information", "'" + redact_uri(item) + "' is not scheme:proxy");
    }
    std::string key(internal::strip_py_whitespace(std::string_view(item).substr(0, colon)));
    std::string value(internal::strip_py_whitespace(std::string_view(item).substr(colon + 1)));
    // oslo.config's own refusals.
    if (key.empty()) reader.fail("http_proxy_information", "Key name should not be empty");
    if (out.contains(key)) reader.fail("http_proxy_information", "Duplicate key " + key);
    // As requests does: a proxy written without a scheme is an http:// one.
    if (!value.empty() && value.find("://") == std::string::npos) value = "http://" + value;
    out[key] = value;
  }
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

// A 206 must hold the bytes asked for, from `first` on: anything else would be spliced in.
void check_content_range(const net::ResponseStream& stream, std::uint64_t first) {
  const std::string* range = stream.header("content-range");
  if (range == nullptr || !range->starts_with("bytes " + std::to_string(first) + "-")) {
    throw Error(ErrorKind::kBackendException,
                "The HTTP server answered a Range request from byte " + std::to_string(first) +
                    " with other bytes");
  }
}

using Clients = std::map<std::string, std::shared_ptr<net::HttpClient>>;

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
    if (status >= 400) {
      if (status == 404) {
        throw Error(ErrorKind::kNotFound, "HTTP datastore could not find image at URI.");
      }
      throw Error(ErrorKind::kBadStoreUri, "HTTP URL " + hop->path() + " returned a " +
                                               std::to_string(status) +
                                               " status code. \nThe response body:\n" +
                                               quoted_body(answer.stream->read_rest()));
    }
    if (status != 301 && status != 302) {
      throw Error(ErrorKind::kBadStoreUri, "The HTTP URL " + hop->path() +
                                               " attempted to redirect with an invalid " +
                                               std::to_string(status) + " status code.");
    }
    if (request == kMaxRequests) {
      throw Error(ErrorKind::kMaxRedirectsExceeded,
                  "The HTTP URL exceeded " + std::to_string(kMaxRequests) + " maximum redirects.");
    }
    const std::string* target = answer.stream->header("location");
    if (target == nullptr || internal::strip_py_whitespace(*target).empty()) {
      throw Error(ErrorKind::kBadStoreUri, "The HTTP URL " + hop->path() + " answered " +
                                               std::to_string(status) +
                                               " without a Location to redirect to.");
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
      throw Error(ErrorKind::kBackendException, "Reading " + what_ + " failed after " +
                                                    std::to_string(delivered_) +
                                                    " bytes: " + e.what());
    }
  }

 private:
  std::shared_ptr<net::HttpClient> client_;  // first: the stream borrows it
  std::unique_ptr<net::ResponseStream> stream_;
  std::string what_;
  std::uint64_t delivered_ = 0;
};

// Reads and drops `count` bytes (the start of a body whose server ignored the Range). Returns
// false when the connection broke: the caller then asks again from the offset.
bool discard(net::ResponseStream& stream, std::uint64_t count) {
  std::vector<std::byte> sink(std::min<std::uint64_t>(count, 1 << 20));
  try {
    while (count > 0) {
      const std::size_t n =
          stream.read(std::span(sink).first(std::min<std::uint64_t>(count, sink.size())));
      if (n == 0) return false;
      count -= n;
    }
  } catch (const net::TransportError&) {
    return false;
  }
  return true;
}

class HttpStore final : public Store {
 public:
  HttpStore(OptionReader options, std::string backend_id)
      : Store(std::move(options), std::move(backend_id), schemes_of_type("http"),
              bits(Capability::kReadRandom) | bits(Capability::kDriverReusable)) {}

  std::string_view type() const override { return "http"; }
  std::string_view config_name() const override { return "http"; }

  std::unique_ptr<StoreLocation> parse_location(std::string_view uri) const override {
    return HttpLocation::parse(uri);
  }

  // glance_store gives the HTTP store a prefix only in multi-store mode.
  std::string url_prefix() const override { return backend_id().empty() ? "" : "http"; }

 protected:
  // configure() calls this hook whether or not the store can add (this one never can): the
  // clients for reading are made here.
  void configure_add() override {
    HttpStoreOptions options;
    options.ca_file = this->options().get_path("https_ca_certificates_file");
    options.insecure = this->options().get_bool("https_insecure", true);
    options.proxies = read_proxies(this->options());
    Clients clients;
    for (const char* scheme : {"http", "https"}) {
      net::HttpOptions client_options;
      // A CA file is the trust store whatever https_insecure says.
      client_options.ca_file = options.ca_file.value_or("");
      client_options.verify_tls = options.ca_file.has_value() || !options.insecure;
      if (auto it = options.proxies.find(scheme); it != options.proxies.end()) {
        client_options.proxy = it->second;
      } else if (auto all = options.proxies.find("all"); all != options.proxies.end()) {
        client_options.proxy = all->second;
      }
      clients[scheme] = std::make_shared<net::HttpClient>(std::move(client_options));
    }
    clients_ = std::move(clients);
  }

  GetResult do_get(const StoreLocation& location, std::uint64_t offset,
                   std::optional<std::uint64_t> length, const RequestContext*) override {
    const auto& loc = as_http(location);
    const bool ranged = offset != 0 || length.has_value();
    net::Headers headers;
    if (ranged) {
      headers.emplace_back(
          "Range",
          net::range_header(offset, length ? std::optional(offset + *length - 1) : std::nullopt));
    }
    Answer answer;
    try {
      answer = query(clients_, loc, "GET", headers);
    } catch (const net::TransportError& e) {
      // glance_store's sentence, then why.
      throw Error(ErrorKind::kRemoteServiceUnavailable,
                  std::string(default_message(ErrorKind::kRemoteServiceUnavailable)) + " (" +
                      e.what() + ")");
    }
    const std::string what = "the image at " + loc.display_url();
    const long status = answer.stream->status();
    if (status == 416) return empty_result();  // the offset is at or past the end
    if (status == 206) check_content_range(*answer.stream, offset);
    const auto content_length = net::parse_u64(answer.stream->header("content-length"));
    if (!content_length) {
      if (ranged) {
        throw Error(ErrorKind::kBackendException,
                    "The HTTP server sent no Content-Length for a read by offset and length");
      }
      GetResult result;
      result.stream = std::make_unique<UnknownLengthBody>(std::move(answer), what);
      result.size_known = false;
      return result;
    }
    // A server that ignores the Range sends the whole body: the wanted bytes come later.
    const std::uint64_t skip = ranged && status != 206 ? offset : 0;
    const std::uint64_t available = *content_length > skip ? *content_length - skip : 0;
    const std::uint64_t size = length ? std::min(*length, available) : available;
    if (size == 0) return empty_result();
    std::string validator_name;
    std::string validator;
    if (const std::string* etag = answer.stream->header("etag");
        etag != nullptr && !etag->starts_with("W/")) {
      validator_name = "If-Match";
      validator = *etag;
    } else if (const std::string* modified = answer.stream->header("last-modified")) {
      validator_name = "If-Unmodified-Since";
      validator = *modified;
    }
    // A connection that breaks while skipping: the reader below asks again from the offset.
    if (skip > 0 && !discard(*answer.stream, skip)) answer.stream.reset();
    // A resumed read asks for the rest from the original location again (a redirect may point
    // somewhere new each time) and must find the same image: without a validator it cannot
    // tell, so it does not resume. The lambda owns the clients the streams borrow.
    auto start = std::make_shared<const HttpLocation>(loc);
    const std::uint64_t last = offset + size - 1;
    auto reopen = [clients = clients_, start, validator_name, validator, last,
                   what](std::uint64_t from) -> std::unique_ptr<net::ResponseStream> {
      if (validator.empty()) {
        throw Error(ErrorKind::kBackendException,
                    "The connection to " + what +
                        " broke and the server gives no ETag or Last-Modified to resume safely");
      }
      const net::Headers resume = {{"Range", net::range_header(from, last)},
                                   {validator_name, validator}};
      Answer again = query(clients, *start, "GET", resume,
                           [](long status, const net::Headers&) { return status >= 400; });
      const long status = again.stream->status();
      if (status == 206) {
        check_content_range(*again.stream, from);
        return std::move(again.stream);
      }
      if (status >= 500) {  // the server's trouble, maybe passing: try again
        throw net::TransportError(
            "the server answered " + std::to_string(status) + " to resuming " + what, true, false);
      }
      if (status == 412) {
        throw Error(ErrorKind::kBackendException, what + " changed while it was read");
      }
      throw Error(ErrorKind::kBackendException, "Resuming the read of " + what +
                                                    " failed: the server answered " +
                                                    std::to_string(status) + " to a Range request");
    };
    GetResult result;
    result.size = size;
    result.stream = std::make_unique<net::ResumingReader>(std::move(answer.stream), offset, size,
                                                          kMaxResumes, what, reopen);
    return result;
  }

  std::uint64_t do_get_size(const StoreLocation& location, const RequestContext*) override {
    Answer head;
    try {
      head = query(clients_, as_http(location), "HEAD", {});
    } catch (const net::TransportError& e) {
      throw Error(ErrorKind::kBadStoreUri, std::string("The HTTP URL is invalid: ") + e.what());
    }
    // glance_store's answer when the server does not say: 0.
    return net::parse_u64(head.stream->header("content-length")).value_or(0);
  }

  void do_remove(const StoreLocation&, const RequestContext*) override {
    throw Error(ErrorKind::kStoreDeleteNotSupported, "");
  }

  std::unique_ptr<ImageWriter> begin_add(std::string_view, std::uint64_t,
                                         const RequestContext*) override {
    throw Error(ErrorKind::kStoreAddDisabled, "");
  }

 private:
  static GetResult empty_result() {
    GetResult empty;
    empty.stream = std::make_unique<MemoryInputStream>("");
    return empty;
  }

  Clients clients_;
};

}  // namespace

std::unique_ptr<Store> make_http_store(OptionReader options, std::string backend_id) {
  return std::make_unique<HttpStore>(std::move(options), std::move(backend_id));
}

std::unique_ptr<StoreLocation> parse_http_location(std::string_view uri) {
  return HttpLocation::parse(uri);
}

}  // namespace glance_store::http
