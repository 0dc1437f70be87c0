// Helpers shared by every test binary: temporary directories, error capture, listings, open
// files, a small tmpfs.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/mount.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "glance_store/error.h"

namespace glance_store::test_common {

/// A fresh directory under /tmp (canonical path), removed with everything in it at destruction,
/// read-only subdirectories included.
class TempDir {
 public:
  TempDir() {
    std::string pattern = "/tmp/glance_store_test.XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) {
      throw std::system_error(errno, std::generic_category(), "mkdtemp");
    }
    path_ = std::filesystem::canonical(pattern).string();
  }
  ~TempDir() {
    namespace fs = std::filesystem;
    std::error_code ec;
    fs::permissions(path_, fs::perms::owner_all, fs::perm_options::add, ec);
    for (auto it = fs::recursive_directory_iterator(path_, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (it->is_directory(ec) && !it->is_symlink(ec)) {
        fs::permissions(it->path(), fs::perms::owner_all, fs::perm_options::add, ec);
      }
    }
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  /// A path inside the directory (not created).
  std::string sub(std::string_view name) const { return path_ + "/" + std::string(name); }

 private:
  std::string path_;
};

/// Runs `fn`, expecting it to throw glance_store::Error, and returns the error; when nothing is
/// thrown the test fails and a DriverLoadFailure "<nothing thrown>" comes back.
inline Error CatchError(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e;
  }
  ADD_FAILURE() << "expected a glance_store::Error, nothing was thrown";
  return Error(ErrorKind::kDriverLoadFailure, "<nothing thrown>");
}

/// The names in a directory, sorted (empty when it does not exist).
inline std::vector<std::string> ListDir(const std::string& dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

/// The files this process has open under `dir`: the targets of /proc/self/fd, e.g.
/// "/tmp/x/#1234 (deleted)" for a file made with O_TMPFILE.
inline std::vector<std::string> OpenFilesIn(const std::string& dir) {
  std::vector<std::string> files;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd", ec)) {
    const std::string target = std::filesystem::read_symlink(entry.path(), ec).string();
    if (!ec && target.starts_with(dir + "/")) files.push_back(target);
  }
  return files;
}

/// A tmpfs of `bytes` mounted in a fresh directory, to fill a disk cheaply; mounting needs
/// CAP_SYS_ADMIN (mounted() says whether it worked). Unmounted at destruction.
class SmallTmpfs {
 public:
  explicit SmallTmpfs(std::uint64_t bytes) {
    const std::string options = "size=" + std::to_string(bytes) + ",mode=0700";
    mounted_ = ::mount("tmpfs", dir_.path().c_str(), "tmpfs", 0, options.c_str()) == 0;
  }
  ~SmallTmpfs() {
    if (mounted_) ::umount2(dir_.path().c_str(), MNT_DETACH);
  }
  SmallTmpfs(const SmallTmpfs&) = delete;
  SmallTmpfs& operator=(const SmallTmpfs&) = delete;

  bool mounted() const { return mounted_; }
  const std::string& path() const { return dir_.path(); }

 private:
  TempDir dir_;
  bool mounted_ = false;
};

/// Adds `inputs[i]` under one id from one thread each, all at once (`add(i)` does one), and
/// expects each add to succeed or be a Duplicate. Returns the index of the one that succeeded
/// and its result; fails the test unless exactly one did.
template <typename Result>
std::optional<std::pair<int, Result>> the_one_that_won(int adds,
                                                       const std::function<Result(int)>& add) {
  std::vector<std::optional<Result>> results(static_cast<std::size_t>(adds));
  std::vector<std::optional<Error>> errors(static_cast<std::size_t>(adds));
  std::vector<std::thread> threads;
  for (int i = 0; i < adds; ++i) {
    threads.emplace_back([&, i] {
      try {
        results[i] = add(i);
      } catch (const Error& e) {
        errors[i] = e;
      }
    });
  }
  for (auto& t : threads) t.join();
  std::optional<std::pair<int, Result>> won;
  int winners = 0;
  for (int i = 0; i < adds; ++i) {
    if (results[i]) {
      ++winners;
      won.emplace(i, *results[i]);
    } else {
      EXPECT_EQ(errors[i]->kind(), ErrorKind::kDuplicate) << errors[i]->message();
    }
  }
  EXPECT_EQ(winners, 1) << "adds of one id that reported success";
  if (winners != 1) return std::nullopt;
  return won;
}

}  // namespace glance_store::test_common
