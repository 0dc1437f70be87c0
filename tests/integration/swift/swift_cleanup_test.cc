// `glance-store cleanup` on the real Swift (tempauth): an add killed with kill -9 in the middle
// of a segmented upload leaves segments `<id>/<token>/…` and no manifest; the id can be added
// again at once; cleanup lists the segment group and deletes it, leaving the images (manifests
// and their segments) and objects of other layouts alone; a live add younger than the default age
// is not touched; with swift_store_multiple_containers_seed every container of the store is
// looked at, and only those; a multi-tenant store says what it cannot reach.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/test_util.h"
#include "common/tool_process.h"
#include "glance_store/error.h"
#include "integration/swift/swift_server.h"

namespace glance_store::swift::testing {
namespace {

constexpr std::uint64_t kSwiftMB = 1024000;

using test_common::PipedAdd;
using test_common::run_tool_json;

nlohmann::json swift_entry(const nlohmann::json& report) {
  return test_common::cleanup_entry(report, "swift");
}
std::map<std::string, nlohmann::json> swift_leftovers(const nlohmann::json& report) {
  return test_common::cleanup_leftovers(report, "swift");
}

std::vector<std::string> sorted(std::vector<std::string> names) {
  std::sort(names.begin(), names.end());
  return names;
}

class SwiftCleanupTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auth_ = server_setting("swift-aio", "GS_SWIFT_AUTH");
    ASSERT_FALSE(auth_.empty()) << "start Swift: scripts/servers/swift-aio start";
    raw_ = std::make_unique<RawSwift>(auth_, "test:tester", "testing");
    container_ = random_id("glance-clean-");
    config_ = write_config("");
    stores_ = StoreRegistry::create(ConfigFile::parse(config_text("")));
  }
  void TearDown() override {
    if (!raw_) return;
    // The test's container and every container named after it.
    for (const auto& c : containers()) {
      for (const auto& name : raw_->list(c)) raw_->request("DELETE", c + "/" + name);
      raw_->request("DELETE", c);
    }
  }

  // Segmented above 1 Swift-MB and for unknown sizes (the tool's `-`), segments of 1 Swift-MB.
  std::string config_text(const std::string& extra) const {
    std::string text = "[glance_store]\nstores = swift\ndefault_store = swift\n";
    text += "swift_store_auth_address = " + auth_ + "\n";
    text += "swift_store_user = test:tester\nswift_store_key = testing\n";
    text += "swift_store_auth_version = 1\nswift_store_container = " + container_ + "\n";
    text += "swift_store_create_container_on_put = true\n";
    text += "swift_store_large_object_size = 1\nswift_store_large_object_chunk_size = 1\n";
    text += "swift_store_max_retries = 2\n" + extra;
    return text;
  }
  std::string write_config(const std::string& extra) {
    const std::string path = dir_.sub(random_id("glance-api-") + ".conf");
    std::ofstream(path) << config_text(extra);
    return path;
  }

