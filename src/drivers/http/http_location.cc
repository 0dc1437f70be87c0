#include "drivers/http/http_location.h"

#include <algorithm>

#include "core/url.h"
#include "glance_store/error.h"

namespace glance_store::http {
namespace {

bool all_digits(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

std::unique_ptr<HttpLocation> HttpLocation::parse(std::string_view uri) {
  const auto malformed = [&] { return bad_store_uri_error(redact_uri(uri)); };
  const internal::SplitUrl pieces = internal::split_url(uri);
  // glance checks the URI as written, before Python's clean-up of leading blanks.
  if (!uri.starts_with("https://") && !uri.starts_with("http://")) {
    throw bad_store_uri_error(
        "Location URI must start with one of the following schemas: https://, http://", true);
  }
  auto location = std::unique_ptr<HttpLocation>(new HttpLocation());
  location->scheme_ = pieces.scheme;
  std::string_view netloc = pieces.netloc;
  const std::size_t at = netloc.find('@');
  if (at != std::string_view::npos) {
    // Python's split('@') fails on a second '@' and glance then reads a mangled host; a
    // password with a raw '@' must be written %40.
    if (netloc.find('@', at + 1) != std::string_view::npos) throw malformed();
    const std::string_view credentials = netloc.substr(0, at);
    netloc = netloc.substr(at + 1);
    if (!credentials.empty()) {
      const std::size_t colon = credentials.find(':');
      if (colon == std::string_view::npos ||
          credentials.find(':', colon + 1) != std::string_view::npos) {
        throw bad_store_uri_error("Credentials are not well-formatted.", true);
      }
      location->user_ = std::string(credentials.substr(0, colon));
      location->password_ = std::string(credentials.substr(colon + 1));
    }
  }
  if (netloc.empty()) throw malformed();
  // An IPv6 literal's port is what follows "]:".
  const std::string_view delimiter = internal::count_occurrences(netloc, ":") > 1 ? "]:" : ":";
  const std::size_t port_at = netloc.find(delimiter);
  if (port_at != std::string_view::npos && !all_digits(netloc.substr(port_at + delimiter.size()))) {
    throw malformed();
  }
  location->netloc_ = std::string(netloc);
  location->path_ = std::string(pieces.path);
  location->query_ = std::string(pieces.query);
  return location;
}

std::string HttpLocation::request_url() const {
  std::string url = scheme_ + "://" + netloc_ + path_;
  if (!query_.empty()) url += "?" + query_;
  return url;
}

std::string HttpLocation::uri(bool redact) const {
  std::string out = scheme_ + "://";
  if (user_) out += *user_ + ":" + (redact ? "***" : *password_) + "@";
  out += netloc_ + path_;
  if (!query_.empty()) out += "?" + query_;
  return out;
}

std::vector<LocationField> HttpLocation::fields() const {
  return {
      {"scheme", scheme_}, {"netloc", netloc_},           {"path", path_},
      {"user", user_},     {"password", password_, true}, {"query", query_},
  };
}

}  // namespace glance_store::http
