// Where the parts of a multipart or segmented upload wait for their upload: in memory, or spooled
// to anonymous temporary files (internal).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>

#include "glance_store/store.h"

namespace glance_store::internal {

/// Fills `out` with the next bytes, returns how many (0 at the end); the shape of
/// net::BodySource, so a part can be a request body.
using ByteSource = std::function<std::size_t(std::span<std::byte> out)>;

/// One part's bytes, as its upload reads them.
class Part {
 public:
  virtual ~Part() = default;
  virtual std::uint64_t size() const = 0;
  /// Copies the bytes from `offset` into `out`, as many as fit and remain; 0 at the end. Throws
  /// Error (BackendException) when the file cannot be read.
  virtual std::size_t read_at(std::uint64_t offset, std::span<std::byte> out) const = 0;
  /// Hands the bytes to `fn` in order: the pipeline's chunks of a part that keeps them, pieces
  /// of at most 256 KiB of a part in a file (never mapped: the memory stays small). Throws as
  /// read_at().
  virtual void for_each_piece(const std::function<void(std::span<const std::byte>)>& fn) const;

  /// A source of the bytes from the first one on: call it again for each attempt of a request,
  /// and each attempt sends the whole part. The part must outlive the source.
  ByteSource source() const;

  /// The md5 of the bytes (S3's Content-MD5, Swift's ETag of a segment). Throws as read_at().
  std::array<unsigned char, 16> md5() const;
};

/// A part being filled by the writer's thread, then read by its upload on a pool thread, then
/// cleared and filled again with a later part.
class PartStorage : public Part {
 public:
  /// How many bytes the part holds when full.
  virtual std::uint64_t capacity() const = 0;
  /// Appends `bytes` (at most capacity() - size() of them). Throws Error: StorageFull when the
  /// disk is full, BackendException (naming the directory) for other failures of a file.
  virtual void append(const DataChunk& bytes) = 0;
  /// Empties the part, letting go of the chunks it kept; a file is kept for the next part.
  virtual void clear() = 0;
};

/// Makes an empty part of `capacity` bytes; throws Error when it cannot.
using MakePartStorage = std::function<std::unique_ptr<PartStorage>(std::uint64_t capacity)>;

/// Parts that keep the add pipeline's chunks (no copy): their memory is the pipeline's pool,
/// which the writer grows by its held_bytes() and which bounds the add.
MakePartStorage chunk_parts();

/// Parts spooled to anonymous temporary files in `dir`: O_TMPFILE where the kernel and the
/// filesystem support it (else, or when `try_tmpfile` is false, mkstemp and an immediate
/// unlink), so no name is left on disk, even after a crash; the file goes when the part does.
/// Making one throws Error: StorageFull (ENOSPC, EDQUOT), BackendException naming `dir` for
/// other failures (missing, not writable).
MakePartStorage file_parts(std::string dir, bool try_tmpfile = true);

}  // namespace glance_store::internal
