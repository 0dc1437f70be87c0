// Several datadirs: priorities, free-space selection, StorageFull, and the configuration rules
// of filesystem_store_datadir(s) (FS-36..FS-46).
#include <gtest/gtest.h>

#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "fs_test_util.h"

namespace glance_store::filesystem::testing {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kReasonPrefix =
    "Store filesystem could not be configured correctly. Reason: ";

class DatadirsTest : public FsStoreTest {
 protected:
  std::string d(int i) const { return root_.sub("d" + std::to_string(i)); }

  // The store must be registered with add disabled for `reason`, and report it on add; with
  // `reconfigure`, configure(true) must throw it.
  void ExpectAddDisabled(const std::string& reason, bool reconfigure = true) {
    EXPECT_FALSE(store().add_enabled());
    EXPECT_EQ(store().add_disabled_reason(), std::string(kReasonPrefix) + reason);
    Error e = CatchError([&] { Add("img", "data"); });
    EXPECT_EQ(e.kind(), ErrorKind::kStoreAddDisabled);
    EXPECT_NE(e.message().find(reason), std::string::npos) << e.message();
    if (!reconfigure) return;
    Error rethrown = CatchError([&] { store().configure(true); });
    EXPECT_EQ(rethrown.kind(), ErrorKind::kBadStoreConfiguration);
    EXPECT_EQ(rethrown.message(), std::string(kReasonPrefix) + reason);
  }
};

// FS-36
TEST_F(DatadirsTest, PrioritiesOrderTheDatadirs) {
  CreateWithDatadirs({d(0) + ":100", d(1) + ":200"});
  EXPECT_EQ(store().datadirs(), (std::vector<std::string>{d(1), d(0)}));
  EXPECT_TRUE(store().add_enabled()) << store().add_disabled_reason();
  EXPECT_FALSE(fs::exists(d(0)));  // created by the first add into each
  EXPECT_FALSE(fs::exists(d(1)));
}

// FS-37
TEST_F(DatadirsTest, AddGoesToTheHighestPriority) {
  CreateWithDatadirs({d(0) + ":100", d(1) + ":200"});
  const std::string data(5120, '*');
  const AddResult added = Add("img", data, data.size(), "sha256");
  EXPECT_EQ(added.location, Uri(d(1) + "/img"));
  EXPECT_EQ(added.checksum, Md5(data));
  EXPECT_EQ(added.multihash, Sha256(data));
  EXPECT_EQ(Get(added.location), data);
  EXPECT_TRUE(ListDir(d(0)).empty());
}

// FS-38, FS-39: the StorageFull text; nothing written anywhere.
TEST_F(DatadirsTest, NoFreeSpaceAnywhereIsStorageFull) {
  CreateWithDatadirs({d(0) + ":100", d(1) + ":200"});
  auto sys = InjectSyscalls();
  sys->set_free_space(d(0), 0);
  sys->set_free_space(d(1), 0);
  Error e = CatchError([&] { Add("img", std::string(5120, '*')); });
  EXPECT_EQ(e.kind(), ErrorKind::kStorageFull);
  EXPECT_EQ(e.message(),
            "There is no enough disk space left on the image storage media. requested=5120");
  EXPECT_TRUE(ListDir(d(0)).empty());
  EXPECT_TRUE(ListDir(d(1)).empty());
}

// FS-39, FS-40: the selection algorithm. Directories d0, d1, … with (priority, free bytes).
struct SelectionCase {
  const char* name;
  std::vector<std::pair<int, std::uint64_t>> dirs;
  std::uint64_t size;
  int expected;  // index of the chosen directory, -1 for StorageFull
};

void PrintTo(const SelectionCase& c, std::ostream* os) { *os << c.name; }

class DatadirSelectionTest : public DatadirsTest,
                             public ::testing::WithParamInterface<SelectionCase> {
 protected:
  void SetUp() override {
    std::vector<std::string> entries;
    for (std::size_t i = 0; i < GetParam().dirs.size(); ++i) {
      entries.push_back(d(static_cast<int>(i)) + ":" + std::to_string(GetParam().dirs[i].first));
    }
    CreateWithDatadirs(entries);
    sys_ = InjectSyscalls();
    for (std::size_t i = 0; i < GetParam().dirs.size(); ++i) {
      sys_->set_free_space(d(static_cast<int>(i)), GetParam().dirs[i].second);
    }
  }

  std::shared_ptr<FaultySyscalls> sys_;
};

TEST_P(DatadirSelectionTest, ChooseDatadir) {
  const SelectionCase& c = GetParam();
  if (c.expected < 0) {
    EXPECT_EQ(CatchError([&] { store().choose_datadir(c.size); }).kind(), ErrorKind::kStorageFull);
  } else {
    EXPECT_EQ(store().choose_datadir(c.size), d(c.expected));
  }
}

TEST_P(DatadirSelectionTest, AddLandsInTheChosenDatadir) {
  const SelectionCase& c = GetParam();
  const std::string data = Pattern(c.size);
  if (c.expected < 0) {
    EXPECT_EQ(CatchError([&] { Add("img", data, c.size); }).kind(), ErrorKind::kStorageFull);
    for (std::size_t i = 0; i < c.dirs.size(); ++i) EXPECT_TRUE(ListDir(d(int(i))).empty());
  } else {
    EXPECT_EQ(Add("img", data, c.size).location, Uri(d(c.expected) + "/img"));
  }
}

INSTANTIATE_TEST_SUITE_P(
    Cases, DatadirSelectionTest,
    ::testing::Values(
        SelectionCase{"MostFreeWithinPriority", {{0, 100}, {0, 300}, {0, 200}}, 50, 1},
        SelectionCase{"TieKeepsTheFirstListed", {{0, 300}, {0, 300}}, 50, 0},
        SelectionCase{"HigherPriorityTooSmall", {{200, 10}, {100, 1000}}, 50, 1},
        SelectionCase{"ExactFitIsEnough", {{200, 50}, {100, 1000}}, 50, 0},
        SelectionCase{"PriorityBeatsFreeSpace", {{200, 60}, {100, 1000000}}, 50, 0},
        SelectionCase{"ThreePriorities", {{300, 10}, {200, 70}, {200, 90}, {100, 1000}}, 50, 2},
        SelectionCase{"SkipsFullDirInPriority", {{100, 0}, {100, 60}, {50, 1000}}, 50, 1},
        SelectionCase{"NothingFits", {{200, 10}, {100, 49}}, 50, -1},
        SelectionCase{"ZeroSizeNeedsSomeFreeSpace", {{0, 0}, {0, 0}}, 0, -1},
        SelectionCase{"ZeroSizeTakesAnyFreeByte", {{0, 0}, {0, 1}}, 0, 1}),
    [](const auto& info) { return info.param.name; });

// FS-41: the same directory with two priorities.
TEST_F(DatadirsTest, SameDirWithDifferentPrioritiesDisablesAdd) {
  CreateWithDatadirs({d(0) + ":100", d(1) + ":200", d(0) + ":300"});
  ExpectAddDisabled("Directory " + d(0) +
                    " specified multiple times in filesystem_store_datadirs option of filesystem "
                    "configuration");
}

// Users write `StoreRegistry::create(ConfigFile::parse(text))`: the stores must not depend on
// the parsed file outliving that call when they are configured again (Store::configure is
// public). 0 when reconfiguring reports the configuration's own error.
int ReconfigureAfterTheParsedConfigIsGone(const std::string& text) {
  auto registry = StoreRegistry::create(ConfigFile::parse(text));
  // Allocations of similar sizes take the freed memory over.
  std::vector<std::string> junk(256, std::string(text.size(), 'X'));
  Store& store = registry->default_store();
  try {
    store.configure(true);
  } catch (const Error& e) {
    const bool expected = e.kind() == ErrorKind::kBadStoreConfiguration &&
                          e.message().find("specified multiple times") != std::string::npos;
    return expected && !store.add_enabled() ? 0 : 2;
  }
  return 1;
}

// Run in a child process (reading freed memory may crash), without root's privileges (it might
// create directories anywhere). The datadirs need not exist: the duplicate is refused first.
TEST_F(DatadirsTest, ReconfigureDoesNotNeedTheParsedConfigAnymore) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  const std::string text =
      "[glance_store]\nstores = file\nfilesystem_store_datadir =\n"
      "filesystem_store_datadirs = /nonexistent-glance-test/d0:1\n"
      "filesystem_store_datadirs = /nonexistent-glance-test/d0:2\n";
  EXPECT_EXIT(
      {
        std::error_code ec;
        fs::remove_all(root(), ec);  // the child ends without the fixture's teardown
        int code = 3;
        RunUnprivileged([&] { code = ReconfigureAfterTheParsedConfigIsGone(text); });
        std::exit(code);
      },
      ::testing::ExitedWithCode(0), "");
}

