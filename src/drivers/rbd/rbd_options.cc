#include "drivers/rbd/rbd_options.h"

#include <bit>

namespace glance_store::rbd {
namespace {

// librbd takes object sizes from 4 KiB to 32 MiB (orders 12 to 25); glance's 1 MiB minimum
// is order 20.
constexpr std::int64_t kMaxChunkMiB = 32;

// A path no system call could take is a malformed value, not a failure of the environment.
void check_path(const OptionReader& reader, const char* option, std::string_view path) {
  if (path.size() >= 4096) reader.fail(option, "the path is longer than 4095 bytes");
  for (std::size_t start = 0; start < path.size();) {
    const std::size_t end = std::min(path.find('/', start), path.size());
    if (end - start > 255) reader.fail(option, "a component of the path is longer than 255 bytes");
    start = end + 1;
  }
}

}  // namespace

RbdOptions RbdOptions::read(const OptionReader& reader) {
  RbdOptions o;
  o.pool = reader.get_string("rbd_store_pool").value_or("images");
  o.user = reader.get_string("rbd_store_user");
  o.ceph_conf = reader.get_string("rbd_store_ceph_conf").value_or("");
  check_path(reader, "rbd_store_ceph_conf", o.ceph_conf);
  o.chunk_size_mib = reader.get_int("rbd_store_chunk_size", 8, 1, kMaxChunkMiB);
  o.connect_timeout = reader.get_int("rados_connect_timeout", 0);
  o.thin_provisioning = reader.get_bool("rbd_thin_provisioning", false);
  o.read_concurrency = reader.get_int("rbd_store_read_concurrency", 4, 1, 64);
  return o;
}

int RbdOptions::order() const {
  return std::bit_width(static_cast<std::uint64_t>(chunk_bytes())) - 1;
}

}  // namespace glance_store::rbd
