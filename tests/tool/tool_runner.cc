#include "tool/tool_runner.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace glance_store::tool_test {
namespace {

namespace fs = std::filesystem;

// Writing to a child that has exited must fail with EPIPE, not kill the test binary.
const bool kSigpipeIgnored = [] {
  std::signal(SIGPIPE, SIG_IGN);
  return true;
}();

[[noreturn]] void SystemError(const std::string& what) {
  throw std::runtime_error(what + ": " + std::strerror(errno));
}

void CloseFd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

std::vector<char*> CStrings(const std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (const auto& s : strings) out.push_back(const_cast<char*>(s.c_str()));
  out.push_back(nullptr);
  return out;
}

int ExitCode(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

}  // namespace

Child::Child(const std::vector<std::string>& argv, const SpawnOptions& options) {
  (void)kSigpipeIgnored;
  int in[2] = {-1, -1};
  int out[2];
  int err[2];
  if ((!options.stdin_path && ::pipe2(in, O_CLOEXEC) != 0) || ::pipe2(out, O_CLOEXEC) != 0 ||
      ::pipe2(err, O_CLOEXEC) != 0) {
    SystemError("pipe2");
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (options.stdin_path) {
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, options.stdin_path->c_str(), O_RDONLY,
                                     0);
  } else {
    posix_spawn_file_actions_adddup2(&actions, in[0], STDIN_FILENO);
  }
  posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, err[1], STDERR_FILENO);
  // The child gets the default SIGPIPE disposition and no blocked signals back.
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t defaults;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);
  sigset_t empty;
  sigemptyset(&empty);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setsigmask(&attr, &empty);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
  std::vector<std::string> command;
  if (options.run_as) {
    const std::string id = std::to_string(*options.run_as);
    command = {"setpriv", "--reuid=" + id, "--regid=" + id, "--clear-groups", "--"};
  }
  command.insert(command.end(), argv.begin(), argv.end());
  auto args = CStrings(command);
  auto env = CStrings(options.env);
  const int rc = ::posix_spawnp(&pid_, args[0], &actions, &attr, args.data(), env.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  CloseFd(in[0]);
  CloseFd(out[1]);
  CloseFd(err[1]);
  in_ = in[1];
  out_ = out[0];
  err_ = err[0];
  if (rc != 0) {
    errno = rc;
    CloseFd(in_);
    CloseFd(out_);
    CloseFd(err_);
    SystemError("posix_spawnp " + argv.front());
  }
}

Child::~Child() {
  if (!reaped_) {
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
  }
  CloseFd(in_);
  CloseFd(out_);
  CloseFd(err_);
}

bool Child::write_stdin(std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(in_, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) {
      pollfd p{in_, POLLOUT, 0};
      ::poll(&p, 1, 100);
      continue;
    }
    if (n <= 0) return false;
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

void Child::close_stdin() { CloseFd(in_); }

void Child::kill(int signal) {
  if (!reaped_) ::kill(pid_, signal);
}

RunResult Child::communicate(std::string_view input, std::chrono::seconds timeout) {
  RunResult result;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  if (in_ >= 0 && input.empty()) close_stdin();
  if (in_ >= 0) ::fcntl(in_, F_SETFL, ::fcntl(in_, F_GETFL) | O_NONBLOCK);
  while (in_ >= 0 || out_ >= 0 || err_ >= 0) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      ::kill(pid_, SIGKILL);
      result.err += "[test harness: killed after the timeout]";
      break;
    }
    pollfd fds[3] = {{in_, POLLOUT, 0}, {out_, POLLIN, 0}, {err_, POLLIN, 0}};
    if (::poll(fds, 3, static_cast<int>(left.count())) < 0 && errno != EINTR) SystemError("poll");
    if (in_ >= 0 && fds[0].revents != 0) {
      const ssize_t n = ::write(in_, input.data(), input.size());
      if (n > 0) input.remove_prefix(static_cast<std::size_t>(n));
      if ((n < 0 && errno != EAGAIN && errno != EINTR) || input.empty()) close_stdin();
    }
    for (auto [fd, sink] : {std::pair{&out_, &result.out}, std::pair{&err_, &result.err}}) {
      if (*fd < 0 || fds[fd == &out_ ? 1 : 2].revents == 0) continue;
      char buffer[65536];
      const ssize_t n = ::read(*fd, buffer, sizeof buffer);
      if (n > 0) {
        sink->append(buffer, static_cast<std::size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        CloseFd(*fd);
      }
    }
  }
  close_stdin();
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  reaped_ = true;
  result.exit_code = ExitCode(status);
  return result;
}

RunResult RunProgram(const std::vector<std::string>& argv, const SpawnOptions& options,
                     std::string_view input) {
  return Child(argv, options).communicate(input);
}

