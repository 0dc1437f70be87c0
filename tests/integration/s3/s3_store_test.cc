// The S3 store against real servers: Swift's s3api and Ceph's RADOS Gateway, the same suite for
// each (scripts/servers/swift-aio and scripts/servers/ceph-rgw start them).
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <string>

#include "common/test_util.h"
#include "glance_store/hashing.h"
#include "integration/s3/s3_server.h"

namespace glance_store::s3::testing {
namespace {

using test_common::TrickleStream;

using test_common::CatchError;
constexpr std::uint64_t MiB = 1 << 20;

std::string digest(std::string_view algorithm, std::string_view data) {
  auto hasher = Hasher::create(algorithm);
  hasher->update(std::as_bytes(std::span(data)));
  return hasher->hexdigest();
}

class S3StoreTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    server_ = server_named(GetParam());
    ASSERT_FALSE(server_.endpoint.empty())
        << "the " << GetParam() << " server is not running: start it with scripts/servers/"
        << (GetParam() == "s3api" ? "swift-aio" : "ceph-rgw") << " start";
    raw_ = std::make_unique<RawS3>(server_);
  }

  // A multi-store registry with one s3 backend on this server; threshold 10 MiB, 5 MiB parts.
  std::unique_ptr<StoreRegistry> registry(const std::string& extra = "",
                                          const std::string& bucket = "glance-it") {
    std::string text =
        "[DEFAULT]\nenabled_backends = s3:s3\n[glance_store]\ndefault_backend = s3\n"
        "[s3]\n";
    text += "s3_store_host = " + server_.endpoint + "\n";
    text += "s3_store_access_key = " + server_.access_key + "\n";
    text += "s3_store_secret_key = " + server_.secret_key + "\n";
    text += "s3_store_region_name = " + server_.region + "\n";
    text += "s3_store_bucket = " + bucket + "\n";
    text += "s3_store_create_bucket_on_put = true\n";
    text += "s3_store_large_object_size = 10\ns3_store_large_object_chunk_size = 5\n";
    text += "s3_store_max_upload_parts = " + server_.max_parts + "\n";
    text += "s3_store_max_retries = 2\n";
    text += extra;
    return StoreRegistry::create(ConfigFile::parse(text));
  }

  AddResult add(StoreRegistry& r, const std::string& id, const std::string& data,
                std::uint64_t declared) {
    TrickleStream in(data);
    return r.add(id, in, declared, "sha512");
  }

  void expect_nothing_left(const std::string& key, const std::string& bucket = "glance-it") {
    EXPECT_EQ(raw_->head_status(bucket, key), 404) << key << " exists";
    for (const auto& k : raw_->uploads_in_progress(bucket)) {
      EXPECT_NE(k, key) << "an upload of " << key << " is still in progress";
    }
  }

  S3Server server_;
  std::unique_ptr<RawS3> raw_;
};

// (Round trips, Duplicate, NotFound and wrong sizes are the conformance suite's:
// tests/conformance/.) What is S3's own: the location names the bucket and the key, and a
// multi-store add's metadata names its backend.
TEST_P(S3StoreTest, TheLocationNamesTheBucketAndTheMetadataTheBackend) {
  auto r = registry();
  const std::string id = random_id("img-");
  const AddResult result = add(*r, id, "abc", 3);
  EXPECT_EQ(result.metadata["store"], "s3");
  EXPECT_EQ(result.multihash, digest("sha512", "abc"));
  EXPECT_NE(result.location.find("/glance-it/" + id), std::string::npos) << result.location;
  EXPECT_EQ(raw_->head_status("glance-it", id), 200);
  r->remove(result.location);
  expect_nothing_left(id);
}

TEST_P(S3StoreTest, PartLimitGrowsPartsOrFailsClearly) {
  // Two parts at most: a known size fits by growing the parts; an unknown size that does not
  // fit fails with Invalid naming the limit, and leaves nothing.
  auto r = registry("s3_store_max_upload_parts = 2\n");
  const std::string data = bytes_of(23 * MiB, 4);
  const std::string id = random_id("limit-");
  const AddResult ok = add(*r, id, data, data.size());
  EXPECT_EQ(read_all(*r->get(ok.location).stream), data);
  r->remove(ok.location);

  const std::string id2 = random_id("limit-");
  const Error e = CatchError([&] { add(*r, id2, data, 0); });
  EXPECT_EQ(e.kind(), ErrorKind::kInvalid);
  EXPECT_NE(e.message().find("s3_store_max_upload_parts"), std::string::npos) << e.message();
  expect_nothing_left(id2);
}