// FS-42: the same directory twice with the same priority only warns.
TEST_F(DatadirsTest, SameDirWithSamePriorityWarns) {
  LogCapture log;
  CreateWithDatadirs({d(0) + ":100", d(1) + ":200", d(0) + ":100"});
  EXPECT_TRUE(store().add_enabled()) << store().add_disabled_reason();
  EXPECT_EQ(log.matching("Directory " + d(0) + " specified multiple times").size(), 1U);
  EXPECT_EQ(store().datadirs(), (std::vector<std::string>{d(1), d(0)}));
  EXPECT_EQ(Add("img", "data").location, Uri(d(1) + "/img"));
}

// FS-43: entry parsing errors.
struct BadEntryCase {
  const char* name;
  std::string suffix;  // appended to d0 (or the whole entry when `whole`)
  bool whole;
  std::string reason;
};

void PrintTo(const BadEntryCase& c, std::ostream* os) { *os << c.name; }

class BadDatadirEntryTest : public DatadirsTest,
                            public ::testing::WithParamInterface<BadEntryCase> {};

// glance's reasons, but a malformed entry fails the configuration instead of disabling add.
TEST_P(BadDatadirEntryTest, FailsTheConfigurationNamingTheOption) {
  const BadEntryCase& c = GetParam();
  const std::vector<std::string> entries = {c.whole ? c.suffix : d(0) + c.suffix, d(1) + ":5"};
  EXPECT_THROW(CreateWithDatadirs(entries), InvalidOptionValue);
  const Error e = CatchError([&] { CreateWithDatadirs(entries); });
  EXPECT_EQ(e.kind(), ErrorKind::kBadStoreConfiguration);
  EXPECT_NE(e.message().find("option [glance_store] filesystem_store_datadirs: " + c.reason),
            std::string::npos)
      << e.message();
}

