#include "net/http.h"

#include <curl/curl.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <exception>

#include "core/url.h"
#include "glance_store/error.h"

namespace glance_store::net {
namespace {

// libcurl's global state, set up once before the first handle.
void global_init() {
  static const bool done = [] {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    return true;
  }();
  (void)done;
}

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(),
                                            [](char x, char y) { return lower(x) == lower(y); });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return s;
}

bool retryable(CURLcode code) {
  switch (code) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    // A reused connection died while sending and libcurl cannot rewind a streamed body to try
    // again itself: sending the request again, with its body from the start, may work.
    case CURLE_SEND_FAIL_REWIND:
      return true;
    default:
      return false;
  }
}

bool tls_failure(CURLcode code) {
  switch (code) {
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_ISSUER_ERROR:
      return true;
    default:
      return false;
  }
}

}  // namespace

const std::string* find_header(const Headers& headers, std::string_view name) {
  for (const auto& [key, value] : headers) {
    if (iequals(key, name)) return &value;
  }
  return nullptr;
}

std::string uri_encode(std::string_view s, bool keep_slash) {
  // AWS's unreserved set is RFC 3986's, which is Python's quote() with no other safe character.
  return internal::percent_quote(s, keep_slash ? "/" : "");
}

// One libcurl easy handle and the state of the request it runs.
struct HttpClient::Handle {
  CURL* easy = nullptr;
  curl_slist* request_headers = nullptr;
  curl_slist* resolve = nullptr;
  char error_text[CURL_ERROR_SIZE] = {};

  // Request body.
  std::span<const std::byte> body;
  std::size_t body_offset = 0;
  const BodySource* body_source = nullptr;
  std::exception_ptr body_error;

  // The stall clock: when a byte last moved either way (or the transfer last waited on us
  // rather than on the server), and how many had moved then.
  std::chrono::steady_clock::duration stall_limit{};
  std::chrono::steady_clock::time_point last_moved;
  curl_off_t moved = 0;
  bool stalled = false;

  // Response.
  Headers headers;
  std::string* sink = nullptr;                 // where the body goes (perform) …
  ResponseStream::Transfer* stream = nullptr;  // … or the stream's buffer (open)

  Handle() : easy(curl_easy_init()) {}
  ~Handle() {
    curl_slist_free_all(request_headers);
    curl_slist_free_all(resolve);
    if (easy != nullptr) curl_easy_cleanup(easy);
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;

  void clear_request() {
    curl_slist_free_all(request_headers);
    request_headers = nullptr;
    body = {};
    body_offset = 0;
    body_source = nullptr;
    body_error = nullptr;
    headers.clear();
    sink = nullptr;
    stream = nullptr;
    error_text[0] = '\0';
    moved = 0;
    stalled = false;
    last_moved = std::chrono::steady_clock::now();
  }

  TransportError failure(CURLcode code) const {
    if (stalled) {
      const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(stall_limit).count();
      return {"Timeout was reached: no byte moved for " + std::to_string(seconds) + " s", true,
              false};
    }
    std::string what = curl_easy_strerror(code);
    if (error_text[0] != '\0') what += ": " + std::string(error_text);
    return {what, retryable(code), tls_failure(code)};
  }

  static std::size_t on_header(char* data, std::size_t size, std::size_t count, void* self) {
    auto* h = static_cast<Handle*>(self);
    const std::string_view line(data, size * count);
    if (line.starts_with("HTTP/")) {
      h->headers.clear();  // a new response (after a 100 Continue or a redirect)
    } else if (const auto colon = line.find(':'); colon != std::string_view::npos) {
      std::string name(trim(line.substr(0, colon)));
      std::transform(name.begin(), name.end(), name.begin(), lower);
      h->headers.emplace_back(std::move(name), std::string(trim(line.substr(colon + 1))));
    }
    return size * count;
  }

  static std::size_t on_read(char* out, std::size_t size, std::size_t count, void* self) {
    auto* h = static_cast<Handle*>(self);
    const std::size_t capacity = size * count;
    if (h->body_source != nullptr) {
      try {
        const std::size_t n = (*h->body_source)({reinterpret_cast<std::byte*>(out), capacity});
        h->waited_on_us();
        return n;
      } catch (...) {
        h->body_error = std::current_exception();
        return CURL_READFUNC_ABORT;
      }
    }
    const std::size_t n = std::min(capacity, h->body.size() - h->body_offset);
    std::memcpy(out, h->body.data() + h->body_offset, n);
    h->body_offset += n;
    return n;
  }

  // libcurl's own low-speed check averages over several seconds, so a stall after a fast start
  // would be noticed long after the timeout: the clock here runs from the last byte moved.
  static int on_progress(void* self, curl_off_t, curl_off_t downloaded, curl_off_t,
                         curl_off_t uploaded) {
    auto* h = static_cast<Handle*>(self);
    const auto now = std::chrono::steady_clock::now();
    if (downloaded + uploaded != h->moved) {
      h->moved = downloaded + uploaded;
      h->last_moved = now;
    } else if (now - h->last_moved > h->stall_limit) {
      h->stalled = true;
      return 1;  // CURLE_ABORTED_BY_CALLBACK
    }
    return 0;
  }

  // The stall clock stops while the transfer waits on us (our reader away, our body source
  // producing): it counts only the server's silence.
  void waited_on_us() { last_moved = std::chrono::steady_clock::now(); }

  static int on_seek(void* self, curl_off_t offset, int origin) {
    // Memory bodies can be sent again (after a redirect or an auth retry); streams cannot.
    auto* h = static_cast<Handle*>(self);
    if (h->body_source != nullptr || origin != SEEK_SET || offset < 0 ||
        static_cast<std::size_t>(offset) > h->body.size()) {
      return CURL_SEEKFUNC_CANTSEEK;
    }
    h->body_offset = static_cast<std::size_t>(offset);
    return CURL_SEEKFUNC_OK;
  }

  static std::size_t on_write(char* data, std::size_t size, std::size_t count, void* self);
};

// The buffer between libcurl's push and the reader's pull. While a reader waits with nothing
// buffered, libcurl's bytes go straight into the reader's own buffer (`direct`), which spares
// a copy of every byte of a large read.
struct ResponseStream::Transfer {
  CURLM* multi = curl_multi_init();
  std::string buffer;
  std::size_t offset = 0;
  std::span<std::byte> direct;  // the waiting reader's room, empty when none waits
  std::size_t direct_filled = 0;
  bool paused = false;
  bool done = false;
  std::chrono::steady_clock::time_point last_pump = std::chrono::steady_clock::now();
  CURLcode result = CURLE_OK;
  // libcurl delivers at most its buffer size per call; above this, the transfer waits.
  static constexpr std::size_t kHighWater = std::size_t{1} << 20;

