#include "drivers/swift/swift_location.h"

#include <algorithm>
#include <vector>

#include "core/url.h"
#include "glance_store/error.h"

namespace glance_store::swift {
namespace {

constexpr std::string_view kBadlyFormed = "Badly formed Swift URI.";

Error bad_uri(std::string_view reason) { return bad_store_uri_error(reason, true); }

std::string_view strip(std::string_view s, char c = '/') {
  while (!s.empty() && s.front() == c) s.remove_prefix(1);
  while (!s.empty() && s.back() == c) s.remove_suffix(1);
  return s;
}

std::string_view without_http_scheme(std::string_view url) {
  if (url.starts_with("http://")) return url.substr(7);
  if (url.starts_with("https://")) return url.substr(8);
  return url;
}

}  // namespace

std::unique_ptr<SwiftLocation> SwiftLocation::parse(std::string_view uri,
                                                    const SwiftReferences& references) {
  if (internal::count_occurrences(uri, "://") != 1) {
    throw bad_uri(
        "URI cannot contain more than one occurrence of a scheme. A URI such as "
        "swift://user:pass@http://authurl.com/v1/container/obj must be written with the "
        "swift+http:// scheme: swift+http://user:pass@authurl.com/v1/container/obj");
  }
  const internal::SplitUrl parts = internal::split_url(uri);
  if (!uri.starts_with("swift://") && !uri.starts_with("swift+http://") &&
      !uri.starts_with("swift+https://") && !uri.starts_with("swift+config://")) {
    throw Error(ErrorKind::kBadStoreUri,
                "Location URI must start with one of the following schemas: swift://, "
                "swift+http://, swift+https://, swift+config://");
  }
  auto location = std::make_unique<SwiftLocation>();
  location->scheme_ = parts.scheme;
  std::string netloc(parts.netloc);
  std::string path(parts.path);
  while (!path.empty() && path.front() == '/') path.erase(0, 1);

  if (location->scheme_ == "swift+config") {
    const auto found = references.find(netloc);
    if (found == references.end()) {
      throw bad_uri("Badly formed Swift URI. Credentials not found for account reference");
    }
    const SwiftReference& ref = found->second;
    location->reference_ = netloc;
    location->reference_data_ = ref;
    location->user_ = ref.user;
    location->key_ = ref.key;
    location->ssl_enabled_ = !ref.auth_address.starts_with("http://");
    netloc = std::string(without_http_scheme(ref.auth_address));
  } else {
    std::optional<std::string> credentials;
    if (!netloc.empty()) {
      if (const auto at = netloc.find('@'); at != std::string::npos) {
        if (netloc.find('@', at + 1) != std::string::npos) throw bad_uri(kBadlyFormed);
        credentials = netloc.substr(0, at);
        netloc.erase(0, at + 1);
      }
    } else {
      // No host: glance looks for credentials and the host in the path.
      if (const auto at = path.find('@'); at != std::string::npos) {
        if (path.find('@', at + 1) != std::string::npos) throw bad_uri(kBadlyFormed);
        credentials = path.substr(0, at);
        path.erase(0, at + 1);
      }
      // Python's path[0:find('/')] and path[find('/'):], where find gives -1 for no '/'.
      const std::string_view view(path);
      const std::size_t cut = std::min(view.find('/'), view.empty() ? 0 : view.size() - 1);
      netloc = std::string(strip(view.substr(0, cut)));
      path = std::string(strip(view.substr(cut)));
    }
    if (credentials && !credentials->empty()) {
      if (credentials->find(':') == std::string::npos) {
        throw bad_uri("Badly formed credentials in Swift URI.");
      }
      // The key follows the last ':' as written; glance decodes before splitting, so a key
      // with an encoded ':' (as we write one) would lose its head to the user.
      const auto colon = credentials->rfind(':');
      location->user_ = internal::percent_unquote(credentials->substr(0, colon));
      location->key_ = internal::percent_unquote(credentials->substr(colon + 1));
    }
  }

  // The last two path segments are the container and the object; the rest, after the host,
  // is the auth (or storage) URL.
  std::vector<std::string_view> segments;
  std::string_view rest(path);
  for (;;) {
    const auto slash = rest.find('/');
    segments.push_back(rest.substr(0, slash));
    if (slash == std::string_view::npos) break;
    rest.remove_prefix(slash + 1);
  }
  if (segments.size() < 2) throw bad_uri(kBadlyFormed);
  location->object_ = std::string(segments.back());
  segments.pop_back();
  location->container_ = std::string(segments.back());
  segments.pop_back();
  // An empty host followed by a path ("swift://@//@/a/c/o") gives an auth URL starting with
  // '/': glance writes it without and reads it differently at every write-back. Malformed.
  if (netloc.empty() && !segments.empty()) throw bad_uri(kBadlyFormed);
  std::string auth = netloc;
  for (const auto segment : segments) auth.append("/").append(segment);
  location->auth_or_store_url_ = std::move(auth);
  return location;
}

std::unique_ptr<SwiftLocation> SwiftLocation::for_new_image(const std::string& reference_name,
                                                            const SwiftReference& reference,
                                                            bool as_config_reference,
                                                            std::string container,
                                                            std::string object) {
  auto location = std::make_unique<SwiftLocation>();
  location->ssl_enabled_ = !reference.auth_address.starts_with("http://");
  location->scheme_ = location->ssl_enabled_ ? "swift+https" : "swift+http";
  if (as_config_reference) {
    location->scheme_ = "swift+config";
    location->reference_ = reference_name;
    location->reference_data_ = reference;
  }
  location->user_ = reference.user;
  location->key_ = reference.key;
  location->auth_or_store_url_ = std::string(without_http_scheme(reference.auth_address));
  location->container_ = std::move(container);
  location->object_ = std::move(object);
  return location;
}

std::unique_ptr<SwiftLocation> SwiftLocation::for_storage_url(std::string_view storage_url,
                                                              std::string container,
                                                              std::string object) {
  auto location = std::make_unique<SwiftLocation>();
  location->scheme_ = storage_url.starts_with("http://") ? "swift+http" : "swift+https";
  location->auth_or_store_url_ = std::string(strip(without_http_scheme(storage_url)));
  location->container_ = std::move(container);
  location->object_ = std::move(object);
  return location;
}

std::string SwiftLocation::uri(bool redact) const {
  const std::string path = std::string(strip(container_)) + "/" + std::string(strip(object_));
  if (scheme_ == "swift+config") return scheme_ + "://" + reference_ + "/" + path;
  std::string out = scheme_ + "://";
  if (user_ && !user_->empty() && key_ && !key_->empty()) {
    out += internal::percent_quote(*user_, "") + ":" +
           (redact ? std::string("***") : internal::percent_quote(*key_, "")) + "@";
  }
  out += std::string(strip(without_http_scheme(auth_or_store_url_)));
  return out + "/" + path;
}

std::vector<LocationField> SwiftLocation::fields() const {
  std::vector<LocationField> out = {{"scheme", scheme_, false},
                                    {"user", user_, false},
                                    {"key", key_, true},
                                    {"auth_or_store_url", auth_or_store_url_, false},
                                    {"container", container_, false},
                                    {"obj", object_, false}};
  if (scheme_ == "swift+config") {
    out.push_back({"ssl_enabled", ssl_enabled_ ? "true" : "false", false});
  }
  return out;
}

std::string SwiftLocation::swift_url() const {
  if (auth_or_store_url_.starts_with("http://") || auth_or_store_url_.starts_with("https://")) {
    return auth_or_store_url_;
  }
  const bool https = scheme_ == "swift+config" ? ssl_enabled_ : scheme_ != "swift+http";
  return (https ? "https://" : "http://") + auth_or_store_url_;
}

}  // namespace glance_store::swift
