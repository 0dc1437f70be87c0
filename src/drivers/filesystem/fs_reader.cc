#include "drivers/filesystem/fs_reader.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <string>

#include "drivers/filesystem/fs_errors.h"
#include "glance_store/error.h"

namespace glance_store::filesystem {
namespace {

// Reads [offset, offset + remaining) of a file, into the caller's buffers.
class FileReader final : public InputStream {
 public:
  FileReader(int fd, std::uint64_t offset, std::uint64_t remaining, std::size_t chunk_size)
      : fd_(fd), offset_(offset), remaining_(remaining), chunk_size_(chunk_size) {
    ::posix_fadvise(fd_, static_cast<off_t>(offset), 0, POSIX_FADV_SEQUENTIAL);
  }
  ~FileReader() override { ::close(fd_); }

  std::size_t read(std::span<std::byte> out) override {
    const std::size_t want =
        static_cast<std::size_t>(std::min<std::uint64_t>({out.size(), remaining_, chunk_size_}));
    if (want == 0) return 0;
    for (;;) {
      const ssize_t n = ::pread(fd_, out.data(), want, static_cast<off_t>(offset_));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        throw read_error(errno);
      }
      if (n == 0) {  // the file shrank after its size was reported: never deliver short data
        throw Error(ErrorKind::kBackendException,
                    "the image ended " + std::to_string(remaining_) + " bytes early");
      }
      offset_ += static_cast<std::uint64_t>(n);
      remaining_ -= static_cast<std::uint64_t>(n);
      return static_cast<std::size_t>(n);
    }
  }

 private:
  int fd_;
  std::uint64_t offset_;
  std::uint64_t remaining_;
  std::size_t chunk_size_;  // filesystem_store_chunk_size: the most one read returns
};

}  // namespace

std::unique_ptr<InputStream> make_file_reader(int fd, std::uint64_t offset, std::uint64_t length,
                                              std::size_t chunk_size) {
  return std::make_unique<FileReader>(fd, offset, length, chunk_size);
}

}  // namespace glance_store::filesystem
