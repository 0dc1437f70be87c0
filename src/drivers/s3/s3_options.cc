#include "drivers/s3/s3_options.h"

#include <array>
#include <cstdint>
#include <utility>

#include "glance_store/error.h"

namespace glance_store::s3 {
namespace {

constexpr std::string_view kStoreName = "s3";

[[noreturn]] void config_error(const std::string& reason) {
  throw bad_store_configuration_error(kStoreName, reason);
}

// The most MiB whose bytes an int64 holds: a larger size would wrap when multiplied out.
constexpr std::int64_t kMaxMiB = INT64_MAX / (std::int64_t{1} << 20);

}  // namespace

S3Options S3Options::read(const OptionReader& reader) {
  S3Options o;
  o.host = reader.get_string("s3_store_host");
  o.region_name = reader.get_string("s3_store_region_name").value_or("");
  o.access_key = reader.get_string("s3_store_access_key");
  o.secret_key = reader.get_string("s3_store_secret_key");
  o.bucket = reader.get_string("s3_store_bucket");
  o.create_bucket_on_put = reader.get_bool("s3_store_create_bucket_on_put", false);
  o.bucket_url_format = reader.get_string("s3_store_bucket_url_format").value_or("auto");
  if (o.bucket_url_format != "auto" && o.bucket_url_format != "path" &&
      o.bucket_url_format != "virtual") {
    reader.fail("s3_store_bucket_url_format",
                "'" + o.bucket_url_format + "' is not one of auto, path, virtual");
  }
  o.large_object_size = reader.get_int("s3_store_large_object_size", 100, 0, kMaxMiB);
  o.large_object_chunk_size =
      reader.get_int("s3_store_large_object_chunk_size", 10, std::nullopt, kMaxMiB);
  o.thread_pools = reader.get_int("s3_store_thread_pools", 10);
  o.cacert = reader.get_path("s3_store_cacert").value_or("");
  o.enable_data_integrity_protection =
      reader.get_bool("s3_store_enable_data_integrity_protection", false);
  o.request_checksum_calculation =
      reader.get_choice("s3_store_request_checksum_calculation", "when_required",
                        {"when_required", "when_supported"});
  o.response_checksum_validation =
      reader.get_choice("s3_store_response_checksum_validation", "when_required",
                        {"when_required", "when_supported"});
  o.max_upload_parts = reader.get_int("s3_store_max_upload_parts", 10000, 1, 10000);
  o.max_retries = reader.get_int("s3_store_max_retries", 5, 0, 100);
  o.timeout = reader.get_int("s3_store_timeout", 60, 1);
  return o;
}

void S3Options::check_for_add() const {
  const auto require = [](bool present, std::string_view name) {
    if (!present)
      config_error("Could not find " + std::string(name) + " in configuration options.");
  };
  require(host.has_value(), "s3_store_host");
  require(access_key.has_value(), "s3_store_access_key");
  require(secret_key.has_value(), "s3_store_secret_key");
  require(bucket.has_value(), "s3_store_bucket");
  // glance_store reads these through its truthiness check first: 0 is "not found".
  require(large_object_chunk_size != 0, "s3_store_large_object_chunk_size");
  require(thread_pools != 0, "s3_store_thread_pools");
  if (large_object_chunk_size < 5) {
    config_error("s3_store_large_object_chunk_size must be at least 5 MB.");
  }
  if (thread_pools <= 0) {
    config_error("s3_store_thread_pools must be a positive integer. " +
                 std::to_string(thread_pools));
  }
}

std::string region_of_host(std::string_view host) {
  if (host.starts_with("https://")) {
    host.remove_prefix(8);
  } else if (host.starts_with("http://")) {
    host.remove_prefix(7);
  }
  while (host.ends_with('/')) host.remove_suffix(1);
  if (const auto colon = host.rfind(':'); colon != std::string_view::npos) {
    host = host.substr(0, colon);
  }
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 21> kTable = {{
      {"s3.amazonaws.com", ""},
      {"s3-us-east-1.amazonaws.com", "us-east-1"},
      {"s3-us-east-2.amazonaws.com", "us-east-2"},
      {"s3-us-west-1.amazonaws.com", "us-west-1"},
      {"s3-us-west-2.amazonaws.com", "us-west-2"},
      {"s3-ap-east-1.amazonaws.com", "ap-east-1"},
      {"s3-ap-south-1.amazonaws.com", "ap-south-1"},
      {"s3-ap-northeast-1.amazonaws.com", "ap-northeast-1"},
      {"s3-ap-northeast-2.amazonaws.com", "ap-northeast-2"},
      {"s3-ap-northeast-3.amazonaws.com", "ap-northeast-3"},
      {"s3-ap-southeast-1.amazonaws.com", "ap-southeast-1"},
      {"s3-ap-southeast-2.amazonaws.com", "ap-southeast-2"},
      {"s3-ca-central-1.amazonaws.com", "ca-central-1"},
      {"s3-cn-north-1.amazonaws.com.cn", "cn-north-1"},
      {"s3-cn-northwest-1.amazonaws.com.cn", "cn-northwest-1"},
      {"s3-eu-central-1.amazonaws.com", "eu-central-1"},
      {"s3-eu-west-1.amazonaws.com", "eu-west-1"},
      {"s3-eu-west-2.amazonaws.com", "eu-west-2"},
      {"s3-eu-west-3.amazonaws.com", "eu-west-3"},
      {"s3-eu-north-1.amazonaws.com", "eu-north-1"},
      {"s3-sa-east-1.amazonaws.com", "sa-east-1"},
  }};
  for (const auto& [name, region] : kTable) {
    if (name == host) return std::string(region);
  }
  return "";
}

bool is_dns_compatible_bucket(std::string_view bucket) {
  if (bucket.size() < 3 || bucket.size() > 63) return false;
  const auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!alnum(bucket.front()) || !alnum(bucket.back())) return false;
  for (const char c : bucket) {
    if (!alnum(c) && c != '-') return false;
  }
  return true;
}

}  // namespace glance_store::s3
