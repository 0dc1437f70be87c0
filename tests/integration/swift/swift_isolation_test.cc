// A Swift location reaches its own image and nothing else, against the real Swift (tempauth, and
// Keystone for credentials): segment names of one image never match another's, ids and
// locations cannot leave their container, configured secrets go only to their own auth service,
// and failures get one kind. (Concurrent adds of one id are the conformance suite's.)
// Each test lists the container through Swift's own API to show what was touched.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/recording_listener.h"
#include "common/test_util.h"
#include "integration/swift/swift_server.h"

namespace glance_store::swift::testing {
namespace {

using test_common::CatchError;
using test_common::RecordingListener;
using test_common::TrickleStream;
constexpr std::uint64_t kSwiftMB = 1024000;

std::vector<std::string> sorted(std::vector<std::string> names) {
  std::sort(names.begin(), names.end());
  return names;
}

class SwiftIsolationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auth_ = server_setting("swift-aio", "GS_SWIFT_AUTH");
    ASSERT_FALSE(auth_.empty()) << "start Swift: scripts/servers/swift-aio start";
    raw_ = std::make_unique<RawSwift>(auth_, "test:tester", "testing");
    container_ = random_id("glance-iso-");
  }
  void TearDown() override {
    if (!raw_) return;
    for (const auto& c : {container_, container_ + "-other"}) {
      for (const auto& name : raw_->list(c)) raw_->request("DELETE", c + "/" + name);
      raw_->request("DELETE", c);
    }
  }

  std::unique_ptr<StoreRegistry> registry(const std::string& extra = "") {
    return tempauth_registry(auth_, container_, extra);
  }
  std::string location_of(const std::string& container, const std::string& object) const {
    return "swift+http://test%3Atester:testing@" + auth_.substr(7) + "/" + container + "/" + object;
  }
  static AddResult add(StoreRegistry& r, const std::string& id, const std::string& data) {
    TrickleStream in(data);
    return r.add(id, in, data.size());
  }
  // The account's containers, as Swift lists them.
  std::set<std::string> containers() {
    const net::Response response = raw_->request("GET", "?format=json");
    std::set<std::string> names;
    if (response.status != 200) return names;
    for (const auto& entry : nlohmann::json::parse(response.body)) names.insert(entry["name"]);
    return names;
  }

  std::string auth_;
  std::string container_;
  std::unique_ptr<RawSwift> raw_;
};

// `seg` and `seg-x` (both segmented), and an object that looks like a segment of glance's
// layout: reading, then deleting, `seg` touches neither of the others.
TEST_F(SwiftIsolationTest, SegmentsOfOneImageNeverMatchAnothers) {
  auto r = registry();
  const std::string seg = random_id("seg");
  const std::string data = bytes_of(2 * kSwiftMB + 5, 1);
  const std::string other = bytes_of(2 * kSwiftMB + 9, 2);
  const std::string planted = bytes_of(1000, 3);
  const AddResult first = add(*r, seg, data);
  const AddResult second = add(*r, seg + "-x", other);
  ASSERT_EQ(raw_->put(container_ + "/" + seg + "-00002", planted), 201);
  EXPECT_EQ(read_all(*r->get(first.location).stream), data);
  EXPECT_EQ(r->get_size(first.location), data.size());
  const std::vector<std::string> before = sorted(raw_->list(container_));
  r->remove(first.location);
  std::vector<std::string> expected;
  for (const auto& name : before) {
    if (name != seg && !name.starts_with(seg + "/")) expected.push_back(name);
  }
  EXPECT_EQ(sorted(raw_->list(container_)), expected);
  EXPECT_EQ(read_all(*r->get(second.location).stream), other);
  EXPECT_EQ(raw_->request("GET", container_ + "/" + seg + "-00002").body, planted);

  // A segmented add of `zz` beside an object named as its segment would be in glance's layout.
  const std::string zz = random_id("zz");
  ASSERT_EQ(raw_->put(container_ + "/" + zz + "-00002", planted), 201);
  const AddResult z = add(*r, zz, data);
  EXPECT_EQ(raw_->request("GET", container_ + "/" + zz + "-00002").body, planted);
  EXPECT_EQ(read_all(*r->get(z.location).stream), data);
  r->remove(z.location);
  r->remove(second.location);
  EXPECT_EQ(sorted(raw_->list(container_)),
            sorted({seg + "-00002", zz + "-00002"}));  // only what the test put there itself
}

