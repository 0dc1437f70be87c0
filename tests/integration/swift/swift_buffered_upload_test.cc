// swift_buffer_on_upload against a real Swift (tempauth): segments spooled to anonymous files in
// swift_upload_buffer_dir and uploaded from there, whole again on a retry; failures leave no
// segment and no file; a buffer directory that vanished or is full is a typed error.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/test_util.h"
#include "glance_store/stream.h"
#include "integration/swift/swift_server.h"

namespace glance_store::swift::testing {
namespace {

using test_common::CatchError;
using test_common::FaultProxy;
using test_common::ListDir;
using test_common::OpenFilesIn;
using test_common::SmallTmpfs;
using test_common::TempDir;
constexpr std::uint64_t kSwiftMB = 1024000;

// Serves `data` in reads of at most 200,000 bytes, calls `on_read` before each, and throws
// once `fail_at` bytes are served.
class WatchedStream final : public InputStream {
 public:
  WatchedStream(const std::string& data, std::function<void()> on_read,
                std::optional<std::size_t> fail_at = std::nullopt)
      : data_(data), on_read_(std::move(on_read)), fail_at_(fail_at) {}
  std::size_t read(std::span<std::byte> out) override {
    on_read_();
    if (fail_at_ && pos_ >= *fail_at_) {
      throw Error(ErrorKind::kBackendException, "cannot read the image data: broken pipe");
    }
    const std::size_t n = std::min({out.size(), data_.size() - pos_, std::size_t{200000}});
    std::memcpy(out.data(), data_.data() + pos_, n);
    pos_ += n;
    return n;
  }

 private:
  const std::string& data_;
  std::function<void()> on_read_;
  std::optional<std::size_t> fail_at_;
  std::size_t pos_ = 0;
};

class SwiftBufferedUploadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    swift_url_ = server_setting("swift-aio", "GS_SWIFT_URL");
    ASSERT_FALSE(swift_url_.empty()) << "start Swift: scripts/servers/swift-aio start";
    raw_ = std::make_unique<RawSwift>(swift_url_ + "/auth/v1.0", "test:tester", "testing");
    container_ = random_id("glance-buffered-");
  }
  void TearDown() override {
    for (const auto& name : raw_->list(container_))
      raw_->request("DELETE", container_ + "/" + name);
    raw_->request("DELETE", container_);
  }

  // Buffered in `dir`, threshold and segments of 1 Swift-MB, through `base` (Swift or a proxy).
  std::unique_ptr<StoreRegistry> registry(const std::string& dir, const std::string& base = "",
                                          const std::string& extra = "") {
    const std::string via = base.empty() ? swift_url_ : base;
    std::string text = "[glance_store]\nstores = swift\ndefault_store = swift\n";
    text += "swift_store_auth_address = " + via + "/auth/v1.0\n";
    text += "swift_store_endpoint = " + via + "/v1/AUTH_test\n";
    text += "swift_store_user = test:tester\nswift_store_key = testing\n";
    text += "swift_store_auth_version = 1\nswift_store_container = " + container_ + "\n";
    text += "swift_store_create_container_on_put = true\n";
    text += "swift_store_large_object_size = 1\nswift_store_large_object_chunk_size = 1\n";
    text += "swift_store_max_retries = 2\n";
    text += "swift_buffer_on_upload = true\nswift_upload_buffer_dir = " + dir + "\n" + extra;
    return StoreRegistry::create(ConfigFile::parse(text));
  }

  // Adds `data` (declared as `declared`), checking the buffer directory at each read: never a
  // name in it; returns the most files the add had open there at once.
  std::size_t add_watching(StoreRegistry& r, const std::string& dir, const std::string& id,
                           const std::string& data, std::uint64_t declared, AddResult* result,
                           std::optional<std::size_t> fail_at = std::nullopt) {
    std::size_t most_open = 0;
    WatchedStream in(
        data,
        [&] {
          EXPECT_TRUE(ListDir(dir).empty()) << "a named file in the buffer directory";
          most_open = std::max(most_open, OpenFilesIn(dir).size());
        },
        fail_at);
    *result = r.add(id, in, declared, "sha256");
    return most_open;
  }

