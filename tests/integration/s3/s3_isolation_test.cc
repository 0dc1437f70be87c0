// An S3 location reaches its own object and nothing else, on both real servers (Swift's s3api,
// Ceph's RGW): configured credentials never go to a host a location names, locations that name
// no object are refused, and a failure gets one kind whatever the command. (Concurrent adds of
// one id are the conformance suite's: tests/conformance/.)
#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/recording_listener.h"
#include "common/test_util.h"
#include "glance_store/hashing.h"
#include "integration/s3/s3_server.h"

namespace glance_store::s3::testing {
namespace {

using test_common::CatchError;
using test_common::RecordingListener;
using test_common::TrickleStream;

class S3IsolationTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    server_ = server_named(GetParam());
    ASSERT_FALSE(server_.endpoint.empty()) << "the " << GetParam() << " server is not running";
    raw_ = std::make_unique<RawS3>(server_);
  }

  // Threshold 10 MiB, 5 MiB parts; `access`/`secret` replace the server's credentials.
  std::unique_ptr<StoreRegistry> registry(const std::string& extra = "") {
    std::string text = "[glance_store]\nstores = s3\ndefault_store = s3\n";
    text += "s3_store_host = " + server_.endpoint + "\n";
    text += "s3_store_access_key = " + server_.access_key + "\n";
    text += "s3_store_secret_key = " + server_.secret_key + "\n";
    text += "s3_store_region_name = " + server_.region + "\n";
    text += "s3_store_bucket = glance-it\ns3_store_create_bucket_on_put = true\n";
    text += "s3_store_large_object_size = 10\ns3_store_large_object_chunk_size = 5\n";
    text += "s3_store_max_upload_parts = " + server_.max_parts + "\ns3_store_max_retries = 2\n";
    return StoreRegistry::create(ConfigFile::parse(text + extra));
  }
  static AddResult add(StoreRegistry& r, const std::string& id, const std::string& data) {
    TrickleStream in(data);
    return r.add(id, in, data.size());
  }
  // host:port of the server, as locations carry it.
  std::string host() const { return server_.endpoint.substr(server_.endpoint.find("://") + 3); }

  S3Server server_;
  std::unique_ptr<RawS3> raw_;
};