TEST_P(S3StoreTest, WrongSecretIsAClearAuthenticationError) {
  auto r = registry("s3_store_secret_key = not-the-secret-xyz\n");
  const Error e = CatchError([&] { add(*r, random_id("auth-"), "data", 4); });
  EXPECT_EQ(e.kind(), ErrorKind::kBadStoreConfiguration) << e.message();  // as glance: S3-24
  EXPECT_NE(e.message().find("SignatureDoesNotMatch"), std::string::npos) << e.message();
  EXPECT_EQ(e.message().find("not-the-secret-xyz"), std::string::npos) << e.message();

  // Reading with a location whose secret is wrong.
  auto good = registry();
  const AddResult added = add(*good, random_id("auth-"), "data", 4);
  std::string bad = added.location;
  const std::string secret_part = ":" + server_.secret_key + "@";
  ASSERT_NE(bad.find(secret_part), std::string::npos);
  bad.replace(bad.find(secret_part), secret_part.size(), ":wrong-secret-abc@");
  const Error read_error = CatchError([&] { good->get(bad); });
  EXPECT_NE(read_error.message().find("SignatureDoesNotMatch"), std::string::npos)
      << read_error.message();
  EXPECT_EQ(read_error.message().find("wrong-secret-abc"), std::string::npos);
  good->remove(added.location);
}

TEST_P(S3StoreTest, MissingBucketWithAndWithoutCreateOnPut) {
  const std::string bucket = random_id("gsb");
  auto without = registry("s3_store_create_bucket_on_put = false\n", bucket);
  const Error e = CatchError([&] { add(*without, random_id("b-"), "x", 1); });
  EXPECT_EQ(e.kind(), ErrorKind::kBackendException);
  EXPECT_NE(e.message().find("does not exist"), std::string::npos) << e.message();

  auto with = registry("", bucket);
  const AddResult result = add(*with, random_id("b-"), "xyz", 3);
  EXPECT_EQ(read_all(*with->get(result.location).stream), "xyz");
  with->remove(result.location);
}

// Runs a shell command; returns its exit code and standard output.
std::pair<int, std::string> run(const std::string& command) {
  std::string out;
  FILE* pipe = ::popen(command.c_str(), "r");
  char buffer[4096];
  while (const std::size_t n = std::fread(buffer, 1, sizeof buffer, pipe)) out.append(buffer, n);
  const int status = ::pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

TEST_P(S3StoreTest, ToolCommandsOnS3Uris) {
  test_common::TempDir dir;
  const std::string conf = dir.sub("glance-api.conf");
  std::ofstream(conf) << "[DEFAULT]\nenabled_backends = s3:s3\n[glance_store]\n"
                         "default_backend = s3\n[s3]\ns3_store_host = "
                      << server_.endpoint << "\ns3_store_access_key = " << server_.access_key
                      << "\ns3_store_secret_key = " << server_.secret_key
                      << "\ns3_store_region_name = " << server_.region
                      << "\ns3_store_bucket = glance-it\ns3_store_create_bucket_on_put = true\n"
                         "s3_store_large_object_size = 10\ns3_store_large_object_chunk_size = 5\n"
                         "s3_store_max_upload_parts = "
                      << server_.max_parts << "\n";
  const std::string data = bytes_of(12 * MiB + 3, 9);
  std::ofstream(dir.sub("image"), std::ios::binary) << data;
  const std::string tool = std::string(GLANCE_STORE_BINARY) + " --config " + conf + " ";

  const auto [redacted_rc, redacted] = run(tool + "add " + dir.sub("image"));
  ASSERT_EQ(redacted_rc, 0);
  EXPECT_EQ(redacted.find(":" + server_.secret_key + "@"), std::string::npos) << redacted;
  EXPECT_NE(redacted.find(":***@"), std::string::npos) << redacted;
  std::string first = nlohmann::json::parse(redacted)["location"];
  first.replace(first.find(":***@"), 5, ":" + server_.secret_key + "@");
  EXPECT_EQ(run(tool + "delete '" + first + "'").first, 0);

  const auto [rc, out] = run(tool + "add --show-credentials --image-id " + random_id("tool-") +
                             " " + dir.sub("image"));
  ASSERT_EQ(rc, 0) << out;
  const auto json = nlohmann::json::parse(out);
  const std::string location = json["location"];
  EXPECT_EQ(json["checksum"], digest("md5", data));
  EXPECT_EQ(run(tool + "size '" + location + "'").second, std::to_string(data.size()) + "\n");
  EXPECT_EQ(run(tool + "get -o " + dir.sub("back") + " '" + location + "'").first, 0);
  std::ifstream back(dir.sub("back"), std::ios::binary);
  EXPECT_TRUE(std::string(std::istreambuf_iterator<char>(back), {}) == data);
  EXPECT_EQ(run(tool + "get --offset 5 --length 10 '" + location + "'").second, data.substr(5, 10));
  EXPECT_EQ(run(tool + "delete '" + location + "'").first, 0);
  EXPECT_EQ(run(tool + "get '" + location + "' 2>/dev/null").first, 10);  // NotFound
}

INSTANTIATE_TEST_SUITE_P(Servers, S3StoreTest, ::testing::Values("s3api", "rgw"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace glance_store::s3::testing