INSTANTIATE_TEST_SUITE_P(
    Entries, BadDatadirEntryTest,
    ::testing::Values(BadEntryCase{"Word", ":abc", false,
                                   "Invalid priority value abc in filesystem configuration"},
                      BadEntryCase{"Negative", ":-5", false,
                                   "Invalid priority value -5 in filesystem configuration"},
                      BadEntryCase{"Fraction", ":1.5", false,
                                   "Invalid priority value 1.5 in filesystem configuration"},
                      BadEntryCase{"EmptyPath", ":100", true,
                                   "Invalid directory specified in filesystem configuration"},
                      BadEntryCase{"BlankPath", "   : 7", true,
                                   "Invalid directory specified in filesystem configuration"}),
    [](const auto& info) { return info.param.name; });

// FS-43: split at the last ':', both parts trimmed, a missing or empty priority is 0.
TEST_F(DatadirsTest, EntryParsing) {
  CreateWithDatadirs({" " + d(0) + " : 7 ", d(1), d(2) + ":", root_.sub("a:b") + ":3"});
  EXPECT_TRUE(store().add_enabled()) << store().add_disabled_reason();
  EXPECT_EQ(store().datadirs(), (std::vector<std::string>{d(0), root_.sub("a:b"), d(1), d(2)}));
  EXPECT_FALSE(fs::exists(root_.sub("a:b")));  // created by the first add into it
}

// FS-44
TEST_F(DatadirsTest, NeitherOptionDisablesAdd) {
  CreateFromText("[glance_store]\nstores = file\nfilesystem_store_datadir =\n");
  ExpectAddDisabled(
      "Specify at least 'filesystem_store_datadir' or 'filesystem_store_datadirs' option");
}

