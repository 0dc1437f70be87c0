// The RBD store against the project's single-node Ceph: the image and protected snapshot an add
// leaves, what keeps an image from being deleted, the legacy one-component locations, thin
// provisioning, an interrupted add, an unreachable cluster. (Round trips at the object-size
// edges, ranges, Duplicate, wrong sizes and concurrent adds and reads are the conformance
// suite's: tests/conformance/.)
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>

#include "common/test_util.h"
#include "common/tool_process.h"
#include "glance_store/backend.h"
#include "glance_store/error.h"
#include "glance_store/hashing.h"
#include "integration/rbd/rbd_server.h"

extern char** environ;

namespace glance_store::rbd::testing {
namespace {

using test_common::bytes_of;
using test_common::CatchError;
using test_common::random_id;

constexpr std::uint64_t kChunk = 1 << 20;  // the stores' rbd_store_chunk_size = 1

class RbdStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { stores_ = make_stores(""); }

  void TearDown() override {
    for (const auto& id : ids_) {
      for (const auto& name : admin_.images(id)) admin_.remove_all(name);
    }
  }

  std::unique_ptr<StoreRegistry> make_stores(const std::string& extra) {
    return StoreRegistry::create(ConfigFile::parse(
        "[glance_store]\nstores = rbd\ndefault_store = rbd\nadd_buffer_size = 262144\n" +
        rbd_store_lines(server_) + extra));
  }

  std::string new_id(const std::string& what) {
    ids_.push_back(random_id("gs-rbd-" + what + "-"));
    return ids_.back();
  }

  AddResult add(const std::string& id, const std::string& data, std::uint64_t size) {
    MemoryInputStream in(data);
    return stores_->add(id, in, size);
  }

  std::string read(const std::string& uri, std::uint64_t offset = 0,
                   std::optional<std::uint64_t> length = std::nullopt) {
    GetResult got = stores_->get(uri, offset, length);
    std::string data = read_all(*got.stream);
    EXPECT_EQ(got.size, data.size());
    return data;
  }

  std::string location_of(const std::string& id) const {
    return "rbd://" + admin_fsid() + "/" + server_.pool + "/" + id + "/snap";
  }
  std::string admin_fsid() const { return const_cast<CephAdmin&>(admin_).fsid(); }

