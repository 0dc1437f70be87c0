#include "drivers/s3/s3_location.h"

#include <vector>

#include "core/url.h"
#include "glance_store/error.h"

namespace glance_store::s3 {
namespace {

std::string_view strip_slashes(std::string_view s) {
  while (!s.empty() && s.front() == '/') s.remove_prefix(1);
  while (!s.empty() && s.back() == '/') s.remove_suffix(1);
  return s;
}

std::vector<std::string_view> split(std::string_view s, char separator) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  for (;;) {
    const std::size_t at = s.find(separator, start);
    if (at == std::string_view::npos) {
      parts.push_back(s.substr(start));
      return parts;
    }
    parts.push_back(s.substr(start, at - start));
    start = at + 1;
  }
}

Error malformed(std::string_view uri) { return bad_store_uri_error(redact_uri(uri)); }

}  // namespace

std::unique_ptr<S3Location> S3Location::parse(std::string_view uri) {
  // A second scheme (s3://ak:sk@https://host/…) is refused before anything else: such URIs
  // must be written s3+https://.
  if (internal::count_occurrences(uri, "://") != 1) throw malformed(uri);
  internal::SplitUrl parts = internal::split_url(uri);
  if (!uri.starts_with("s3://") && !uri.starts_with("s3+http://") &&
      !uri.starts_with("s3+https://")) {
    throw Error(ErrorKind::kBadStoreUri,
                "Location URI must start with one of the following schemas: s3://, s3+http://, "
                "s3+https://");
  }
  auto location = std::make_unique<S3Location>();
  location->scheme_ = parts.scheme;
  // A secret may contain '/', which splits it between netloc and path: join them again.
  std::string entire;
  entire.append(strip_slashes(parts.netloc)).append("/").append(strip_slashes(parts.path));
  std::string_view path = strip_slashes(entire);
  if (uri.find('@') != std::string_view::npos) {
    const auto at = split(path, '@');
    if (at.size() != 2) throw malformed(uri);
    const auto credentials = split(at[0], ':');
    if (credentials.size() < 2) throw malformed(uri);
    // As glance_store: the secret ends at the next ':'.
    location->access_key_ = std::string(credentials[0]);
    location->secret_key_ = std::string(credentials[1]);
    path = at[1];
  }
  auto pieces = split(path, '/');
  if (pieces.size() < 3) throw malformed(uri);
  location->key_ = std::string(pieces.back());
  pieces.pop_back();
  location->bucket_ = std::string(pieces.back());
  pieces.pop_back();
  std::string service;
  for (std::size_t i = 0; i < pieces.size(); ++i) {
    if (i != 0) service += '/';
    service.append(pieces[i]);
  }
  location->service_url_ = std::string(strip_slashes(service));
  return location;
}

std::unique_ptr<S3Location> S3Location::for_new_image(std::string_view host,
                                                      std::string_view access_key,
                                                      std::string_view secret_key,
                                                      std::string bucket, std::string key) {
  auto location = std::make_unique<S3Location>();
  location->scheme_ = "s3";
  if (host.starts_with("https://")) {
    location->scheme_ = "s3+https";
    host.remove_prefix(8);
  } else if (host.starts_with("http://")) {
    host.remove_prefix(7);
  }
  location->service_url_ = std::string(strip_slashes(host));
  location->access_key_ = internal::quote_credential(access_key, false);
  location->secret_key_ = internal::quote_credential(secret_key, false);
  location->bucket_ = std::move(bucket);
  location->key_ = std::move(key);
  return location;
}

std::string S3Location::uri(bool redact) const {
  std::string out = scheme_ + "://";
  if (access_key_) out += *access_key_ + ":" + (redact ? "***" : *secret_key_) + "@";
  out += service_url_ + "/" + bucket_ + "/" + key_;
  return out;
}

std::vector<LocationField> S3Location::fields() const {
  return {{"scheme", scheme_, false},       {"accesskey", access_key_, false},
          {"secretkey", secret_key_, true}, {"s3serviceurl", service_url_, false},
          {"bucket", bucket_, false},       {"key", key_, false}};
}

std::string S3Location::endpoint() const {
  return (scheme_ == "s3+https" ? "https://" : "http://") + service_url_;
}

std::string S3Location::access_key() const {
  return access_key_ ? internal::percent_unquote(*access_key_) : std::string();
}

std::string S3Location::secret_key() const {
  return secret_key_ ? internal::percent_unquote(*secret_key_) : std::string();
}

}  // namespace glance_store::s3