// FS-44: filesystem_store_datadir has a non-empty default, so datadirs alone means both.
TEST_F(DatadirsTest, BothOptionsDisableAdd) {
  CreateLegacy("filesystem_store_datadirs = " + d(0) + ":1");
  ExpectAddDisabled(
      "Specify either 'filesystem_store_datadir' or 'filesystem_store_datadirs' option");
}

TEST_F(DatadirsTest, DatadirsAloneInMultiStoreMeetTheDefaultDatadir) {
  CreateMulti({{"file1", "filesystem_store_datadirs = " + d(0) + ":1"}});
  ExpectAddDisabled(
      "Specify either 'filesystem_store_datadir' or 'filesystem_store_datadirs' option");
}

TEST_F(DatadirsTest, DatadirClearedInBackendDefaults) {
  CreateMulti({{"file1", "filesystem_store_datadirs = " + d(0) + ":1"}},
              "filesystem_store_datadir =");
  EXPECT_TRUE(store().add_enabled()) << store().add_disabled_reason();
  EXPECT_EQ(Add("img", "data").location, Uri(d(0) + "/img"));
}

// FS-45: missing datadirs are created — by the first add, so that configuring a store to read
// from it (the tool's `stores`, `get`) leaves no directory behind.
TEST_F(DatadirsTest, MissingDatadirIsCreatedByTheFirstAdd) {
  CreateLegacy("filesystem_store_datadir = " + root_.sub("a/b/c"));
  EXPECT_TRUE(store().add_enabled()) << store().add_disabled_reason();
  EXPECT_FALSE(fs::exists(root_.sub("a")));
  EXPECT_EQ(Add("img", "data").location, Uri(root_.sub("a/b/c/img")));
  EXPECT_TRUE(fs::is_directory(root_.sub("a/b/c")));
}

// FS-45: a datadir that cannot be created (its parent is a file).
TEST_F(DatadirsTest, UncreatableDatadirDisablesAdd) {
  WriteFile(root_.sub("file"), "not a directory");
  CreateLegacy("filesystem_store_datadir = " + root_.sub("file/images"));
  ExpectAddDisabled("Unable to create datadir: " + root_.sub("file/images"));
}

// FS-45: an existing datadir without write permission. Root ignores permissions, so the store
// is then created on a thread running as nobody.
TEST_F(DatadirsTest, UnwritableDatadirDisablesAddButStaysReadable) {
  const std::string ro = root_.sub("ro");
  fs::create_directory(ro);
  WriteFile(ro + "/img", "readable");
  fs::permissions(root(), fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                              fs::perms::others_read | fs::perms::others_exec);
  fs::permissions(ro, fs::perms::owner_read | fs::perms::owner_exec | fs::perms::group_read |
                          fs::perms::group_exec | fs::perms::others_read | fs::perms::others_exec);
  fs::permissions(ro + "/img",
                  fs::perms::owner_read | fs::perms::group_read | fs::perms::others_read);
  const std::string reason = "Permission to write in " + ro + " denied";
  std::string read_back;
  std::optional<Error> rethrown;
  RunUnprivileged([&] {
    CreateLegacy("filesystem_store_datadir = " + ro);
    read_back = Get(Uri(ro + "/img"));
    rethrown = CatchError([&] { store().configure(true); });
  });
  EXPECT_EQ(read_back, "readable");
  ExpectAddDisabled(reason, /*reconfigure=*/false);
  ASSERT_TRUE(rethrown.has_value());
  EXPECT_EQ(rethrown->message(), std::string(kReasonPrefix) + reason);
  EXPECT_EQ(ListDir(ro), std::vector<std::string>{"img"});
}

// FS-46
TEST_F(DatadirsTest, MultiStoreUrlPrefix) {
  CreateMulti({{"file1", "filesystem_store_datadir = " + datadir()}});
  EXPECT_EQ(store().url_prefix(), "file://" + datadir());
  CreateMulti(
      {{"file1", "filesystem_store_datadirs = " + d(0) + ":1\nfilesystem_store_datadirs = " + d(1) +
                     ":2\nfilesystem_store_datadir ="}});
  EXPECT_EQ(store().url_prefix(), "file://" + d(1));
}

}  // namespace
}  // namespace glance_store::filesystem::testing
