// Faults between the Swift store and a real Swift, injected by tests/tools/fault_proxy.py:
// broken reads resumed (or failed loudly, never short), a failing segment that leaves nothing,
// a token that expires during a long upload, and TLS verified with the configured CA.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/test_util.h"
#include "integration/swift/swift_server.h"

namespace glance_store::swift::testing {
namespace {

using test_common::CatchError;
using test_common::FaultProxy;
using test_common::TrickleStream;

class SwiftFaultTest : public ::testing::Test {
 protected:
  void SetUp() override {
    swift_url_ = server_setting("swift-aio", "GS_SWIFT_URL");
    ASSERT_FALSE(swift_url_.empty()) << "start Swift: scripts/servers/swift-aio start";
    raw_ = std::make_unique<RawSwift>(swift_url_ + "/auth/v1.0", "test:tester", "testing");
    container_ = random_id("glance-faults-");
  }
  void TearDown() override {
    for (const auto& name : raw_->list(container_))
      raw_->request("DELETE", container_ + "/" + name);
    raw_->request("DELETE", container_);
  }

  // Auth and storage both through `base` (the fault proxy, or TLS in front of it).
  std::unique_ptr<StoreRegistry> registry(const std::string& base, const std::string& extra = "") {
    return tempauth_registry(base + "/auth/v1.0", container_,
                             "swift_store_endpoint = " + base + "/v1/AUTH_test\n" + extra);
  }

  AddResult add(StoreRegistry& r, const std::string& id, const std::string& data) {
    TrickleStream in(data);
    return r.add(id, in, data.size());
  }

  // The error that reading the whole image ends with (the get itself must succeed).
  static Error read_failure(StoreRegistry& r, const std::string& location) {
    GetResult result = r.get(location);
    return CatchError([&] { read_all(*result.stream); });
  }

