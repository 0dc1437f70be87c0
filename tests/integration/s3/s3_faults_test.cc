// Faults between the S3 store and real servers, injected by tests/tools/fault_proxy.py on
// loopback: retried parts, aborted uploads that leave nothing, corrupted bytes detected, broken
// reads resumed (or failed loudly, never short).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "common/test_util.h"
#include "common/tool_process.h"
#include "glance_store/hashing.h"
#include "integration/s3/s3_server.h"

extern char** environ;

namespace glance_store::s3::testing {
namespace {

using test_common::FaultProxy;

using test_common::CatchError;
constexpr std::uint64_t MiB = 1 << 20;

class S3FaultTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    server_ = server_named(GetParam());
    ASSERT_FALSE(server_.endpoint.empty()) << "the " << GetParam() << " server is not running";
    raw_ = std::make_unique<RawS3>(server_);
    proxy_ = std::make_unique<FaultProxy>(server_.endpoint);
  }

  std::unique_ptr<StoreRegistry> registry(const std::string& host, const std::string& extra = "") {
    return StoreRegistry::create(ConfigFile::parse(config_text(host, extra)));
  }
  std::string config_text(const std::string& host, const std::string& extra = "") {
    std::string text =
        "[DEFAULT]\nenabled_backends = s3:s3\n[glance_store]\ndefault_backend = s3\n[s3]\n";
    text += "s3_store_host = " + host + "\n";
    text += "s3_store_access_key = " + server_.access_key + "\n";
    text += "s3_store_secret_key = " + server_.secret_key + "\n";
    text += "s3_store_region_name = " + server_.region + "\n";
    text += "s3_store_bucket = glance-it\ns3_store_create_bucket_on_put = true\n";
    text += "s3_store_large_object_size = 10\ns3_store_large_object_chunk_size = 5\n";
    text += "s3_store_thread_pools = 2\ns3_store_max_retries = 2\ns3_store_timeout = 5\n";
    text += "s3_store_max_upload_parts = " + server_.max_parts + "\n" + extra;
    return text;
  }
  std::unique_ptr<StoreRegistry> through_proxy(const std::string& extra = "") {
    return registry(proxy_->url(), extra);
  }

  AddResult add(StoreRegistry& r, const std::string& id, const std::string& data) {
    MemoryInputStream in(data);
    return r.add(id, in, data.size(), "sha256");
  }

  void expect_nothing_left(const std::string& key) {
    EXPECT_EQ(raw_->head_status("glance-it", key), 404) << key << " exists";
    for (const auto& k : raw_->uploads_in_progress("glance-it")) {
      EXPECT_NE(k, key) << "an upload of " << key << " is still in progress";
    }
  }

  S3Server server_;
  std::unique_ptr<RawS3> raw_;
  std::unique_ptr<FaultProxy> proxy_;
};

const std::string kSlowDown =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>SlowDown</Code>"
    "<Message>Please reduce your request rate.</Message></Error>";

TEST_P(S3FaultTest, A503OnAPartIsRetried) {
  auto r = through_proxy();
  proxy_->rules({{{"method", "PUT"},
                  {"path_regex", "partNumber=2&"},
                  {"times", 2},
                  {"action", "status"},
                  {"status", 503},
                  {"body", kSlowDown}}});
  const std::string data = bytes_of(23 * MiB, 1);
  const std::string id = random_id("f503-");
  const AddResult result = add(*r, id, data);
  EXPECT_EQ(proxy_->count("PUT", "partNumber=2&"), 3);  // two refusals, then the upload
  EXPECT_TRUE(read_all(*r->get(result.location).stream) == data);
  r->remove(result.location);
}

TEST_P(S3FaultTest, AConnectionCutInAPartIsRetried) {
  auto r = through_proxy();
  proxy_->rules({{{"method", "PUT"},
                  {"path_regex", "partNumber=3&"},
                  {"action", "cut_request"},
                  {"after_bytes", 1 << 20}}});
  const std::string data = bytes_of(23 * MiB, 2);
  const AddResult result = add(*r, random_id("fcut-"), data);
  EXPECT_GE(proxy_->count("PUT", "partNumber=3&"), 2);
  EXPECT_TRUE(read_all(*r->get(result.location).stream) == data);
  r->remove(result.location);
}