  // The account's containers named after the test's.
  std::vector<std::string> containers() {
    const net::Response response = raw_->request("GET", "?format=json&prefix=" + container_);
    std::vector<std::string> names;
    if (response.status != 200) return names;
    for (const auto& entry : nlohmann::json::parse(response.body)) names.push_back(entry["name"]);
    return names;
  }
  // The objects of `container` whose names start with `prefix`, sorted.
  std::vector<std::string> objects(const std::string& container, const std::string& prefix) {
    std::vector<std::string> out;
    for (const auto& name : raw_->list(container)) {
      if (name.starts_with(prefix)) out.push_back(name);
    }
    return sorted(out);
  }
  // Until the add of `id` has at least `count` segments stored in `container`: their prefix
  // `<id>/<token>/` ("" after 60 s).
  std::string wait_for_segments(const std::string& container, const std::string& id,
                                std::size_t count) {
    for (int i = 0; i < 600; ++i) {
      const auto names = objects(container, id + "/");
      if (names.size() >= count) return names.front().substr(0, id.size() + 34);
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ADD_FAILURE() << "no " << count << " segments of " << id << " in " << container;
    return "";
  }
  // Starts `glance-store add` of `id` with `config`, writes `written` bytes, waits for `count`
  // segments and kills it: the prefix of the segments it left.
  std::string killed_add(const std::string& config, const std::string& container,
                         const std::string& id, std::uint64_t written, std::size_t count) {
    PipedAdd add(config, id);
    EXPECT_TRUE(add.write(bytes_of(written, written)));
    const std::string prefix = wait_for_segments(container, id, count);
    add.kill();
    return prefix;
  }

  std::string location_of(const std::string& container, const std::string& object) const {
    return "swift+http://test%3Atester:testing@" + auth_.substr(7) + "/" + container + "/" + object;
  }
  AddResult add(const std::string& id, const std::string& data) {
    test_common::TrickleStream in(data);
    return stores_->add(id, in, data.size());
  }
  std::string read(const std::string& uri) { return read_all(*stores_->get(uri).stream); }

  std::string auth_;
  std::string container_;
  std::unique_ptr<RawSwift> raw_;
  test_common::TempDir dir_;
  std::string config_;
  std::unique_ptr<StoreRegistry> stores_;
};

// kill -9 after the first segment, and after several: each add leaves its segments and no
// manifest; the id is added again at once (under a new token); cleanup with the default age
// (24 h) lists nothing this young, --dry-run lists both groups and deletes nothing, and without
// it both go while the images added again — manifests and segments — and objects of
// glance_store's own layout stay.
TEST_F(SwiftCleanupTest, KilledAddsLeaveSegmentsThatCleanupDeletes) {
  // glance_store's segments (`<id>-00001`) and an object of no segment layout: never ours.
  raw_->request("PUT", container_);
  const std::string foreign_id = random_id("py-");
  const std::vector<std::string> foreign =
      sorted({foreign_id + "-00001", foreign_id + "-00002", foreign_id + "/not-a-token/00000001"});
  for (const auto& name : foreign) {
    ASSERT_EQ(raw_->put(container_ + "/" + name, bytes_of(1000, 5)), 201);
  }

  struct Killed {
    std::string id;
    std::string prefix;  // `<id>/<token>/` of the killed add
    std::vector<std::string> segments;
    std::string uri;  // of the image added again
    std::string data;
  };
  std::vector<Killed> killed;
  for (const std::size_t count : {std::size_t{1}, std::size_t{5}}) {
    SCOPED_TRACE(count);
    Killed k;
    k.id = random_id("killed-");
    k.prefix = killed_add(config_, container_, k.id, count * kSwiftMB + kSwiftMB / 2, count);
    ASSERT_FALSE(k.prefix.empty());
    EXPECT_EQ(raw_->request("HEAD", container_ + "/" + k.id).status, 404)
        << "the killed add left a manifest";
    std::this_thread::sleep_for(std::chrono::milliseconds(200));  // PUTs under way land
    k.segments = objects(container_, k.prefix);
    EXPECT_GE(k.segments.size(), count);
    // The same id again, at once: segmented too, and whole.
    k.data = bytes_of(2 * kSwiftMB + 123, count + 100);
    const auto started = std::chrono::steady_clock::now();
    k.uri = add(k.id, k.data).location;
    EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(30));
    EXPECT_TRUE(read(k.uri) == k.data);
    EXPECT_NE(segment_prefix(*raw_, container_, k.id), k.prefix);
    killed.push_back(std::move(k));
  }
  const std::vector<std::string> before = sorted(raw_->list(container_));

  int status = 0;
  EXPECT_TRUE(swift_leftovers(run_tool_json({"--config", config_, "cleanup"}, &status)).empty());
  EXPECT_EQ(status, 0);

  auto listed = swift_leftovers(
      run_tool_json({"--config", config_, "cleanup", "--older-than", "0s", "--dry-run"}, &status));
  EXPECT_EQ(status, 0);
  EXPECT_EQ(listed.size(), killed.size()) << ::testing::PrintToString(listed);
  for (const Killed& k : killed) {
    const std::string name = container_ + "/" + k.prefix;
    ASSERT_EQ(listed.count(name), 1U) << ::testing::PrintToString(listed);
    EXPECT_EQ(listed[name].at("kind"), "segments");
    EXPECT_EQ(listed[name].at("image_id"), k.id);
    EXPECT_EQ(listed[name].at("removed"), false);
    EXPECT_GE(listed[name].at("age_seconds").get<std::int64_t>(), 0);
  }
  EXPECT_EQ(sorted(raw_->list(container_)), before) << "--dry-run deleted something";

  listed = swift_leftovers(
      run_tool_json({"--config", config_, "cleanup", "--older-than", "0s"}, &status));
  EXPECT_EQ(status, 0) << ::testing::PrintToString(listed);
  std::vector<std::string> expected = foreign;
  for (const Killed& k : killed) {
    const std::string name = container_ + "/" + k.prefix;
    ASSERT_EQ(listed.count(name), 1U) << ::testing::PrintToString(listed);
    EXPECT_EQ(listed[name].at("removed"), true);
    EXPECT_TRUE(objects(container_, k.prefix).empty()) << k.prefix;
    // What is left of the id is its image: the manifest and the segments it points at.
    const std::string image_prefix = segment_prefix(*raw_, container_, k.id);
    const auto image_segments = objects(container_, image_prefix);
    EXPECT_EQ(image_segments.size(), 3U);
    EXPECT_EQ(objects(container_, k.id + "/"), image_segments);
    expected.push_back(k.id);
    expected.insert(expected.end(), image_segments.begin(), image_segments.end());
    EXPECT_TRUE(read(k.uri) == k.data);
  }
  EXPECT_EQ(sorted(raw_->list(container_)), sorted(expected));
  // Once more: nothing left to list.
  EXPECT_TRUE(swift_leftovers(
                  run_tool_json({"--config", config_, "cleanup", "--older-than", "0s"}, &status))
                  .empty());
  EXPECT_EQ(status, 0);
}

