// Crash-safe writes: an image is written under a locked temporary name in its datadir, made
// durable, then renamed into place without ever replacing an existing image.
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <random>
#include <set>
#include <vector>

#include "core/log.h"
#include "drivers/filesystem/fs_store.h"
#include "glance_store/error.h"

namespace glance_store::filesystem {
namespace {

// Start writeback every few MiB so the final fsync has little left to do.
constexpr std::uint64_t kWritebackWindow = 8ULL << 20;
// O_DIRECT needs buffers, sizes and offsets aligned on the logical block size; 4 KiB covers
// every common device.
constexpr std::uint64_t kDirectAlignment = 4096;

bool all_zero(const std::byte* p, std::size_t n) {
  return n == 0 || (p[0] == std::byte{0} && std::memcmp(p, p + 1, n - 1) == 0);
}

std::string random_suffix() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(rng()));
  return buf;
}

// The temporaries this process is writing now. POSIX-emulated flock (NFS) never conflicts within
// one process, so a cleanup here must not rely on the lock for our own adds.
class LiveTemporaries {
 public:
  static LiveTemporaries& instance() {
    static LiveTemporaries live;
    return live;
  }
  void add(const std::string& path) {
    std::lock_guard lock(mutex_);
    paths_.insert(path);
  }
  void remove(const std::string& path) {
    std::lock_guard lock(mutex_);
    paths_.erase(path);
  }
  bool contains(const std::string& path) {
    std::lock_guard lock(mutex_);
    return paths_.count(path) != 0;
  }

 private:
  std::mutex mutex_;  // guards paths_
  std::set<std::string> paths_;
};

class FileImageWriter final : public ImageWriter {
 public:
  FileImageWriter(std::shared_ptr<Syscalls> sys, WriterSettings settings)
      : sys_(std::move(sys)),
        dir_(std::move(settings.dir)),
        image_id_(std::move(settings.image_id)),
        final_path_(dir_ + "/" + image_id_),
        other_dirs_(std::move(settings.other_dirs)),
        mode_(settings.file_mode),
        thin_(settings.thin),
        chunk_(std::max<std::uint64_t>(settings.chunk_size, 1)),
        metadata_(std::move(settings.metadata)) {
    open_temporary(settings.direct_io);
  }

  ~FileImageWriter() override { abort(); }

  void write(const DataChunk& chunk) override {
    std::span<const std::byte> data = chunk.bytes();
    if (!thin_) {
      write_at(data.data(), data.size(), offset_);
    } else {
      write_skipping_zero_chunks(data);
    }
    offset_ += data.size();
    if (!direct_ && offset_ - synced_ >= kWritebackWindow) {
      ::sync_file_range(fd_, static_cast<off_t>(synced_), static_cast<off_t>(offset_ - synced_),
                        SYNC_FILE_RANGE_WRITE);
      synced_ = offset_;
    }
  }

  Committed commit(std::uint64_t total_bytes, std::string_view /*md5_hex*/) override {
    if (thin_ && written_end_ < total_bytes &&
        sys_->ftruncate(fd_, static_cast<off_t>(total_bytes)) != 0) {
      const int err = errno;
      throw write_error(err, "cannot extend " + temp_path_);
    }
    if (mode_ != 0 && ::fchmod(fd_, mode_) != 0) {
      internal::logger()->warn("Unable to set permission to image: {}", final_path_);
    }
    if (sys_->fsync(fd_) != 0) {
      const int err = errno;
      throw write_error(err, "cannot flush " + temp_path_);
    }
    // The other datadirs were checked when the add began; check again just before the image
    // becomes visible, so two adds of one id racing into different datadirs cannot both land.
    for (const auto& other : other_dirs_) {
      struct stat st {};
      const std::string existing = other + "/" + image_id_;
      if (sys_->lstat(existing.c_str(), &st) == 0) throw duplicate_error(existing);
    }
    if (sys_->rename_noreplace(temp_path_.c_str(), final_path_.c_str()) != 0) {
      const int err = errno;
      if (err == EEXIST) throw duplicate_error(final_path_);
      throw write_error(err, "cannot rename the image into " + final_path_);
    }
    LiveTemporaries::instance().remove(temp_path_);
    temp_path_.clear();  // the file is the image now: abort must not touch it
    sync_directory();
    ::close(fd_);
    fd_ = -1;
    return {"file://" + final_path_, metadata_};
  }

