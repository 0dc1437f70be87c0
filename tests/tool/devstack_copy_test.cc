// A devstack-style multi-store glance-api.conf (tests/data/devstack: two filesystem backends,
// S3 on Ceph's RGW, Swift through Keystone v3 with a glance-swift-store.conf, HTTP over TLS)
// used unchanged but for the servers' addresses, and `glance-store copy` from every store to
// every writable one, checked by `verify`; a copy whose digests do not match leaves nothing.
#include <filesystem>
#include <fstream>
#include <map>

#include "common/server_test_util.h"
#include "tool/tool_runner.h"

namespace glance_store::tool_test {
namespace {

namespace fs = std::filesystem;
using test_common::random_id;
using test_common::server_setting;

const std::vector<std::string> kWritable = {"fast", "cheap", "objects", "swift_store"};
// 6 MiB and a bit: above the S3 and Swift thresholds of the configuration (5 MB parts, 1
// Swift-MB segments), so those copies commit a multipart upload and a manifest.
constexpr std::size_t kImageSize = (6 << 20) + 12345;

std::string Fill(std::string text, const std::map<std::string, std::string>& values) {
  for (const auto& [name, value] : values) {
    const std::string placeholder = "@" + name + "@";
    for (std::size_t at = text.find(placeholder); at != std::string::npos;
         at = text.find(placeholder, at + value.size())) {
      text.replace(at, placeholder.size(), value);
    }
  }
  return text;
}

std::string NewUuid(std::uint64_t n) {
  char text[37];
  std::snprintf(text, sizeof text, "%08llx-0000-4000-8000-%012llx",
                static_cast<unsigned long long>(n & 0xffffffff),
                static_cast<unsigned long long>(n & 0xffffffffffff));
  return text;
}

std::string WithId(const std::string& location, const std::string& id) {
  return location.substr(0, location.rfind('/') + 1) + id;
}

class DevstackCopyTest : public ToolTest {
 protected:
  void SetUp() override {
    ToolTest::SetUp();
    const auto s = [](const char* script, const char* name) {
      return server_setting(script, name);
    };
    ASSERT_FALSE(s("ceph-rgw", "GS_RGW_ENDPOINT").empty());
    ASSERT_FALSE(s("keystone", "GS_KEYSTONE_URL").empty());
    ASSERT_FALSE(s("http-origin", "GS_HTTPS_URL").empty());
    const std::map<std::string, std::string> values = {
        {"DATA", dir_},
        {"S3_ENDPOINT", s("ceph-rgw", "GS_RGW_ENDPOINT")},
        {"S3_ACCESS_KEY", s("ceph-rgw", "GS_RGW_ACCESS_KEY")},
        {"S3_SECRET_KEY", s("ceph-rgw", "GS_RGW_SECRET_KEY")},
        {"S3_REGION", s("ceph-rgw", "GS_RGW_REGION")},
        {"S3_BUCKET", random_id("gs-devstack-")},
        {"SWIFT_CONTAINER", random_id("gs-devstack-")},
        {"KEYSTONE_URL", s("keystone", "GS_KEYSTONE_URL")},
        {"KEYSTONE_REGION", s("keystone", "GS_KS_REGION")},
        {"KEYSTONE_PROJECT", s("keystone", "GS_KS_PROJECT")},
        {"KEYSTONE_USER", s("keystone", "GS_KS_USER")},
        {"KEYSTONE_PASSWORD", s("keystone", "GS_KS_PASSWORD")},
        {"HTTP_CA", s("http-origin", "GS_HTTP_CA")},
    };
    const std::string templates = std::string(GLANCE_STORE_SOURCE_DIR) + "/tests/data/devstack/";
    config_ = WriteConfig("glance-api.conf", Fill(ReadFile(templates + "glance-api.conf"), values));
    WriteConfig("glance-swift-store.conf",
                Fill(ReadFile(templates + "glance-swift-store.conf"), values));

    image_ = WriteFile(Path("image.raw"), RandomBytes(kImageSize, 77));
    md5_ = Digest("md5sum", image_);
    sha512_ = Digest("sha512sum", image_);
    web_name_ = random_id("gs-devstack-") + ".raw";
    fs::copy_file(image_, s("http-origin", "GS_HTTP_ROOT") + "/" + web_name_);
    web_uri_ = s("http-origin", "GS_HTTPS_URL") + "/images/" + web_name_;
  }

  void TearDown() override {
    for (const auto& location : to_delete_) Tool({"delete", location});
    std::error_code ec;
    fs::remove(server_setting("http-origin", "GS_HTTP_ROOT") + "/" + web_name_, ec);
    ToolTest::TearDown();
  }

  // Adds the image to `backend`; returns its location with credentials.
  std::string AddTo(const std::string& backend, const std::string& id) {
    Json added;
    EXPECT_TRUE(SucceededWithJson(
        Tool({"--backend", backend, "add", "--show-credentials", "--image-id", id, image_}),
        &added))
        << backend;
    const std::string location = added.value("location", "");
    to_delete_.push_back(location);
    return location;
  }

  std::vector<std::string> CopyArgs(const std::string& from, const std::string& to,
                                    const std::string& id) const {
    return {"copy",       from, "--to",        to,      "--image-id",        id,
            "--checksum", md5_, "--multihash", sha512_, "--show-credentials"};
  }

