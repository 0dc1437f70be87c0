// The progress bar: drawn on a terminal for operations over a second, never on a pipe.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <thread>

#include "tool/tool_runner.h"

namespace glance_store::tool_test {
namespace {

constexpr std::size_t kChunk = 64 * 1024;
constexpr int kChunks = 25;
constexpr auto kInterval = std::chrono::milliseconds(100);  // 25 × 100 ms: about 2.5 s

// A FIFO fed slowly by a thread: kChunks blocks of kChunk bytes, one every kInterval, once a
// reader has opened it (or nothing, if none does within 30 s).
class SlowFifo {
 public:
  explicit SlowFifo(std::string path) : path_(std::move(path)) {
    data_ = RandomBytes(kChunks * kChunk, 99);
    if (::mkfifo(path_.c_str(), 0600) != 0) throw std::runtime_error("mkfifo " + path_);
    thread_ = std::thread([this] { Feed(); });
  }
  ~SlowFifo() { thread_.join(); }

  const std::string& path() const { return path_; }
  const std::string& data() const { return data_; }

 private:
  void Feed() const {
    int fd = -1;
    WaitUntil([&] {
      fd = ::open(path_.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
      return fd >= 0 || errno != ENXIO;
    });
    if (fd < 0) return;
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    for (std::size_t at = 0; at < data_.size(); at += kChunk) {
      if (at != 0) std::this_thread::sleep_for(kInterval);
      if (::write(fd, data_.data() + at, kChunk) != static_cast<ssize_t>(kChunk)) break;
    }
    ::close(fd);
  }

  std::string path_;
  std::string data_;
  std::thread thread_;
};

class ProgressTest : public ToolTest {
 protected:
  std::vector<std::string> AddCommand(const std::string& file,
                                      std::optional<std::size_t> size = std::nullopt) const {
    std::vector<std::string> argv{GLANCE_STORE_BINARY, "--config", config_, "add",
                                  "--image-id",        "slow"};
    if (size) argv.insert(argv.end(), {"--size", std::to_string(*size)});
    argv.push_back(file);
    return argv;
  }

  // Runs a command with stdout and stderr on a pseudo-terminal; returns what it showed there.
  RunResult UnderTerminal(const std::vector<std::string>& argv) const {
    std::string command;
    for (const auto& word : argv) command += (command.empty() ? "" : " ") + ShellQuote(word);
    return RunProgram({"script", "-qec", command, "/dev/null"}, {Env(), "/dev/null"});
  }

  void ExpectStored(const std::string& data) const {
    const RunResult got = Tool({"get", ImageUri("slow")});
    ASSERT_TRUE(Succeeded(got));
    EXPECT_TRUE(SameBytes(got.out, data));
  }
};

struct BarCase : NamedCase {
  bool declare_size;
  std::vector<std::string> shown;
};

class ProgressBarTest : public ProgressTest, public ::testing::WithParamInterface<BarCase> {};

TEST_P(ProgressBarTest, SlowAddOnATerminalDrawsTheBar) {
  SlowFifo fifo(Path("slow.fifo"));
  std::optional<std::size_t> size;
  if (GetParam().declare_size) size = fifo.data().size();
  const RunResult shown = UnderTerminal(AddCommand(fifo.path(), size));
  ASSERT_EQ(shown.exit_code, 0) << shown.out << shown.err;
  for (const auto& text : GetParam().shown) {
    EXPECT_NE(shown.out.find(text), std::string::npos) << "no '" << text << "' in:\n" << shown.out;
  }
  EXPECT_NE(shown.out.find("\"location\": \"" + ImageUri("slow") + "\""), std::string::npos);
  ExpectStored(fifo.data());
}

INSTANTIATE_TEST_SUITE_P(
    Sizes, ProgressBarTest,
    ::testing::Values(BarCase{"UnknownSize", false, {"\radd ", " MiB/s", " done"}},
                      BarCase{"DeclaredSize", true, {"\radd [", "100.0%", " MiB/s", " done"}}),
    CaseName());

TEST_F(ProgressTest, SlowAddWithStderrOnAPipeDrawsNothing) {
  SlowFifo fifo(Path("slow.fifo"));
  const RunResult result = RunProgram(AddCommand(fifo.path()), Spawn());
  Json added;
  ASSERT_TRUE(SucceededWithJson(result, &added));  // also: stderr is empty
  EXPECT_EQ(added.value("size", std::uint64_t{0}), fifo.data().size());
  ExpectStored(fifo.data());
}

TEST_F(ProgressTest, QuickAddOnATerminalDrawsNothing) {
  const std::string data = RandomBytes(1000, 3);
  const RunResult shown = UnderTerminal(AddCommand(WriteFile(Path("small.raw"), data)));
  ASSERT_EQ(shown.exit_code, 0) << shown.out << shown.err;
  EXPECT_NE(shown.out.find("\"location\""), std::string::npos) << shown.out;
  EXPECT_EQ(shown.out.find("MiB"), std::string::npos) << shown.out;
  ExpectStored(data);
}

}  // namespace
}  // namespace glance_store::tool_test