// A location without credentials naming another host is refused before any request: the
// listener there sees no connection, so no signature made with the configured key. A location
// with credentials of its own is signed with those only.
TEST_P(S3IsolationTest, ConfiguredCredentialsGoOnlyToTheConfiguredHost) {
  auto r = registry();
  RecordingListener listener;
  const std::string bare = "s3://" + listener.address() + "/glance-it/" + random_id("k-");
  for (const auto& operation : std::vector<std::function<void()>>{
           [&] { r->get(bare); }, [&] { r->get_size(bare); }, [&] { r->remove(bare); }}) {
    const Error e = CatchError(operation);
    EXPECT_EQ(e.kind(), ErrorKind::kBadStoreUri) << e.message();
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(listener.connections(), 0) << listener.received();

  const std::string own =
      "s3://OTHERKEY:othersecret@" + listener.address() + "/glance-it/" + random_id("k-");
  EXPECT_EQ(CatchError([&] { r->get_size(own); }).kind(), ErrorKind::kNotFound);
  EXPECT_GE(listener.connections(), 1);
  const std::string seen = listener.received();
  EXPECT_NE(seen.find("Credential=OTHERKEY/"), std::string::npos) << seen;
  EXPECT_EQ(seen.find(server_.access_key), std::string::npos) << seen;

  // The configured host itself, without credentials in the location: the configured ones.
  const AddResult added = add(*r, random_id("own-"), "abc");
  const std::string key = added.location.substr(added.location.rfind('/') + 1);
  const std::string scheme = server_.endpoint.starts_with("https") ? "s3+https" : "s3";
  EXPECT_EQ(r->get_size(scheme + "://" + host() + "/glance-it/" + key), 3U);
  r->remove(added.location);
}

// Buckets and keys that are empty or dots name no object: BadStoreUri before any request.
TEST_P(S3IsolationTest, ALocationWithoutAnObjectIsBadStoreUri) {
  auto r = registry();
  const std::string creds = server_.access_key + ":" + server_.secret_key + "@";
  for (const std::string path : {"/glance-it/..", "/glance-it/.", "//key", "/../key"}) {
    const std::string uri = "s3://" + creds + host() + path;
    SCOPED_TRACE(path);
    EXPECT_EQ(CatchError([&] { r->remove(uri); }).kind(), ErrorKind::kBadStoreUri);
    EXPECT_EQ(CatchError([&] { r->get(uri); }).kind(), ErrorKind::kBadStoreUri);
    EXPECT_EQ(CatchError([&] { r->get_size(uri); }).kind(), ErrorKind::kBadStoreUri);
  }
}

// The same refusal gets the same kind from get, size and delete: credentials the server does
// not accept are BadStoreConfiguration (as glance_store reports a refused HEAD), a user the
// server knows but refuses is Forbidden.
TEST_P(S3IsolationTest, ARefusalHasOneKindWhateverTheCommand) {
  auto r = registry();
  const AddResult added = add(*r, random_id("kind-"), "abc");
  const std::string tail =
      "@" + host() + "/glance-it/" + added.location.substr(added.location.rfind('/') + 1);
  struct Case {
    std::string credentials;
    ErrorKind kind;
  };
  std::vector<Case> cases = {
      {server_.access_key + ":wrong-secret", ErrorKind::kBadStoreConfiguration}};
  if (GetParam() == "s3api") cases.push_back({"test%3Atester3:testing3", ErrorKind::kForbidden});
  for (const Case& c : cases) {
    const std::string uri = "s3://" + c.credentials + tail;
    SCOPED_TRACE(c.credentials);
    for (const auto& operation : std::vector<std::function<void()>>{
             [&] { r->get(uri); }, [&] { r->get_size(uri); }, [&] { r->remove(uri); }}) {
      const Error e = CatchError(operation);
      EXPECT_EQ(e.kind(), c.kind) << e.message();
      EXPECT_EQ(e.message().find("wrong-secret"), std::string::npos) << e.message();
    }
  }
  EXPECT_EQ(r->get_size(added.location), 3U);  // still there
  r->remove(added.location);
}

TEST_P(S3IsolationTest, APortThatIsNoPortIsBadStoreUri) {
  auto r = registry("s3_store_max_retries = 5\n");
  for (const std::string port : {"0", "65536", "123456", "abc"}) {
    SCOPED_TRACE(port);
    const std::string uri = "s3://ak:sk@127.0.0.1:" + port + "/glance-it/key";
    const auto started = std::chrono::steady_clock::now();
    EXPECT_EQ(CatchError([&] { r->get_size(uri); }).kind(), ErrorKind::kBadStoreUri);
    EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::milliseconds(500));
  }
}

// The location `add` prints hides the secret (`AK:***@`): with the same configuration it reads,
// sizes and deletes the image; with another access key or host it says what is wrong.
TEST_P(S3IsolationTest, ALocationPrintedWithItsSecretMaskedIsUsable) {
  auto r = registry();
  const AddResult added = add(*r, random_id("masked-"), "abcd");
  const std::string masked = r->parse_any(added.location)->uri(true);
  ASSERT_NE(masked.find(":***@"), std::string::npos) << masked;
  EXPECT_EQ(r->get_size(masked), 4U);
  EXPECT_EQ(read_all(*r->get(masked).stream), "abcd");
  std::string other = masked;
  other.replace(other.find("://") + 3, masked.find(":***@") - masked.find("://") - 3, "OTHERKEY");
  const Error e = CatchError([&] { r->get_size(other); });
  EXPECT_EQ(e.kind(), ErrorKind::kBadStoreUri) << e.message();
  EXPECT_NE(e.message().find("--show-credentials"), std::string::npos) << e.message();
  r->remove(masked);
  EXPECT_EQ(CatchError([&] { r->get_size(added.location); }).kind(), ErrorKind::kNotFound);
}

INSTANTIATE_TEST_SUITE_P(Servers, S3IsolationTest, ::testing::Values("s3api", "rgw"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace glance_store::s3::testing