std::string ShellQuote(std::string_view word) {
  std::string out = "'";
  for (char c : word) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string WriteFile(const std::string& path, std::string_view data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
  if (!out.flush()) throw std::runtime_error("cannot write " + path);
  return path;
}

std::string RandomBytes(std::size_t size, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string out(size, '\0');
  for (std::size_t i = 0; i < size; i += 8) {
    const std::uint64_t word = rng();
    std::memcpy(out.data() + i, &word, std::min<std::size_t>(8, size - i));
  }
  return out;
}

bool WaitUntil(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return done();
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

::testing::AssertionResult SameBytes(std::string_view actual, std::string_view expected) {
  if (actual == expected) return ::testing::AssertionSuccess();
  const auto diff = std::mismatch(actual.begin(), actual.end(), expected.begin(), expected.end());
  return ::testing::AssertionFailure()
         << "got " << actual.size() << " bytes, expected " << expected.size()
         << "; first difference at offset " << (diff.first - actual.begin());
}

namespace {

std::string Describe(const RunResult& result) {
  return "exit " + std::to_string(result.exit_code) + "\n--- stdout (" +
         std::to_string(result.out.size()) + " bytes) ---\n" + result.out.substr(0, 2000) +
         "\n--- stderr ---\n" + result.err;
}

}  // namespace

::testing::AssertionResult Succeeded(const RunResult& result) {
  if (result.exit_code == 0 && result.err.empty()) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << Describe(result);
}

::testing::AssertionResult SucceededWithJson(const RunResult& result, Json* json) {
  if (auto ok = Succeeded(result); !ok) return ok;
  *json = Json::parse(result.out, nullptr, /*allow_exceptions=*/false);
  if (json->is_discarded()) {
    return ::testing::AssertionFailure() << "stdout is not JSON\n" << Describe(result);
  }
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult FailedWith(const RunResult& result, int exit_code,
                                      std::string_view kind) {
  const std::string prefix = "glance-store: " + std::string(kind) + ": ";
  std::string problem;
  if (result.exit_code != exit_code) {
    problem = "expected exit code " + std::to_string(exit_code);
  } else if (!result.out.empty()) {
    problem = "expected nothing on stdout";
  } else if (result.err.empty() || result.err.back() != '\n' ||
             result.err.find('\n') != result.err.size() - 1) {
    problem = "expected exactly one line on stderr";
  } else if (!result.err.starts_with(prefix) || result.err.size() == prefix.size() + 1) {
    problem = "expected stderr to start with '" + prefix + "' and a message";
  } else {
    return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure() << problem << "\n" << Describe(result);
}

void ToolTest::SetUp() {
  const char* tmp = std::getenv("TMPDIR");
  std::string pattern =
      std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/glance-store-tool-XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) SystemError("mkdtemp");
  dir_ = fs::canonical(pattern).string();
  fs::create_directory(Path("home"));
  datadir_ = Path("images");
  config_ = WriteConfig("glance-api.conf", LegacyConfig(datadir_));
  env_ = {{"HOME", Path("home")}, {"XDG_DATA_HOME", Path("xdg")}};
  unset_env_ = {"HOME", "XDG_DATA_HOME", "GLANCE_STORE_CONFIG"};
}

void ToolTest::TearDown() {
  std::error_code ec;
  if (!dir_.empty()) fs::remove_all(dir_, ec);
}

std::string ToolTest::Path(std::string_view name) const { return dir_ + "/" + std::string(name); }

std::string ToolTest::WriteConfig(std::string_view name, std::string_view text) const {
  return WriteFile(Path(name), text);
}

std::string ToolTest::LegacyConfig(const std::string& datadir, std::string_view extra) {
  return "[glance_store]\nstores = file\ndefault_store = file\nfilesystem_store_datadir = " +
         datadir + "\n" + std::string(extra);
}

std::vector<std::string> ToolTest::Env() const {
  std::vector<std::string> env;
  for (char** var = environ; *var != nullptr; ++var) {
    const std::string entry(*var);
    const std::string name = entry.substr(0, entry.find('='));
    if (env_.contains(name) ||
        std::find(unset_env_.begin(), unset_env_.end(), name) != unset_env_.end()) {
      continue;
    }
    env.push_back(entry);
  }
  for (const auto& [name, value] : env_) env.push_back(name + "=" + value);
  return env;
}

std::string ToolTest::RunToolAsNobody() {
  if (::geteuid() != 0) return "";
  constexpr uid_t kNobody = 65534;
  for (fs::path p = fs::path(dir_).parent_path();; p = p.parent_path()) {
    struct stat st {};
    if (::stat(p.c_str(), &st) != 0 || (st.st_mode & S_IXOTH) == 0) {
      return p.string() + " is not searchable by nobody: the tool could not run as nobody";
    }
    if (p == p.root_path()) break;
  }
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir_, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (::lchown(it->path().c_str(), kNobody, kNobody) != 0) SystemError("lchown");
  }
  if (ec) throw std::runtime_error("cannot list " + dir_ + ": " + ec.message());
  if (::lchown(dir_.c_str(), kNobody, kNobody) != 0) SystemError("lchown");
  run_as_ = kNobody;
  return "";
}

RunResult ToolTest::RunTool(const std::vector<std::string>& args, std::string_view input) const {
  std::vector<std::string> argv{GLANCE_STORE_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunProgram(argv, Spawn(), input);
}

RunResult ToolTest::Tool(const std::vector<std::string>& args, std::string_view input) const {
  std::vector<std::string> with_config{"--config", config_};
  with_config.insert(with_config.end(), args.begin(), args.end());
  return RunTool(with_config, input);
}

std::unique_ptr<Child> ToolTest::StartTool(const std::vector<std::string>& args) const {
  std::vector<std::string> argv{GLANCE_STORE_BINARY, "--config", config_};
  argv.insert(argv.end(), args.begin(), args.end());
  return std::make_unique<Child>(argv, Spawn());
}

std::string ToolTest::Digest(const std::string& program, const std::string& file) const {
  const RunResult result = RunProgram({program, file}, Spawn());
  EXPECT_TRUE(Succeeded(result)) << program;
  return result.out.substr(0, result.out.find(' '));
}

}  // namespace glance_store::tool_test