  std::string swift_url_;
  std::string container_;
  std::unique_ptr<RawSwift> raw_;
};

TEST_F(SwiftFaultTest, BrokenReadsResumeWithTheSameBytes) {
  FaultProxy proxy(swift_url_);
  auto r = registry(proxy.url());
  // One object, read in one response; then four segments, read one after the other.
  for (const std::uint64_t size : {1500000ULL, 3500000ULL}) {
    SCOPED_TRACE(size);
    const bool segmented = size > 2 * 1024000;
    const std::string data = bytes_of(size, size);
    const AddResult added = add(*r, random_id("cut-"), data);
    const std::string object = added.location.substr(added.location.rfind('/'));
    // The object's GET and its resumes; or the second segment's.
    const std::string cut = object + (segmented ? "/[0-9a-f]{32}/00000002[?]" : "[?]");
    proxy.rules({{{"method", "GET"},
                  {"path_regex", cut},
                  {"times", 2},
                  {"action", "cut_response"},
                  {"after_bytes", 300000}}});
    proxy.clear_log();
    GetResult whole = r->get(added.location);
    EXPECT_TRUE(read_all(*whole.stream) == data);
    EXPECT_EQ(proxy.count("GET", segmented ? "/00000002?" : object + "?"), 3);
    // A ranged read resumes inside its range (which crosses from the first segment into the
    // second when there are segments).
    proxy.rules({{{"method", "GET"},
                  {"path_regex", cut},
                  {"action", "cut_response"},
                  {"after_bytes", 100000}}});
    const std::uint64_t offset = segmented ? 1000000 : 1000;
    GetResult part = r->get(added.location, offset, 500000);
    EXPECT_TRUE(read_all(*part.stream) == data.substr(offset, 500000));
    proxy.rules(nlohmann::json::array());
    r->remove(added.location);
  }
}

// A plain object's ETag, and each segment's in the listing, is its md5: a whole read of either is
// checked as it streams, and a byte flipped on the way fails the read instead of handing over
// other bytes. A segment read in part, like any ranged read, cannot be checked.
TEST_F(SwiftFaultTest, AFlippedByteInAReadIsDetected) {
  FaultProxy proxy(swift_url_);
  auto r = registry(proxy.url());
  for (const std::uint64_t size : {1500000ULL, 3500000ULL}) {
    SCOPED_TRACE(size);
    const bool segmented = size > 2 * 1024000;
    const std::string data = bytes_of(size, size + 1);
    const AddResult added = add(*r, random_id("flip-"), data);
    const std::string object = added.location.substr(added.location.rfind('/'));
    // Byte 1,100,000 of the image: in the object, or in its second segment.
    const std::uint64_t at = segmented ? 1100000 - 1024000 : 1100000;
    proxy.rules({{{"method", "GET"},
                  {"path_regex", object + (segmented ? "/[0-9a-f]{32}/00000002[?]" : "[?]")},
                  {"action", "flip_response_byte"},
                  {"offset", at}}});
    const Error e = read_failure(*r, added.location);
    EXPECT_EQ(e.kind(), ErrorKind::kBackendException);
    EXPECT_NE(e.message().find("md5"), std::string::npos) << e.message();
    proxy.rules(nlohmann::json::array());
    EXPECT_TRUE(read_all(*r->get(added.location).stream) == data);
    r->remove(added.location);
  }
}

// The proxy would join a DLO's segments itself (its DLO middleware costs it twice the CPU of a
// plain GET); the store asks for the manifest alone, then GETs the segments in listing order.
TEST_F(SwiftFaultTest, ASegmentedImageIsReadFromItsSegments) {
  FaultProxy proxy(swift_url_);
  auto r = registry(proxy.url());
  const std::string data = bytes_of(3500000, 8);  // four segments
  const AddResult added = add(*r, random_id("direct-"), data);
  const std::string object = added.location.substr(added.location.rfind('/'));
  proxy.clear_log();
  EXPECT_TRUE(read_all(*r->get(added.location).stream) == data);
  std::vector<std::string> gets;  // but the listing's pages
  for (const auto& entry : proxy.log()) {
    const std::string path = entry["path"];
    if (entry["method"] == "GET" && path.find("?format=json&prefix=") == std::string::npos) {
      gets.push_back(path);
    }
  }
  ASSERT_EQ(gets.size(), 5U) << nlohmann::json(gets).dump();
  EXPECT_TRUE(gets[0].ends_with(object + "?multipart-manifest=get")) << gets[0];
  for (std::size_t i = 1; i <= 4; ++i) {
    // <object>/<this add's token>/<number>
    EXPECT_TRUE(gets[i].find(object + "/") != std::string::npos &&
                gets[i].ends_with("/0000000" + std::to_string(i) + "?multipart-manifest=get"))
        << gets[i];
  }
  r->remove(added.location);
}

// swift_store_max_retries = 2 resumes for the whole read, not for each segment.
TEST_F(SwiftFaultTest, TheResumesOfASegmentedReadAreCountedTogether) {
  FaultProxy proxy(swift_url_);
  auto r = registry(proxy.url());
  const std::string data = bytes_of(3500000, 9);
  const AddResult added = add(*r, random_id("budget-"), data);
  const nlohmann::json cut_twice = {{"method", "GET"},
                                    {"path_regex", "/00000001[?]"},
                                    {"times", 2},
                                    {"action", "cut_response"},
                                    {"after_bytes", 200000}};
  proxy.rules(nlohmann::json::array({cut_twice}));
  EXPECT_TRUE(read_all(*r->get(added.location).stream) == data);  // two resumes: allowed
  nlohmann::json cut_third = cut_twice;
  cut_third["path_regex"] = "/00000003[?]";
  cut_third["times"] = 1;
  proxy.rules(nlohmann::json::array({cut_twice, cut_third}));
  const Error e = read_failure(*r, added.location);
  EXPECT_EQ(e.kind(), ErrorKind::kBackendException);
  EXPECT_NE(e.message().find("/00000003 failed at byte 200000"), std::string::npos) << e.message();
  proxy.rules(nlohmann::json::array());
  r->remove(added.location);
}

TEST_F(SwiftFaultTest, AReadThatCannotResumeFailsInsteadOfReturningShortData) {
  FaultProxy proxy(swift_url_);
  auto r = registry(proxy.url());
  const AddResult added = add(*r, random_id("cut-"), bytes_of(1500000, 5));
  proxy.rules({{{"method", "GET"},
                {"path_regex", "/cut-"},
                {"times", nullptr},
                {"action", "cut_response"},
                {"after_bytes", 200000}}});
  const Error e = read_failure(*r, added.location);
  EXPECT_EQ(e.kind(), ErrorKind::kBackendException);
  EXPECT_NE(e.message().find("resumes"), std::string::npos) << e.message();
  proxy.rules(nlohmann::json::array());
  r->remove(added.location);
}

TEST_F(SwiftFaultTest, ASegmentThatKeepsFailingLeavesNothing) {
  FaultProxy proxy(swift_url_);
  auto r = registry(proxy.url(), "swift_store_upload_concurrency = 2\n");
  proxy.rules({{{"method", "PUT"},
                {"path_regex", "/00000002$"},
                {"times", nullptr},
                {"action", "status"},
                {"status", 503},
                {"body", "busy"}}});
  const Error e = CatchError([&] { add(*r, random_id("seg-"), bytes_of(4500000, 6)); });
  EXPECT_EQ(e.kind(), ErrorKind::kBackendException) << e.message();
  EXPECT_NE(e.message().find("503"), std::string::npos) << e.message();
  EXPECT_EQ(proxy.count("PUT", "/00000002"), 3);  // the first try and two retries
  EXPECT_TRUE(raw_->list(container_).empty()) << "segments left behind";
}

TEST_F(SwiftFaultTest, AFlippedByteInASegmentIsRefused) {
  FaultProxy proxy(swift_url_);
  auto r = registry(proxy.url(), "swift_store_max_retries = 0\n");
  proxy.rules({{{"method", "PUT"},
                {"path_regex", "/00000001$"},
                {"action", "flip_request_byte"},
                {"offset", 1234}}});
  const Error e = CatchError([&] { add(*r, random_id("flip-"), bytes_of(2500000, 7)); });
  EXPECT_EQ(e.kind(), ErrorKind::kBackendException) << e.message();
  EXPECT_NE(e.message().find("422"), std::string::npos) << e.message();
  EXPECT_TRUE(raw_->list(container_).empty());
}

// tempauth of the second proxy gives tokens of 4 s: an upload of ~6 s needs a new one.
TEST_F(SwiftFaultTest, ATokenThatExpiresDuringAnUploadIsRenewed) {
  const std::string short_url = server_setting("swift-aio", "GS_SWIFT_SHORT_TOKEN_URL");
  ASSERT_FALSE(short_url.empty());
  RawSwift first(short_url + "/auth/v1.0", "test:tester", "testing");
  FaultProxy proxy(short_url);
  auto r = registry(proxy.url(),
                    "swift_store_upload_concurrency = 1\nswift_store_expire_soon_interval = 1\n");
  proxy.rules({{{"method", "PUT"},
                {"path_regex", "/seg-[^/]*/[0-9a-f]{32}/0000"},
                {"times", nullptr},
                {"action", "delay"},
                {"seconds", 1.5}}});
  const std::string data = bytes_of(4500000, 8);  // 5 segments
  const AddResult added = add(*r, random_id("seg-"), data);
  EXPECT_GE(proxy.count("GET", "/auth/v1.0"), 2);
  proxy.rules(nlohmann::json::array());
  EXPECT_TRUE(read_all(*r->get(added.location).stream) == data);
  // The token of the start is refused now.
  EXPECT_EQ(first.request("HEAD", container_, first.token()).status, 401);
  r->remove(added.location);
}

TEST_F(SwiftFaultTest, HttpsIsVerifiedWithTheConfiguredCa) {
  const std::string script = std::string(GLANCE_STORE_SOURCE_DIR) + "/scripts/servers/tls-proxy";
  ASSERT_EQ(std::system((script + " start swift 18445 " + swift_url_ + " >/dev/null 2>&1").c_str()),
            0);
  const std::string ca = "/tmp/glance-store-servers/tls-swift/ca.crt";
  const std::string base = "https://127.0.0.1:18445";
  auto r = registry(base, "swift_store_cacert = " + ca + "\n");
  const std::string data = bytes_of(2500000, 9);
  const AddResult added = add(*r, random_id("tls-"), data);
  EXPECT_EQ(added.location.rfind("swift+https://", 0), 0U) << added.location;
  EXPECT_TRUE(read_all(*r->get(added.location, 1).stream) == data.substr(1));
  auto unverified = registry(base);
  const Error e = CatchError([&] { add(*unverified, random_id("tls-"), "abc"); });
  EXPECT_EQ(e.kind(), ErrorKind::kBadStoreConfiguration) << e.message();
  EXPECT_NE(e.message().find("certificate"), std::string::npos) << e.message();
  EXPECT_NE(CatchError([&] { unverified->get(added.location); }).message().find("certificate"),
            std::string::npos);
  r->remove(added.location);
  std::system((script + " stop swift >/dev/null 2>&1").c_str());
}

}  // namespace
}  // namespace glance_store::swift::testing