  RbdServer server_ = rbd_server();
  CephAdmin admin_{server_};
  std::unique_ptr<StoreRegistry> stores_;
  std::vector<std::string> ids_;
};

struct SizeCase {
  const char* name;
  std::uint64_t size;
  bool declared;
};

void PrintTo(const SizeCase& c, std::ostream* os) { *os << c.name; }

class RbdRoundTripTest : public RbdStoreTest, public ::testing::WithParamInterface<SizeCase> {};

TEST_P(RbdRoundTripTest, AddGetSizeDelete) {
  const std::string id = new_id("rt");
  const std::string data = bytes_of(GetParam().size, GetParam().size + 7);
  const AddResult added = add(id, data, GetParam().declared ? data.size() : 0);
  EXPECT_EQ(added.location, location_of(id));
  EXPECT_EQ(added.bytes_written, data.size());
  EXPECT_EQ(added.checksum, hex_digest("md5", data));
  EXPECT_EQ(added.multihash, hex_digest("sha512", data));
  // What Nova and Cinder clone from, and nothing else: no temporary image is left.
  EXPECT_EQ(admin_.images(id), std::vector<std::string>{id});
  EXPECT_EQ(admin_.snapshots(id), std::vector<std::string>{"snap"});
  EXPECT_TRUE(admin_.is_protected(id, "snap"));

  EXPECT_EQ(read(added.location), data);
  EXPECT_EQ(stores_->get_size(added.location), data.size());
  stores_->remove(added.location);
  EXPECT_TRUE(admin_.images(id).empty());
  EXPECT_EQ(CatchError([&] { stores_->get(added.location); }).kind(), ErrorKind::kNotFound);
  EXPECT_EQ(CatchError([&] { stores_->remove(added.location); }).kind(), ErrorKind::kNotFound);
}

INSTANTIATE_TEST_SUITE_P(
    Sizes, RbdRoundTripTest,
    ::testing::Values(SizeCase{"Empty", 0, true},
                      SizeCase{"SeveralChunks", 5 * kChunk + 12345, true},
                      SizeCase{"UnknownEmpty", 0, false},
                      // Past the first doublings of an unknown size: 1, 2, 4, 8 MiB, then 16.
                      SizeCase{"UnknownGrowsManyTimes", 9 * kChunk + 1, false}),
    [](const auto& info) { return std::string(info.param.name); });

TEST_F(RbdStoreTest, ClonedSnapshotIsInUseAndStaysProtected) {
  const std::string id = new_id("clone");
  const std::string data = bytes_of(kChunk, 5);
  const std::string uri = add(id, data, data.size()).location;
  const std::string clone = id + "-clone";
  int order = 20;
  ASSERT_EQ(
      admin_.rbd().clone(admin_.io(), id.c_str(), "snap", admin_.io(), clone.c_str(), 1, &order),
      0);
  const Error e = CatchError([&] { stores_->remove(uri); });
  EXPECT_EQ(e.kind(), ErrorKind::kInUseByStore) << e.message();
  EXPECT_TRUE(admin_.is_protected(id, "snap"));
  EXPECT_EQ(read(uri), data);
  admin_.remove_all(clone);
  stores_->remove(uri);
  EXPECT_TRUE(admin_.images(id).empty());
}

TEST_F(RbdStoreTest, OtherSnapshotIsHasSnapshotAndNothingChanges) {
  const std::string id = new_id("snaps");
  const std::string data = bytes_of(kChunk + 1, 6);
  const std::string uri = add(id, data, data.size()).location;
  {
    librbd::Image image;
    ASSERT_EQ(admin_.rbd().open(admin_.io(), image, id.c_str()), 0);
    ASSERT_EQ(image.snap_create("backup"), 0);
  }
  const Error e = CatchError([&] { stores_->remove(uri); });
  EXPECT_EQ(e.kind(), ErrorKind::kHasSnapshot) << e.message();
  EXPECT_TRUE(admin_.is_protected(id, "snap"));
  {
    librbd::Image image;
    ASSERT_EQ(admin_.rbd().open(admin_.io(), image, id.c_str()), 0);
    ASSERT_EQ(image.snap_remove("backup"), 0);
  }
  stores_->remove(uri);
  EXPECT_TRUE(admin_.images(id).empty());
}

TEST_F(RbdStoreTest, ImageOpenElsewhereIsInUseAndStaysProtected) {
  const std::string id = new_id("open");
  const std::string data = bytes_of(kChunk, 7);
  const std::string uri = add(id, data, data.size()).location;
  {
    librbd::Image image;  // read-write: a watcher, as a running VM's disk would have
    ASSERT_EQ(admin_.rbd().open(admin_.io(), image, id.c_str()), 0);
    const Error e = CatchError([&] { stores_->remove(uri); });
    EXPECT_EQ(e.kind(), ErrorKind::kInUseByStore) << e.message();
    EXPECT_TRUE(admin_.is_protected(id, "snap"));
  }
  stores_->remove(uri);
  EXPECT_TRUE(admin_.images(id).empty());
}

TEST_F(RbdStoreTest, OneComponentLocationsOfOldImages) {
  const std::string id = new_id("legacy");
  const std::string data = bytes_of(kChunk + 99, 8);
  admin_.create_image(id, data);
  const std::string uri = "rbd://" + id;
  EXPECT_EQ(read(uri), data);
  EXPECT_EQ(read(uri, 10, 20), data.substr(10, 20));
  EXPECT_EQ(stores_->get_size(uri), data.size());
  stores_->remove(uri);
  EXPECT_TRUE(admin_.images(id).empty());
}

TEST_F(RbdStoreTest, MissingImageOrSnapshotIsNotFound) {
  const std::string id = new_id("missing");
  EXPECT_EQ(CatchError([&] { stores_->get(location_of(id)); }).kind(), ErrorKind::kNotFound);
  EXPECT_EQ(CatchError([&] { stores_->get_size("rbd://" + id); }).kind(), ErrorKind::kNotFound);
  const std::string uri = add(id, "x", 1).location;
  const std::string other_snap = "rbd://" + admin_.fsid() + "/" + server_.pool + "/" + id + "/s2";
  EXPECT_EQ(CatchError([&] { stores_->get(other_snap); }).kind(), ErrorKind::kNotFound);
  EXPECT_EQ(read(uri), "x");
}

TEST_F(RbdStoreTest, ThinProvisioningSkipsZeroChunksAndReadsTheSame) {
  stores_ = make_stores("rbd_thin_provisioning = true\n");
  const std::string id = new_id("thin");
  std::string data(4 * kChunk, '\0');
  data.replace(kChunk + 5, 3, "abc");
  const std::string uri = add(id, data, data.size()).location;
  EXPECT_EQ(read(uri), data);
  librbd::Image image;
  ASSERT_EQ(admin_.rbd().open_read_only(admin_.io(), image, id.c_str(), "snap"), 0);
  std::uint64_t allocated = 0;
  ASSERT_EQ(image.diff_iterate2(
                nullptr, 0, data.size(), true, false,
                [](std::uint64_t, std::size_t len, int exists, void* arg) {
                  if (exists != 0) *static_cast<std::uint64_t*>(arg) += len;
                  return 0;
                },
                &allocated),
            0);
  EXPECT_LE(allocated, kChunk) << "only the chunk holding data is written";
  EXPECT_GT(allocated, 0U);
}

TEST_F(RbdStoreTest, ImageIdsReachTheirOwnImage) {
  // Each id reads back through the location add printed, and names exactly that image.
  for (const std::string prefix : {"é ünï", "a:b+c", "x=y&z", "[br]", "ta b", "q'\"", "~.-_"}) {
    const std::string id = new_id("") + prefix;
    const std::string data = "data of " + id;
    const AddResult added = add(id, data, data.size());
    EXPECT_EQ(stores_->parse_any(added.location)->fields()[3].value, id);
    EXPECT_EQ(read(added.location), data);
    EXPECT_EQ(admin_.images(id), std::vector<std::string>{id});
    stores_->remove(added.location);
    EXPECT_TRUE(admin_.images(id).empty());
  }
  const Error e = CatchError([&] { add(std::string(1025, 'i'), "x", 1); });
  EXPECT_EQ(e.kind(), ErrorKind::kInvalid);
}

TEST_F(RbdStoreTest, MultiStoreWithBackendDefaults) {
  // The cluster's settings shared through [backend_defaults], the pool the backend's own.
  stores_ = StoreRegistry::create(ConfigFile::parse(
      "[DEFAULT]\nenabled_backends = ceph:rbd\n[glance_store]\ndefault_backend = ceph\n"
      "[backend_defaults]\nrbd_store_ceph_conf = " +
      server_.ceph_conf + "\nrbd_store_user = " + server_.user +
      "\nrbd_store_pool = nowhere\n[ceph]\nrbd_store_pool = " + server_.pool +
      "\nrbd_store_chunk_size = 1\n"
      "[os_glance_staging_store]\nfilesystem_store_datadir = /tmp/gs-rbd-staging\n"
      "[os_glance_tasks_store]\nfilesystem_store_datadir = /tmp/gs-rbd-tasks\n"));
  EXPECT_EQ(stores_->store_by_name("ceph").url_prefix(),
            "rbd://" + admin_.fsid() + "/" + server_.pool + "/");
  const std::string id = new_id("multi");
  const AddResult added = add(id, "abc", 3);
  EXPECT_EQ(added.metadata, nlohmann::json({{"store", "ceph"}}));
  EXPECT_EQ(read(added.location), "abc");
}

// A cluster that does not answer: the stores load at once (nothing connects before an RBD
// operation), and the operation fails within rados_connect_timeout.
TEST_F(RbdStoreTest, UnreachableClusterFailsWithinTheTimeout) {
  test_common::TempDir dir;
  const std::string conf = dir.path() + "/ceph.conf";
  {
    std::ifstream real(server_.ceph_conf);
    std::ofstream out(conf);
    for (std::string line; std::getline(real, line);) {
      out << (line.starts_with("mon host") ? "mon host = 127.0.0.1:9" : line) << "\n";
    }
  }
  const auto started = std::chrono::steady_clock::now();
  auto stores = StoreRegistry::create(ConfigFile::parse(
      "[glance_store]\nstores = rbd\ndefault_store = rbd\nrbd_store_ceph_conf = " + conf +
      "\nrbd_store_user = " + server_.user + "\nrados_connect_timeout = 2\n"));
  EXPECT_EQ(stores->default_store().url_prefix(), "rbd://" + admin_.fsid() + "/images/");
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(1));
  MemoryInputStream in("x");
  const Error e = CatchError([&] { stores->add(new_id("down"), in, 1); });
  EXPECT_EQ(e.kind(), ErrorKind::kRemoteServiceUnavailable) << e.message();
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(15));
}