  ~Transfer() { curl_multi_cleanup(multi); }
  std::size_t available() const { return buffer.size() - offset; }
  bool has_data() const { return available() > 0 || direct_filled > 0; }
};

std::size_t HttpClient::Handle::on_write(char* data, std::size_t size, std::size_t count,
                                         void* self) {
  auto* h = static_cast<Handle*>(self);
  const std::size_t n = size * count;
  if (h->stream != nullptr) {
    auto& t = *h->stream;
    std::size_t taken = 0;
    if (t.available() == 0 && t.direct_filled < t.direct.size()) {
      taken = std::min(n, t.direct.size() - t.direct_filled);
      std::memcpy(t.direct.data() + t.direct_filled, data, taken);
      t.direct_filled += taken;
      if (taken == n) return n;
    } else if (t.available() >= ResponseStream::Transfer::kHighWater) {
      // Pausing refuses the whole call, so only when none of it went to the reader.
      t.paused = true;
      return CURL_WRITEFUNC_PAUSE;
    }
    if (t.offset > 0 && t.offset >= t.available()) {
      t.buffer.erase(0, t.offset);  // drop what was read, so the buffer stays bounded
      t.offset = 0;
    }
    t.buffer.append(data + taken, n - taken);
    return n;
  }
  if (h->sink != nullptr) h->sink->append(data, n);
  return n;
}

HttpClient::HttpClient(HttpOptions options) : options_(std::move(options)) { global_init(); }

HttpClient::~HttpClient() = default;

std::unique_ptr<HttpClient::Handle> HttpClient::acquire() {
  {
    std::lock_guard lock(mutex_);
    if (!idle_.empty()) {
      auto handle = std::move(idle_.back());
      idle_.pop_back();
      return handle;
    }
  }
  auto handle = std::make_unique<Handle>();
  if (handle->easy == nullptr) throw TransportError("cannot create a libcurl handle", false, false);
  for (const auto& pin : options_.resolve) {
    handle->resolve = curl_slist_append(handle->resolve, pin.c_str());
  }
  return handle;
}

void HttpClient::release(std::unique_ptr<Handle> handle) {
  handle->clear_request();
  std::lock_guard lock(mutex_);
  idle_.push_back(std::move(handle));
}

namespace {

// A port that is not one (0, past 65535, not a number) would fail each retry of a request
// as an unreachable server; it is a malformed location instead.
void check_port(std::string_view url) {
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return;
  std::string_view authority = url.substr(scheme_end + 3);
  authority = authority.substr(0, authority.find_first_of("/?#"));
  if (const auto at = authority.rfind('@'); at != std::string_view::npos) {
    authority.remove_prefix(at + 1);
  }
  if (const auto bracket = authority.rfind(']'); bracket != std::string_view::npos) {
    authority.remove_prefix(bracket + 1);
  }
  const auto colon = authority.rfind(':');
  if (colon == std::string_view::npos || colon + 1 == authority.size()) return;
  const std::string_view port = authority.substr(colon + 1);
  unsigned long value = 0;
  bool digits = port.size() <= 5;
  for (const char c : port) {
    digits = digits && c >= '0' && c <= '9';
    value = value * 10 + static_cast<unsigned long>(c - '0');
  }
  if (!digits || value == 0 || value > 65535) {
    throw Error(ErrorKind::kBadStoreUri, "The port '" + std::string(port.substr(0, 16)) +
                                             "' of the location's host is not a port number "
                                             "(1 to 65535)");
  }
}

}  // namespace

void HttpClient::prepare(Handle& h, const Request& request) {
  CURL* easy = h.easy;
  curl_easy_reset(easy);  // keeps the connection cache
  h.clear_request();
  curl_easy_setopt(easy, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(easy, CURLOPT_PATH_AS_IS, request.remove_dot_segments ? 0L : 1L);
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, h.error_text);
  curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT, options_.connect_timeout_s);
  h.stall_limit = std::chrono::seconds(options_.stall_timeout_s);
  curl_easy_setopt(easy, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(easy, CURLOPT_XFERINFOFUNCTION, &Handle::on_progress);
  curl_easy_setopt(easy, CURLOPT_XFERINFODATA, &h);
  curl_easy_setopt(easy, CURLOPT_BUFFERSIZE, 512L * 1024);
  curl_easy_setopt(easy, CURLOPT_UPLOAD_BUFFERSIZE, 1024L * 1024);
  curl_easy_setopt(easy, CURLOPT_TCP_NODELAY, 1L);
  if (h.resolve != nullptr) curl_easy_setopt(easy, CURLOPT_RESOLVE, h.resolve);
  if (!options_.ca_file.empty()) curl_easy_setopt(easy, CURLOPT_CAINFO, options_.ca_file.c_str());
  if (!options_.verify_tls) {
    curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  // Only the configured proxy: the environment's proxy variables must not redirect a store.
  curl_easy_setopt(easy, CURLOPT_PROXY, options_.proxy.c_str());
  if (request.max_redirects > 0) {
    curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(easy, CURLOPT_MAXREDIRS, request.max_redirects);
  }

  curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, &Handle::on_header);
  curl_easy_setopt(easy, CURLOPT_HEADERDATA, &h);
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &Handle::on_write);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, &h);

  const bool has_body = !request.body.empty() || request.body_source || request.body_size;
  if (request.method == "HEAD") {
    curl_easy_setopt(easy, CURLOPT_NOBODY, 1L);
  } else if (request.method == "PUT" || (request.method == "POST" && has_body)) {
    h.body = request.body;
    h.body_source = request.body_source ? &request.body_source : nullptr;
    curl_easy_setopt(easy, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(easy, CURLOPT_READFUNCTION, &Handle::on_read);
    curl_easy_setopt(easy, CURLOPT_READDATA, &h);
    curl_easy_setopt(easy, CURLOPT_SEEKFUNCTION, &Handle::on_seek);
    curl_easy_setopt(easy, CURLOPT_SEEKDATA, &h);
    const std::optional<std::uint64_t> size =
        request.body_source ? request.body_size : std::optional<std::uint64_t>(request.body.size());
    if (size) curl_easy_setopt(easy, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(*size));
    if (request.method != "PUT") {
      curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, request.method.c_str());
    }
  } else if (request.method != "GET") {
    curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  }

  for (const auto& [name, value] : request.headers) {
    // "Name;" sends an empty header, "Name:" would drop it.
    std::string line = name;
    line.append(value.empty() ? ";" : ": ").append(value);
    h.request_headers = curl_slist_append(h.request_headers, line.c_str());
  }
  // No "Expect: 100-continue" round trip; a body without length goes chunked.
  h.request_headers = curl_slist_append(h.request_headers, "Expect:");
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, h.request_headers);
}

