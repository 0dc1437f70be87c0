// Crash safety: an add writes `.<id>.tmp.<pid>.<hex16>` under an exclusive flock, makes it
// durable, then renames it into place without ever replacing an image; configure removes the
// temporaries nobody holds.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "fs_test_util.h"

namespace glance_store::filesystem::testing {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kStale = ".img.tmp.99999.0123456789abcdef";

// Whether another open file description can take an exclusive lock on `path` right now.
bool Lockable(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  const bool locked = ::flock(fd, LOCK_EX | LOCK_NB) == 0;
  ::close(fd);
  return locked;
}

using CrashSafetyTest = FsStoreTest;

TEST_F(CrashSafetyTest, WritesALockedTemporaryBesideTheFinalName) {
  CreateLegacy();
  auto sys = InjectSyscalls();
  std::vector<std::string> during;
  bool lockable = true;
  sys->on_pwrite([&] {
    if (!during.empty()) return;
    during = ListDir(datadir());
    if (during.size() == 1) lockable = Lockable(datadir() + "/" + during.front());
  });
  Add("img", Pattern(5000));
  ASSERT_EQ(during.size(), 1U);
  const std::regex name("\\.img\\.tmp\\." + std::to_string(::getpid()) + "\\.[0-9a-f]{16}");
  EXPECT_TRUE(std::regex_match(during.front(), name)) << during.front();
  EXPECT_TRUE(is_temporary_name(during.front()));
  EXPECT_FALSE(lockable) << "the temporary must be locked while written";
  EXPECT_EQ(sys->paths(Op::kOpen), std::vector<std::string>{datadir() + "/" + during.front()});
  EXPECT_EQ(ListDir(datadir()), std::vector<std::string>{"img"});
}

// The data is flushed before the rename, and the directory after it.
TEST_F(CrashSafetyTest, FlushesBeforeAndAfterTheRename) {
  CreateLegacy();
  auto sys = InjectSyscalls();
  Add("img", Pattern(5000));
  const std::vector<Op> seq = sys->sequence();
  const auto rename = std::find(seq.begin(), seq.end(), Op::kRename);
  ASSERT_NE(rename, seq.end());
  EXPECT_EQ(std::count(seq.begin(), seq.end(), Op::kRename), 1);
  const auto last_write = std::find(seq.rbegin(), seq.rend(), Op::kPwrite).base() - 1;
  const auto first_fsync = std::find(seq.begin(), seq.end(), Op::kFsync);
  EXPECT_LT(last_write, first_fsync);
  EXPECT_LT(first_fsync, rename);
  EXPECT_NE(std::find(rename, seq.end(), Op::kFsync), seq.end()) << "directory not flushed";
  EXPECT_EQ(sys->paths(Op::kRename), std::vector<std::string>{datadir() + "/img"});
}

// An image appearing under the final name while the add writes is never replaced.
TEST_F(CrashSafetyTest, RenameTargetAppearingMeanwhileIsDuplicate) {
  CreateLegacy();
  auto sys = InjectSyscalls();
  sys->on_pwrite([&] {
    if (!fs::exists(datadir() + "/img")) WriteFile(datadir() + "/img", "intruder");
  });
  Error e = CatchError([&] { Add("img", Pattern(5000)); });
  EXPECT_EQ(e.kind(), ErrorKind::kDuplicate);
  EXPECT_EQ(e.message(), "Image " + datadir() + "/img already exists");
  EXPECT_EQ(ReadFile(datadir() + "/img"), "intruder");
  EXPECT_EQ(ListDir(datadir()), std::vector<std::string>{"img"});
}

// Two adds of one id racing past the Duplicate check: one wins, the other is Duplicate.
TEST_F(CrashSafetyTest, ConcurrentAddsOfOneIdHaveOneWinner) {
  CreateLegacy();
  auto sys = InjectSyscalls();
  std::mutex mutex;
  std::condition_variable arrived;
  std::set<std::thread::id> writers;
  sys->on_pwrite([&] {
    std::unique_lock lock(mutex);
    if (!writers.insert(std::this_thread::get_id()).second) return;
    arrived.notify_all();
    arrived.wait_for(lock, std::chrono::seconds(5), [&] { return writers.size() == 2; });
  });
  const std::string a = Pattern(8000);
  const std::string b(8000, 'b');
  std::optional<Error> error_a;
  std::optional<Error> error_b;
  auto add = [&](const std::string& data, std::optional<Error>& error) {
    try {
      Add("img", data);
    } catch (const Error& e) {
      error = e;
    }
  };
  std::thread ta([&] { add(a, error_a); });
  std::thread tb([&] { add(b, error_b); });
  ta.join();
  tb.join();
  EXPECT_EQ(writers.size(), 2U);
  ASSERT_NE(error_a.has_value(), error_b.has_value()) << "exactly one add must fail";
  const std::optional<Error>& loser = error_a ? error_a : error_b;
  EXPECT_EQ(loser->kind(), ErrorKind::kDuplicate);
  EXPECT_EQ(ReadFile(datadir() + "/img"), error_a ? b : a);
  EXPECT_EQ(ListDir(datadir()), std::vector<std::string>{"img"});
}

// Configure removes the temporaries of adds that died, and nothing else.
TEST_F(CrashSafetyTest, StaleTemporaryIsRemovedOnCreate) {
  fs::create_directories(datadir());
  const std::vector<std::string> kept = {".keep",
                                         ".img.tmp.99999.0123456789abcdeg",
                                         ".img.tmp.99999.0123456789abcde",
                                         ".img.tmp.abc.0123456789abcdef",
                                         ".img.tmp..0123456789abcdef",
                                         "img.tmp.99999.0123456789abcdef",
                                         "other"};
  for (const auto& name : kept) WriteFile(datadir() + "/" + name, "keep me");
  WriteFile(datadir() + "/" + std::string(kStale), "partial");
  CreateLegacy();
  std::vector<std::string> expected = kept;
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(ListDir(datadir()), expected);
}

TEST_F(CrashSafetyTest, LockedTemporaryIsKept) {
  fs::create_directories(datadir());
  const std::string path = datadir() + "/" + std::string(kStale);
  WriteFile(path, "in progress");
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::flock(fd, LOCK_EX), 0);
  CreateLegacy();
  EXPECT_TRUE(fs::exists(path));
  EXPECT_EQ(ReadFile(path), "in progress");
  ::close(fd);  // the writer died: the next configure cleans up
  CreateLegacy();
  EXPECT_FALSE(fs::exists(path));
}

