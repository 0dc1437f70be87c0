// Our safety rules: image ids are file names (Invalid otherwise) and locations must name an
// image inside a configured datadir (Forbidden otherwise).
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "fs_test_util.h"

namespace glance_store::filesystem::testing {
namespace {

namespace fs = std::filesystem;

struct IdCase {
  const char* name;
  std::string id;
};

void PrintTo(const IdCase& c, std::ostream* os) { *os << c.name; }

class InvalidImageIdTest : public FsStoreTest, public ::testing::WithParamInterface<IdCase> {};

TEST_P(InvalidImageIdTest, IsInvalidAndNothingIsWritten) {
  CreateLegacy();
  CountingStream input(Pattern(100));
  Error e = CatchError([&] { registry().add(GetParam().id, input, 100, "sha256"); });
  EXPECT_EQ(e.kind(), ErrorKind::kInvalid) << e.message();
  EXPECT_EQ(input.reads(), 0);
  EXPECT_TRUE(ListDir(root()).empty()) << "a refused id created something";
}

INSTANTIATE_TEST_SUITE_P(Ids, InvalidImageIdTest,
                         ::testing::Values(IdCase{"Empty", ""}, IdCase{"Dot", "."},
                                           IdCase{"DotDot", ".."}, IdCase{"Hidden", ".hidden"},
                                           IdCase{"Slash", "a/b"}, IdCase{"ParentEscape", "../x"},
                                           IdCase{"TrailingSlash", "img/"},
                                           IdCase{"EmbeddedNul", std::string("a\0b", 3)},
                                           IdCase{"TooLong", std::string(201, 'a')}),
                         [](const auto& info) { return info.param.name; });

class ValidImageIdTest : public FsStoreTest, public ::testing::WithParamInterface<IdCase> {};

TEST_P(ValidImageIdTest, IsStoredUnderThatName) {
  CreateLegacy();
  const std::string& id = GetParam().id;
  const AddResult added = Add(id, Pattern(100));
  EXPECT_EQ(added.location, Uri(datadir() + "/" + id));
  EXPECT_EQ(ListDir(datadir()), std::vector<std::string>{id});
  EXPECT_EQ(Get(added.location), Pattern(100));
}

INSTANTIATE_TEST_SUITE_P(
    Ids, ValidImageIdTest,
    ::testing::Values(IdCase{"Uuid", "0b6a2b9e-3f0e-4c1b-9d3c-7d0c1e2f3a4b"},
                      IdCase{"LongestAllowed", std::string(200, 'a')}, IdCase{"InnerDots", "a..b"},
                      IdCase{"Space", "with space"}, IdCase{"Utf8", "\xc3\xbcmlaut"},
                      IdCase{"LooksLikeATemporaryButNoLeadingDot", "x.tmp.1.0123456789abcdef"}),
    [](const auto& info) { return info.param.name; });

// Locations outside every datadir, or not naming an image directly inside one: get, get_size
// and delete are Forbidden, and nothing is touched.
struct ForbiddenCase {
  const char* name;
  std::string (*path)(const std::string& root);  // the location's path
};

void PrintTo(const ForbiddenCase& c, std::ostream* os) { *os << c.name; }

class ForbiddenLocationTest : public FsStoreTest,
                              public ::testing::WithParamInterface<ForbiddenCase> {
 protected:
  void SetUp() override {
    CreateLegacy();
    Add("img", "image");
    WriteFile(root_.sub("outside"), "secret");
    fs::create_directories(root_.sub("images2"));
    WriteFile(root_.sub("images2/x"), "sibling");
    fs::create_directories(datadir() + "/sub");
    WriteFile(datadir() + "/sub/x", "nested");
    WriteFile(datadir() + "/.img.tmp.1.0123456789abcdef", "temporary");
    fs::create_symlink(root_.sub("outside"), datadir() + "/link");
    fs::create_directory_symlink(root(), datadir() + "/linkdir");
  }

  void ExpectUntouched() {
    EXPECT_EQ(ReadFile(root_.sub("outside")), "secret");
    EXPECT_EQ(ReadFile(root_.sub("images2/x")), "sibling");
    EXPECT_EQ(ReadFile(datadir() + "/sub/x"), "nested");
    EXPECT_EQ(ReadFile(datadir() + "/.img.tmp.1.0123456789abcdef"), "temporary");
    EXPECT_TRUE(fs::is_symlink(datadir() + "/link"));
    EXPECT_TRUE(fs::is_directory(datadir()));
    EXPECT_EQ(ReadFile(datadir() + "/img"), "image");
  }
};

TEST_P(ForbiddenLocationTest, GetIsForbidden) {
  const std::string uri = Uri(GetParam().path(root()));
  Error e = CatchError([&] { registry().get(uri); });
  EXPECT_EQ(e.kind(), ErrorKind::kForbidden) << e.message();
}

TEST_P(ForbiddenLocationTest, GetSizeIsForbidden) {
  const std::string uri = Uri(GetParam().path(root()));
  Error e = CatchError([&] { registry().get_size(uri); });
  EXPECT_EQ(e.kind(), ErrorKind::kForbidden) << e.message();
}

TEST_P(ForbiddenLocationTest, DeleteIsForbiddenAndRemovesNothing) {
  const std::string uri = Uri(GetParam().path(root()));
  Error e = CatchError([&] { registry().remove(uri); });
  EXPECT_EQ(e.kind(), ErrorKind::kForbidden) << e.message();
  ExpectUntouched();
}

INSTANTIATE_TEST_SUITE_P(
    Locations, ForbiddenLocationTest,
    ::testing::Values(
        ForbiddenCase{"EtcPasswd", [](const std::string&) { return std::string("/etc/passwd"); }},
        ForbiddenCase{"NonExistingOutside",
                      [](const std::string&) { return std::string("/tmp/glance-tests/nope"); }},
        ForbiddenCase{"DotDotEscape",
                      [](const std::string& r) { return r + "/images/../outside"; }},
        ForbiddenCase{"DotSegments",
                      [](const std::string& r) { return r + "/images/./../outside"; }},
        ForbiddenCase{"DotDotIntoSibling",
                      [](const std::string& r) { return r + "/images/../images2/x"; }},
        ForbiddenCase{"SiblingSharingThePrefix",
                      [](const std::string& r) { return r + "/images2/x"; }},
        ForbiddenCase{"SymlinkToOutside", [](const std::string& r) { return r + "/images/link"; }},
        ForbiddenCase{"ThroughSymlinkedDirectory",
                      [](const std::string& r) { return r + "/images/linkdir/outside"; }},
        ForbiddenCase{"Subdirectory", [](const std::string& r) { return r + "/images/sub/x"; }},
        ForbiddenCase{
            "Temporary",
            [](const std::string& r) { return r + "/images/.img.tmp.1.0123456789abcdef"; }},
        ForbiddenCase{"TheDatadirItself", [](const std::string& r) { return r + "/images"; }},
        ForbiddenCase{"TheDatadirWithSlash", [](const std::string& r) { return r + "/images/"; }}),
    [](const auto& info) { return info.param.name; });

// The datadir's own images are reachable through equivalent spellings of their path.
using LocationSpellingTest = FsStoreTest;

TEST_F(LocationSpellingTest, EquivalentSpellingsInsideTheDatadirAreAllowed) {
  CreateLegacy();
  Add("img", "image");
  EXPECT_EQ(Get(Uri(datadir() + "/./img")), "image");
  EXPECT_EQ(Get(Uri(datadir() + "//img")), "image");
  EXPECT_EQ(Get(Uri(root() + "/images2/../images/img")), "image");
}

}  // namespace
}  // namespace glance_store::filesystem::testing

