// The RBD store's options, read and checked (internal).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "glance_store/config.h"

namespace glance_store::rbd {

/// One field per option, with glance_store's names and defaults (spec rbd.md, "Options").
struct RbdOptions {
  std::string pool = "images";        ///< rbd_store_pool
  std::optional<std::string> user;    ///< rbd_store_user: unset is librados' default id
  std::string ceph_conf;              ///< rbd_store_ceph_conf: "" is librados' search
  std::int64_t chunk_size_mib = 8;    ///< rbd_store_chunk_size: the RBD object size
  std::int64_t connect_timeout = 0;   ///< rados_connect_timeout (s); ≤ 0: ours, below
  bool thin_provisioning = false;     ///< rbd_thin_provisioning: skip all-zero chunks
  std::int64_t read_concurrency = 8;  ///< rbd_store_read_concurrency (ours): reads in flight

  /// The bound on connecting and on the monitor's answers when glance's default asks for none:
  /// a cluster that is down fails an operation instead of hanging it.
  static constexpr std::int64_t kDefaultConnectTimeout = 30;

  /// Reads every option; malformed values throw InvalidOptionValue naming the option.
  static RbdOptions read(const OptionReader& reader);

  /// log2 of the chunk size in bytes, as glance computes the image's order.
  int order() const;
  std::uint64_t chunk_bytes() const { return static_cast<std::uint64_t>(chunk_size_mib) << 20; }
  /// Seconds for connecting and for monitor operations.
  std::int64_t effective_connect_timeout() const {
    return connect_timeout > 0 ? connect_timeout : kDefaultConnectTimeout;
  }
};

}  // namespace glance_store::rbd
