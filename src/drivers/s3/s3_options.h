// The S3 store's options, read and checked (internal).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "glance_store/config.h"

namespace glance_store::s3 {

inline constexpr std::uint64_t kMiB = std::uint64_t{1024} * 1024;

/// One field per option (options.md, "S3 driver"), plus ours at the end.
struct S3Options {
  std::optional<std::string> host;            ///< s3_store_host
  std::string region_name;                    ///< s3_store_region_name
  std::optional<std::string> access_key;      ///< s3_store_access_key
  std::optional<std::string> secret_key;      ///< s3_store_secret_key
  std::optional<std::string> bucket;          ///< s3_store_bucket
  bool create_bucket_on_put = false;          ///< s3_store_create_bucket_on_put
  std::string bucket_url_format = "auto";     ///< s3_store_bucket_url_format: auto, virtual, path
  std::int64_t large_object_size = 100;       ///< s3_store_large_object_size (MiB)
  std::int64_t large_object_chunk_size = 10;  ///< s3_store_large_object_chunk_size (MiB)
  std::int64_t thread_pools = 10;             ///< s3_store_thread_pools
  std::string cacert;                         ///< s3_store_cacert
  bool enable_data_integrity_protection = false;
  std::string request_checksum_calculation = "when_required";
  std::string response_checksum_validation = "when_required";
  /// s3_store_max_upload_parts (ours): the server's part limit (AWS 10,000; Swift's s3api 1,000).
  std::int64_t max_upload_parts = 10000;
  /// s3_store_max_retries (ours): attempts after the first for a transient failure.
  std::int64_t max_retries = 5;
  /// s3_store_timeout (ours): seconds a request may go without moving a byte.
  std::int64_t timeout = 60;

  /// Reads every option; malformed values throw InvalidOptionValue.
  static S3Options read(const OptionReader& reader);
  /// configure_add's checks (required options, chunk size ≥ 5, thread pools > 0): throws
  /// BadStoreConfiguration with glance_store's message.
  void check_for_add() const;
};

/// The AWS region a host of the AWS table names ("" for s3.amazonaws.com and unknown hosts).
/// A scheme, a port and a trailing '/' are ignored.
std::string region_of_host(std::string_view host);

/// Whether a bucket name can be a DNS label for virtual-hosted addressing.
bool is_dns_compatible_bucket(std::string_view bucket);

}  // namespace glance_store::s3