  std::string image_;
  std::string md5_;
  std::string sha512_;
  std::string web_name_;
  std::string web_uri_;
  std::vector<std::string> to_delete_;
};

TEST_F(DevstackCopyTest, TheConfigurationBuildsEveryBackend) {
  Json stores;
  ASSERT_TRUE(SucceededWithJson(Tool({"stores"}), &stores));
  std::map<std::string, Json> by_name;
  for (const auto& store : stores) by_name[store.value("name", "")] = store;
  for (const char* name : {"fast", "cheap", "objects", "swift_store", "web",
                           "os_glance_staging_store", "os_glance_tasks_store"}) {
    ASSERT_TRUE(by_name.contains(name)) << name << " in " << stores.dump(2);
  }
  for (const auto& name : kWritable) {
    EXPECT_TRUE(by_name[name].value("add_enabled", false))
        << name << ": " << by_name[name].value("add_disabled_reason", "");
  }
  EXPECT_EQ(by_name["objects"].value("type", ""), "s3");
  EXPECT_EQ(by_name["swift_store"].value("type", ""), "swift");
  EXPECT_EQ(by_name["web"].value("type", ""), "http");
  EXPECT_FALSE(by_name["web"].value("add_enabled", true));
  EXPECT_TRUE(by_name["fast"].value("default", false));
  EXPECT_TRUE(by_name["os_glance_staging_store"].value("reserved", false));
}

TEST_F(DevstackCopyTest, CopiesFromEveryStoreToEveryWritableStore) {
  std::map<std::string, std::string> sources = {{"web", web_uri_}};
  std::uint64_t n = 1;
  for (const auto& backend : kWritable) sources[backend] = AddTo(backend, NewUuid(n++));

  for (const auto& [from, source] : sources) {
    for (const auto& to : kWritable) {
      SCOPED_TRACE(from + " -> " + to);
      const std::string id = NewUuid(n++);
      Json copied;
      ASSERT_TRUE(SucceededWithJson(Tool(CopyArgs(source, to, id)), &copied));
      const std::string location = copied.value("location", "");
      to_delete_.push_back(location);
      EXPECT_EQ(location.substr(location.rfind('/') + 1), id);
      EXPECT_EQ(copied.value("size", 0u), kImageSize);
      EXPECT_EQ(copied.value("checksum", ""), md5_);
      EXPECT_EQ(copied.value("multihash", ""), sha512_);
      EXPECT_EQ(copied.value("metadata", Json()), Json({{"store", to}}));

      Json verified;
      ASSERT_TRUE(SucceededWithJson(
          Tool({"verify", location, "--checksum", md5_, "--multihash", sha512_}), &verified));
      EXPECT_TRUE(verified.value("matches", false));
      EXPECT_EQ(verified.value("size", 0u), kImageSize);
      ASSERT_TRUE(Succeeded(Tool({"delete", location})));
      to_delete_.pop_back();
    }
  }
}

TEST_F(DevstackCopyTest, ACopyKeepsTheSourceImageIdByDefault) {
  const std::string id = NewUuid(4242);
  const std::string source = AddTo("fast", id);
  Json copied;
  ASSERT_TRUE(SucceededWithJson(
      Tool({"copy", source, "--to", "objects", "--checksum", md5_, "--show-credentials"}),
      &copied));
  const std::string location = copied.value("location", "");
  to_delete_.push_back(location);
  EXPECT_EQ(location.substr(location.rfind('/') + 1), id);
  // The copy's location, as add prints it, hides the S3 secret unless asked.
  const RunResult again = Tool({"copy", source, "--to", "cheap"});
  Json redacted;
  ASSERT_TRUE(SucceededWithJson(again, &redacted));
  to_delete_.push_back(redacted.value("location", ""));
  EXPECT_EQ(redacted.value("location", ""), "file://" + dir_ + "/glance/cheap/" + id);
}

TEST_F(DevstackCopyTest, AMismatchedCopyLeavesNothingInAnyStore) {
  // Where a copy with this id would land in each store, from a successful copy's location.
  for (const auto& to : kWritable) {
    SCOPED_TRACE(to);
    const std::string good = NewUuid(100);
    Json copied;
    ASSERT_TRUE(SucceededWithJson(Tool(CopyArgs(web_uri_, to, good)), &copied));
    to_delete_.push_back(copied.value("location", ""));

    const std::string bad = NewUuid(200);
    auto args = CopyArgs(web_uri_, to, bad);
    args[7] = "0123456789abcdef0123456789abcdef";  // --checksum
    EXPECT_TRUE(FailedWith(Tool(args), 3, "ChecksumMismatch"));
    EXPECT_TRUE(
        FailedWith(Tool({"size", WithId(copied.value("location", ""), bad)}), 10, "NotFound"));

    args = CopyArgs(web_uri_, to, bad);
    args[9] = std::string(128, 'a');  // --multihash, md5 right
    EXPECT_TRUE(FailedWith(Tool(args), 3, "ChecksumMismatch"));
    EXPECT_TRUE(
        FailedWith(Tool({"size", WithId(copied.value("location", ""), bad)}), 10, "NotFound"));
  }
  EXPECT_EQ(ListDir(dir_ + "/glance/images"), std::vector<std::string>{NewUuid(100)});
}

TEST_F(DevstackCopyTest, ACopyToTheHttpStoreIsRefused) {
  EXPECT_TRUE(FailedWith(Tool(CopyArgs(web_uri_, "web", NewUuid(7))), 22, "StoreAddDisabled"));
  Json verified;
  ASSERT_TRUE(SucceededWithJson(Tool({"verify", web_uri_, "--checksum", md5_}), &verified));
  EXPECT_TRUE(verified.value("matches", false));
  const RunResult wrong = Tool({"verify", web_uri_, "--multihash", std::string(128, '0')});
  EXPECT_EQ(wrong.exit_code, 3);
  EXPECT_NE(wrong.err.find("ChecksumMismatch"), std::string::npos) << wrong.err;
  EXPECT_EQ(Json::parse(wrong.out).value("matches", true), false);
}

}  // namespace
}  // namespace glance_store::tool_test