  std::string swift_url_;
  std::string container_;
  std::unique_ptr<RawSwift> raw_;
};

TEST_F(SwiftBufferedUploadTest, SegmentsAreSpooledToAnonymousFilesAndReadBackWhole) {
  TempDir buffer;
  auto r = registry(buffer.path());
  struct Case {
    std::uint64_t size;
    bool declare;
  };
  for (const Case c : {Case{2500000, true}, Case{2500000, false}, Case{3 * kSwiftMB, true},
                       Case{3 * kSwiftMB, false}, Case{1000, false}, Case{kSwiftMB, true}}) {
    SCOPED_TRACE("size " + std::to_string(c.size) + (c.declare ? " declared" : " unknown"));
    const std::string id = random_id("buf-");
    const std::string data = bytes_of(c.size, c.size + 11);
    AddResult added;
    const std::size_t most_open =
        add_watching(*r, buffer.path(), id, data, c.declare ? c.size : 0, &added);
    EXPECT_GE(most_open, 1U) << "no segment was spooled";
    EXPECT_LE(most_open, 5U) << "more than concurrency + 1 spooled segments";
    EXPECT_EQ(added.bytes_written, c.size);
    EXPECT_TRUE(ListDir(buffer.path()).empty());
    EXPECT_TRUE(OpenFilesIn(buffer.path()).empty()) << "spooled segments still open";

    expect_segment_layout(*raw_, container_, id, c.size, kSwiftMB);
    EXPECT_TRUE(read_all(*r->get(added.location).stream) == data) << "not byte-identical";
    r->remove(added.location);
    EXPECT_TRUE(raw_->list(container_).empty());
  }
}

TEST_F(SwiftBufferedUploadTest, AFailedAddLeavesNoSegmentAndNoFile) {
  TempDir buffer;
  auto r = registry(buffer.path());
  const std::string data = bytes_of(3500000, 21);
  AddResult added;
  // The source breaks after two and a half segments (unknown size).
  Error e = CatchError([&] { add_watching(*r, buffer.path(), "x", data, 0, &added, 2600000); });
  EXPECT_EQ(e.kind(), ErrorKind::kBackendException) << e.message();
  EXPECT_TRUE(raw_->list(container_).empty()) << "segments left behind";
  EXPECT_TRUE(ListDir(buffer.path()).empty());
  EXPECT_TRUE(OpenFilesIn(buffer.path()).empty());
  // Less, then more data than declared.
  for (const std::uint64_t declared : {4000000ULL, 3000000ULL}) {
    SCOPED_TRACE("declared " + std::to_string(declared));
    e = CatchError(
        [&] { add_watching(*r, buffer.path(), random_id("bad-"), data, declared, &added); });
    EXPECT_EQ(e.kind(), ErrorKind::kInvalid) << e.message();
    EXPECT_TRUE(raw_->list(container_).empty()) << "segments left behind";
    EXPECT_TRUE(ListDir(buffer.path()).empty());
    EXPECT_TRUE(OpenFilesIn(buffer.path()).empty());
  }
}

