#include "drivers/rbd/rbd_cluster.h"

#include <rbd/features.h>

#include <charconv>

#include "drivers/rbd/rbd_errors.h"

namespace glance_store::rbd {
namespace {

// Creates a client (not connected) with the options' user and configuration.
int init_client(librados::Rados& rados, const RbdOptions& options) {
  int r = rados.init(options.user ? options.user->c_str() : nullptr);
  if (r < 0) return r;
  return rados.conf_read_file(options.ceph_conf.empty() ? nullptr : options.ceph_conf.c_str());
}

}  // namespace

std::shared_ptr<Cluster> Cluster::connect(const RbdOptions& options) {
  std::shared_ptr<Cluster> cluster(new Cluster());
  librados::Rados& rados = cluster->rados_;
  const std::string who = "client." + options.user.value_or("admin") + " with " +
                          (options.ceph_conf.empty() ? "the default ceph.conf" : options.ceph_conf);
  int r = init_client(rados, options);
  if (r < 0) throw connect_error(r, "Cannot read the Ceph configuration for " + who);
  const std::string timeout = std::to_string(options.effective_connect_timeout());
  rados.conf_set("client_mount_timeout", timeout.c_str());
  rados.conf_set("rados_mon_op_timeout", timeout.c_str());
  // glance's rados_connect_timeout bounds every operation; our default only the connection.
  if (options.connect_timeout > 0) rados.conf_set("rados_osd_op_timeout", timeout.c_str());
  // The writer keeps its own writes in flight and the reader its own reads: librbd's cache
  // would only copy the bytes once more (and acknowledge writes before they are stored).
  rados.conf_set("rbd_cache", "false");
  r = rados.connect();
  if (r < 0) throw connect_error(r, "Cannot connect to the Ceph cluster as " + who);
  r = rados.cluster_fsid(&cluster->fsid_);
  if (r < 0) throw rbd_error(r, "Cannot read the Ceph cluster's fsid");
  return cluster;
}

Cluster::~Cluster() {
  pools_.clear();  // every IoCtx before the client
  rados_.shutdown();
}

librados::IoCtx& Cluster::pool(const std::string& name) {
  std::lock_guard lock(mutex_);
  auto it = pools_.find(name);
  if (it != pools_.end()) return it->second;
  librados::IoCtx io;
  check(rados_.ioctx_create(name.c_str(), io), "Cannot open the Ceph pool '" + name + "'");
  return pools_.emplace(name, std::move(io)).first->second;
}

std::uint64_t Cluster::default_features() {
  std::string text;
  std::uint64_t features = 0;
  if (rados_.conf_get("rbd_default_features", text) == 0) {
    std::from_chars(text.data(), text.data() + text.size(), features);
  }
  return features == 0 ? RBD_FEATURE_LAYERING : features;
}

void Cluster::blocklist(const std::string& address) {
  const std::string command = R"({"prefix": "osd blocklist", "blocklistop": "add", "addr": ")" +
                              address + R"(", "expire": 3600.0})";
  ceph::bufferlist in;
  ceph::bufferlist out;
  std::string status;
  const int r = rados_.mon_command(command, in, &out, &status);
  if (r < 0) throw rbd_error(r, "Failed to fence off the dead client " + address + ": " + status);
}

std::string configured_fsid(const RbdOptions& options) {
  librados::Rados rados;
  std::string fsid;
  if (init_client(rados, options) == 0) rados.conf_get("fsid", fsid);
  rados.shutdown();
  return fsid;
}

}  // namespace glance_store::rbd