TEST_P(S3FaultTest, APartThatKeepsFailingAbortsTheUpload) {
  auto r = through_proxy();
  proxy_->rules({{{"method", "PUT"},
                  {"path_regex", "partNumber=2&"},
                  {"times", nullptr},
                  {"action", "status"},
                  {"status", 503},
                  {"body", kSlowDown}}});
  const std::string id = random_id("fabort-");
  const Error e = CatchError([&] { add(*r, id, bytes_of(23 * MiB, 3)); });
  EXPECT_EQ(e.kind(), ErrorKind::kBackendException) << e.message();
  EXPECT_NE(e.message().find("SlowDown"), std::string::npos) << e.message();
  EXPECT_EQ(proxy_->count("DELETE", "uploadId="), 1);  // the upload was aborted
  expect_nothing_left(id);
}

TEST_P(S3FaultTest, AFlippedByteInAPartIsDetected) {
  auto r = through_proxy();
  proxy_->rules({{{"method", "PUT"},
                  {"path_regex", "partNumber=2&"},
                  {"times", nullptr},
                  {"action", "flip_request_byte"},
                  {"offset", 1000}}});
  const std::string id = random_id("fflip-");
  const Error e = CatchError([&] { add(*r, id, bytes_of(23 * MiB, 4)); });
  EXPECT_EQ(e.kind(), ErrorKind::kBackendException) << e.message();
  EXPECT_NE(e.message().find("BadDigest"), std::string::npos) << e.message();
  expect_nothing_left(id);
}

TEST_P(S3FaultTest, AFlippedByteInASinglePutIsDetectedByTheETag) {
  auto r = through_proxy();
  proxy_->rules({{{"method", "PUT"}, {"action", "flip_request_byte"}, {"offset", 12345}}});
  const std::string id = random_id("fflip1-");
  const Error e = CatchError([&] { add(*r, id, bytes_of(7 * MiB, 5)); });
  EXPECT_EQ(e.kind(), ErrorKind::kBackendException) << e.message();
  EXPECT_NE(e.message().find("ETag"), std::string::npos) << e.message();
  expect_nothing_left(id);
}

TEST_P(S3FaultTest, ABrokenReadResumesWithTheSameBytes) {
  auto direct = registry(server_.endpoint);
  const std::string data = bytes_of(23 * MiB, 6);
  const std::string id = random_id("fread-");
  const AddResult added = add(*direct, id, data);
  std::string via_proxy = added.location;
  via_proxy.replace(via_proxy.find(server_.endpoint.substr(7)), server_.endpoint.size() - 7,
                    proxy_->authority());
  auto r = through_proxy();
  proxy_->rules(
      {{{"method", "GET"}, {"times", 2}, {"action", "cut_response"}, {"after_bytes", 3 << 20}}});
  GetResult got = r->get(via_proxy);
  EXPECT_EQ(got.size, data.size());
  EXPECT_TRUE(read_all(*got.stream) == data);
  EXPECT_EQ(proxy_->count("GET", id), 3);

  // A ranged read resumes inside its range.
  proxy_->rules({{{"method", "GET"}, {"action", "cut_response"}, {"after_bytes", 1 << 20}}});
  GetResult part = r->get(via_proxy, 5 * MiB + 7, 4 * MiB);
  EXPECT_TRUE(read_all(*part.stream) == data.substr(5 * MiB + 7, 4 * MiB));
  direct->remove(added.location);
}