Response HttpClient::perform(const Request& request) {
  check_port(request.url);
  auto handle = acquire();
  prepare(*handle, request);
  Response response;
  handle->sink = &response.body;
  const CURLcode code = curl_easy_perform(handle->easy);
  if (handle->body_error) {
    const auto error = handle->body_error;
    release(std::move(handle));
    std::rethrow_exception(error);
  }
  if (code != CURLE_OK) {
    const TransportError error = handle->failure(code);
    release(std::move(handle));
    throw error;
  }
  curl_easy_getinfo(handle->easy, CURLINFO_RESPONSE_CODE, &response.status);
  char* url = nullptr;
  curl_easy_getinfo(handle->easy, CURLINFO_EFFECTIVE_URL, &url);
  if (url != nullptr) response.effective_url = url;
  response.headers = std::move(handle->headers);
  release(std::move(handle));
  return response;
}

std::unique_ptr<ResponseStream> HttpClient::open(const Request& request) {
  check_port(request.url);
  auto handle = acquire();
  prepare(*handle, request);
  std::unique_ptr<ResponseStream> stream(new ResponseStream(*this, std::move(handle)));
  // Until the first body bytes (or the end): the status and headers are then known.
  while (stream->transfer_->available() == 0 && !stream->transfer_->done) stream->pump();
  auto& t = *stream->transfer_;
  curl_easy_getinfo(stream->handle_->easy, CURLINFO_RESPONSE_CODE, &stream->status_);
  // Broken before an answer came: no stream. Broken after the head, before the first body
  // byte: the stream, whose first read throws, as for a body broken later (readers resume both
  // alike).
  if (t.done && t.result != CURLE_OK && t.available() == 0 && stream->status_ == 0) {
    throw stream->handle_->failure(t.result);
  }
  stream->headers_ = stream->handle_->headers;
  return stream;
}