// A 503 and a connection cut while sending: the Session retries, and each retry reads the
// spooled file again from its first byte. With one upload at a time the cut hits a reused
// connection, which libcurl would retry itself by rewinding the body (a file source cannot be
// rewound there: the Session's retry does it).
TEST_F(SwiftBufferedUploadTest, ASegmentRetriedAfterA503OrACutIsSentWhole) {
  TempDir buffer;
  FaultProxy proxy(swift_url_);
  for (const int concurrency : {1, 4}) {
    SCOPED_TRACE("concurrency " + std::to_string(concurrency));
    auto r = registry(buffer.path(), proxy.url(),
                      "swift_store_upload_concurrency = " + std::to_string(concurrency) + "\n");
    proxy.rules({{{"method", "PUT"},
                  {"path_regex", "/00000002$"},
                  {"action", "status"},
                  {"status", 503},
                  {"body", "busy"}},
                 {{"method", "PUT"},
                  {"path_regex", "/00000003$"},
                  {"action", "cut_request"},
                  {"after_bytes", 300000}}});
    proxy.clear_log();
    const std::string data = bytes_of(3500000, 22);
    AddResult added;
    add_watching(*r, buffer.path(), random_id("retry-"), data, data.size(), &added);
    for (const std::string segment : {"/00000002", "/00000003"}) {
      SCOPED_TRACE(segment);
      std::vector<nlohmann::json> puts;
      for (const auto& entry : proxy.log()) {
        if (entry["method"] == "PUT" && entry["path"].get<std::string>().ends_with(segment)) {
          puts.push_back(entry);
        }
      }
      ASSERT_EQ(puts.size(), 2U);
      EXPECT_NE(puts[0]["status"], 201);
      EXPECT_EQ(puts[1]["status"], 201);
      EXPECT_EQ(puts[1]["request_bytes"], kSwiftMB) << "the retry did not send the whole segment";
    }
    proxy.rules(nlohmann::json::array());
    EXPECT_TRUE(read_all(*r->get(added.location).stream) == data);
    EXPECT_TRUE(ListDir(buffer.path()).empty());
    r->remove(added.location);
  }
}

TEST_F(SwiftBufferedUploadTest, AVanishedBufferDirectoryIsABackendExceptionNamingIt) {
  TempDir parent;
  const std::string dir = parent.sub("buffer");
  std::filesystem::create_directory(dir);
  auto r = registry(dir);  // checked here: writable
  std::filesystem::remove(dir);
  const std::string data = bytes_of(2500000, 23);
  AddResult added;
  const Error e = CatchError([&] { add_watching(*r, parent.path(), "gone", data, 0, &added); });
  EXPECT_EQ(e.kind(), ErrorKind::kBackendException) << e.message();
  EXPECT_NE(e.message().find(dir), std::string::npos) << e.message();
  EXPECT_EQ(e.message().find("testing"), std::string::npos) << "the key in " << e.message();
  EXPECT_TRUE(raw_->list(container_).empty());
}

// The first segment fits, the second does not: StorageFull, and the first is deleted again.
TEST_F(SwiftBufferedUploadTest, AFullBufferDirectoryIsStorageFullAndLeavesNothing) {
  SmallTmpfs disk(1536000);
  if (!disk.mounted()) GTEST_SKIP() << "cannot mount a tmpfs here (needs CAP_SYS_ADMIN)";
  FaultProxy proxy(swift_url_);
  // Holds the first segment's PUT, so its file is still in use when the second one fills.
  proxy.rules(
      {{{"method", "PUT"}, {"path_regex", "/00000001$"}, {"action", "delay"}, {"seconds", 1.0}}});
  auto r = registry(disk.path(), proxy.url());
  proxy.clear_log();
  const std::string data = bytes_of(3500000, 24);
  AddResult added;
  const Error e = CatchError([&] { add_watching(*r, disk.path(), "full", data, 0, &added); });
  EXPECT_EQ(e.kind(), ErrorKind::kStorageFull) << e.message();
  EXPECT_NE(e.message().find(disk.path()), std::string::npos) << e.message();
  EXPECT_EQ(proxy.count("PUT", "full/"), 1);
  EXPECT_EQ(proxy.count("DELETE", "full/"), 1);
  EXPECT_TRUE(raw_->list(container_).empty()) << "segments left behind";
  EXPECT_TRUE(ListDir(disk.path()).empty());
  EXPECT_TRUE(OpenFilesIn(disk.path()).empty());
}

}  // namespace
}  // namespace glance_store::swift::testing
