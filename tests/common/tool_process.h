// The tool run as a separate process by the server tests: an add reading a pipe (to kill it
// mid-way, or keep it alive), and a command whose JSON is read back (cleanup reports).
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

extern char** environ;

namespace glance_store::test_common {

/// `glance-store --config CONFIG add --image-id ID -` reading a pipe this test writes: the add
/// waits for more until the pipe is closed.
class PipedAdd {
 public:
  PipedAdd(const std::string& config, const std::string& id) {
    int feed[2];
    EXPECT_EQ(::pipe(feed), 0);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, feed[0], 0);
    posix_spawn_file_actions_addclose(&actions, feed[1]);
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    const std::string binary = GLANCE_STORE_BINARY;
    std::vector<std::string> args = {binary, "--config", config, "add", "--image-id", id, "-"};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    EXPECT_EQ(::posix_spawn(&pid_, binary.c_str(), &actions, nullptr, argv.data(), environ), 0);
    posix_spawn_file_actions_destroy(&actions);
    ::close(feed[0]);
    fd_ = feed[1];
  }
  ~PipedAdd() {
    if (fd_ >= 0) ::close(fd_);
    if (pid_ > 0) wait();
  }
  PipedAdd(const PipedAdd&) = delete;
  PipedAdd& operator=(const PipedAdd&) = delete;

  bool write(const std::string& data) {
    return ::write(fd_, data.data(), data.size()) == static_cast<ssize_t>(data.size());
  }
  void kill() { ::kill(pid_, SIGKILL); }
  /// Closes the pipe (the end of the data) and waits: the exit status.
  int finish() {
    ::close(fd_);
    fd_ = -1;
    return wait();
  }
  pid_t pid() const { return pid_; }

 private:
  int wait() {
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = 0;
    return status;
  }
  pid_t pid_ = 0;
  int fd_ = -1;
};

/// Runs the tool with `args` (quoted for the shell) and parses what it prints as JSON
/// (discarded when it is not); `exit_status` gets pclose's status.
inline nlohmann::json run_tool_json(const std::vector<std::string>& args, int* exit_status) {
  std::string command = GLANCE_STORE_BINARY;
  for (const auto& a : args) command += " '" + a + "'";
  FILE* pipe = ::popen(command.c_str(), "r");
  std::string out;
  char buffer[4096];
  for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0;) out.append(buffer, n);
  *exit_status = ::pclose(pipe);
  return nlohmann::json::parse(out, nullptr, false);
}

/// The entry of the first store of `type` in a `cleanup` report (a test failure when none).
inline nlohmann::json cleanup_entry(const nlohmann::json& report, std::string_view type) {
  if (report.is_array()) {
    for (const auto& store : report) {
      if (store.value("type", "") == type) return store;
    }
  }
  ADD_FAILURE() << "no " << type << " store in " << report.dump();
  return {{"leftovers", nlohmann::json::array()}};
}

/// The leftovers a `cleanup` report lists for the store of `type`, by name.
inline std::map<std::string, nlohmann::json> cleanup_leftovers(const nlohmann::json& report,
                                                               std::string_view type) {
  std::map<std::string, nlohmann::json> out;
  const nlohmann::json entry = cleanup_entry(report, type);
  for (const auto& leftover : entry.at("leftovers")) out[leftover.at("name")] = leftover;
  return out;
}

}  // namespace glance_store::test_common