// `cleanup`: a dead add's temporary that appeared after configure is listed and removed; a
// locked one (a live add in another process) and entries that only look like one are not.
TEST_F(CrashSafetyTest, CleanupListsAndRemovesOnlyDeadAddsTemporaries) {
  CreateLegacy();
  fs::create_directories(datadir());
  const std::string dead = datadir() + "/" + std::string(kStale);
  const std::string live = datadir() + "/.other.tmp.99998.0123456789abcdef";
  WriteFile(dead, "partial");
  WriteFile(live, "in progress");
  fs::create_directory(datadir() + "/.dir.tmp.1.0123456789abcdef");
  WriteFile(datadir() + "/img", "an image");
  const int fd = ::open(live.c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::flock(fd, LOCK_EX), 0);
  EXPECT_TRUE(store().find_leftovers(3600).empty()) << "younger than an hour";
  const std::vector<Leftover> found = store().find_leftovers(0);
  ASSERT_EQ(found.size(), 1U);
  EXPECT_EQ(found[0].name, dead);
  EXPECT_EQ(found[0].image_id, "img");
  EXPECT_EQ(found[0].kind, "temporary file");
  store().remove_leftover(found[0]);
  EXPECT_FALSE(fs::exists(dead));
  store().remove_leftover(found[0]);  // gone already: not an error
  // A leftover listed while its add still held it is never removed.
  const Leftover held{"temporary file", live, "other", 0, ""};
  EXPECT_EQ(CatchError([&] { store().remove_leftover(held); }).kind(), ErrorKind::kInUseByStore);
  EXPECT_EQ(ReadFile(live), "in progress");
  EXPECT_EQ(ReadFile(datadir() + "/img"), "an image");
  ::close(fd);
}