namespace glance_store::filesystem::testing {
namespace {

// A link inside a datadir is not an image, even when it points at one: get, size and delete
// refuse it, and delete removes neither the link nor its target.
TEST_F(FsStoreTest, LinkToAnotherImageIsNeitherReadNorDeleted) {
  CreateLegacy();
  const AddResult target = Add("target", Pattern(64));
  std::filesystem::create_symlink(datadir() + "/target", datadir() + "/alias");
  const std::string alias = Uri(datadir() + "/alias");
  EXPECT_EQ(CatchError([&] { registry().get(alias); }).kind(), ErrorKind::kForbidden);
  EXPECT_EQ(CatchError([&] { registry().get_size(alias); }).kind(), ErrorKind::kForbidden);
  EXPECT_EQ(CatchError([&] { registry().remove(alias); }).kind(), ErrorKind::kForbidden);
  EXPECT_TRUE(std::filesystem::is_symlink(datadir() + "/alias"));
  EXPECT_EQ(Get(target.location), Pattern(64));
}

// A datadir rejected for adds (a directory listed twice with different priorities) still
// serves the images inside the directories it names.
TEST_F(FsStoreTest, RejectedDatadirsStillServeTheirImages) {
  CreateLegacy();
  const AddResult added = Add("img", Pattern(32));
  CreateWithDatadirs({datadir() + ":100", datadir() + ":200"});
  EXPECT_FALSE(store().add_enabled());
  EXPECT_EQ(Get(added.location), Pattern(32));
}

}  // namespace
}  // namespace glance_store::filesystem::testing