// An add running meanwhile (segments a few seconds old, no manifest yet) is not listed by
// cleanup with the default age, keeps its segments, and completes afterwards; its image is no
// leftover then, whatever the age.
TEST_F(SwiftCleanupTest, ALiveAddIsLeftAloneByTheDefaultAge) {
  const std::string id = random_id("live-");
  const std::string first = bytes_of(2 * kSwiftMB + 200000, 1);  // two 1 MiB reads: 2 segments
  const std::string rest = bytes_of(kSwiftMB + 20, 2);
  PipedAdd live(config_, id);
  ASSERT_TRUE(live.write(first));
  const std::string prefix = wait_for_segments(container_, id, 2);
  ASSERT_FALSE(prefix.empty());
  const auto segments = objects(container_, prefix);

  int status = 0;
  const auto report = run_tool_json({"--config", config_, "cleanup"}, &status);
  EXPECT_EQ(status, 0);
  EXPECT_TRUE(swift_leftovers(report).empty()) << report.dump();
  EXPECT_FALSE(swift_entry(report).contains("skipped")) << report.dump();
  EXPECT_EQ(objects(container_, prefix), segments);

  ASSERT_TRUE(live.write(rest));
  EXPECT_EQ(live.finish(), 0);
  EXPECT_TRUE(read(location_of(container_, id)) == first + rest);
  EXPECT_EQ(segment_prefix(*raw_, container_, id), prefix);
  EXPECT_TRUE(swift_leftovers(
                  run_tool_json({"--config", config_, "cleanup", "--older-than", "0s"}, &status))
                  .empty());
  EXPECT_EQ(status, 0);
  EXPECT_TRUE(read(location_of(container_, id)) == first + rest);
}

// With swift_store_multiple_containers_seed, the segments are in the image's container
// `<container>_<first characters of the id>`: cleanup looks at every such container of the
// store, and at no other container (one named `<container>_<more characters>`, which no id gives
// with this seed, keeps its look-alike group).
TEST_F(SwiftCleanupTest, EveryContainerOfTheSeedIsLookedAtAndOnlyThose) {
  const std::string config = write_config("swift_store_multiple_containers_seed = 2\n");
  const std::string id = random_id("ab");
  const std::string container = container_ + "_ab";
  const std::string prefix = killed_add(config, container, id, kSwiftMB + kSwiftMB / 2, 1);
  ASSERT_FALSE(prefix.empty());
  const std::string other = container_ + "_abc";
  const std::string look_alike = "x/0123456789abcdef0123456789abcdef/";
  raw_->request("PUT", other);
  ASSERT_EQ(raw_->put(other + "/" + look_alike + "00000001", "x"), 201);

  int status = 0;
  auto listed = swift_leftovers(
      run_tool_json({"--config", config, "cleanup", "--older-than", "0s", "--dry-run"}, &status));
  EXPECT_EQ(status, 0);
  ASSERT_EQ(listed.size(), 1U) << ::testing::PrintToString(listed);
  ASSERT_EQ(listed.count(container + "/" + prefix), 1U) << ::testing::PrintToString(listed);
  EXPECT_EQ(listed.begin()->second.at("image_id"), id);

  listed = swift_leftovers(
      run_tool_json({"--config", config, "cleanup", "--older-than", "0s"}, &status));
  EXPECT_EQ(status, 0) << ::testing::PrintToString(listed);
  ASSERT_EQ(listed.size(), 1U) << ::testing::PrintToString(listed);
  EXPECT_EQ(listed.begin()->second.at("removed"), true);
  EXPECT_TRUE(raw_->list(container).empty());
  EXPECT_EQ(raw_->list(other), std::vector<std::string>{look_alike + "00000001"});
}

// A multi-tenant store's images are in each user's account: cleanup says so (`skipped`), lists
// nothing and does not fail.
TEST_F(SwiftCleanupTest, AMultiTenantStoreIsSkippedSayingWhy) {
  const std::string config = write_config("swift_store_multi_tenant = true\n");
  int status = 0;
  const auto report = run_tool_json({"--config", config, "cleanup", "--older-than", "0s"}, &status);
  EXPECT_EQ(status, 0) << report.dump();
  const auto entry = swift_entry(report);
  EXPECT_TRUE(entry.at("leftovers").empty()) << report.dump();
  ASSERT_TRUE(entry.contains("skipped")) << report.dump();
  EXPECT_NE(entry.at("skipped").get<std::string>().find("account"), std::string::npos)
      << report.dump();
}

}  // namespace
}  // namespace glance_store::swift::testing
