// The project's single-node Ceph (scripts/servers/ceph-rgw) as the RBD tests use it: the
// store's settings, and an admin client that looks behind the store (images, snapshots,
// clones, open handles).
#pragma once

#include <gtest/gtest.h>

#include <rados/librados.hpp>
#include <rbd/librbd.hpp>
#include <string>
#include <vector>

#include "common/server_test_util.h"
#include "drivers/rbd/rbd_header.h"
#include "glance_store/error.h"

namespace glance_store::rbd::testing {

struct RbdServer {
  std::string ceph_conf;
  std::string pool;
  std::string user;
};

inline RbdServer rbd_server() {
  using test_common::server_setting;
  return {server_setting("ceph-rgw", "GS_CEPH_CONF"), server_setting("ceph-rgw", "GS_RBD_POOL"),
          server_setting("ceph-rgw", "GS_RBD_USER")};
}

/// The `[glance_store]` lines of a legacy RBD store on the test pool (1 MiB objects).
inline std::string rbd_store_lines(const RbdServer& server) {
  return "rbd_store_ceph_conf = " + server.ceph_conf + "\nrbd_store_pool = " + server.pool +
         "\nrbd_store_user = " + server.user + "\nrbd_store_chunk_size = 1\n";
}

/// client.admin on the test cluster.
class CephAdmin {
 public:
  explicit CephAdmin(const RbdServer& server) {
    EXPECT_EQ(rados_.init("admin"), 0);
    EXPECT_EQ(rados_.conf_read_file(server.ceph_conf.c_str()), 0);
    EXPECT_EQ(rados_.connect(), 0) << "is scripts/servers/ceph-rgw started?";
    EXPECT_EQ(rados_.ioctx_create(server.pool.c_str(), io_), 0);
    EXPECT_EQ(rados_.cluster_fsid(&fsid_), 0);
  }
  ~CephAdmin() {
    io_.close();
    rados_.shutdown();
  }

  librados::IoCtx& io() { return io_; }
  const std::string& fsid() const { return fsid_; }

  /// The pool's images whose names start with `prefix`, sorted.
  std::vector<std::string> images(const std::string& prefix) {
    std::vector<librbd::image_spec_t> all;
    EXPECT_EQ(rbd_.list2(io_, &all), 0);
    std::vector<std::string> out;
    for (const auto& spec : all) {
      if (spec.name.starts_with(prefix)) out.push_back(spec.name);
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  std::vector<std::string> snapshots(const std::string& image) {
    librbd::Image handle;
    std::vector<std::string> out;
    if (rbd_.open_read_only(io_, handle, image.c_str(), nullptr) != 0) return out;
    std::vector<librbd::snap_info_t> snaps;
    handle.snap_list(snaps);
    for (const auto& s : snaps) out.push_back(s.name);
    return out;
  }

  bool is_protected(const std::string& image, const std::string& snap) {
    librbd::Image handle;
    bool is = false;
    if (rbd_.open_read_only(io_, handle, image.c_str(), nullptr) != 0) return false;
    return handle.snap_is_protected(snap.c_str(), &is) == 0 && is;
  }

  /// Creates `name` holding `data`, without a snapshot (as old deployments' images are).
  void create_image(const std::string& name, const std::string& data) {
    int order = 20;
    ASSERT_EQ(rbd_.create2(io_, name.c_str(), data.size(), 1, &order), 0);
    librbd::Image handle;
    ASSERT_EQ(rbd_.open(io_, handle, name.c_str()), 0);
    ceph::bufferlist bl;
    bl.append(data);
    ASSERT_EQ(handle.write(0, data.size(), bl), static_cast<ssize_t>(data.size()));
  }

  /// Removes `name` and its snapshots, whatever they are (test clean-up); not an image that a
  /// client (dead or alive) still has open: librbd would wait for its watch to time out.
  void remove_all(const std::string& name) {
    try {  // asked of the header, as the store does (see rbd_header.h)
      const auto id = read_image_id(io_, name);
      if (!id) return;
      if (!read_watchers(io_, *id).empty()) return;
    } catch (const Error&) {
      return;
    }
    {
      librbd::Image handle;
      if (rbd_.open(io_, handle, name.c_str()) == 0) {
        std::vector<librbd::snap_info_t> snaps;
        handle.snap_list(snaps);
        for (const auto& s : snaps) {
          handle.snap_unprotect(s.name.c_str());
          handle.snap_remove(s.name.c_str());
        }
      }
    }
    rbd_.remove(io_, name.c_str());
  }

  librbd::RBD& rbd() { return rbd_; }

 private:
  librados::Rados rados_;
  librados::IoCtx io_;
  librbd::RBD rbd_;
  std::string fsid_;
};

}  // namespace glance_store::rbd::testing
