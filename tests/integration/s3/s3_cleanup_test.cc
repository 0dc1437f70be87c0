// `glance-store cleanup` on the real S3 servers (Swift's s3api, Ceph's RGW): an add killed with
// kill -9 in the middle of a multipart upload leaves an upload in progress (its parts stored),
// never an object; the id can be added again at once; cleanup lists the upload and aborts it,
// leaving the images alone; a live add younger than the default age is not touched.
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
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "common/test_util.h"
#include "common/tool_process.h"
#include "glance_store/error.h"
#include "integration/s3/s3_server.h"

namespace glance_store::s3::testing {
namespace {

constexpr std::uint64_t MiB = 1 << 20;

using test_common::PipedAdd;
using test_common::run_tool_json;

nlohmann::json s3_entry(const nlohmann::json& report) {
  return test_common::cleanup_entry(report, "s3");
}
std::map<std::string, nlohmann::json> s3_leftovers(const nlohmann::json& report) {
  return test_common::cleanup_leftovers(report, "s3");
}

// The text of each <tag> element of an XML body.
std::vector<std::string> elements(const std::string& body, const std::string& tag) {
  std::vector<std::string> out;
  const std::string open = "<" + tag + ">";
  const std::string close = "</" + tag + ">";
  for (std::size_t at = 0; (at = body.find(open, at)) != std::string::npos;) {
    const std::size_t end = body.find(close, at);
    out.push_back(body.substr(at + open.size(), end - at - open.size()));
    at = end;
  }
  return out;
}

class S3CleanupTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    server_ = server_named(GetParam());
    ASSERT_FALSE(server_.endpoint.empty()) << "the " << GetParam() << " server is not running";
    raw_ = std::make_unique<RawS3>(server_);
    client_ = std::make_unique<S3Client>(std::make_shared<net::HttpClient>(net::HttpOptions{}), 2);
    endpoint_.base_url = server_.endpoint;
    endpoint_.key = {server_.access_key, server_.secret_key,
                     server_.region.empty() ? "us-east-1" : server_.region, "s3"};
    bucket_ = random_id("glance-clean-");
    config_ = write_config(bucket_);
    stores_ = StoreRegistry::create(ConfigFile::parse(config_text(bucket_)));
  }
  void TearDown() override {
    if (!client_) return;
    for (const auto& [key, upload_id] : uploads()) abort(key, upload_id);
    for (const auto& key : keys()) {
      client_->send(endpoint_, {.method = "DELETE", .bucket = bucket_, .key = key});
    }
    client_->send(endpoint_, {.method = "DELETE", .bucket = bucket_});
  }

  // Multipart above 5 MiB and for unknown sizes (the tool's `-`), parts of 5 MiB.
  std::string config_text(const std::string& bucket) const {
    std::string text = "[glance_store]\nstores = s3\ndefault_store = s3\n";
    text += "s3_store_host = " + server_.endpoint + "\n";
    text += "s3_store_access_key = " + server_.access_key + "\n";
    text += "s3_store_secret_key = " + server_.secret_key + "\n";
    text += "s3_store_region_name = " + server_.region + "\n";
    text += "s3_store_bucket = " + bucket + "\ns3_store_create_bucket_on_put = true\n";
    text += "s3_store_large_object_size = 5\ns3_store_large_object_chunk_size = 5\n";
    text += "s3_store_max_upload_parts = " + server_.max_parts + "\ns3_store_max_retries = 2\n";
    return text;
  }
  std::string write_config(const std::string& bucket) {
    const std::string path = dir_.sub(bucket + ".conf");
    std::ofstream(path) << config_text(bucket);
    return path;
  }