  void abort() noexcept override {
    if (!temp_path_.empty()) {
      if (sys_->unlink(temp_path_.c_str()) != 0) {
        const int err = errno;
        if (err != ENOENT) {
          internal::logger()->error("Unable to remove partial image data {}: {}", temp_path_,
                                    std::strerror(err));
        }
      }
      LiveTemporaries::instance().remove(temp_path_);
      temp_path_.clear();
    }
    if (fd_ >= 0) {
      ::close(fd_);
      fd_ = -1;
    }
  }

 private:
  // A cleanup in another process may unlink a temporary between our open and our lock; the
  // name is then checked to still be ours, and a new one taken if not.
  void open_temporary(bool direct_io) {
    int direct_flag = direct_io ? O_DIRECT : 0;
    const std::string prefix = dir_ + "/." + image_id_ + ".tmp." + std::to_string(::getpid()) + ".";
    for (int attempt = 0; attempt < 8; ++attempt) {
      std::string path = prefix + random_suffix();
      int fd =
          sys_->open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | direct_flag, 0666);
      if (fd < 0 && errno == EINVAL && direct_flag != 0) {  // e.g. tmpfs: no direct I/O
        direct_flag = 0;
        fd = sys_->open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
      }
      if (fd < 0) {
        const int err = errno;
        if (err == EEXIST) continue;
        throw write_error(err, "cannot create a file in " + dir_);
      }
      struct stat by_fd {};
      struct stat by_name {};
      if (::flock(fd, LOCK_EX) == 0 && ::fstat(fd, &by_fd) == 0 &&
          ::lstat(path.c_str(), &by_name) == 0 && by_fd.st_ino == by_name.st_ino &&
          by_fd.st_dev == by_name.st_dev) {
        fd_ = fd;
        direct_ = direct_flag != 0;
        temp_path_ = std::move(path);
        LiveTemporaries::instance().add(temp_path_);
        return;
      }
      // Not ours any more, or not lockable: remove it if the name is still our file.
      if (::fstat(fd, &by_fd) == 0 && ::lstat(path.c_str(), &by_name) == 0 &&
          by_fd.st_ino == by_name.st_ino && by_fd.st_dev == by_name.st_dev) {
        sys_->unlink(path.c_str());
      }
      ::close(fd);
    }
    throw Error(ErrorKind::kBackendException, "cannot create a temporary file in " + dir_);
  }

  void write_at(const std::byte* data, std::size_t size, std::uint64_t offset) {
    if (direct_ && !is_aligned(data, size, offset)) stop_direct_io();
    while (size > 0) {
      const ssize_t n = sys_->pwrite(fd_, data, size, static_cast<off_t>(offset));
      if (n < 0) {
        const int err = errno;
        if (err == EINTR) continue;
        if (err == EINVAL && direct_) {  // a filesystem that takes O_DIRECT opens but not writes
          stop_direct_io();
          continue;
        }
        throw write_error(err, "cannot write " + temp_path_);
      }
      if (n == 0) throw write_error(ENOSPC, "cannot write " + temp_path_);
      data += n;
      size -= static_cast<std::size_t>(n);
      offset += static_cast<std::uint64_t>(n);
    }
    written_end_ = std::max(written_end_, offset);
  }

  static bool is_aligned(const std::byte* data, std::size_t size, std::uint64_t offset) {
    return reinterpret_cast<std::uintptr_t>(data) % kDirectAlignment == 0 &&
           size % kDirectAlignment == 0 && offset % kDirectAlignment == 0;
  }

  // The rest of the image (an unaligned tail) goes through the page cache.
  void stop_direct_io() {
    const int flags = ::fcntl(fd_, F_GETFL);
    if (flags >= 0) ::fcntl(fd_, F_SETFL, flags & ~O_DIRECT);
    direct_ = false;
  }

  // Thin provisioning: a chunk of `chunk_` bytes (aligned on the file) that is all zero is not
  // written, leaving a hole; a chunk with any other byte is written whole, even when a buffer
  // boundary splits it (its zero head, skipped with the previous buffer, is written then).
  void write_skipping_zero_chunks(std::span<const std::byte> data) {
    static const std::vector<std::byte> kZeros(std::size_t{1} << 16);
    std::size_t pos = 0;
    std::size_t run_start = 0;
    bool in_run = false;
    while (pos < data.size()) {
      const std::uint64_t abs = offset_ + pos;
      const std::uint64_t chunk_start = abs - abs % chunk_;
      const std::size_t len = static_cast<std::size_t>(
          std::min<std::uint64_t>(chunk_ - abs % chunk_, data.size() - pos));
      if (chunk_start != current_chunk_) {
        current_chunk_ = chunk_start;
        chunk_has_data_ = false;
      }
      if (!chunk_has_data_ && !all_zero(data.data() + pos, len)) {
        for (std::uint64_t at = chunk_start; at < abs;) {
          const std::size_t n =
              static_cast<std::size_t>(std::min<std::uint64_t>(kZeros.size(), abs - at));
          write_at(kZeros.data(), n, at);
          at += n;
        }
        chunk_has_data_ = true;
      }
      if (chunk_has_data_ && !in_run) {
        run_start = pos;
        in_run = true;
      } else if (!chunk_has_data_ && in_run) {
        write_at(data.data() + run_start, pos - run_start, offset_ + run_start);
        in_run = false;
      }
      pos += len;
    }
    if (in_run) write_at(data.data() + run_start, pos - run_start, offset_ + run_start);
  }

  void sync_directory() {
    const int dfd = ::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) return;
    if (sys_->fsync(dfd) != 0) {
      const int err = errno;
      internal::logger()->warn("Unable to flush directory {}: {}", dir_, std::strerror(err));
    }
    ::close(dfd);
  }

  std::shared_ptr<Syscalls> sys_;
  std::string dir_;
  std::string image_id_;
  std::string final_path_;
  std::vector<std::string> other_dirs_;
  std::string temp_path_;
  unsigned mode_;
  bool thin_;
  std::uint64_t chunk_;
  nlohmann::json metadata_;
  int fd_ = -1;
  std::uint64_t offset_ = 0;
  std::uint64_t written_end_ = 0;
  std::uint64_t synced_ = 0;
  std::uint64_t current_chunk_ = UINT64_MAX;  // thin provisioning: the chunk being written
  bool chunk_has_data_ = false;
  bool direct_ = false;  // writes bypass the page cache (filesystem_store_direct_io) // … and
                         // whether it has a non-zero byte so far
};

}  // namespace

