// One writer for every add that goes in parts (internal): S3's multipart uploads and Swift's
// segments. It cuts the add into parts, holds them (as the pipeline's chunks, in spool files, or
// not at all: streamed), sends them in parallel where they are held, and commits or abandons the
// whole; a driver only says how one part is sent and how the whole is committed or removed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/part_storage.h"
#include "glance_store/store.h"

namespace glance_store::internal {

/// A part sent as its bytes arrive, for parts too large to hold: one request the driver opened.
class StreamedPart {
 public:
  virtual ~StreamedPart() = default;
  /// Sends the next bytes; false when the server answered before the body's end.
  virtual bool write(const DataChunk& bytes) = 0;
  /// The body is complete: the request may end while the next part starts streaming.
  virtual void release() = 0;
  /// Waits for the server's answer and checks it against the md5 of the bytes sent (lowercase
  /// hex); throws Error.
  virtual void finish(std::string_view md5_hex) = 0;
  /// Stops the request; never throws.
  virtual void cancel() noexcept = 0;
};

/// What a driver says of its uploads in parts. The calls come from the add's thread, but
/// send_part(), which runs on pool threads, several at once.
class MultipartUpload {
 public:
  virtual ~MultipartUpload() = default;
  /// Before part `index` (from 0) is sent: where the upload begins (S3's initiate) and limits
  /// are checked. Throwing fails the add.
  virtual void begin_part(std::uint64_t index) = 0;
  /// Sends part `index`, held whole; every attempt reads it from its first byte. Throws Error.
  virtual void send_part(std::uint64_t index, const Part& part) = 0;
  /// Opens part `index` to be streamed, of `length` bytes (nullopt: it ends at the commit).
  /// Drivers whose parts are always held need not stream: by default Invalid.
  virtual std::unique_ptr<StreamedPart> stream_part(std::uint64_t index,
                                                    std::optional<std::uint64_t> length);
  /// An image smaller than its first part, before any part was begun: the driver may store it
  /// whole (`pending` holds its bytes; nullptr for an empty image). nullopt: send it as one part.
  virtual std::optional<ImageWriter::Committed> complete_unsplit(const Part* pending);
  /// Makes the `parts` parts, every one sent, into the image. Throws Error.
  virtual ImageWriter::Committed complete(std::uint64_t parts, std::string_view md5_hex) = 0;
  /// Removes what an add that did not complete left: `parts` parts were begun (some may not
  /// exist), and complete() may have been called and failed. Never throws.
  virtual void abandon(std::uint64_t parts) noexcept = 0;
};

/// How an add is cut into parts and where they wait.
struct MultipartLayout {
  /// The size of part `index` (from 0); the last part of an image is shorter.
  std::function<std::uint64_t(std::uint64_t index)> part_size = {};
  /// The largest part_size() gives (what memory must hold per part).
  std::uint64_t largest_part = 0;
  std::uint64_t image_size = 0;  ///< 0: unknown
  std::size_t parallel = 1;      ///< parts sent at once, at most
  /// Spool the parts to anonymous files here, and send them in parallel from there.
  std::optional<std::string> spool_dir = {};
  PipelineOptions memory = {};  ///< the add's memory limit
};

/// Where the parts wait: spooled to files with a spool_dir; else as the pipeline's chunks when
/// (parallel + 1) parts fit in the add's memory, `parallel` sent at once (fewer when memory is
/// short); else streamed, one at a time, the next starting while the server answers for the
/// last (such a part cannot be sent twice: its failure fails the add).
enum class PartHolding { kChunks, kFiles, kStreamed };
PartHolding holding_for(const MultipartLayout& layout);
/// How many bytes of the pipeline's chunks the writer keeps at most (its held_bytes()).
std::uint64_t held_bytes_for(const MultipartLayout& layout);

/// The writer. Any failure, or an abort(), or its destruction before a commit, waits for the
/// parts in flight and calls abandon().
std::unique_ptr<ImageWriter> make_multipart_writer(std::unique_ptr<MultipartUpload> upload,
                                                   MultipartLayout layout);

}  // namespace glance_store::internal