ResponseStream::ResponseStream(HttpClient& client, std::unique_ptr<HttpClient::Handle> handle)
    : client_(client), handle_(std::move(handle)), transfer_(std::make_unique<Transfer>()) {
  handle_->stream = transfer_.get();
  curl_multi_add_handle(transfer_->multi, handle_->easy);
}

ResponseStream::~ResponseStream() {
  curl_multi_remove_handle(transfer_->multi, handle_->easy);
  client_.release(std::move(handle_));
}

void ResponseStream::pump() {
  auto& t = *transfer_;
  // Paused, or not pumped for a while: the transfer waited on our reader, not on the server.
  const auto now = std::chrono::steady_clock::now();
  if (t.paused || now - t.last_pump > std::chrono::milliseconds(100)) handle_->waited_on_us();
  struct Stamp {
    Transfer& t;
    ~Stamp() { t.last_pump = std::chrono::steady_clock::now(); }
  } stamp{t};
  if (t.paused) {
    t.paused = false;
    curl_easy_pause(handle_->easy, CURLPAUSE_CONT);  // may deliver data right away
    if (t.has_data()) return;
  }
  int running = 0;
  curl_multi_perform(t.multi, &running);
  int queued = 0;
  while (CURLMsg* message = curl_multi_info_read(t.multi, &queued)) {
    if (message->msg == CURLMSG_DONE) {
      t.done = true;
      t.result = message->data.result;
    }
  }
  if (!t.done && !t.has_data() && !t.paused) {
    curl_multi_poll(t.multi, nullptr, 0, 1000, nullptr);
  }
}

std::size_t ResponseStream::read(std::span<std::byte> out) {
  auto& t = *transfer_;
  if (t.available() == 0 && !out.empty()) {
    // Nothing buffered: libcurl writes into `out` itself, the overflow into the buffer.
    t.direct = out;
    t.direct_filled = 0;
    struct Reset {
      Transfer& t;
      ~Reset() { t.direct = {}; }
    } reset{t};
    while (t.direct_filled == 0 && t.available() == 0 && !t.done) pump();
    if (t.direct_filled > 0) return t.direct_filled;
  }
  while (t.available() == 0) {
    if (t.done) {
      if (t.result != CURLE_OK) throw handle_->failure(t.result);
      return 0;
    }
    pump();
  }
  const std::size_t n = std::min(out.size(), t.available());
  std::memcpy(out.data(), t.buffer.data() + t.offset, n);
  t.offset += n;
  return n;
}

std::string ResponseStream::read_rest() {
  std::string out;
  std::byte buffer[16384];
  while (const std::size_t n = read(buffer)) {
    out.append(reinterpret_cast<const char*>(buffer), n);
    if (out.size() > (std::size_t{1} << 20)) break;  // an error body is never that large
  }
  return out;
}

}  // namespace glance_store::net
