// swift://, swift+http://, swift+https:// and swift+config:// locations (internal).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "drivers/swift/swift_references.h"
#include "glance_store/location.h"

namespace glance_store::swift {

/// A Swift location: credentials and an auth address (single-tenant), or a storage URL
/// (multi-tenant), then a container and an object.
class SwiftLocation final : public StoreLocation {
 public:
  /// Parses like glance_store (its field values and its rejections); a swift+config URI takes
  /// its credentials from `references`. Throws BadStoreUri.
  static std::unique_ptr<SwiftLocation> parse(std::string_view uri,
                                              const SwiftReferences& references);
  /// A location for a new image written with a reference: `swift+config://ref/…` when the
  /// store has a reference file, else the reference's credentials (encoded) in the URI.
  static std::unique_ptr<SwiftLocation> for_new_image(const std::string& reference_name,
                                                      const SwiftReference& reference,
                                                      bool as_config_reference,
                                                      std::string container, std::string object);
  /// A multi-tenant location: a storage URL, no credentials.
  static std::unique_ptr<SwiftLocation> for_storage_url(std::string_view storage_url,
                                                        std::string container, std::string object);

  const std::string& scheme() const override { return scheme_; }
  /// glance's get_uri(), except that a swift+config location stays one (its credentials are
  /// not written into the URI).
  std::string uri(bool redact = false) const override;
  std::vector<LocationField> fields() const override;

  /// The auth URL (single-tenant) or storage URL (multi-tenant) with its http(s):// scheme.
  std::string swift_url() const;
  const std::optional<std::string>& user() const { return user_; }
  const std::optional<std::string>& key() const { return key_; }
  const std::string& container() const { return container_; }
  const std::string& object() const { return object_; }
  /// The reference of a swift+config location ("" otherwise).
  const std::string& reference_name() const { return reference_; }
  /// The reference a swift+config location names (nullptr otherwise).
  const SwiftReference* reference() const { return reference_data_ ? &*reference_data_ : nullptr; }

 private:
  std::string scheme_;
  std::optional<std::string> user_;  // decoded
  std::optional<std::string> key_;   // decoded
  std::string auth_or_store_url_;
  std::string container_;
  std::string object_;
  std::string reference_;
  std::optional<SwiftReference> reference_data_;
  bool ssl_enabled_ = true;
};

}  // namespace glance_store::swift
