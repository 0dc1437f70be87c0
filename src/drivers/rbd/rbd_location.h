// rbd:// locations (internal).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "glance_store/location.h"

namespace glance_store::rbd {

/// The snapshot every add creates and protects: what Nova and Cinder clone from.
inline constexpr std::string_view kSnapshotName = "snap";

/// `rbd://<fsid>/<pool>/<image>/<snapshot>` (each component percent-quoted), or the legacy
/// one-component `rbd://<image>` (taken as written: pool = the configured one, no snapshot).
class RbdLocation final : public StoreLocation {
 public:
  /// Parses like glance_store: 1 or 4 components, none empty. Throws BadStoreUri.
  static std::unique_ptr<RbdLocation> parse(std::string_view uri);
  /// The location of a committed add.
  RbdLocation(std::string fsid, std::string pool, std::string image, std::string snapshot);

  const std::string& scheme() const override { return scheme_; }
  std::string uri(bool redact = false) const override;
  std::vector<LocationField> fields() const override;

  const std::optional<std::string>& fsid() const { return fsid_; }
  /// nullopt for the one-component form: the store's pool.
  const std::optional<std::string>& pool() const { return pool_; }
  const std::string& image() const { return image_; }
  /// nullopt for the one-component form: the image itself, not a snapshot of it.
  const std::optional<std::string>& snapshot() const { return snapshot_; }

 private:
  RbdLocation() = default;

  std::string scheme_ = "rbd";
  std::optional<std::string> fsid_;
  std::optional<std::string> pool_;
  std::string image_;
  std::optional<std::string> snapshot_;
};

/// `rbd://<fsid>/<pool>/`, components quoted as in locations (multi-store's url_prefix).
std::string rbd_url_prefix(std::string_view fsid, std::string_view pool);

}  // namespace glance_store::rbd
