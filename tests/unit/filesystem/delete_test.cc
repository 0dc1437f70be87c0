// Deletes: removal, NotFound, Forbidden on a failing unlink (FS-25..FS-27), and the capability
// and multi-store rules around them.
#include <gtest/gtest.h>

#include <cerrno>
#include <filesystem>
#include <string>

#include "fs_test_util.h"

namespace glance_store::filesystem::testing {
namespace {

class DeleteTest : public FsStoreTest {
 protected:
  void SetUp() override {
    CreateLegacy();
    location_ = Add("img", Pattern(3000)).location;
  }

  std::string location_;
};

// FS-25
TEST_F(DeleteTest, RemovesTheImage) {
  registry().remove(location_);
  EXPECT_FALSE(std::filesystem::exists(datadir() + "/img"));
  Error e = CatchError([&] { registry().get(location_); });
  EXPECT_EQ(e.kind(), ErrorKind::kNotFound);
  EXPECT_TRUE(ListDir(datadir()).empty());
}

// FS-26
TEST_F(DeleteTest, MissingImageIsNotFound) {
  const std::string path = datadir() + "/non-existing";
  Error e = CatchError([&] { registry().remove(Uri(path)); });
  EXPECT_EQ(e.kind(), ErrorKind::kNotFound);
  EXPECT_EQ(e.message(), "Image " + path + " not found");
}

// FS-27: any unlink failure but ENOENT is Forbidden; the image stays readable.
class DeleteErrnoTest : public DeleteTest, public ::testing::WithParamInterface<int> {};

TEST_P(DeleteErrnoTest, FailingUnlinkIsForbidden) {
  auto sys = InjectSyscalls();
  sys->fail(Op::kUnlink, GetParam());
  Error e = CatchError([&] { registry().remove(location_); });
  EXPECT_EQ(e.kind(), ErrorKind::kForbidden);
  EXPECT_EQ(e.message(), "You cannot delete file " + datadir() + "/img");
  EXPECT_EQ(sys->calls(Op::kUnlink), 1);
  EXPECT_EQ(Get(location_), Pattern(3000));
}

INSTANTIATE_TEST_SUITE_P(Errnos, DeleteErrnoTest,
                         ::testing::Values(EACCES, EPERM, EROFS, EBUSY, EIO));

// CAP: delete needs WRITE_ACCESS, which a failed add configuration removes.
TEST_F(DeleteTest, StoreWithAddDisabledCannotDelete) {
  CreateLegacy("filesystem_store_file_perm = 7");
  ASSERT_FALSE(store().add_enabled());
  EXPECT_EQ(CatchError([&] { registry().remove(location_); }).kind(),
            ErrorKind::kStoreDeleteNotSupported);
  EXPECT_EQ(Get(location_), Pattern(3000));
}

// Multi-store without a backend name: each file backend is tried; the one whose datadir holds
// the image deletes it.
using MultiStoreDeleteTest = FsStoreTest;

TEST_F(MultiStoreDeleteTest, FindsTheBackendHoldingTheImage) {
  CreateMulti({{"file1", "filesystem_store_datadir = " + root_.sub("one")},
               {"file2", "filesystem_store_datadir = " + root_.sub("two")}});
  const AddResult added = Add("img", Pattern(100), 100, "sha256", "file2");
  EXPECT_EQ(added.location, Uri(root_.sub("two") + "/img"));
  registry().remove(added.location);
  EXPECT_FALSE(std::filesystem::exists(root_.sub("two") + "/img"));
  EXPECT_EQ(CatchError([&] { registry().remove(added.location); }).kind(), ErrorKind::kNotFound);
  EXPECT_EQ(CatchError([&] { registry().remove("file:///etc/passwd"); }).kind(),
            ErrorKind::kForbidden);
}

}  // namespace
}  // namespace glance_store::filesystem::testing
