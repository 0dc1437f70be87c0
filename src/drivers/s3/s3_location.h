// s3://, s3+http:// and s3+https:// locations (internal).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "glance_store/location.h"

namespace glance_store::s3 {

/// An S3 location. Credentials are kept as written in the URI and written back byte for byte;
/// requests are signed with their percent-decoded values.
class S3Location final : public StoreLocation {
 public:
  /// Parses like glance_store (its field values and its rejections). Throws BadStoreUri.
  static std::unique_ptr<S3Location> parse(std::string_view uri);
  /// A location for a new image: the host as configured (an `https://` prefix gives the
  /// s3+https scheme, `http://` or none gives s3), credentials from configuration encoded.
  static std::unique_ptr<S3Location> for_new_image(std::string_view host,
                                                   std::string_view access_key,
                                                   std::string_view secret_key, std::string bucket,
                                                   std::string key);

  const std::string& scheme() const override { return scheme_; }
  std::string uri(bool redact = false) const override;
  std::vector<LocationField> fields() const override;

  /// The endpoint the location names: `https://` for s3+https, `http://` otherwise.
  std::string endpoint() const;
  const std::string& service_url() const { return service_url_; }
  const std::string& bucket() const { return bucket_; }
  const std::string& key() const { return key_; }
  bool has_credentials() const { return access_key_.has_value(); }
  /// Decoded credentials for signing ("" when the URI has none).
  std::string access_key() const;
  std::string secret_key() const;

 private:
  std::string scheme_;
  std::optional<std::string> access_key_;  // as written
  std::optional<std::string> secret_key_;  // as written
  std::string service_url_;
  std::string bucket_;
  std::string key_;
};

}  // namespace glance_store::s3