TEST_P(S3FaultTest, AReadThatCannotResumeFailsInsteadOfReturningShortData) {
  auto direct = registry(server_.endpoint);
  const std::string data = bytes_of(12 * MiB, 7);
  const AddResult added = add(*direct, random_id("fshort-"), data);
  std::string via_proxy = added.location;
  via_proxy.replace(via_proxy.find(server_.endpoint.substr(7)), server_.endpoint.size() - 7,
                    proxy_->authority());
  auto r = through_proxy();
  proxy_->rules({{{"method", "GET"},
                  {"times", nullptr},
                  {"action", "cut_response"},
                  {"after_bytes", 1 << 20}}});
  GetResult got = r->get(via_proxy);
  const Error e = CatchError([&] { read_all(*got.stream); });
  EXPECT_EQ(e.kind(), ErrorKind::kBackendException);
  EXPECT_NE(e.message().find("resumes"), std::string::npos) << e.message();
  direct->remove(added.location);
}

// A single PUT's ETag is its md5: a whole read of it is checked as it streams, and a byte flipped
// on the way fails the read (never a clean end) instead of handing over other bytes. Ranges and
// multipart objects (whose ETag is no md5) cannot be checked: the flipped byte goes through.
TEST_P(S3FaultTest, AFlippedByteInAReadIsDetectedWhereTheETagIsTheMd5) {
  auto direct = registry(server_.endpoint);
  const std::string single = bytes_of(3 * MiB, 8);
  const std::string multipart = bytes_of(12 * MiB, 9);
  const AddResult single_added = add(*direct, random_id("fflip-"), single);
  const AddResult multipart_added = add(*direct, random_id("fflipm-"), multipart);
  const auto via_proxy = [&](std::string location) {
    location.replace(location.find(server_.endpoint.substr(7)), server_.endpoint.size() - 7,
                     proxy_->authority());
    return location;
  };
  auto r = through_proxy();
  const nlohmann::json flip = {
      {{"method", "GET"}, {"action", "flip_response_byte"}, {"offset", 1234567}}};

  proxy_->rules(flip);
  GetResult got = r->get(via_proxy(single_added.location));
  const Error e = CatchError([&] { read_all(*got.stream); });
  EXPECT_EQ(e.kind(), ErrorKind::kBackendException);
  EXPECT_NE(e.message().find("md5"), std::string::npos) << e.message();
  EXPECT_EQ(CatchError([&] { read_all(*got.stream); }).kind(), ErrorKind::kBackendException)
      << "a failed read must not end cleanly afterwards";
  // The tool's get -o then exits non-zero and leaves no file.
  const std::string dir = ::testing::TempDir();
  const std::string config = dir + "/flip-" + GetParam() + ".conf";
  const std::string output = dir + "/flip-" + GetParam() + ".out";
  std::ofstream(config) << config_text(proxy_->url());
  ::unlink(output.c_str());
  proxy_->rules(flip);
  int status = 0;
  test_common::run_tool_json(
      {"--config", config, "get", "-o", output, via_proxy(single_added.location)}, &status);
  EXPECT_NE(status, 0);
  EXPECT_NE(::access(output.c_str(), F_OK), 0) << "get -o left " << output;
  proxy_->rules(nlohmann::json::array());
  EXPECT_TRUE(read_all(*r->get(via_proxy(single_added.location)).stream) == single);

  proxy_->rules({{{"method", "GET"}, {"action", "flip_response_byte"}, {"offset", 234567}}});
  std::string expected = single.substr(1000000, 1000000);
  expected[234567] = static_cast<char>(expected[234567] ^ 0xFF);
  EXPECT_TRUE(read_all(*r->get(via_proxy(single_added.location), 1000000, 1000000).stream) ==
              expected)
      << "a ranged read is not checked";

  proxy_->rules(flip);
  expected = multipart;
  expected[1234567] = static_cast<char>(expected[1234567] ^ 0xFF);
  EXPECT_TRUE(read_all(*r->get(via_proxy(multipart_added.location)).stream) == expected)
      << "a multipart object's ETag is not its md5";
  direct->remove(single_added.location);
  direct->remove(multipart_added.location);
}

