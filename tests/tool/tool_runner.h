// Runs the glance-store binary (and helper programs) for the end-to-end tests of the tool.
#pragma once

#include <gtest/gtest.h>
#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "common/test_util.h"

namespace glance_store::tool_test {

using Json = nlohmann::json;

/// Base of the tests' parameter structs: gtest prints a case, and names its test, by `name`.
struct NamedCase {
  const char* name;
};
inline std::ostream& operator<<(std::ostream& os, const NamedCase& c) { return os << c.name; }
struct CaseName {
  template <typename T>
  std::string operator()(const ::testing::TestParamInfo<T>& info) const {
    return info.param.name;
  }
};

/// What a finished child left: its exit code (128 + signal when killed) and its output.
struct RunResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

struct SpawnOptions {
  std::vector<std::string> env;           ///< the whole environment, "NAME=value"
  std::optional<std::string> stdin_path;  ///< opened as stdin instead of a pipe
  /// Run as this user id, with the same group id and no supplementary groups (through
  /// setpriv; needs root).
  std::optional<uid_t> run_as = std::nullopt;
};

/// A child process started with posix_spawnp (no shell) whose stdin, stdout and stderr are
/// pipes. The destructor kills and reaps it if it is still running.
class Child {
 public:
  Child(const std::vector<std::string>& argv, const SpawnOptions& options);
  ~Child();
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  pid_t pid() const { return pid_; }
  /// Writes all of `data` to the child's stdin; false when the child no longer reads it.
  bool write_stdin(std::string_view data);
  void close_stdin();
  void kill(int signal);
  /// Writes `input`, closes stdin, reads stdout and stderr to their end and reaps the child.
  /// A child still running after `timeout` is killed (exit code 128 + SIGKILL).
  RunResult communicate(std::string_view input = {},
                        std::chrono::seconds timeout = std::chrono::seconds(120));

 private:
  pid_t pid_ = -1;
  bool reaped_ = false;
  int in_ = -1;
  int out_ = -1;
  int err_ = -1;
};

/// Starts a program and waits for it.
RunResult RunProgram(const std::vector<std::string>& argv, const SpawnOptions& options,
                     std::string_view input = {});

/// Quotes a word for /bin/sh (for `script -c`, the one place a command line is needed).
std::string ShellQuote(std::string_view word);

std::string ReadFile(const std::string& path);
/// Writes `data` to `path` and returns the path.
std::string WriteFile(const std::string& path, std::string_view data);
/// `size` pseudo-random bytes, the same for the same seed.
std::string RandomBytes(std::size_t size, std::uint64_t seed);
using test_common::ListDir;
/// Polls `done` until it holds or `timeout` passes; returns its last value.
bool WaitUntil(const std::function<bool()>& done,
               std::chrono::milliseconds timeout = std::chrono::seconds(30));

/// Byte-for-byte equality that reports sizes and the first difference instead of the bytes.
::testing::AssertionResult SameBytes(std::string_view actual, std::string_view expected);
/// Exit 0 with nothing on stderr.
::testing::AssertionResult Succeeded(const RunResult& result);
/// Succeeded, and stdout is one JSON value, stored in `*json`.
::testing::AssertionResult SucceededWithJson(const RunResult& result, Json* json);
/// Failed with `exit_code`, stdout empty, stderr exactly one line `glance-store: <kind>: …`.
::testing::AssertionResult FailedWith(const RunResult& result, int exit_code,
                                      std::string_view kind);

/// A temporary directory, an environment whose HOME and XDG_DATA_HOME point into it, and a
/// legacy filesystem-store configuration whose datadir is inside it.
class ToolTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  /// dir_/name.
  std::string Path(std::string_view name) const;
  /// Writes a configuration file in dir_ and returns its path.
  std::string WriteConfig(std::string_view name, std::string_view text) const;
  /// `[glance_store]` text of a legacy file store on `datadir`, followed by `extra` lines.
  static std::string LegacyConfig(const std::string& datadir, std::string_view extra = "");

  std::vector<std::string> Env() const;
  SpawnOptions Spawn() const { return {Env(), std::nullopt, run_as_}; }
  /// As root, where permissions do not stop root: the tool runs as nobody (65534) from now on,
  /// and dir_ with everything in it becomes nobody's, as it is its user's in a run without
  /// root. Otherwise nothing changes. Returns why it cannot ("" when it can): a directory above
  /// dir_ that nobody may not search.
  std::string RunToolAsNobody();
  /// Runs glance-store with exactly `args` (no --config).
  RunResult RunTool(const std::vector<std::string>& args, std::string_view input = {}) const;
  /// Runs glance-store --config config_ `args`.
  RunResult Tool(const std::vector<std::string>& args, std::string_view input = {}) const;
  std::unique_ptr<Child> StartTool(const std::vector<std::string>& args) const;
  /// What `program FILE` (md5sum, sha512sum, …) prints as the digest of a file.
  std::string Digest(const std::string& program, const std::string& file) const;

  std::string ImagePath(std::string_view id) const { return datadir_ + "/" + std::string(id); }
  std::string ImageUri(std::string_view id) const { return "file://" + ImagePath(id); }

  std::string dir_;
  std::string datadir_;  ///< not created: the tool creates it
  std::string config_;
  std::map<std::string, std::string> env_;  ///< variables set on top of the inherited ones
  std::vector<std::string> unset_env_;      ///< variables removed from the inherited ones
  std::optional<uid_t> run_as_;             ///< the user the tool runs as (RunToolAsNobody)
};

}  // namespace glance_store::tool_test
