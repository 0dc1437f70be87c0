// Crash safety of add: a killed add leaves only a temporary, which the next run removes; a live
// add's temporary is never touched.
#include <signal.h>
#include <sys/stat.h>

#include <filesystem>
#include <regex>

#include "tool/tool_runner.h"

namespace glance_store::tool_test {
namespace {

namespace fs = std::filesystem;

constexpr std::size_t kMiB = 1 << 20;

class CrashTest : public ToolTest {
 protected:
  // The add temporaries of image `id` in the datadir.
  std::vector<std::string> Temporaries(const std::string& id) const {
    std::vector<std::string> out;
    for (const auto& name : ListDir(datadir_)) {
      if (name.starts_with("." + id + ".tmp.")) out.push_back(datadir_ + "/" + name);
    }
    return out;
  }

  // Starts `add --image-id id` reading from a pipe, feeds it `data` (the pipe stays open) and
  // waits until its temporary holds at least `at_least` bytes; returns the temporary's path.
  std::string StartAddAndWaitForTemporary(const std::string& id, std::string_view data,
                                          std::uint64_t at_least) {
    add_ = StartTool({"add", "--image-id", id});
    EXPECT_TRUE(add_->write_stdin(data));
    std::string temporary;
    const bool seen = WaitUntil([&] {
      const auto temps = Temporaries(id);
      std::error_code ec;
      if (temps.size() != 1 || fs::file_size(temps.front(), ec) < at_least || ec) return false;
      temporary = temps.front();
      return true;
    });
    EXPECT_TRUE(seen) << "no temporary of " << at_least << " bytes for " << id << " in "
                      << testing::PrintToString(ListDir(datadir_));
    const std::regex name("\\." + id + "\\.tmp\\." + std::to_string(add_->pid()) +
                          "\\.[0-9a-f]{16}");
    EXPECT_TRUE(std::regex_match(fs::path(temporary).filename().string(), name)) << temporary;
    return temporary;
  }

  // Kills the add started above mid-way and checks what it left: the temporary only.
  std::string KillAddMidway(const std::string& id) {
    const std::string temporary = StartAddAndWaitForTemporary(id, RandomBytes(4 * kMiB, 1), kMiB);
    add_->kill(SIGKILL);
    const RunResult killed = add_->communicate();
    EXPECT_EQ(killed.exit_code, 128 + SIGKILL);
    EXPECT_EQ(killed.out, "");
    EXPECT_FALSE(fs::exists(ImagePath(id)));
    EXPECT_TRUE(fs::exists(temporary)) << "a killed add cannot clean up after itself";
    return temporary;
  }

  std::unique_ptr<Child> add_;
};

struct NextRunCase : NamedCase {
  std::vector<std::string> args;  // "{uri}" stands for the killed add's image URI
  int exit_code;
};

class NextRunTest : public CrashTest, public ::testing::WithParamInterface<NextRunCase> {};

TEST_P(NextRunTest, RemovesTheTemporaryOfAKilledAdd) {
  const std::string temporary = KillAddMidway("crashed");
  std::vector<std::string> args = GetParam().args;
  for (auto& arg : args) {
    if (arg == "{uri}") arg = ImageUri("crashed");
  }
  EXPECT_EQ(Tool(args).exit_code, GetParam().exit_code);
  EXPECT_FALSE(fs::exists(temporary)) << "the next run must remove the leftover";

  EXPECT_FALSE(fs::exists(ImagePath("crashed")));
  EXPECT_TRUE(FailedWith(Tool({"get", ImageUri("crashed")}), 10, "NotFound"));
  const std::string data = RandomBytes(kMiB + 17, 2);
  Json added;
  ASSERT_TRUE(SucceededWithJson(Tool({"add", "--image-id", "crashed", "-"}, data), &added));
  EXPECT_EQ(added.value("size", std::uint64_t{0}), data.size());
  const RunResult got = Tool({"get", ImageUri("crashed")});
  ASSERT_TRUE(Succeeded(got));
  EXPECT_TRUE(SameBytes(got.out, data));
  EXPECT_EQ(ListDir(datadir_), std::vector<std::string>{"crashed"});
}

INSTANTIATE_TEST_SUITE_P(Commands, NextRunTest,
                         ::testing::Values(NextRunCase{"Get", {"get", "{uri}"}, 10},
                                           NextRunCase{"Size", {"size", "{uri}"}, 10},
                                           NextRunCase{"Delete", {"delete", "{uri}"}, 10},
                                           NextRunCase{"Stores", {"stores"}, 0},
                                           NextRunCase{"ParseUri", {"parse-uri", "{uri}"}, 0}),
                         CaseName());

TEST_F(CrashTest, AnAddOfTheSameIdAfterACrashSucceeds) {
  const std::string temporary = KillAddMidway("again");
  const std::string data = RandomBytes(2 * kMiB, 3);
  ASSERT_TRUE(Succeeded(Tool({"add", "--image-id", "again", "-"}, data)));
  EXPECT_FALSE(fs::exists(temporary));
  EXPECT_TRUE(SameBytes(ReadFile(ImagePath("again")), data));
  EXPECT_EQ(ListDir(datadir_), std::vector<std::string>{"again"});
}

TEST_F(CrashTest, OtherRunsLeaveALiveAddsTemporaryAlone) {
  const std::string data = RandomBytes(3 * kMiB + 7, 4);
  const std::string head = data.substr(0, 2 * kMiB);
  const std::string temporary = StartAddAndWaitForTemporary("live", head, kMiB);
  // An unlocked leftover of some other, dead add: the same run must remove that one.
  ASSERT_TRUE(fs::is_directory(datadir_));
  const std::string stale = WriteFile(datadir_ + "/.dead.tmp.1.0123456789abcdef", "stale");

  struct stat before {};
  ASSERT_EQ(::stat(temporary.c_str(), &before), 0);
  ASSERT_TRUE(Succeeded(Tool({"stores"})));
  EXPECT_FALSE(fs::exists(stale));
  struct stat after {};
  ASSERT_EQ(::stat(temporary.c_str(), &after), 0) << "stores removed a live add's temporary";
  EXPECT_EQ(after.st_ino, before.st_ino);
  EXPECT_FALSE(fs::exists(ImagePath("live")));

  ASSERT_TRUE(add_->write_stdin(std::string_view(data).substr(head.size())));
  add_->close_stdin();
  Json added;
  ASSERT_TRUE(SucceededWithJson(add_->communicate(), &added));
  EXPECT_EQ(added.value("location", ""), ImageUri("live"));
  EXPECT_EQ(added.value("size", std::uint64_t{0}), data.size());
  EXPECT_EQ(added.value("checksum", ""), Digest("md5sum", WriteFile(Path("live.raw"), data)));
  EXPECT_TRUE(SameBytes(ReadFile(ImagePath("live")), data));
  EXPECT_EQ(ListDir(datadir_), std::vector<std::string>{"live"});
}

}  // namespace
}  // namespace glance_store::tool_test
