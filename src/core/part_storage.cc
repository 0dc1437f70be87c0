#include "core/part_storage.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "glance_store/error.h"

namespace glance_store::internal {
namespace {

constexpr std::size_t kPiece = 256 * 1024;

Error spool_error(int err, const std::string& dir, std::string_view doing) {
  const std::string what = "Cannot " + std::string(doing) + " the upload buffer in " + dir;
  switch (err) {
    case ENOSPC:
    case EDQUOT:
    case EFBIG:
      return {ErrorKind::kStorageFull,
              what + ": there is not enough disk space left (" + std::strerror(err) + ")", err};
    default:
      return {ErrorKind::kBackendException, what + ": " + std::strerror(err), err};
  }
}

// The part's bytes are the pipeline's chunks (or slices of them, at its edges).
class ChunkPart final : public PartStorage {
 public:
  explicit ChunkPart(std::uint64_t capacity) : capacity_(capacity) {}

  std::uint64_t size() const override { return size_; }
  std::uint64_t capacity() const override { return capacity_; }
  std::size_t read_at(std::uint64_t offset, std::span<std::byte> out) const override {
    std::size_t done = 0;
    // A part has tens of chunks and is read in pieces of about a chunk: a scan is cheap.
    std::uint64_t start = 0;
    for (const DataChunk& chunk : chunks_) {
      const auto bytes = chunk.bytes();
      if (done == out.size()) break;
      if (offset + done < start + bytes.size()) {
        const auto from = static_cast<std::size_t>(offset + done - start);
        const std::size_t n = std::min(out.size() - done, bytes.size() - from);
        std::memcpy(out.data() + done, bytes.data() + from, n);
        done += n;
      }
      start += bytes.size();
    }
    return done;
  }
  void for_each_piece(const std::function<void(std::span<const std::byte>)>& fn) const override {
    for (const DataChunk& chunk : chunks_) fn(chunk.bytes());
  }
  void append(const DataChunk& bytes) override {
    chunks_.push_back(bytes);
    size_ += bytes.bytes().size();
  }
  void clear() override {
    chunks_.clear();
    size_ = 0;
  }

 private:
  std::vector<DataChunk> chunks_;
  std::uint64_t capacity_;
  std::uint64_t size_ = 0;
};

// A cleared file is overwritten from its start, not truncated: its blocks serve the next part.
class FilePart final : public PartStorage {
 public:
  FilePart(int fd, std::string dir, std::uint64_t capacity)
      : fd_(fd), dir_(std::move(dir)), capacity_(capacity) {}
  ~FilePart() override { ::close(fd_); }
  FilePart(const FilePart&) = delete;
  FilePart& operator=(const FilePart&) = delete;

  std::uint64_t size() const override { return size_; }
  std::uint64_t capacity() const override { return capacity_; }

  std::size_t read_at(std::uint64_t offset, std::span<std::byte> out) const override {
    if (offset >= size_) return 0;
    out = out.first(static_cast<std::size_t>(std::min<std::uint64_t>(out.size(), size_ - offset)));
    std::size_t done = 0;
    while (done < out.size()) {
      const ssize_t n =
          ::pread(fd_, out.data() + done, out.size() - done, static_cast<off_t>(offset + done));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) throw spool_error(errno, dir_, "read");
      if (n == 0) {
        throw Error(ErrorKind::kBackendException, "Cannot read the upload buffer in " + dir_ +
                                                      ": the file is shorter than "
                                                      "what was written to it");
      }
      done += static_cast<std::size_t>(n);
    }
    return done;
  }

  void append(const DataChunk& chunk) override {
    std::span<const std::byte> bytes = chunk.bytes();
    while (!bytes.empty()) {
      const ssize_t n = ::pwrite(fd_, bytes.data(), bytes.size(), static_cast<off_t>(size_));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) throw spool_error(errno, dir_, "write");
      if (n == 0) throw spool_error(ENOSPC, dir_, "write");
      size_ += static_cast<std::uint64_t>(n);
      bytes = bytes.subspan(static_cast<std::size_t>(n));
    }
  }

  void clear() override { size_ = 0; }

 private:
  int fd_;
  std::string dir_;
  std::uint64_t capacity_;
  std::uint64_t size_ = 0;
};

int open_anonymous(const std::string& dir, bool try_tmpfile) {
  if (try_tmpfile) {
    const int fd = ::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd >= 0) return fd;
    // Kernels without O_TMPFILE say EISDIR, filesystems without it EOPNOTSUPP.
    if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL) {
      throw spool_error(errno, dir, "create");
    }
  }
  std::string path = dir + "/.glance-store-upload-XXXXXX";
  const int fd = ::mkostemp(path.data(), O_CLOEXEC);
  if (fd < 0) throw spool_error(errno, dir, "create");
  if (::unlink(path.c_str()) != 0) {
    const int err = errno;
    ::close(fd);
    throw spool_error(err, dir, "unlink");
  }
  return fd;
}

}  // namespace

std::array<unsigned char, 16> Part::md5() const {
  std::array<unsigned char, 16> out{};
  const std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(),
                                                                    &EVP_MD_CTX_free);
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_md5(), nullptr) != 1) {
    throw Error(ErrorKind::kBackendException, "md5 is not available from OpenSSL");
  }
  for_each_piece([&](std::span<const std::byte> piece) {
    EVP_DigestUpdate(ctx.get(), piece.data(), piece.size());
  });
  unsigned int size = 0;
  EVP_DigestFinal_ex(ctx.get(), out.data(), &size);
  return out;
}

ByteSource Part::source() const {
  return [this, offset = std::uint64_t{0}](std::span<std::byte> out) mutable {
    const std::size_t n = read_at(offset, out);
    offset += n;
    return n;
  };
}

void Part::for_each_piece(const std::function<void(std::span<const std::byte>)>& fn) const {
  const auto piece = std::make_unique_for_overwrite<std::byte[]>(kPiece);
  for (std::uint64_t offset = 0;;) {
    const std::size_t n = read_at(offset, {piece.get(), kPiece});
    if (n == 0) return;
    fn({piece.get(), n});
    offset += n;
  }
}

MakePartStorage chunk_parts() {
  return [](std::uint64_t capacity) { return std::make_unique<ChunkPart>(capacity); };
}

MakePartStorage file_parts(std::string dir, bool try_tmpfile) {
  return [dir = std::move(dir), try_tmpfile](std::uint64_t capacity) {
    return std::make_unique<FilePart>(open_anonymous(dir, try_tmpfile), dir, capacity);
  };
}

}  // namespace glance_store::internal
