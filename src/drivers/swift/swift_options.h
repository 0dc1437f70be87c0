// The Swift store's options, read and checked (internal).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "glance_store/config.h"

namespace glance_store::swift {

/// Swift's "MB" in the size options: 1,000 KiB, as glance_store counts it.
inline constexpr std::uint64_t kSwiftMB = 1024000;

/// One field per option (options.md, "Swift driver"), plus ours at the end.
/// Swift's default limits (max_container_name_length, max_object_name_length), in bytes.
constexpr std::size_t kMaxContainerName = 256;
constexpr std::size_t kMaxObjectName = 1024;

struct SwiftOptions {
  bool auth_insecure = false;                    ///< swift_store_auth_insecure
  std::string cacert;                            ///< swift_store_cacert
  std::optional<std::string> region;             ///< swift_store_region
  std::optional<std::string> endpoint;           ///< swift_store_endpoint
  std::string endpoint_type = "publicURL";       ///< swift_store_endpoint_type
  std::string service_type = "object-store";     ///< swift_store_service_type
  std::optional<std::string> container;          ///< swift_store_container (default glance)
  std::int64_t large_object_size = 5120;         ///< swift_store_large_object_size (MB)
  std::int64_t large_object_chunk_size = 200;    ///< swift_store_large_object_chunk_size (MB)
  bool create_container_on_put = false;          ///< swift_store_create_container_on_put
  bool multi_tenant = false;                     ///< swift_store_multi_tenant
  std::int64_t multiple_containers_seed = 0;     ///< swift_store_multiple_containers_seed
  std::vector<std::string> admin_tenants;        ///< swift_store_admin_tenants
  bool ssl_compression = true;                   ///< swift_store_ssl_compression (no-op)
  std::int64_t retry_get_count = 0;              ///< swift_store_retry_get_count
  std::int64_t expire_soon_interval = 60;        ///< swift_store_expire_soon_interval (s)
  bool use_trusts = true;                        ///< swift_store_use_trusts
  bool buffer_on_upload = false;                 ///< swift_buffer_on_upload
  std::optional<std::string> upload_buffer_dir;  ///< swift_upload_buffer_dir
  std::string default_reference = "ref1";        ///< default_swift_reference
  std::optional<std::string> config_file;        ///< swift_store_config_file
  /// swift_store_upload_concurrency (ours): segments uploading at once.
  std::int64_t upload_concurrency = 4;
  /// swift_store_max_retries (ours): attempts after the first for a transient failure.
  std::int64_t max_retries = 5;
  /// swift_store_timeout (ours): seconds a request may go without moving a byte.
  std::int64_t timeout = 60;

  /// Reads every option; malformed values throw InvalidOptionValue / BadStoreConfiguration.
  static SwiftOptions read(const OptionReader& reader);

  std::uint64_t large_object_bytes() const {
    return static_cast<std::uint64_t>(large_object_size) * kSwiftMB;
  }
  std::uint64_t segment_bytes() const {
    return static_cast<std::uint64_t>(large_object_chunk_size) * kSwiftMB;
  }
};

/// The container of an image in single-tenant mode: `container` alone (seed 0), or
/// `container_<the first seed non-dash characters of the lower-cased id>`.
std::string container_for_image(const std::string& container, std::string_view image_id,
                                std::int64_t seed);

}  // namespace glance_store::swift
