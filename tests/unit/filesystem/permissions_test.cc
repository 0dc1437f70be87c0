// filesystem_store_file_perm: decimal digits read as octal, owner read mandatory, the image mode
// set exactly, and the datadir opened with g+x / o+x as needed (FS-59..FS-63).
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <string>

#include "fs_test_util.h"

namespace glance_store::filesystem::testing {
namespace {

class PermissionsTest : public FsStoreTest {
 protected:
  // The datadir exists beforehand with `mode`.
  void MakeDatadir(unsigned mode) {
    std::filesystem::create_directory(datadir());
    ASSERT_EQ(::chmod(datadir().c_str(), mode), 0);
  }
};

// FS-59
TEST_F(PermissionsTest, SevenHundredIsAccepted) {
  CreateLegacy("filesystem_store_file_perm = 700");
  EXPECT_EQ(store().fs_options().file_perm, 700);
  ASSERT_TRUE(store().add_enabled()) << store().add_disabled_reason();
  Add("img", "data");
  EXPECT_EQ(Mode(datadir() + "/img"), 0700U);
}

// FS-61, FS-62, FS-63
struct PermCase {
  const char* name;
  int perm;
  unsigned dir_before;
  unsigned dir_after;
  unsigned file_mode;
};

void PrintTo(const PermCase& c, std::ostream* os) { *os << c.name; }

class FilePermTest : public PermissionsTest, public ::testing::WithParamInterface<PermCase> {};

TEST_P(FilePermTest, SetsFileAndDatadirModes) {
  const PermCase& c = GetParam();
  MakeDatadir(c.dir_before);
  CreateLegacy("filesystem_store_file_perm = " + std::to_string(c.perm));
  ASSERT_TRUE(store().add_enabled()) << store().add_disabled_reason();
  EXPECT_EQ(Mode(datadir()), c.dir_after);
  Add("img", "data");
  EXPECT_EQ(Mode(datadir() + "/img"), c.file_mode);
  EXPECT_EQ(Mode(datadir()), c.dir_after);
  EXPECT_EQ(Get(Uri(datadir() + "/img")), "data");
}

INSTANTIATE_TEST_SUITE_P(Perms, FilePermTest,
                         ::testing::Values(PermCase{"GroupAndOtherRead", 744, 0700, 0711, 0744},
                                           PermCase{"OwnerOnly", 600, 0700, 0700, 0600},
                                           PermCase{"GroupRead", 640, 0700, 0710, 0640},
                                           PermCase{"OtherRead", 604, 0700, 0701, 0604},
                                           PermCase{"ReadOnlyForAll", 444, 0700, 0711, 0444},
                                           PermCase{"OwnerAll", 700, 0700, 0700, 0700},
                                           PermCase{"GroupWriteOnly", 420, 0700, 0710, 0420},
                                           PermCase{"BitsAreNeverRemoved", 600, 0755, 0755, 0600}),
                         [](const auto& info) { return info.param.name; });

// FS-63: ≤ 0 leaves every mode alone (files get 0666 less the umask).
class NoChmodTest : public PermissionsTest, public ::testing::WithParamInterface<int> {};

TEST_P(NoChmodTest, LeavesModesAlone) {
  MakeDatadir(0700);
  CreateLegacy("filesystem_store_file_perm = " + std::to_string(GetParam()));
  ASSERT_TRUE(store().add_enabled()) << store().add_disabled_reason();
  const mode_t umask = ::umask(0);
  ::umask(umask);
  Add("img", "data");
  EXPECT_EQ(Mode(datadir()), 0700U);
  EXPECT_EQ(Mode(datadir() + "/img"), 0666U & ~static_cast<unsigned>(umask));
}

INSTANTIATE_TEST_SUITE_P(Perms, NoChmodTest, ::testing::Values(0, -1, -644));

// FS-60: without owner read the option is refused and add disabled, with the reason.
class InaccessiblePermTest : public PermissionsTest, public ::testing::WithParamInterface<int> {};

TEST_P(InaccessiblePermTest, DisablesAdd) {
  CreateLegacy("filesystem_store_file_perm = " + std::to_string(GetParam()));
  EXPECT_FALSE(store().add_enabled());
  const std::string reason =
      "Store filesystem could not be configured correctly. Reason: Invalid "
      "'filesystem_store_file_perm' option.";
  EXPECT_EQ(store().add_disabled_reason(), reason);
  Error e = CatchError([&] { Add("img", "data"); });
  EXPECT_EQ(e.kind(), ErrorKind::kStoreAddDisabled);
  EXPECT_EQ(
      e.message(),
      "Configuration for store failed. Adding images to this store is disabled. Reason: " + reason);
  EXPECT_TRUE(ListDir(datadir()).empty());
}

INSTANTIATE_TEST_SUITE_P(Perms, InaccessiblePermTest, ::testing::Values(7, 77, 300, 377));

}  // namespace
}  // namespace glance_store::filesystem::testing