// nginx terminates TLS in front of the fault proxy, with a CA made when it starts.
TEST_P(S3FaultTest, HttpsIsVerifiedWithTheConfiguredCa) {
  const std::string name = "s3-" + GetParam();
  const std::string port = GetParam() == "s3api" ? "18443" : "18444";
  const std::string script = std::string(GLANCE_STORE_SOURCE_DIR) + "/scripts/servers/tls-proxy";
  ASSERT_EQ(std::system(
                (script + " start " + name + " " + port + " " + proxy_->url() + " >/dev/null 2>&1")
                    .c_str()),
            0);
  const std::string ca = "/tmp/glance-store-servers/tls-" + name + "/ca.crt";
  const std::string host = "https://127.0.0.1:" + port;
  auto r = registry(host, "s3_store_cacert = " + ca + "\n");
  const std::string data = bytes_of(12 * MiB + 1, 8);
  const AddResult result = add(*r, random_id("tls-"), data);
  EXPECT_EQ(result.location.rfind("s3+https://", 0), 0u) << result.location;
  EXPECT_TRUE(read_all(*r->get(result.location, 1, 12 * MiB).stream) == data.substr(1));

  // Without the CA, the server's certificate is refused.
  auto unverified = registry(host);
  const Error add_error = CatchError([&] { add(*unverified, random_id("tls-"), "abc"); });
  EXPECT_EQ(add_error.kind(), ErrorKind::kBadStoreConfiguration) << add_error.message();
  EXPECT_NE(add_error.message().find("certificate"), std::string::npos) << add_error.message();
  EXPECT_NE(CatchError([&] { unverified->get(result.location); }).message().find("certificate"),
            std::string::npos);
  r->remove(result.location);
  std::system((script + " stop " + name + " >/dev/null 2>&1").c_str());
}

INSTANTIATE_TEST_SUITE_P(Servers, S3FaultTest, ::testing::Values("s3api", "rgw"),
                         [](const auto& info) { return info.param; });

// Virtual-hosted addressing: the bucket is in the host name (glance-it.localhost, which libcurl
// resolves to the loopback itself), and s3api, whose storage_domain is `localhost`, takes it
// from there. The proxy's log shows that no request names the bucket in its path. RGW here has
// no DNS name configured, so only s3api runs this.
using S3VirtualHostTest = S3FaultTest;

TEST_P(S3VirtualHostTest, TheBucketIsInTheHostName) {
  const std::string host = "http://localhost:" + proxy_->url().substr(proxy_->url().rfind(':') + 1);
  auto r = registry(host, "s3_store_bucket_url_format = virtual\n");
  proxy_->clear_log();
  for (const std::uint64_t size : {std::uint64_t{3}, 12 * MiB + 5}) {  // one PUT, then three parts
    const std::string data = bytes_of(size, size);
    const AddResult result = add(*r, random_id("vh-"), data);
    EXPECT_EQ(result.location.find("@localhost:"), result.location.find('@'))
        << "the location keeps the configured host: " << result.location;
    EXPECT_EQ(r->get_size(result.location), size);
    EXPECT_TRUE(read_all(*r->get(result.location).stream) == data);
    EXPECT_TRUE(read_all(*r->get(result.location, 1, 2).stream) == data.substr(1, 2));
    r->remove(result.location);
    expect_nothing_left(result.location.substr(result.location.rfind('/') + 1));
  }
  const nlohmann::json log = proxy_->log();
  EXPECT_GE(log.size(), 10U);
  for (const auto& entry : log) {
    const std::string path = entry["path"];
    EXPECT_NE(path.rfind("/glance-it", 0), 0U) << "path-style request: " << path;
  }
  // A name that cannot be a host name is refused before any request.
  auto bad = registry(host, "s3_store_bucket_url_format = virtual\ns3_store_bucket = Not_DNS\n");
  EXPECT_EQ(CatchError([&] { add(*bad, random_id("vh-"), "x"); }).kind(),
            ErrorKind::kBadStoreConfiguration);
}

INSTANTIATE_TEST_SUITE_P(S3api, S3VirtualHostTest, ::testing::Values("s3api"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace glance_store::s3::testing