  // The uploads in progress in the bucket: key and upload id.
  std::vector<std::pair<std::string, std::string>> uploads() {
    Operation op{.method = "GET", .bucket = bucket_};
    op.query = {{"uploads", ""}};
    const net::Response response = client_->send(endpoint_, op);
    std::vector<std::pair<std::string, std::string>> out;
    if (response.status == 404) return out;
    EXPECT_EQ(response.status, 200) << response.body;
    for (const std::string& upload : elements(response.body, "Upload")) {
      out.emplace_back(elements(upload, "Key").at(0), elements(upload, "UploadId").at(0));
    }
    return out;
  }
  // The keys of the bucket (none when it does not exist), sorted.
  std::vector<std::string> keys() {
    const net::Response response = client_->send(endpoint_, {.method = "GET", .bucket = bucket_});
    if (response.status == 404) return {};
    EXPECT_EQ(response.status, 200) << response.body;
    std::vector<std::string> out = elements(response.body, "Key");
    std::sort(out.begin(), out.end());
    return out;
  }
  std::vector<std::string> upload_ids_of(const std::string& key) {
    std::vector<std::string> ids;
    for (const auto& [k, id] : uploads()) {
      if (k == key) ids.push_back(id);
    }
    return ids;
  }
  // The parts the server has of one upload.
  std::size_t parts(const std::string& key, const std::string& upload_id) {
    Operation op{.method = "GET", .bucket = bucket_, .key = key};
    op.query = {{"uploadId", upload_id}};
    const net::Response response = client_->send(endpoint_, op);
    return response.status == 200 ? elements(response.body, "PartNumber").size() : 0;
  }
  void abort(const std::string& key, const std::string& upload_id) {
    Operation op{.method = "DELETE", .bucket = bucket_, .key = key};
    op.query = {{"uploadId", upload_id}};
    client_->send(endpoint_, op);
  }

  // Until the add of `key` has an upload in progress with at least `count` parts stored: its
  // upload id ("" after 60 s).
  std::string wait_for_parts(const std::string& key, std::size_t count) {
    for (int i = 0; i < 600; ++i) {
      const auto ids = upload_ids_of(key);
      if (ids.size() == 1 && parts(key, ids[0]) >= count) return ids[0];
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ADD_FAILURE() << "no upload of " << key << " with " << count << " parts";
    return "";
  }

  AddResult add(const std::string& id, const std::string& data) {
    test_common::TrickleStream in(data);
    return stores_->add(id, in, data.size());
  }
  std::string read(const std::string& uri) { return read_all(*stores_->get(uri).stream); }

  S3Server server_;
  std::unique_ptr<RawS3> raw_;
  std::unique_ptr<S3Client> client_;
  Endpoint endpoint_;
  test_common::TempDir dir_;
  std::string bucket_;
  std::string config_;
  std::unique_ptr<StoreRegistry> stores_;
};

// kill -9 after the first part, and after several: each add leaves its upload in progress and
// no object; the id is added again at once; cleanup with the default age (24 h) lists nothing
// this young, --dry-run lists both uploads and aborts none, and without it both are aborted
// while the images added again stay whole.
TEST_P(S3CleanupTest, KilledAddsLeaveUploadsThatCleanupAborts) {
  struct Killed {
    std::string id;
    std::string upload_id;
    std::string uri;  // of the image added again
    std::string data;
  };
  std::vector<Killed> killed;
  for (const std::size_t count : {std::size_t{1}, std::size_t{3}}) {
    SCOPED_TRACE(count);
    Killed k;
    k.id = random_id("killed-");
    {
      PipedAdd add(config_, k.id);
      ASSERT_TRUE(add.write(bytes_of(count * 5 * MiB + MiB, count)));
      k.upload_id = wait_for_parts(k.id, count);
      ASSERT_FALSE(k.upload_id.empty());
      add.kill();
    }
    EXPECT_EQ(raw_->head_status(bucket_, k.id), 404) << "the killed add left an object";
    // The same id again, at once: multipart too, and whole.
    k.data = bytes_of(7 * MiB + 11, count + 100);
    const auto started = std::chrono::steady_clock::now();
    k.uri = add(k.id, k.data).location;
    EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(30));
    EXPECT_TRUE(read(k.uri) == k.data);
    EXPECT_EQ(upload_ids_of(k.id), std::vector<std::string>{k.upload_id});
    killed.push_back(std::move(k));
  }

  int status = 0;
  EXPECT_TRUE(s3_leftovers(run_tool_json({"--config", config_, "cleanup"}, &status)).empty());
  EXPECT_EQ(status, 0);
  EXPECT_EQ(uploads().size(), killed.size());

