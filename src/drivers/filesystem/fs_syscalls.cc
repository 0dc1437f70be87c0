#include "drivers/filesystem/fs_syscalls.h"

#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include <cerrno>

namespace glance_store::filesystem {

int Syscalls::open(const char* path, int flags, mode_t mode) { return ::open(path, flags, mode); }

ssize_t Syscalls::pwrite(int fd, const void* data, size_t size, off_t offset) {
  return ::pwrite(fd, data, size, offset);
}

int Syscalls::fsync(int fd) { return ::fsync(fd); }

int Syscalls::ftruncate(int fd, off_t length) { return ::ftruncate(fd, length); }

int Syscalls::rename_noreplace(const char* from, const char* to) {
  if (::renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) == 0) return 0;
  if (errno != EINVAL && errno != ENOSYS) return -1;
  // Filesystems without RENAME_NOREPLACE: link() never replaces either.
  if (::link(from, to) != 0) return -1;
  ::unlink(from);
  return 0;
}

int Syscalls::unlink(const char* path) { return ::unlink(path); }

int Syscalls::lstat(const char* path, struct stat* out) { return ::lstat(path, out); }

int Syscalls::statvfs(const char* path, struct statvfs* out) { return ::statvfs(path, out); }

std::shared_ptr<Syscalls> Syscalls::posix() {
  static const auto kPosix = std::make_shared<Syscalls>();
  return kPosix;
}

}  // namespace glance_store::filesystem