// Only regular files are removed: a symlink or a directory with a temporary's name stays, and
// what a symlink points to is untouched.
TEST_F(CrashSafetyTest, NonRegularEntriesNamedLikeTemporariesAreKept) {
  fs::create_directories(datadir());
  WriteFile(root_.sub("outside"), "secret");
  const std::string link = datadir() + "/.a.tmp.1.0123456789abcdef";
  const std::string dir = datadir() + "/.b.tmp.1.0123456789abcdef";
  fs::create_symlink(root_.sub("outside"), link);
  fs::create_directory(dir);
  WriteFile(dir + "/inside", "x");
  CreateLegacy();
  EXPECT_TRUE(fs::is_symlink(link));
  EXPECT_TRUE(fs::is_directory(dir));
  EXPECT_EQ(ReadFile(root_.sub("outside")), "secret");
  EXPECT_EQ(ReadFile(dir + "/inside"), "x");
}

TEST_F(CrashSafetyTest, EveryDatadirIsCleaned) {
  for (const char* d : {"d0", "d1"}) {
    fs::create_directories(root_.sub(d));
    WriteFile(root_.sub(d) + "/" + std::string(kStale), "partial");
  }
  CreateWithDatadirs({root_.sub("d0") + ":1", root_.sub("d1") + ":2"});
  EXPECT_TRUE(ListDir(root_.sub("d0")).empty());
  EXPECT_TRUE(ListDir(root_.sub("d1")).empty());
}

// An add whose cleanup failed leaves its temporary unlocked; the next start removes it.
TEST_F(CrashSafetyTest, LeftoverOfAFailedCleanupIsRemovedOnNextCreate) {
  CreateLegacy();
  auto sys = InjectSyscalls();
  sys->fail(Op::kPwrite, ENOSPC);
  sys->fail(Op::kUnlink, EIO);
  EXPECT_EQ(CatchError([&] { Add("img", Pattern(100)); }).kind(), ErrorKind::kStorageFull);
  ASSERT_EQ(ListDir(datadir()).size(), 1U);
  CreateLegacy();
  EXPECT_TRUE(ListDir(datadir()).empty());
  EXPECT_EQ(Add("img", Pattern(100)).location, Uri(datadir() + "/img"));
}

struct NameCase {
  const char* name;
  std::string entry;
  bool temporary;
};

void PrintTo(const NameCase& c, std::ostream* os) { *os << c.name; }

class TemporaryNameTest : public ::testing::TestWithParam<NameCase> {};

TEST_P(TemporaryNameTest, Recognised) {
  EXPECT_EQ(is_temporary_name(GetParam().entry), GetParam().temporary) << GetParam().entry;
}

INSTANTIATE_TEST_SUITE_P(
    Names, TemporaryNameTest,
    ::testing::Values(NameCase{"Ours", ".img.tmp.123.0123456789abcdef", true},
                      NameCase{"UpperHex", ".img.tmp.123.0123456789ABCDEF", true},
                      NameCase{"IdWithDots", ".a.b.tmp.1.0123456789abcdef", true},
                      NameCase{"NoLeadingDot", "img.tmp.123.0123456789abcdef", false},
                      NameCase{"NoPid", ".img.tmp..0123456789abcdef", false},
                      NameCase{"PidNotDigits", ".img.tmp.12a.0123456789abcdef", false},
                      NameCase{"ShortHex", ".img.tmp.123.0123456789abcde", false},
                      NameCase{"LongHex", ".img.tmp.123.0123456789abcdef0", false},
                      NameCase{"NotHex", ".img.tmp.123.0123456789abcdeg", false},
                      NameCase{"NoTmp", ".img.tnp.123.0123456789abcdef", false},
                      NameCase{"NoId", ".tmp.123.0123456789abcdef", false},
                      NameCase{"Dot", ".", false}, NameCase{"DotDot", "..", false}),
    [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace glance_store::filesystem::testing
