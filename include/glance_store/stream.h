// Byte streams: what add() consumes and what get() returns.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace glance_store {

/// A source of bytes read into buffers the caller owns.
class InputStream {
 public:
  virtual ~InputStream() = default;
  /// Reads up to `out.size()` bytes into `out`; returns how many, 0 only at the end.
  /// Throws Error on failure.
  virtual std::size_t read(std::span<std::byte> out) = 0;
};

/// Reads from a file descriptor it does not own (a file, a pipe, stdin).
class FdInputStream final : public InputStream {
 public:
  explicit FdInputStream(int fd) : fd_(fd) {}
  std::size_t read(std::span<std::byte> out) override;

 private:
  int fd_;
};

/// Reads from memory (tests, small payloads).
class MemoryInputStream final : public InputStream {
 public:
  explicit MemoryInputStream(std::string data) : data_(std::move(data)) {}
  std::size_t read(std::span<std::byte> out) override;

 private:
  std::string data_;
  std::size_t pos_ = 0;
};

/// Reads a whole stream into a string (tests and small objects).
std::string read_all(InputStream& in);

/// What get() returns: the bytes of the image (or of the requested range) and how many of them
/// the store will deliver.
struct GetResult {
  std::unique_ptr<InputStream> stream;
  std::uint64_t size = 0;
  /// false when the store cannot tell the size before the end (an HTTP server streaming a body
  /// of unknown length): `size` is then 0, as glance_store reports it.
  bool size_known = true;
};

}  // namespace glance_store
