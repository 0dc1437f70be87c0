#include "glance_store/stream.h"

#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

#include "glance_store/error.h"

namespace glance_store {

std::size_t FdInputStream::read(std::span<std::byte> out) {
  for (;;) {
    const ssize_t n = ::read(fd_, out.data(), out.size());
    if (n >= 0) return static_cast<std::size_t>(n);
    if (errno == EINTR) continue;
    const int err = errno;
    throw Error(ErrorKind::kBackendException,
                std::string("cannot read the image data: ") + std::strerror(err), err);
  }
}

std::size_t MemoryInputStream::read(std::span<std::byte> out) {
  const std::size_t n = std::min(out.size(), data_.size() - pos_);
  std::memcpy(out.data(), data_.data() + pos_, n);
  pos_ += n;
  return n;
}

std::string read_all(InputStream& in) {
  std::string out;
  std::array<std::byte, std::size_t{64} * 1024> buf{};
  while (std::size_t n = in.read(buf)) {
    out.append(reinterpret_cast<const char*>(buf.data()), n);
  }
  return out;
}

}  // namespace glance_store
