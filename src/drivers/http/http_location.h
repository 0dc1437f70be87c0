// http:// and https:// locations of the read-only HTTP store (internal).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "glance_store/location.h"

namespace glance_store::http {

/// An image on a web server: scheme, optional `user:password@`, netloc, path and query, kept
/// as written so that the URI is written back byte for byte.
class HttpLocation final : public StoreLocation {
 public:
  /// Parses like glance_store (Python's urlparse, then its credential and port checks), except
  /// that a `;params` suffix stays in the path and more than one `@` is refused. Throws
  /// BadStoreUri.
  static std::unique_ptr<HttpLocation> parse(std::string_view uri);

  const std::string& scheme() const override { return scheme_; }
  std::string uri(bool redact = false) const override;
  std::vector<LocationField> fields() const override;

  /// The URL requested: the written-back URI without credentials (they go in a header).
  std::string request_url() const;
  /// The URL for messages and logs: without credentials and without the query, which may
  /// carry a token or a signature.
  std::string display_url() const { return scheme_ + "://" + netloc_ + path_; }
  const std::string& netloc() const { return netloc_; }
  const std::string& path() const { return path_; }
  /// As written (percent-encoded); nullopt without credentials.
  const std::optional<std::string>& user() const { return user_; }
  const std::optional<std::string>& password() const { return password_; }

 private:
  std::string scheme_;
  std::string netloc_;
  std::string path_;
  std::string query_;
  std::optional<std::string> user_;
  std::optional<std::string> password_;
};

}  // namespace glance_store::http
