#include "core/part_uploader.h"

#include <algorithm>

namespace glance_store::internal {

PartUploader::PartUploader(std::size_t parallel, PartSize part_size, BeforePart before_part,
                           UploadPart upload_part, MakePartStorage storage)
    : parallel_(std::max<std::size_t>(1, parallel)),
      part_size_(std::move(part_size)),
      before_part_(std::move(before_part)),
      upload_part_(std::move(upload_part)),
      make_storage_(std::move(storage)) {}

PartUploader::~PartUploader() { wait(); }

void PartUploader::write(const DataChunk& chunk) {
  const std::size_t size = chunk.bytes().size();
  for (std::size_t at = 0; at < size;) {
    if (!current_) current_ = take_storage(part_size_(next_part_));
    const auto n = static_cast<std::size_t>(
        std::min<std::uint64_t>(size - at, current_->capacity() - current_->size()));
    current_->append(at == 0 && n == size ? chunk : chunk.slice(at, n));
    at += n;
    if (current_->size() == current_->capacity()) submit();
  }
}

void PartUploader::finish() {
  if (current_ && current_->size() > 0) submit();
  wait_for(0);
  {
    std::lock_guard lock(mutex_);
    free_.clear();  // every part is uploaded: their memory or files can go now
  }
  current_.reset();
  rethrow_failure();
}

void PartUploader::wait() noexcept { wait_for(0); }

std::shared_ptr<PartStorage> PartUploader::take_storage(std::uint64_t capacity) {
  {
    std::lock_guard lock(mutex_);
    for (auto it = free_.begin(); it != free_.end(); ++it) {
      if ((*it)->capacity() == capacity) {
        std::shared_ptr<PartStorage> part = std::move(*it);
        free_.erase(it);
        return part;
      }
    }
    free_.clear();  // the part size changed: the other parts are of no more use
  }
  return make_storage_(capacity);
}

void PartUploader::submit() {
  rethrow_failure();
  const std::uint64_t index = next_part_;
  before_part_(index);
  ++next_part_;
  wait_for(parallel_ - 1);
  rethrow_failure();
  if (!pool_) pool_ = std::make_unique<ThreadPool>(parallel_);
  {
    std::lock_guard lock(mutex_);
    ++in_flight_;
  }
  std::shared_ptr<PartStorage> part = std::move(current_);
  current_ = nullptr;
  pool_->post([this, index, part]() mutable {
    std::exception_ptr failure;
    try {
      upload_part_(index, *part);
    } catch (...) {
      failure = std::current_exception();
    }
    part->clear();  // its chunks go back to the pipeline now
    std::lock_guard lock(mutex_);
    if (failure && !failure_) failure_ = failure;
    free_.push_back(std::move(part));
    --in_flight_;
    part_done_.notify_all();
  });
}

void PartUploader::wait_for(std::size_t at_most) {
  std::unique_lock lock(mutex_);
  part_done_.wait(lock, [&] { return in_flight_ <= at_most; });
}

void PartUploader::rethrow_failure() {
  std::lock_guard lock(mutex_);
  if (failure_) std::rethrow_exception(failure_);
}

}  // namespace glance_store::internal
