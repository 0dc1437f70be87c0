// glance-store stores, --backend and parse-uri, in legacy and multi-store mode.
#include <filesystem>

#include "tool/tool_runner.h"

namespace glance_store::tool_test {
namespace {

namespace fs = std::filesystem;

const Json kFileSchemes = Json::array({"file", "filesystem"});

// One entry of `stores` as the tool should print it for a filesystem store.
Json FileStoreEntry(const std::string& name, bool is_default, bool reserved) {
  return Json{
      {"name", name},
      {"type", "file"},
      {"schemes", kFileSchemes},
      {"capabilities", Json::array({"READ_ACCESS", "READ_OFFSET", "READ_CHUNK", "READ_RANDOM",
                                    "WRITE_ACCESS", "RW_ACCESS", "DRIVER_REUSABLE"})},
      {"default", is_default},
      {"reserved", reserved},
      {"add_enabled", true}};
}

using LegacyStoresTest = ToolTest;

TEST_F(LegacyStoresTest, ListsTheFileStoreAsDefault) {
  Json stores;
  ASSERT_TRUE(SucceededWithJson(Tool({"stores"}), &stores));
  EXPECT_EQ(stores, Json::array({FileStoreEntry("file", true, false)})) << stores.dump(2);
  EXPECT_FALSE(fs::exists(datadir_)) << "a command that only reads created the datadir";
}

TEST_F(LegacyStoresTest, BackendNamesTheStoreType) {
  Json added;
  ASSERT_TRUE(
      SucceededWithJson(Tool({"--backend", "file", "add", "--image-id", "a", "-"}, "x"), &added));
  EXPECT_EQ(added.value("location", ""), ImageUri("a"));
  EXPECT_EQ(added.value("metadata", Json()), Json::object());
  EXPECT_TRUE(FailedWith(Tool({"--backend", "nosuch", "add", "--image-id", "b", "-"}, "x"), 14,
                         "UnknownScheme"));
  EXPECT_EQ(ListDir(datadir_), std::vector<std::string>{"a"});
}

class MultiStoreTest : public ToolTest {
 protected:
  void SetUp() override {
    ToolTest::SetUp();
    config_ = WriteConfig("multi.conf", Config("default_backend = fast\n"));
  }