// Ids and locations that would leave the container: refused before any request (an
// unreachable auth address shows none is made), and nothing appears elsewhere.
TEST_F(SwiftIsolationTest, NothingLeavesTheContainer) {
  const std::set<std::string> before = containers();
  auto r = registry();
  for (const std::string id : {"../other/planted", "x/../y", "..", ".", "a/b", ""}) {
    SCOPED_TRACE(id);
    const Error e = CatchError([&] { add(*r, id, "data"); });
    EXPECT_EQ(e.kind(), ErrorKind::kInvalid) << e.message();
  }
  auto unreachable =
      tempauth_registry("http://127.0.0.1:1/auth/v1.0", container_, "swift_store_max_retries = 5");
  const auto started = std::chrono::steady_clock::now();
  for (const std::size_t length : {983, 2000}) {
    const Error e = CatchError([&] { add(*unreachable, std::string(length, 'i'), "data"); });
    EXPECT_EQ(e.kind(), ErrorKind::kInvalid) << e.message();
  }
  EXPECT_EQ(CatchError([&] { add(*unreachable, "", "data"); }).kind(), ErrorKind::kInvalid);
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(1));
  // 982 bytes is the longest id: its segments' names are Swift's 1024 bytes.
  const std::string longest(982, 'l');
  const AddResult ok = add(*r, longest, bytes_of(2 * kSwiftMB + 1, 4));
  EXPECT_EQ(r->get_size(ok.location), 2 * kSwiftMB + 1);
  r->remove(ok.location);

  // Locations with a dot container or object are not sent (the path would be resolved).
  ASSERT_EQ(raw_->request("PUT", container_ + "-other").status / 100, 2);
  ASSERT_EQ(raw_->put(container_ + "-other/planted", "keep"), 201);
  for (const std::string& uri :
       {location_of("..", container_ + "-other"), location_of(container_, ".."),
        location_of(container_, "."), location_of(".", "planted")}) {
    SCOPED_TRACE(uri);
    EXPECT_EQ(CatchError([&] { r->remove(uri); }).kind(), ErrorKind::kBadStoreUri);
    EXPECT_EQ(CatchError([&] { r->get(uri); }).kind(), ErrorKind::kBadStoreUri);
  }
  EXPECT_EQ(raw_->request("GET", container_ + "-other/planted").body, "keep");
  // Where the refused ids would have written (other tests create containers of their own
  // meanwhile, so only these are looked for).
  const std::set<std::string> after = containers();
  for (const std::string name : {"other", "y", "a", ".", ".."}) {
    EXPECT_EQ(after.count(name), before.count(name)) << name;
  }
  EXPECT_EQ(raw_->request("HEAD", "other/planted").status, 404);
  EXPECT_EQ(raw_->request("HEAD", container_ + "/y").status, 404);
}

// An empty or dot container option is a configuration refused when it is loaded
// (BadStoreConfiguration naming the option), instead of making every add go to a container
// named after the image.
TEST_F(SwiftIsolationTest, AContainerOptionThatIsNoContainerIsRefused) {
  for (const std::string& value :
       std::vector<std::string>{"", ".", "..", "a/b", "a?b", std::string(257, 'c')}) {
    SCOPED_TRACE(value);
    const Error e = CatchError([&] { tempauth_registry(auth_, value, ""); });
    EXPECT_EQ(e.kind(), ErrorKind::kBadStoreConfiguration) << e.message();
    EXPECT_NE(e.message().find("swift_store_container"), std::string::npos) << e.message();
  }
}

// A location naming a container but no object (or an empty container) is BadStoreUri for
// every operation: a DELETE or GET of the container itself would delete it or list it.
TEST_F(SwiftIsolationTest, ALocationWithoutAnObjectIsBadStoreUri) {
  auto r = registry();
  ASSERT_EQ(raw_->request("PUT", container_).status / 100, 2);
  for (const std::string& uri : {location_of(container_, ""), location_of("", "obj")}) {
    SCOPED_TRACE(uri);
    EXPECT_EQ(CatchError([&] { r->remove(uri); }).kind(), ErrorKind::kBadStoreUri);
    EXPECT_EQ(CatchError([&] { r->get(uri); }).kind(), ErrorKind::kBadStoreUri);
    EXPECT_EQ(CatchError([&] { r->get_size(uri); }).kind(), ErrorKind::kBadStoreUri);
  }
  EXPECT_EQ(raw_->request("HEAD", container_).status, 204) << "the container is gone";
}