  const auto report =
      run_tool_json({"--config", config_, "cleanup", "--older-than", "0s", "--dry-run"}, &status);
  auto listed = s3_leftovers(report);
  EXPECT_EQ(status, 0);
  EXPECT_EQ(listed.size(), killed.size()) << report.dump();
  for (const Killed& k : killed) {
    ASSERT_EQ(listed.count(k.id), 1U) << ::testing::PrintToString(listed);
    EXPECT_EQ(listed[k.id].at("kind"), "multipart upload");
    EXPECT_EQ(listed[k.id].at("image_id"), k.id);
    EXPECT_EQ(listed[k.id].at("removed"), false);
    EXPECT_GE(listed[k.id].at("age_seconds").get<std::int64_t>(), 0);
    EXPECT_EQ(upload_ids_of(k.id), std::vector<std::string>{k.upload_id});
  }

  listed =
      s3_leftovers(run_tool_json({"--config", config_, "cleanup", "--older-than", "0s"}, &status));
  EXPECT_EQ(status, 0) << ::testing::PrintToString(listed);
  for (const Killed& k : killed) {
    ASSERT_EQ(listed.count(k.id), 1U) << ::testing::PrintToString(listed);
    EXPECT_EQ(listed[k.id].at("removed"), true);
  }
  // Nothing in progress any more; the objects are the images added again, whole.
  EXPECT_TRUE(raw_->uploads_in_progress(bucket_).empty());
  std::vector<std::string> ids;
  for (const Killed& k : killed) ids.push_back(k.id);
  std::sort(ids.begin(), ids.end());
  EXPECT_EQ(keys(), ids);
  for (const Killed& k : killed) EXPECT_TRUE(read(k.uri) == k.data);
  // Once more: nothing left to list.
  EXPECT_TRUE(
      s3_leftovers(run_tool_json({"--config", config_, "cleanup", "--older-than", "0s"}, &status))
          .empty());
  EXPECT_EQ(status, 0);
}

// An add running meanwhile (its upload a few seconds old) is not listed by cleanup with the
// default age, keeps its upload, and completes afterwards.
TEST_P(S3CleanupTest, ALiveAddIsLeftAloneByTheDefaultAge) {
  const std::string id = random_id("live-");
  const std::string first = bytes_of(6 * MiB, 1);
  const std::string rest = bytes_of(5 * MiB + 17, 2);
  PipedAdd live(config_, id);
  ASSERT_TRUE(live.write(first));
  const std::string upload_id = wait_for_parts(id, 1);
  ASSERT_FALSE(upload_id.empty());

  int status = 0;
  const auto report = run_tool_json({"--config", config_, "cleanup"}, &status);
  EXPECT_EQ(status, 0);
  EXPECT_TRUE(s3_leftovers(report).empty()) << report.dump();
  EXPECT_FALSE(s3_entry(report).contains("skipped")) << report.dump();
  EXPECT_EQ(upload_ids_of(id), std::vector<std::string>{upload_id});

  ASSERT_TRUE(live.write(rest));
  EXPECT_EQ(live.finish(), 0);
  const std::string scheme = server_.endpoint.starts_with("https") ? "s3+https" : "s3";
  const std::string uri = scheme + "://" +
                          server_.endpoint.substr(server_.endpoint.find("://") + 3) + "/" +
                          bucket_ + "/" + id;
  EXPECT_TRUE(read(uri) == first + rest);
  EXPECT_TRUE(raw_->uploads_in_progress(bucket_).empty());
  // A completed add is no leftover, whatever the age.
  EXPECT_TRUE(
      s3_leftovers(run_tool_json({"--config", config_, "cleanup", "--older-than", "0s"}, &status))
          .empty());
  EXPECT_EQ(status, 0);
  EXPECT_TRUE(read(uri) == first + rest);
}

// A bucket that does not exist (yet) has no leftovers: nothing is listed, nothing fails.
TEST_P(S3CleanupTest, AMissingBucketHasNoLeftovers) {
  const std::string config = write_config(random_id("glance-none-"));
  int status = 0;
  const auto report = run_tool_json({"--config", config, "cleanup", "--older-than", "0s"}, &status);
  EXPECT_EQ(status, 0) << report.dump();
  EXPECT_TRUE(s3_leftovers(report).empty()) << report.dump();
  EXPECT_FALSE(s3_entry(report).contains("skipped")) << report.dump();
}

INSTANTIATE_TEST_SUITE_P(Servers, S3CleanupTest, ::testing::Values("s3api", "rgw"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace glance_store::s3::testing
