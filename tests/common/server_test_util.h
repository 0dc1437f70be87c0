// Helpers of the integration tests against real servers: the servers' settings printed by
// their scripts, test data, a stream that trickles, and the fault-injecting proxy
// (tests/tools/fault_proxy.py) run as a child process.
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "common/test_data.h"
#include "common/test_util.h"
#include "glance_store/stream.h"
#include "net/http.h"

extern char** environ;

namespace glance_store::test_common {

/// `export NAME=value` lines printed by a server script's `env` command.
inline std::map<std::string, std::string> script_env(const std::string& script) {
  std::map<std::string, std::string> out;
  const std::string command =
      std::string(GLANCE_STORE_SOURCE_DIR) + "/scripts/servers/" + script + " env 2>/dev/null";
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return out;
  char line[4096];
  while (std::fgets(line, sizeof line, pipe) != nullptr) {
    std::string text(line);
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
    if (text.rfind("export ", 0) == 0) text.erase(0, 7);
    const auto eq = text.find('=');
    if (eq == std::string::npos) continue;
    std::string value = text.substr(eq + 1);
    if (value.size() >= 2 && (value.front() == '\'' || value.front() == '"')) {
      value = value.substr(1, value.size() - 2);
    }
    out[text.substr(0, eq)] = value;
  }
  ::pclose(pipe);
  return out;
}

/// A setting of a server script: from the environment, else from the script's `env` output.
inline std::string server_setting(const std::string& script, const std::string& name) {
  if (const char* v = std::getenv(name.c_str())) return v;
  static std::map<std::string, std::map<std::string, std::string>> cache;
  auto& env = cache[script];
  if (env.empty()) env = script_env(script);
  return env[name];
}

inline std::string random_id(const std::string& prefix) {
  static std::mt19937_64 random(std::random_device{}());
  char text[17];
  std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(random()));
  return prefix + text;
}

// Hands out data in small uneven reads, as a pipe would.
class TrickleStream final : public InputStream {
 public:
  explicit TrickleStream(std::string data) : data_(std::move(data)) {}
  std::size_t read(std::span<std::byte> out) override {
    const std::size_t n = std::min({out.size(), data_.size() - pos_, std::size_t{200000}});
    std::memcpy(out.data(), data_.data() + pos_, n);
    pos_ += n;
    return n;
  }

 private:
  std::string data_;
  std::size_t pos_ = 0;
};

/// The fault proxy in a child process, in front of one server.
class FaultProxy {
 public:
  explicit FaultProxy(const std::string& upstream) {
    const std::string port_file = dir_.sub("port");
    const std::string script = std::string(GLANCE_STORE_SOURCE_DIR) + "/tests/tools/fault_proxy.py";
    std::vector<std::string> args = {"/usr/bin/python3", script,        "--upstream",
                                     upstream,           "--port-file", port_file};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
    EXPECT_EQ(::posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ), 0);
    posix_spawn_file_actions_destroy(&actions);
    for (int i = 0; i < 100 && port_.empty(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      std::ifstream(port_file) >> port_;
    }
    EXPECT_FALSE(port_.empty()) << "the fault proxy did not start";
  }
  ~FaultProxy() {
    ::kill(pid_, SIGTERM);
    ::waitpid(pid_, nullptr, 0);
  }
  std::string authority() const { return "127.0.0.1:" + port_; }
  std::string url() const { return "http://" + authority(); }

  void rules(const nlohmann::json& rules) { control("POST", "/__fault__/rules", rules.dump()); }
  nlohmann::json log() { return nlohmann::json::parse(control("GET", "/__fault__/log", "")); }
  void clear_log() { control("DELETE", "/__fault__/log", ""); }
  /// Requests in the log whose path matches `needle`.
  int count(const std::string& method, const std::string& needle) {
    int n = 0;
    for (const auto& entry : log()) {
      if (entry["method"] == method &&
          entry["path"].get<std::string>().find(needle) != std::string::npos) {
        ++n;
      }
    }
    return n;
  }

 private:
  std::string control(const std::string& method, const std::string& path, const std::string& body) {
    net::HttpClient http({});
    net::Request request;
    request.method = method;
    request.url = url() + path;
    request.body = std::as_bytes(std::span(body));
    request.headers = {{"Content-Type", "application/json"}};
    const net::Response response = http.perform(request);
    EXPECT_EQ(response.status / 100, 2) << response.body;
    return response.body;
  }

  test_common::TempDir dir_;
  pid_t pid_ = 0;
  std::string port_;
};

}  // namespace glance_store::test_common
