// Shared fixtures of the filesystem store tests: temporary directories, a fault-injecting
// Syscalls, log capture, and stores built from glance-api.conf text the way users build them.
#pragma once

#include <gtest/gtest.h>
#include <spdlog/sinks/base_sink.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "common/test_util.h"
#include "drivers/filesystem/fs_store.h"
#include "drivers/filesystem/fs_syscalls.h"
#include "glance_store/backend.h"
#include "glance_store/config.h"
#include "glance_store/error.h"
#include "glance_store/store.h"
#include "glance_store/stream.h"

namespace glance_store::filesystem::testing {

using test_common::CatchError;
using test_common::ListDir;
using test_common::TempDir;

/// The system calls the store makes, through the Syscalls seam.
enum class Op { kOpen, kPwrite, kFsync, kFtruncate, kRename, kUnlink, kStat, kStatvfs };

/// Real system calls, plus, per operation: an errno to fail with, a delay before the call, and
/// a call counter; free space per directory for statvfs; a hook run before every pwrite; and
/// the paths the path-taking calls were given. The real calls use a copy of the path taken on
/// entry.
class FaultySyscalls : public Syscalls {
 public:
  /// Every later call of `op` fails with `err` (0 stops failing).
  void fail(Op op, int err);
  /// Every later call of `op` sleeps `delay` first.
  void delay(Op op, std::chrono::milliseconds delay);
  /// statvfs of `dir` reports `bytes` available (f_bavail × f_bsize and × f_frsize).
  void set_free_space(const std::string& dir, std::uint64_t bytes);
  /// With true, paths() records each path as read again after the delay, not on entry.
  void reread_paths_after_delay(bool reread);
  /// Runs before every pwrite (after the counter is incremented).
  void on_pwrite(std::function<void()> hook);

  int calls(Op op) const;
  std::uint64_t pwrite_bytes() const;
  std::vector<std::string> paths(Op op) const;
  std::vector<std::thread::id> threads(Op op) const;
  /// Every call, in order.
  std::vector<Op> sequence() const;

  int open(const char* path, int flags, mode_t mode) override;
  ssize_t pwrite(int fd, const void* data, size_t size, off_t offset) override;
  int fsync(int fd) override;
  int ftruncate(int fd, off_t length) override;
  int rename_noreplace(const char* from, const char* to) override;
  int unlink(const char* path) override;
  int lstat(const char* path, struct stat* out) override;
  int statvfs(const char* path, struct statvfs* out) override;

 private:
  /// Counts the call, copies the path into `copy`, sleeps, records the path; returns the errno
  /// to fail with, or 0.
  int enter(Op op, const char* path, std::string* copy);

  mutable std::mutex mutex_;  // guards everything below
  std::map<Op, int> errors_;
  std::map<Op, std::chrono::milliseconds> delays_;
  std::map<Op, int> calls_;
  std::map<Op, std::vector<std::string>> paths_;
  std::map<Op, std::vector<std::thread::id>> threads_;
  std::vector<Op> sequence_;
  std::map<std::string, std::uint64_t> free_;
  std::uint64_t pwrite_bytes_ = 0;
  bool reread_paths_ = false;
  std::function<void()> pwrite_hook_;
};

/// Collects the messages the library logs (warnings and above by default) while alive.
class LogCapture {
 public:
  LogCapture();
  ~LogCapture();
  std::vector<std::string> messages() const;
  /// The messages containing `needle`.
  std::vector<std::string> matching(std::string_view needle) const;

 private:
  class Sink;
  std::shared_ptr<Sink> sink_;
};

/// An input stream over memory that counts its read() calls and may fail after some bytes.
class CountingStream final : public InputStream {
 public:
  explicit CountingStream(std::string data, std::optional<Error> fail_at_end = std::nullopt)
      : data_(std::move(data)), fail_(std::move(fail_at_end)) {}
  std::size_t read(std::span<std::byte> out) override;
  int reads() const { return reads_; }
  std::size_t consumed() const { return pos_; }

 private:
  std::string data_;
  std::optional<Error> fail_;
  std::size_t pos_ = 0;
  int reads_ = 0;
};

/// The Error `fn` throws; a test failure (and a BackendException "<nothing thrown>") when it

std::string ReadFile(const std::string& path);
void WriteFile(const std::string& path, std::string_view data);
/// st_mode & 07777 of a path.
unsigned Mode(const std::string& path);
std::string Md5(std::string_view data);
std::string Sha256(std::string_view data);
/// `n` bytes of a repeating, position-dependent pattern (no all-zero 1 KiB chunk).
std::string Pattern(std::size_t n);

/// Runs `fn` without root's privileges: as root, on a thread whose user and group ids are
/// nobody's (set for that thread only); otherwise in the caller's thread.
void RunUnprivileged(const std::function<void()>& fn);

/// Fixture: a temporary root with an `images` datadir, and a store built from config text.
class FsStoreTest : public ::testing::Test {
 protected:
  /// The default datadir of CreateLegacy: <root>/images.
  std::string datadir() const { return root_.sub("images"); }
  std::string root() const { return root_.path(); }

  /// Legacy mode: `[glance_store] stores = file`, `filesystem_store_datadir = datadir()`,
  /// plus `extra` lines in [glance_store].
  void CreateLegacy(const std::string& extra = "");
  /// Legacy mode with only `filesystem_store_datadirs` (datadir cleared), one line per entry.
  void CreateWithDatadirs(const std::vector<std::string>& entries, const std::string& extra = "");
  /// Multi-store mode: `backends` maps backend id → option lines of its section; the reserved
  /// stores get datadirs under the root; `defaults` are the [backend_defaults] lines.
  void CreateMulti(const std::vector<std::pair<std::string, std::string>>& backends,
                   const std::string& defaults = "");
  /// Any configuration text (kept in config_).
  void CreateFromText(const std::string& text);

  StoreRegistry& registry() { return *registry_; }
  /// The default store, as a FilesystemStore.
  FilesystemStore& store();
  FilesystemStore& store(std::string_view backend_id);
  /// Installs a FaultySyscalls in the default store (or `backend_id`) and returns it.
  std::shared_ptr<FaultySyscalls> InjectSyscalls(std::string_view backend_id = "");

  AddResult Add(std::string_view id, const std::string& data,
                std::optional<std::uint64_t> size = std::nullopt, std::string_view algo = "sha256",
                std::string_view backend = "");
  /// Reads a whole get() (with offset/length) through the registry.
  std::string Get(const std::string& uri, std::uint64_t offset = 0,
                  std::optional<std::uint64_t> length = std::nullopt);
  static std::string Uri(const std::string& path) { return "file://" + path; }

  TempDir root_;
  // Kept alive as long as the registry: the stores read it again when reconfigured.
  std::unique_ptr<ConfigFile> config_;
  std::unique_ptr<StoreRegistry> registry_;
};

}  // namespace glance_store::filesystem::testing