  std::string Config(std::string_view glance_store_section) const {
    return "[DEFAULT]\nenabled_backends = fast:file, slow:file\n\n[glance_store]\n" +
           std::string(glance_store_section) +
           "\n[fast]\nfilesystem_store_datadir = " + Datadir("fast") +
           "\n\n[slow]\nfilesystem_store_datadir = " + Datadir("slow") +
           "\n\n[os_glance_staging_store]\nfilesystem_store_datadir = " +
           Datadir("os_glance_staging_store") +
           "\n\n[os_glance_tasks_store]\nfilesystem_store_datadir = " +
           Datadir("os_glance_tasks_store") + "\n";
  }
  std::string Datadir(std::string_view backend) const {
    return Path("stores/" + std::string(backend));
  }
};

TEST_F(MultiStoreTest, StoresListsBackendsThenReservedOnes) {
  Json stores;
  ASSERT_TRUE(SucceededWithJson(Tool({"stores"}), &stores));
  EXPECT_EQ(stores,
            Json::array({FileStoreEntry("fast", true, false), FileStoreEntry("slow", false, false),
                         FileStoreEntry("os_glance_staging_store", false, true),
                         FileStoreEntry("os_glance_tasks_store", false, true)}))
      << stores.dump(2);
  // Nothing created by a command that only reads (the datadirs, the reserved stores' too).
  EXPECT_TRUE(ListDir(Path("stores")).empty());
}

TEST_F(MultiStoreTest, WithoutDefaultBackendAddNeedsBackend) {
  config_ = WriteConfig("multi.conf", Config(""));
  Json stores;
  ASSERT_TRUE(SucceededWithJson(Tool({"stores"}), &stores));
  ASSERT_EQ(stores.size(), 4u) << stores.dump(2);
  for (const auto& store : stores) EXPECT_EQ(store.value("default", true), false) << store;
  EXPECT_TRUE(FailedWith(Tool({"add", "--image-id", "a", "-"}, "x"), 14, "UnknownScheme"));
  ASSERT_TRUE(Succeeded(Tool({"--backend", "slow", "add", "--image-id", "a", "-"}, "x")));
  EXPECT_EQ(ReadFile(Datadir("slow") + "/a"), "x");
}

TEST_F(MultiStoreTest, UnknownBackendIsUnknownScheme) {
  EXPECT_TRUE(FailedWith(Tool({"--backend", "medium", "add", "--image-id", "a", "-"}, "x"), 14,
                         "UnknownScheme"));
  for (const char* backend : {"fast", "slow"}) EXPECT_EQ(ListDir(Datadir(backend)).size(), 0u);
}

TEST_F(MultiStoreTest, MissingImageIsNotFound) {
  EXPECT_TRUE(FailedWith(Tool({"get", "file://" + Datadir("slow") + "/missing"}), 10, "NotFound"));
  EXPECT_TRUE(FailedWith(Tool({"get", "file:///etc/passwd"}), 19, "Forbidden"));
}

struct BackendCase : NamedCase {
  const char* backend;  // --backend; "" for none
  const char* stored_in;
  bool reserved;  // reserved stores are read with --backend only: a get does not search them
};

class BackendSelectionTest : public MultiStoreTest,
                             public ::testing::WithParamInterface<BackendCase> {};

TEST_P(BackendSelectionTest, AddGoesToTheBackendAndGetFindsIt) {
  const std::string data = RandomBytes((1 << 20) + 5, 21);
  std::vector<std::string> add{"add", "--image-id", "img", "-"};
  if (*GetParam().backend != '\0') add.insert(add.begin(), {"--backend", GetParam().backend});
  Json added;
  ASSERT_TRUE(SucceededWithJson(Tool(add, data), &added));
  const std::string location = "file://" + Datadir(GetParam().stored_in) + "/img";
  EXPECT_EQ(added.value("location", ""), location);
  EXPECT_EQ(added.value("metadata", Json()), (Json{{"store", GetParam().stored_in}}));
  EXPECT_EQ(added.value("size", std::uint64_t{0}), data.size());
  EXPECT_TRUE(SameBytes(ReadFile(Datadir(GetParam().stored_in) + "/img"), data));

  std::vector<std::vector<std::string>> gets{{"--backend", GetParam().stored_in, "get", location}};
  if (!GetParam().reserved) gets.push_back({"get", location});
  for (const auto& get : gets) {
    const RunResult got = Tool(get);
    ASSERT_TRUE(Succeeded(got));
    EXPECT_TRUE(SameBytes(got.out, data));
  }
  for (const char* backend : {"fast", "slow"}) {
    EXPECT_EQ(ListDir(Datadir(backend)).size(),
              backend == std::string(GetParam().stored_in) ? 1u : 0u)
        << backend;
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, BackendSelectionTest,
                         ::testing::Values(BackendCase{"Default", "", "fast", false},
                                           BackendCase{"Fast", "fast", "fast", false},
                                           BackendCase{"Slow", "slow", "slow", false},
                                           BackendCase{"Staging", "os_glance_staging_store",
                                                       "os_glance_staging_store", true},
                                           BackendCase{"Tasks", "os_glance_tasks_store",
                                                       "os_glance_tasks_store", true}),
                         CaseName());

struct ParseCase : NamedCase {
  const char* uri;
  Json expected;
};

class ParseUriFileTest : public ToolTest, public ::testing::WithParamInterface<ParseCase> {};

TEST_P(ParseUriFileTest, PrintsSchemeFieldsAndUri) {
  Json parsed;
  ASSERT_TRUE(SucceededWithJson(Tool({"parse-uri", GetParam().uri}), &parsed));
  EXPECT_EQ(parsed, GetParam().expected) << parsed.dump(2);
  ASSERT_TRUE(
      SucceededWithJson(Tool({"parse-uri", "--show-credentials", GetParam().uri}), &parsed));
  EXPECT_EQ(parsed, GetParam().expected) << "file URIs have no credentials";
}

Json Parsed(const char* scheme, const char* path, const char* uri) {
  return Json{{"scheme", scheme}, {"fields", {{"scheme", scheme}, {"path", path}}}, {"uri", uri}};
}

INSTANTIATE_TEST_SUITE_P(
    FileUris, ParseUriFileTest,
    ::testing::Values(ParseCase{"File", "file:///var/lib/glance/images/abc",
                                Parsed("file", "/var/lib/glance/images/abc",
                                       "file:///var/lib/glance/images/abc")},
                      ParseCase{"Filesystem", "filesystem:///a/b",
                                Parsed("filesystem", "/a/b", "file:///a/b")},
                      ParseCase{"HostIsPartOfThePath", "file://localhost/a",
                                Parsed("file", "localhost/a", "file://localhost/a")},
                      ParseCase{"OutsideAnyDatadir", "file:///etc/passwd",
                                Parsed("file", "/etc/passwd", "file:///etc/passwd")}),
    CaseName());

}  // namespace
}  // namespace glance_store::tool_test
