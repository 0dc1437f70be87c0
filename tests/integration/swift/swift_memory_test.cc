// add_memory_limit against a real Swift (tempauth): segments larger than what the limit holds
// are streamed, one at a time, and read back whole whatever the size (declared or not, on a
// segment boundary or not); such a segment is never retried, and its failure fails the add with
// nothing left.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "common/test_util.h"
#include "glance_store/hashing.h"
#include "glance_store/stream.h"
#include "integration/swift/swift_server.h"

namespace glance_store::swift::testing {
namespace {

using test_common::CatchError;
using test_common::FaultProxy;
constexpr std::uint64_t kSwiftMB = 1024000;
// 1 Swift-MB segments (tempauth_registry's) cannot fit in 1 MiB less the pipeline's 256 KiB.
constexpr const char* kTightMemory =
    "add_buffer_size = 65536\nadd_buffer_count = 4\nadd_memory_limit = 1048576\n";

class SwiftMemoryLimitTest : public ::testing::Test {
 protected:
  void SetUp() override {
    swift_url_ = server_setting("swift-aio", "GS_SWIFT_URL");
    ASSERT_FALSE(swift_url_.empty()) << "start Swift: scripts/servers/swift-aio start";
    raw_ = std::make_unique<RawSwift>(swift_url_ + "/auth/v1.0", "test:tester", "testing");
    container_ = random_id("glance-memory-");
  }
  void TearDown() override {
    for (const auto& name : raw_->list(container_))
      raw_->request("DELETE", container_ + "/" + name);
    raw_->request("DELETE", container_);
  }

  std::unique_ptr<StoreRegistry> registry(const std::string& base = "") {
    const std::string via = base.empty() ? swift_url_ : base;
    return tempauth_registry(
        via + "/auth/v1.0", container_,
        std::string(kTightMemory) + "swift_store_endpoint = " + via + "/v1/AUTH_test\n");
  }

  std::string swift_url_;
  std::string container_;
  std::unique_ptr<RawSwift> raw_;
};

TEST_F(SwiftMemoryLimitTest, StreamedSegmentsReadBackWhole) {
  auto r = registry();
  struct Case {
    std::uint64_t size;
    bool declare;
  };
  for (const Case c : {Case{3500000, true}, Case{3500000, false}, Case{3 * kSwiftMB, true},
                       Case{3 * kSwiftMB, false}, Case{1000, false}, Case{2 * kSwiftMB, true}}) {
    SCOPED_TRACE("size " + std::to_string(c.size) + (c.declare ? " declared" : " unknown"));
    const std::string id = random_id("streamed-");
    const std::string data = bytes_of(c.size, c.size + 5);
    test_common::TrickleStream in(data);
    const AddResult added = r->add(id, in, c.declare ? c.size : 0, "sha256");
    EXPECT_EQ(added.bytes_written, c.size);
    EXPECT_EQ(added.checksum, hex_digest("md5", data));

    expect_segment_layout(*raw_, container_, id, c.size, kSwiftMB);
    EXPECT_TRUE(read_all(*r->get(added.location).stream) == data) << "not byte-identical";
    r->remove(added.location);
    EXPECT_TRUE(raw_->list(container_).empty());
  }
}

// A streamed segment's bytes are gone once sent: a 503 or a cut fails the add (one PUT of that
// segment, never a second with other bytes), and every segment written goes.
TEST_F(SwiftMemoryLimitTest, AStreamedSegmentThatFailsFailsTheAddAndLeavesNothing) {
  FaultProxy proxy(swift_url_);
  auto r = registry(proxy.url());
  const std::vector<nlohmann::json> faults = {{{"method", "PUT"},
                                               {"path_regex", "/00000002$"},
                                               {"action", "status"},
                                               {"status", 503},
                                               {"body", "busy"}},
                                              {{"method", "PUT"},
                                               {"path_regex", "/00000002$"},
                                               {"action", "cut_request"},
                                               {"after_bytes", 300000}}};
  for (const auto& fault : faults) {
    for (const bool declare : {true, false}) {
      SCOPED_TRACE(fault.dump() + (declare ? " declared" : " unknown"));
      proxy.rules(nlohmann::json::array({fault}));
      proxy.clear_log();
      const std::string data = bytes_of(3500000, 31);
      test_common::TrickleStream in(data);
      const Error e =
          CatchError([&] { r->add(random_id("cut-"), in, declare ? data.size() : 0, "sha256"); });
      EXPECT_NE(e.kind(), ErrorKind::kDuplicate) << e.message();
      EXPECT_EQ(proxy.count("PUT", "/00000002"), 1) << "a streamed segment was sent again";
      // (The third may have started while Swift answered for the second.)
      EXPECT_EQ(proxy.count("PUT", "/00000004"), 0) << "the add went on after a failure";
      EXPECT_EQ(e.message().find("testing"), std::string::npos) << "the key in " << e.message();
      EXPECT_TRUE(raw_->list(container_).empty()) << "segments left behind";
    }
  }
}

}  // namespace
}  // namespace glance_store::swift::testing
