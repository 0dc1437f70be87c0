// The real web server the HTTP store's integration tests run against (scripts/servers/http-origin:
// nginx over http and https, tinyproxy in front of it), test files in its document root, and its
// logs read from a point on.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common/server_test_util.h"
#include "glance_store/backend.h"
#include "glance_store/config.h"

namespace glance_store::http::testing {

using test_common::bytes_of;
using test_common::random_id;

/// A setting of http-origin: from the environment, else from the script's `env`.
inline std::string origin_setting(const std::string& name) {
  return test_common::server_setting("http-origin", name);
}

/// "host:port" of a URL such as http://user:password@127.0.0.1:18388.
inline std::string authority_of(const std::string& url) {
  std::string rest = url.substr(url.find("://") + 3);
  rest = rest.substr(0, rest.find('/'));
  return rest.substr(rest.rfind('@') + 1);
}

/// A legacy registry whose only store is the HTTP one; `extra` lines go into [glance_store].
inline std::unique_ptr<StoreRegistry> http_registry(const std::string& extra = "") {
  return StoreRegistry::create(
      ConfigFile::parse("[glance_store]\nstores = http\ndefault_store = http\n" + extra));
}

/// A file of the document root, removed at destruction.
class OriginFile {
 public:
  OriginFile(std::string root, std::string name, const std::string& data)
      : root_(std::move(root)), name_(std::move(name)) {
    write(data);
  }
  ~OriginFile() {
    std::error_code ec;
    std::filesystem::remove(path(), ec);
    std::filesystem::remove(path() + ".new", ec);
  }
  OriginFile(const OriginFile&) = delete;
  OriginFile& operator=(const OriginFile&) = delete;

  const std::string& name() const { return name_; }
  std::string path() const { return root_ + "/" + name_; }

  /// Replaces the content at once (a rename: a reader that has the old file open keeps it).
  void write(const std::string& data) {
    const std::string temp = path() + ".new";
    {
      std::ofstream out(temp, std::ios::binary | std::ios::trunc);
      out.write(data.data(), static_cast<std::streamsize>(data.size()));
      EXPECT_TRUE(out.good()) << "cannot write " << temp;
    }
    std::filesystem::rename(temp, path());
  }

 private:
  std::string root_;
  std::string name_;
};

/// What a log file gains from the moment this is made.
class LogWatch {
 public:
  explicit LogWatch(std::string path) : path_(std::move(path)) {
    std::error_code ec;
    start_ = std::filesystem::file_size(path_, ec);
    if (ec) start_ = 0;
  }

  /// The text appended since construction.
  std::string added() const {
    std::ifstream in(path_, std::ios::binary);
    in.seekg(static_cast<std::streamoff>(start_));
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }

  /// The appended lines that contain `needle`.
  std::vector<std::string> lines(const std::string& needle) const {
    std::vector<std::string> out;
    std::istringstream in(added());
    for (std::string line; std::getline(in, line);) {
      if (line.find(needle) != std::string::npos) out.push_back(line);
    }
    return out;
  }

  /// The appended lines with `needle`, once there are at least `expected` of them (a server
  /// logs a request after answering it) or after a few seconds; then a moment more, so that a
  /// surplus line shows too.
  std::vector<std::string> settled_lines(const std::string& needle, std::size_t expected) const {
    for (int i = 0; i < 100 && lines(needle).size() < expected; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    return lines(needle);
  }

 private:
  std::string path_;
  std::uintmax_t start_ = 0;
};

}  // namespace glance_store::http::testing