using test_common::PipedAdd;
using test_common::run_tool_json;

std::map<std::string, nlohmann::json> rbd_leftovers(const nlohmann::json& report) {
  return test_common::cleanup_leftovers(report, "rbd");
}

// kill -9 in the middle of an add through the tool: what is left is not an image, does not
// keep the same id from being added again at once, and is what `cleanup` lists and removes —
// at once, as its writer is a dead process of this host — while a live add is left alone.
TEST_F(RbdStoreTest, KilledAddLeavesItsIdFreeAndCleanupRemovesTheRest) {
  const std::string id = new_id("killed");
  test_common::TempDir dir;
  const std::string config = dir.path() + "/glance-api.conf";
  std::ofstream(config) << "[glance_store]\nstores = rbd\ndefault_store = rbd\n"
                        << rbd_store_lines(server_);
  auto killed = std::make_unique<PipedAdd>(config, id);
  ASSERT_TRUE(killed->write(bytes_of(3 * kChunk, 9)));
  // Until its temporary image shows up (the pipe stays open: the add waits for more).
  std::vector<std::string> names;
  for (int i = 0; i < 300 && names.empty(); ++i) {
    names = admin_.images(id + ";adding;");
    if (names.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_EQ(names.size(), 1U) << "no temporary image of the add";
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const pid_t dead_pid = killed->pid();
  killed->kill();
  killed.reset();
  // Nothing readable under the id, and the id is free at once (no waiting for the dead
  // client's watch to time out).
  EXPECT_EQ(CatchError([&] { stores_->get(location_of(id)); }).kind(), ErrorKind::kNotFound);
  const auto started = std::chrono::steady_clock::now();
  const std::string again = bytes_of(2 * kChunk, 10);
  const std::string uri = add(id, again, again.size()).location;
  EXPECT_EQ(read(uri), again);
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(10));
  // The leftover is the add's temporary, marked, never an image of the id.
  EXPECT_EQ(admin_.images(id + ";adding;"), names);
  {
    librbd::Image leftover;
    ASSERT_EQ(admin_.rbd().open_read_only(admin_.io(), leftover, names[0].c_str(), nullptr), 0);
    std::string mark;
    EXPECT_EQ(leftover.metadata_get("glance_store.adding", &mark), 0);
    EXPECT_TRUE(mark.starts_with("pid=" + std::to_string(dead_pid) + " ")) << mark;
  }

  // A live add of another id, meanwhile.
  const std::string live_id = new_id("live");
  PipedAdd live(config, live_id);
  ASSERT_TRUE(live.write(bytes_of(2 * kChunk, 11)));
  for (int i = 0; i < 300 && admin_.images(live_id + ";adding;").empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_EQ(admin_.images(live_id + ";adding;").size(), 1U);

  int status = 0;
  // With the default age (24 h), nothing this young is listed.
  EXPECT_TRUE(rbd_leftovers(run_tool_json({"--config", config, "cleanup"}, &status)).empty());
  EXPECT_EQ(status, 0);
  // --dry-run lists the dead add's image (and not the live one) and removes nothing.
  auto listed = rbd_leftovers(
      run_tool_json({"--config", config, "cleanup", "--older-than", "0s", "--dry-run"}, &status));
  EXPECT_EQ(status, 0);
  ASSERT_EQ(listed.count(names[0]), 1U) << ::testing::PrintToString(listed);
  EXPECT_EQ(listed[names[0]].at("image_id"), id);
  EXPECT_EQ(listed[names[0]].at("kind"), "rbd image");
  EXPECT_EQ(listed[names[0]].at("removed"), false);
  for (const auto& [name, unused] : listed) EXPECT_FALSE(name.starts_with(live_id)) << name;
  EXPECT_EQ(admin_.images(id + ";adding;"), names);
  // Without it, the dead add's image goes at once; the live add's stays, and completes.
  listed =
      rbd_leftovers(run_tool_json({"--config", config, "cleanup", "--older-than", "0s"}, &status));
  EXPECT_EQ(status, 0) << ::testing::PrintToString(listed);
  EXPECT_EQ(listed[names[0]].at("removed"), true);
  EXPECT_TRUE(admin_.images(id + ";adding;").empty());
  EXPECT_EQ(read(uri), again);
  EXPECT_EQ(live.finish(), 0);
  EXPECT_EQ(read(location_of(live_id)), bytes_of(2 * kChunk, 11));
  EXPECT_EQ(admin_.images(live_id), std::vector<std::string>{live_id});
}

}  // namespace
}  // namespace glance_store::rbd::testing