bool is_temporary_name(std::string_view name) {
  // ".<id>.tmp.<pid>.<16 hex digits>"
  if (name.size() < 2 || name.front() != '.') return false;
  const std::size_t dot = name.rfind('.');
  if (dot == std::string_view::npos || name.size() - dot - 1 != 16) return false;
  if (!std::all_of(name.begin() + static_cast<std::ptrdiff_t>(dot) + 1, name.end(),
                   [](char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; })) {
    return false;
  }
  const std::string_view head = name.substr(0, dot);
  const std::size_t pid_dot = head.rfind('.');
  if (pid_dot == std::string_view::npos || pid_dot + 1 == head.size()) return false;
  if (!std::all_of(head.begin() + static_cast<std::ptrdiff_t>(pid_dot) + 1, head.end(),
                   [](char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; })) {
    return false;
  }
  return head.substr(0, pid_dot).ends_with(".tmp") && pid_dot > 5;
}

bool is_live_temporary(const std::string& path) {
  return LiveTemporaries::instance().contains(path);
}

std::unique_ptr<ImageWriter> open_image_writer(std::shared_ptr<Syscalls> syscalls,
                                               WriterSettings settings) {
  return std::make_unique<FileImageWriter>(std::move(syscalls), std::move(settings));
}

}  // namespace glance_store::filesystem
