#include "drivers/swift/swift_options.h"

#include <algorithm>
#include <cctype>
#include <cstdint>

#include "glance_store/error.h"

namespace glance_store::swift {
namespace {

// Every image's container is named from this one (plus `_<id prefix>` with
// swift_store_multiple_containers_seed, or `_<id>` in multi-tenant mode): it must be one
// container name that a location can carry, or each add would go somewhere else.
void check_container_option(const OptionReader& reader, const std::string& container) {
  const auto refuse = [&](const std::string& why) {
    reader.fail("swift_store_container", "'" + container + "' " + why);
  };
  if (container.empty()) refuse("is empty: a container name is needed");
  if (container == "." || container == "..") refuse("is not a container name");
  for (const char c : container) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '/' || c == '?' || c == '#' || byte < 0x20 || byte == 0x7F) {
      refuse("contains a character that cannot be part of a container name in a location");
    }
  }
  if (container.size() > kMaxContainerName) {
    refuse("is longer than Swift's " + std::to_string(kMaxContainerName) + " bytes");
  }
}

// The most Swift-MB whose bytes an int64 holds: a larger size would wrap when multiplied out.
constexpr std::int64_t kMaxSwiftMB = INT64_MAX / static_cast<std::int64_t>(kSwiftMB);
constexpr std::int64_t kMaxInt = 2147483647;

}  // namespace

SwiftOptions SwiftOptions::read(const OptionReader& reader) {
  SwiftOptions o;
  o.auth_insecure = reader.get_bool("swift_store_auth_insecure", false);
  o.cacert = reader.get_path("swift_store_cacert").value_or("");
  o.region = reader.get_string("swift_store_region");
  o.endpoint = reader.get_string("swift_store_endpoint");
  o.endpoint_type = reader.get_choice("swift_store_endpoint_type", "publicURL",
                                      {"publicURL", "adminURL", "internalURL"});
  o.service_type = reader.get_string("swift_store_service_type").value_or("object-store");
  o.container = reader.raw("swift_store_container").value_or("glance");
  check_container_option(reader, *o.container);
  o.large_object_size = reader.get_int("swift_store_large_object_size", 5120, 1, kMaxSwiftMB);
  o.large_object_chunk_size =
      reader.get_int("swift_store_large_object_chunk_size", 200, 1, kMaxSwiftMB);
  o.create_container_on_put = reader.get_bool("swift_store_create_container_on_put", false);
  o.multi_tenant = reader.get_bool("swift_store_multi_tenant", false);
  o.multiple_containers_seed = reader.get_int("swift_store_multiple_containers_seed", 0, 0, 32);
  o.admin_tenants = reader.get_list("swift_store_admin_tenants");
  o.ssl_compression = reader.get_bool("swift_store_ssl_compression", true);
  // Counted in an int.
  o.retry_get_count = reader.get_int("swift_store_retry_get_count", 0, 0, kMaxInt);
  // At most 68 years: compared in the clock's nanoseconds, 10^10 s would overflow them.
  o.expire_soon_interval = reader.get_int("swift_store_expire_soon_interval", 60, 0, kMaxInt);
  o.use_trusts = reader.get_bool("swift_store_use_trusts", true);
  o.buffer_on_upload = reader.get_bool("swift_buffer_on_upload", false);
  o.upload_buffer_dir = reader.get_path("swift_upload_buffer_dir");
  o.default_reference = reader.get_string("default_swift_reference").value_or("ref1");
  o.config_file = reader.get_path("swift_store_config_file");
  o.upload_concurrency = reader.get_int("swift_store_upload_concurrency", 4, 1, 64);
  o.max_retries = reader.get_int("swift_store_max_retries", 5, 0, 100);
  o.timeout = reader.get_int("swift_store_timeout", 60, 1);
  return o;
}

std::string container_for_image(const std::string& container, std::string_view image_id,
                                std::int64_t seed) {
  if (seed <= 0) return container;
  // As glance_store: the first `seed` characters, plus one more for each dash among them.
  // Characters, not bytes: a UTF-8 sequence is never cut.
  const auto prefix_of = [&](std::int64_t characters) {
    std::size_t end = 0;
    for (std::int64_t n = 0; n < characters && end < image_id.size(); ++n) {
      ++end;
      while (end < image_id.size() && (static_cast<unsigned char>(image_id[end]) & 0xC0) == 0x80) {
        ++end;
      }
    }
    return image_id.substr(0, end);
  };
  const std::string_view first = prefix_of(seed);
  const auto dashes = static_cast<std::int64_t>(std::count(first.begin(), first.end(), '-'));
  std::string suffix(prefix_of(seed + dashes));
  // ASCII letters only: glance's str.lower() also folds other scripts' capitals.
  for (char& c : suffix) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return container + "_" + suffix;
}

}  // namespace glance_store::swift
