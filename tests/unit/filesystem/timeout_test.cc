// Timeout protection: stat, unlink and statvfs run on a per-store pool and fail with
// TimeoutError when they hang (FS-64..FS-76).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "drivers/filesystem/fs_timeout.h"
#include "fs_test_util.h"

namespace glance_store::filesystem::testing {
namespace {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

constexpr milliseconds kHang{2000};
constexpr std::string_view kTimedOut =
    "Operation timed out after 1s. Check storage health and connectivity.";

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Waits (at most 10 s) until `done` holds.
template <typename Pred>
bool WaitFor(Pred done) {
  const auto deadline = Clock::now() + std::chrono::seconds(10);
  while (!done()) {
    if (Clock::now() > deadline) return false;
    std::this_thread::sleep_for(milliseconds(10));
  }
  return true;
}

class TimeoutTest : public FsStoreTest {
 public:
  // The hang cases below call these from outside the class.
  using FsStoreTest::Add;
  using FsStoreTest::datadir;
  using FsStoreTest::registry;
  using FsStoreTest::store;
  using FsStoreTest::Uri;

 protected:
  // A legacy store with `options`, holding image "img".
  void CreateWithImage(const std::string& options) {
    CreateLegacy(options);
    Add("img", "image data");
  }
  std::string image_path() const { return datadir() + "/img"; }
  std::string image_uri() const { return Uri(image_path()); }
};

// FS-64, FS-70: no pool by default or with 0; calls run in the caller's thread.
class NoTimeoutTest : public TimeoutTest, public ::testing::WithParamInterface<const char*> {};

TEST_P(NoTimeoutTest, CallsRunInTheCallersThread) {
  CreateWithImage(GetParam());
  const TimeoutExecutor* executor = store().timeout_executor();
  ASSERT_NE(executor, nullptr);
  EXPECT_FALSE(executor->enabled());
  EXPECT_EQ(executor->timeout_seconds(), 0);
  auto sys = InjectSyscalls();
  EXPECT_EQ(registry().get_size(image_uri()), 10U);
  registry().remove(image_uri());
  const auto me = std::this_thread::get_id();
  // get_size, then remove (which looks before it unlinks): two stats, both in this thread.
  EXPECT_EQ(sys->threads(Op::kStat), (std::vector<std::thread::id>{me, me}));
  EXPECT_EQ(sys->threads(Op::kUnlink), std::vector<std::thread::id>{me});
}

INSTANTIATE_TEST_SUITE_P(Options, NoTimeoutTest,
                         ::testing::Values("", "filesystem_store_timeout = 0"));

// FS-65
TEST_F(TimeoutTest, EnabledWithTimeout) {
  CreateLegacy(
      "filesystem_store_timeout = 30\nfilesystem_store_thread_pool_size = 5\n"
      "filesystem_store_threadpool_threshold = 80");
  const TimeoutExecutor* executor = store().timeout_executor();
  EXPECT_TRUE(executor->enabled());
  EXPECT_EQ(executor->timeout_seconds(), 30);
  EXPECT_EQ(executor->pool_size(), 5U);
  EXPECT_EQ(executor->threshold_percent(), 80);
}

// FS-66, FS-68, FS-69: with a generous timeout everything works, on the pool's threads.
TEST_F(TimeoutTest, OperationsSucceedWithinTheTimeout) {
  CreateWithImage("filesystem_store_timeout = 30");
  auto sys = InjectSyscalls();
  EXPECT_EQ(registry().get_size(image_uri()), 10U);
  EXPECT_FALSE(store().choose_datadir(0).empty());
  registry().remove(image_uri());
  EXPECT_EQ(CatchError([&] { registry().get(image_uri()); }).kind(), ErrorKind::kNotFound);
  const auto me = std::this_thread::get_id();
  for (Op op : {Op::kStat, Op::kUnlink, Op::kStatvfs}) {
    ASSERT_FALSE(sys->threads(op).empty());
    EXPECT_NE(sys->threads(op).front(), me);
  }
}

// FS-67, FS-68, FS-69: a call hanging for 2 s fails after 1 s.
struct HangCase {
  const char* name;
  Op op;
  void (*call)(TimeoutTest& test);
};

void PrintTo(const HangCase& c, std::ostream* os) { *os << c.name; }

class HangTest : public TimeoutTest, public ::testing::WithParamInterface<HangCase> {};

TEST_P(HangTest, FailsWithTimeoutError) {
  CreateWithImage("filesystem_store_timeout = 1");
  auto sys = InjectSyscalls();
  sys->delay(GetParam().op, kHang);
  const auto start = Clock::now();
  Error e = CatchError([&] { GetParam().call(*this); });
  const double elapsed = SecondsSince(start);
  EXPECT_EQ(e.kind(), ErrorKind::kTimeoutError) << e.message();
  EXPECT_EQ(e.message(), kTimedOut);
  EXPECT_GE(elapsed, 0.9);
  EXPECT_LT(elapsed, 1.9);
}

INSTANTIATE_TEST_SUITE_P(
    Calls, HangTest,
    ::testing::Values(
        HangCase{"DeleteUnlink", Op::kUnlink,
                 [](TimeoutTest& t) { t.registry().remove(t.Uri(t.datadir() + "/img")); }},
        HangCase{"GetSizeStat", Op::kStat,
                 [](TimeoutTest& t) { t.registry().get_size(t.Uri(t.datadir() + "/img")); }},
        HangCase{"GetStat", Op::kStat,
                 [](TimeoutTest& t) { t.registry().get(t.Uri(t.datadir() + "/img")); }},
        HangCase{"FreeSpaceStatvfs", Op::kStatvfs,
                 [](TimeoutTest& t) { t.store().choose_datadir(0); }},
        HangCase{"AddStatvfs", Op::kStatvfs, [](TimeoutTest& t) { t.Add("new", "data"); }}),
    [](const auto& info) { return info.param.name; });

// A call that timed out still runs to its end in the background: the path it was given must
// still be valid then (the caller's frame is long gone). The freed memory of the caller's
// strings is reused right away, so a call reading a dangling path sees the junk.
class TimedOutCallTest : public TimeoutTest, public ::testing::WithParamInterface<HangCase> {};

TEST_P(TimedOutCallTest, BackgroundCallSeesItsOwnPath) {
  CreateWithImage("filesystem_store_timeout = 1");
  auto sys = InjectSyscalls();
  sys->delay(GetParam().op, kHang);
  sys->reread_paths_after_delay(true);
  Error e = CatchError([&] { GetParam().call(*this); });
  ASSERT_EQ(e.kind(), ErrorKind::kTimeoutError);
  std::vector<std::string> junk;
  for (int i = 0; i < 256; ++i) junk.push_back("/" + std::string(image_path().size() - 1, 'X'));
  ASSERT_TRUE(WaitFor([&] { return !sys->paths(GetParam().op).empty(); }));
  EXPECT_EQ(sys->paths(GetParam().op), std::vector<std::string>{image_path()});
  registry_.reset();  // joins the pool before the junk goes
}

INSTANTIATE_TEST_SUITE_P(
    Calls, TimedOutCallTest,
    ::testing::Values(
        HangCase{"DeleteUnlink", Op::kUnlink,
                 [](TimeoutTest& t) { t.registry().remove(t.Uri(t.datadir() + "/img")); }},
        HangCase{"GetSizeStat", Op::kStat,
                 [](TimeoutTest& t) { t.registry().get_size(t.Uri(t.datadir() + "/img")); }}),
    [](const auto& info) { return info.param.name; });

// FS-71 with decision Q-17: in-flight calls (the new one included) / pool size, warned from the
// threshold on.
TEST(TimeoutExecutorTest, WarnsWhenPoolUsageReachesTheThreshold) {
  LogCapture log;
  TimeoutExecutor executor(10, 3, 66);
  std::promise<void> release;
  std::shared_future<void> gate = release.get_future().share();
  std::atomic<int> started{0};
  auto blocking = [&] {
    return executor.run<int>([&] {
      ++started;
      gate.wait();
      return 1;
    });
  };
  std::future<int> first = std::async(std::launch::async, blocking);
  // Opens the gate on every way out, before the futures' destructors wait for their threads.
  struct Release {
    std::promise<void>& promise;
    bool done = false;
    void operator()() {
      if (!done) promise.set_value();
      done = true;
    }
    ~Release() { (*this)(); }
  } open_gate{release};
  ASSERT_TRUE(WaitFor([&] { return started == 1; }));
  EXPECT_TRUE(log.matching("Thread pool usage").empty());
  std::future<int> second = std::async(std::launch::async, blocking);
  ASSERT_TRUE(WaitFor([&] { return started == 2; }));
  EXPECT_EQ(log.matching("Thread pool usage"),
            std::vector<std::string>{
                "Thread pool usage is at 66.7% (threshold: 66%). Pool may start blocking."});
  EXPECT_EQ(executor.run<int>([] { return 3; }), 3);
  const auto warnings = log.matching("Thread pool usage");
  ASSERT_EQ(warnings.size(), 2U);
  EXPECT_EQ(warnings[1],
            "Thread pool usage is at 100.0% (threshold: 66%). Pool may start blocking.");
  open_gate();
  EXPECT_EQ(first.get(), 1);
  EXPECT_EQ(second.get(), 1);
}

// FS-72
TEST(TimeoutExecutorTest, BlockingCallTimesOut) {
  TimeoutExecutor executor(0.1, 1, 100);
  EXPECT_TRUE(executor.enabled());
  std::promise<void> release;
  std::shared_future<void> gate = release.get_future().share();
  const auto start = Clock::now();
  Error e = CatchError([&] {
    executor.run<int>([gate] {
      gate.wait_for(std::chrono::seconds(5));  // bounded, should the timeout not work
      return 1;
    });
  });
  EXPECT_EQ(e.kind(), ErrorKind::kTimeoutError);
  EXPECT_LT(SecondsSince(start), 1.0);
  release.set_value();
}

TEST(TimeoutExecutorTest, ErrorsOfTheCallPropagate) {
  TimeoutExecutor executor(5, 2, 100);
  Error e = CatchError(
      [&] { executor.run<int>([]() -> int { throw Error(ErrorKind::kNotFound, "gone"); }); });
  EXPECT_EQ(e.kind(), ErrorKind::kNotFound);
  EXPECT_EQ(e.message(), "gone");
}

// Out-of-range values fail store creation.
class BadTimeoutOptionTest : public TimeoutTest,
                             public ::testing::WithParamInterface<const char*> {};

TEST_P(BadTimeoutOptionTest, FailsCreation) {
  Error e = CatchError([&] { CreateLegacy(GetParam()); });
  EXPECT_EQ(e.kind(), ErrorKind::kBadStoreConfiguration);
}

INSTANTIATE_TEST_SUITE_P(Options, BadTimeoutOptionTest,
                         ::testing::Values("filesystem_store_timeout = -1",
                                           "filesystem_store_thread_pool_size = 0",
                                           "filesystem_store_threadpool_threshold = 101",
                                           "filesystem_store_threadpool_threshold = -1",
                                           "filesystem_store_timeout = soon"));

// FS-74, FS-75: each backend its own settings, [backend_defaults] filling the gaps.
TEST_F(TimeoutTest, BackendsHaveIndependentSettings) {
  CreateMulti({{"file1", "filesystem_store_datadir = " + root_.sub("one") +
                             "\nfilesystem_store_timeout = 30\nfilesystem_store_thread_pool_size = "
                             "5\nfilesystem_store_threadpool_threshold = 80"},
               {"file2", "filesystem_store_datadir = " + root_.sub("two") +
                             "\nfilesystem_store_timeout = 60\nfilesystem_store_thread_pool_size = "
                             "10\nfilesystem_store_threadpool_threshold = 90"},
               {"file3", "filesystem_store_datadir = " + root_.sub("three")}});
  const TimeoutExecutor* one = store("file1").timeout_executor();
  const TimeoutExecutor* two = store("file2").timeout_executor();
  EXPECT_EQ(one->timeout_seconds(), 30);
  EXPECT_EQ(one->pool_size(), 5U);
  EXPECT_EQ(one->threshold_percent(), 80);
  EXPECT_EQ(two->timeout_seconds(), 60);
  EXPECT_EQ(two->pool_size(), 10U);
  EXPECT_EQ(two->threshold_percent(), 90);
  EXPECT_FALSE(store("file3").timeout_executor()->enabled());
}

TEST_F(TimeoutTest, BackendDefaultsApply) {
  CreateMulti({{"file1", "filesystem_store_datadir = " + root_.sub("one")},
               {"file2", "filesystem_store_datadir = " + root_.sub("two") +
                             "\nfilesystem_store_timeout = 20"}},
              "filesystem_store_timeout = 45\nfilesystem_store_thread_pool_size = 8\n"
              "filesystem_store_threadpool_threshold = 85");
  const TimeoutExecutor* one = store("file1").timeout_executor();
  const TimeoutExecutor* two = store("file2").timeout_executor();
  EXPECT_EQ(one->timeout_seconds(), 45);
  EXPECT_EQ(one->pool_size(), 8U);
  EXPECT_EQ(one->threshold_percent(), 85);
  EXPECT_EQ(two->timeout_seconds(), 20);
  EXPECT_EQ(two->pool_size(), 8U);
  EXPECT_EQ(two->threshold_percent(), 85);
}

// FS-76: a hang on file1 does not slow file2.
TEST_F(TimeoutTest, TimeoutOnOneBackendLeavesTheOtherAlone) {
  CreateMulti({{"file1", "filesystem_store_datadir = " + root_.sub("one") +
                             "\nfilesystem_store_timeout = 1"},
               {"file2", "filesystem_store_datadir = " + root_.sub("two")}});
  const AddResult one = Add("img", "data", 4, "sha256", "file1");
  const AddResult two = Add("img", "other", 5, "sha256", "file2");
  auto sys = InjectSyscalls("file1");
  sys->delay(Op::kStat, kHang);
  EXPECT_EQ(CatchError([&] { registry().get_size(one.location, "file1"); }).kind(),
            ErrorKind::kTimeoutError);
  const auto start = Clock::now();
  EXPECT_EQ(registry().get_size(two.location, "file2"), 5U);
  EXPECT_LT(SecondsSince(start), 0.5);
}

}  // namespace
}  // namespace glance_store::filesystem::testing
