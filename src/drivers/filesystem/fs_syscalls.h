// The system calls the filesystem store makes, behind one seam so tests can inject errno values
// and count calls (internal).
#pragma once

#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>

#include <memory>

namespace glance_store::filesystem {

/// Each call returns what the system call returns and sets errno on failure.
class Syscalls {
 public:
  virtual ~Syscalls() = default;
  virtual int open(const char* path, int flags, mode_t mode);
  virtual ssize_t pwrite(int fd, const void* data, size_t size, off_t offset);
  virtual int fsync(int fd);
  virtual int ftruncate(int fd, off_t length);
  /// rename that fails with EEXIST instead of replacing `to`.
  virtual int rename_noreplace(const char* from, const char* to);
  virtual int unlink(const char* path);
  /// lstat(2): a symbolic link is never followed.
  virtual int lstat(const char* path, struct stat* out);
  virtual int statvfs(const char* path, struct statvfs* out);

  /// The real system calls.
  static std::shared_ptr<Syscalls> posix();
};

}  // namespace glance_store::filesystem
