// Cuts an add's stream into parts and uploads them on a thread pool (internal): S3's multipart
// parts and Swift's segments.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <vector>

#include "core/part_storage.h"
#include "core/thread_pool.h"

namespace glance_store::internal {

/// Cuts the chunks written into parts (keeping the pipeline's chunks, or spooled to files:
/// `storage`); each full part is uploaded on its own pool thread, at most `parallel` at once, so
/// the parts held stay within (parallel + 1), and a part's chunks are let go as soon as it is
/// uploaded. The first failure of a part, or of its storage, is rethrown by the next write() or
/// finish().
class PartUploader {
 public:
  /// The size of part `index` (from 0).
  using PartSize = std::function<std::uint64_t(std::uint64_t index)>;
  /// Runs on the writer's thread before part `index` is handed over; throwing stops the add.
  using BeforePart = std::function<void(std::uint64_t index)>;
  /// Uploads one part, on a pool thread; throws on failure.
  using UploadPart = std::function<void(std::uint64_t index, const Part& part)>;

  PartUploader(std::size_t parallel, PartSize part_size, BeforePart before_part,
               UploadPart upload_part, MakePartStorage storage = chunk_parts());
  /// Waits for the parts in flight.
  ~PartUploader();
  PartUploader(const PartUploader&) = delete;
  PartUploader& operator=(const PartUploader&) = delete;

  void write(const DataChunk& chunk);
  /// The part being filled, not handed over yet, or nullptr.
  const Part* pending() const { return current_.get(); }
  /// How many parts were handed over.
  std::uint64_t parts_started() const { return next_part_; }
  /// Hands over the last, partial part (if any) and waits for every part, then lets their
  /// memory or files go; rethrows the first failure.
  void finish();
  /// Waits for the parts in flight; never throws.
  void wait() noexcept;

 private:
  std::shared_ptr<PartStorage> take_storage(std::uint64_t capacity);
  void submit();
  void wait_for(std::size_t at_most);
  void rethrow_failure();

  std::size_t parallel_;
  PartSize part_size_;
  BeforePart before_part_;
  UploadPart upload_part_;
  MakePartStorage make_storage_;
  std::shared_ptr<PartStorage> current_;
  std::uint64_t next_part_ = 0;
  std::mutex mutex_;  // guards the members below
  std::condition_variable part_done_;
  std::vector<std::shared_ptr<PartStorage>> free_;  // uploaded, to be filled again
  std::size_t in_flight_ = 0;
  std::exception_ptr failure_;
  std::unique_ptr<ThreadPool> pool_;  // last: joined before the state it uses goes
};

}  // namespace glance_store::internal
