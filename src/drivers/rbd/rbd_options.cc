#include "drivers/rbd/rbd_options.h"

#include <bit>
#include <optional>

namespace glance_store::rbd {
namespace {

// librbd takes object sizes from 4 KiB to 32 MiB (orders 12 to 25); glance's 1 MiB minimum
// is order 20.
constexpr std::int64_t kMaxChunkMiB = 32;
// librados takes its timeouts as seconds in an int.
constexpr std::int64_t kMaxSeconds = 2147483647;

}  // namespace

RbdOptions RbdOptions::read(const OptionReader& reader) {
  RbdOptions o;
  o.pool = reader.get_string("rbd_store_pool").value_or("images");
  o.user = reader.get_string("rbd_store_user");
  o.ceph_conf = reader.get_path("rbd_store_ceph_conf").value_or("");
  o.chunk_size_mib = reader.get_int("rbd_store_chunk_size", 8, 1, kMaxChunkMiB);
  o.connect_timeout = reader.get_int("rados_connect_timeout", 0, std::nullopt, kMaxSeconds);
  o.thin_provisioning = reader.get_bool("rbd_thin_provisioning", false);
  o.read_concurrency = reader.get_int("rbd_store_read_concurrency", 8, 1, 64);
  return o;
}

int RbdOptions::order() const {
  return std::bit_width(static_cast<std::uint64_t>(chunk_bytes())) - 1;
}

}  // namespace glance_store::rbd