// A port that is no port is a malformed location at once, not an unreachable server retried.
TEST_F(SwiftIsolationTest, APortThatIsNoPortIsBadStoreUri) {
  auto r = registry("swift_store_max_retries = 5\n");
  for (const std::string port : {"0", "65536", "99999", "abc", "1x"}) {
    SCOPED_TRACE(port);
    const std::string uri = "swift+http://test%3Atester:testing@127.0.0.1:" + port + "/auth/v1.0/" +
                            container_ + "/obj";
    const auto started = std::chrono::steady_clock::now();
    EXPECT_EQ(CatchError([&] { r->get_size(uri); }).kind(), ErrorKind::kBadStoreUri);
    EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::milliseconds(500));
  }
}

// The location `add` prints hides the key (`user:***@`): with the same configuration it reads,
// sizes and deletes the image; another user's masked location says what is wrong.
TEST_F(SwiftIsolationTest, ALocationPrintedWithItsKeyMaskedIsUsable) {
  auto r = registry();
  const AddResult added = add(*r, random_id("masked-"), "abcd");
  const std::string masked = r->parse_any(added.location)->uri(true);
  ASSERT_NE(masked.find(":***@"), std::string::npos) << masked;
  EXPECT_EQ(r->get_size(masked), 4U);
  EXPECT_EQ(read_all(*r->get(masked).stream), "abcd");
  std::string other = masked;
  other.replace(other.find("test%3Atester:"), 14, "test%3Atester3:");
  const Error e = CatchError([&] { r->get_size(other); });
  EXPECT_EQ(e.kind(), ErrorKind::kBadStoreUri) << e.message();
  EXPECT_NE(e.message().find("--show-credentials"), std::string::npos) << e.message();
  r->remove(masked);
  EXPECT_EQ(CatchError([&] { r->get_size(added.location); }).kind(), ErrorKind::kNotFound);
}

// The configured application credential authenticates only at its own auth address: a
// location without credentials that names another host gets nothing from us.
TEST(SwiftCredentialTest, ConfiguredSecretsGoOnlyToTheirOwnAuthService) {
  const std::string keystone = server_setting("keystone", "GS_KEYSTONE_URL");
  ASSERT_FALSE(keystone.empty()) << "start Keystone: scripts/servers/keystone start";
  const std::string secret = server_setting("keystone", "GS_KS_APP_CRED_SECRET");
  const std::string container = random_id("glance-cred-");
  std::string text = "[glance_store]\nstores = swift\ndefault_store = swift\n";
  text += "swift_store_auth_address = " + keystone + "\nswift_store_auth_version = 3\n";
  text +=
      "swift_store_application_credential_id = " + server_setting("keystone", "GS_KS_APP_CRED_ID") +
      "\n";
  text += "swift_store_application_credential_secret = " + secret + "\n";
  text += "swift_store_container = " + container + "\nswift_store_create_container_on_put = true\n";
  text += "swift_store_region = " + server_setting("keystone", "GS_KS_REGION") + "\n";
  auto r = StoreRegistry::create(ConfigFile::parse(text));
  // Its own locations still read with the credential.
  TrickleStream in("abc");
  const AddResult added = r->add(random_id("cred-"), in, 3);
  EXPECT_EQ(added.location.find('@'), std::string::npos) << added.location;
  EXPECT_EQ(r->get_size(added.location), 3U);

  RecordingListener listener;
  const std::string elsewhere =
      "swift+http://" + listener.address() + "/v3/" + container + "/" + random_id("x-");
  const Error e = CatchError([&] { r->get_size(elsewhere); });
  EXPECT_EQ(e.kind(), ErrorKind::kBadStoreUri) << e.message();
  EXPECT_EQ(CatchError([&] { r->get(elsewhere); }).kind(), ErrorKind::kBadStoreUri);
  EXPECT_EQ(CatchError([&] { r->remove(elsewhere); }).kind(), ErrorKind::kBadStoreUri);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(listener.connections(), 0) << listener.received();
  EXPECT_EQ(listener.received().find(secret), std::string::npos);
  r->remove(added.location);
}

}  // namespace
}  // namespace glance_store::swift::testing
