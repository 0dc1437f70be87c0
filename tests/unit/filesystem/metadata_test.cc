// The metadata file: validation at configure, and the entry returned with each add
// (FS-48..FS-58; mountpoints match whole path components, decision Q-10).
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "fs_test_util.h"

namespace glance_store::filesystem::testing {
namespace {

using nlohmann::json;

constexpr std::string_view kReasonPrefix =
    "Store filesystem could not be configured correctly. Reason: ";

class MetadataTest : public FsStoreTest {
 protected:
  std::string metadata_file() const { return root_.sub("metadata.json"); }

  // Writes the metadata file and creates a legacy store using it.
  void CreateWithMetadata(const std::string& text, const std::string& extra = "") {
    WriteFile(metadata_file(), text);
    CreateLegacy("filesystem_store_metadata_file = " + metadata_file() + "\n" + extra);
  }

  json AddAndGetMetadata() { return Add("img", "data").metadata; }
};

// FS-48: one object, accepted as a one-entry list.
TEST_F(MetadataTest, SingleObject) {
  CreateWithMetadata(R"({"id": "asdf1234", "mountpoint": "/tmp"})");
  ASSERT_TRUE(store().add_enabled()) << store().add_disabled_reason();
  EXPECT_EQ(AddAndGetMetadata(), json({{"id", "asdf1234"}, {"mountpoint", "/tmp"}}));
}

// FS-49
TEST_F(MetadataTest, ListOfObjects) {
  CreateWithMetadata(R"([{"id": "abcdefg", "mountpoint": "/xyz/images"},
                          {"id": "xyz1234", "mountpoint": "/tmp/"}])");
  ASSERT_TRUE(store().add_enabled()) << store().add_disabled_reason();
  EXPECT_EQ(AddAndGetMetadata(), json({{"id", "xyz1234"}, {"mountpoint", "/tmp/"}}));
}

// FS-50: other keys with string, list or dict values are kept and returned.
TEST_F(MetadataTest, ExtraKeysAreReturned) {
  const json entry = {{"akey", {"value1", "value2"}},
                      {"nested", {{"k", "v"}, {"l", {"a", "b"}}}},
                      {"id", "abc"},
                      {"mountpoint", "/tmp"}};
  CreateWithMetadata(entry.dump());
  ASSERT_TRUE(store().add_enabled()) << store().add_disabled_reason();
  EXPECT_EQ(AddAndGetMetadata(), entry);
}

// FS-51..FS-54: invalid contents disable add with the documented reason.
struct BadMetadataCase {
  const char* name;
  const char* text;
};

void PrintTo(const BadMetadataCase& c, std::ostream* os) { *os << c.name; }

class BadMetadataTest : public MetadataTest,
                        public ::testing::WithParamInterface<BadMetadataCase> {};

TEST_P(BadMetadataTest, DisablesAdd) {
  CreateWithMetadata(GetParam().text);
  EXPECT_FALSE(store().add_enabled());
  const std::string prefix = std::string(kReasonPrefix) + "The JSON in the metadata file " +
                             metadata_file() + " is not valid and it can not be used: ";
  const std::string& reason = store().add_disabled_reason();
  EXPECT_EQ(reason.rfind(prefix, 0), 0U) << reason;
  EXPECT_EQ(reason.back(), '.') << reason;
  EXPECT_EQ(CatchError([&] { AddAndGetMetadata(); }).kind(), ErrorKind::kStoreAddDisabled);
  EXPECT_EQ(CatchError([&] { store().configure(true); }).kind(), ErrorKind::kBadStoreConfiguration);
}

INSTANTIATE_TEST_SUITE_P(
    Files, BadMetadataTest,
    ::testing::Values(
        BadMetadataCase{"NumberValue", R"({"akey": 10, "id": "a", "mountpoint": "/tmp"})"},
        BadMetadataCase{"NumberInList", R"({"akey": ["x", 1], "id": "a", "mountpoint": "/tmp"})"},
        BadMetadataCase{"BoolInDict", R"({"akey": {"b": true}, "id": "a", "mountpoint": "/tmp"})"},
        BadMetadataCase{"NullValue", R"({"akey": null, "id": "a", "mountpoint": "/tmp"})"},
        BadMetadataCase{"NoId", R"({"mountpoint": "/tmp"})"},
        BadMetadataCase{"NoMountpoint", R"({"id": "a"})"},
        BadMetadataCase{"ListElementWithoutId",
                        R"([{"id": "a", "mountpoint": "/tmp"}, {"mountpoint": "/x"}])"},
        BadMetadataCase{"ListElementWithoutMountpoint",
                        R"([{"id": "a", "mountpoint": "/tmp"}, {"id": "b"}])"},
        BadMetadataCase{"IdNotString", R"({"id": 10, "mountpoint": "/tmp"})"},
        BadMetadataCase{"MountpointNotString", R"({"id": "a", "mountpoint": ["/tmp"]})"},
        BadMetadataCase{"ListElementIdNotString",
                        R"([{"id": "a", "mountpoint": "/tmp"}, {"id": 3, "mountpoint": "/x"}])"},
        BadMetadataCase{"ListElementNotObject", R"([{"id": "a", "mountpoint": "/tmp"}, "x"])"},
        BadMetadataCase{"String", R"("just a string")"}, BadMetadataCase{"Number", "42"},
        BadMetadataCase{"InvalidJson", "{not json"}, BadMetadataCase{"Empty", ""}),
    [](const auto& info) { return info.param.name; });

// FS-54
TEST_F(MetadataTest, MissingFileDisablesAdd) {
  const std::string missing = root_.sub("missing.json");
  CreateLegacy("filesystem_store_metadata_file = " + missing);
  EXPECT_FALSE(store().add_enabled());
  const std::string prefix = std::string(kReasonPrefix) + "The path for the metadata file " +
                             missing + " could not be accessed: ";
  EXPECT_EQ(store().add_disabled_reason().rfind(prefix, 0), 0U) << store().add_disabled_reason();
}

// FS-55: the first entry whose mountpoint contains the image, whole.
TEST_F(MetadataTest, FirstMatchingEntryIsReturned) {
  const json entries = json::array({{{"id", "xyz"}, {"mountpoint", "/xyz"}},
                                    {{"id", "root"}, {"mountpoint", root()}, {"k", "v"}},
                                    {{"id", "tmp"}, {"mountpoint", "/tmp"}}});
  CreateWithMetadata(entries.dump());
  EXPECT_EQ(AddAndGetMetadata(), entries[1]);
}

TEST_F(MetadataTest, MultiStoreAddsTheStore) {
  WriteFile(metadata_file(), R"([{"id": "abcdefg", "mountpoint": "/tmp"}])");
  CreateMulti({{"file1", "filesystem_store_datadir = " + datadir() +
                             "\nfilesystem_store_metadata_file = " + metadata_file()}});
  EXPECT_EQ(AddAndGetMetadata(),
            json({{"id", "abcdefg"}, {"mountpoint", "/tmp"}, {"store", "file1"}}));
}

// FS-56: no entry matches: empty metadata, and an error is logged.
TEST_F(MetadataTest, NoMatchingMountpoint) {
  CreateWithMetadata(
      R"([{"id": "a", "mountpoint": "/xyz/images"}, {"id": "b", "mountpoint": "/pqr/images"}])");
  LogCapture log;
  EXPECT_EQ(AddAndGetMetadata(), json::object());
  EXPECT_EQ(log.matching("does not match with any of the mountpoint").size(), 1U);
}

TEST_F(MetadataTest, NoMatchingMountpointMultiStore) {
  WriteFile(metadata_file(), R"({"id": "a", "mountpoint": "/xyz/images"})");
  CreateMulti({{"file1", "filesystem_store_datadir = " + datadir() +
                             "\nfilesystem_store_metadata_file = " + metadata_file()}});
  EXPECT_EQ(AddAndGetMetadata(), json({{"store", "file1"}}));
}

// FS-57: the file is read at configure time only.
TEST_F(MetadataTest, ReadOnlyAtConfigure) {
  CreateWithMetadata(R"({"id": "a", "mountpoint": "/tmp"})");
  std::filesystem::remove(metadata_file());
  EXPECT_EQ(Add("one", "data").metadata, json({{"id", "a"}, {"mountpoint", "/tmp"}}));
  WriteFile(metadata_file(), R"({"id": "changed", "mountpoint": "/tmp"})");
  EXPECT_EQ(Add("two", "data").metadata, json({{"id", "a"}, {"mountpoint", "/tmp"}}));
}

// FS-58 / Q-10: a mountpoint contains a path only at a component boundary.
struct MountCase {
  const char* name;
  std::string mountpoint;  // relative to the root, or absolute when it starts with '/'
  std::string datadir;     // relative to the root
  bool matches;
};

void PrintTo(const MountCase& c, std::ostream* os) { *os << c.name; }

class MountpointTest : public MetadataTest, public ::testing::WithParamInterface<MountCase> {};

TEST_P(MountpointTest, WholeComponentsMatch) {
  const MountCase& c = GetParam();
  const std::string mount = c.mountpoint.starts_with("/") ? c.mountpoint : root_.sub(c.mountpoint);
  const json entry = {{"id", "m"}, {"mountpoint", mount}};
  CreateWithMetadata(entry.dump(), "filesystem_store_datadir = " + root_.sub(c.datadir));
  EXPECT_EQ(AddAndGetMetadata(), c.matches ? entry : json::object());
}

INSTANTIATE_TEST_SUITE_P(
    Mountpoints, MountpointTest,
    ::testing::Values(MountCase{"SameDir", "data", "data", true},
                      MountCase{"TrailingSlash", "data/", "data", true},
                      MountCase{"Ancestor", "data", "data/images", true},
                      MountCase{"Root", "/", "data", true},
                      MountCase{"PrefixOfDirName", "data", "datax", false},
                      MountCase{"PrefixOfDeeperName", "data/im", "data/images", false},
                      MountCase{"Sibling", "other", "data", false},
                      MountCase{"Deeper", "data/images/more", "data/images", false}),
    [](const auto& info) { return info.param.name; });

// Upstream's own example of the quirk: /tmp does not contain /tmpdata/x.
TEST_F(MetadataTest, TmpDoesNotMatchTmpdata) {
  const std::string tmpdata = root_.sub("tmpdata");
  const json entries = json::array({{{"id", "tmp"}, {"mountpoint", root_.sub("tmp")}},
                                    {{"id", "tmpdata"}, {"mountpoint", tmpdata}}});
  CreateWithMetadata(entries.dump(), "filesystem_store_datadir = " + tmpdata + "/x");
  EXPECT_EQ(AddAndGetMetadata(), entries[1]);
}

}  // namespace
}  // namespace glance_store::filesystem::testing
