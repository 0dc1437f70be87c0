// The connection to a Ceph cluster, made at first use and shared by a store's operations
// (internal).
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <rados/librados.hpp>
#include <string>

#include "drivers/rbd/rbd_options.h"

namespace glance_store::rbd {

/// One librados client. librados and librbd are thread-safe: the store's operations share it,
/// and a read stream keeps it alive while it lives.
class Cluster {
 public:
  /// Connects with the store's user and configuration file, within the connect timeout.
  /// Throws BadStoreConfiguration (the cluster refuses the configuration) or
  /// RemoteServiceUnavailable (it does not answer).
  static std::shared_ptr<Cluster> connect(const RbdOptions& options);
  ~Cluster();
  Cluster(const Cluster&) = delete;
  Cluster& operator=(const Cluster&) = delete;

  const std::string& fsid() const { return fsid_; }
  /// An I/O context on `pool` (NotFound when the pool does not exist), cached.
  librados::IoCtx& pool(const std::string& name);
  /// The features new images get: the cluster's rbd_default_features, or layering when that
  /// is unset or 0 (as glance).
  std::uint64_t default_features();
  /// Fences a client address off the cluster for an hour (what librbd does to a dead lock
  /// owner): its watches go at once, so an image a dead process had open can be removed. Only
  /// for clients known to be dead.
  void blocklist(const std::string& address);

 private:
  Cluster() = default;

  librados::Rados rados_;
  std::string fsid_;
  std::mutex mutex_;
  std::map<std::string, librados::IoCtx> pools_;
};

/// The fsid written in a Ceph configuration file, without connecting ("" when it has none or
/// the file cannot be read): what url_prefix shows before any operation connects.
std::string configured_fsid(const RbdOptions& options);

}  // namespace glance_store::rbd
