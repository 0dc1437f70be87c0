#include "core/part_uploader.h"

#include <algorithm>
#include <cstring>

namespace glance_store::internal {

PartUploader::PartUploader(std::size_t parallel, PartSize part_size, BeforePart before_part,
                           UploadPart upload_part)
    : parallel_(std::max<std::size_t>(1, parallel)),
      part_size_(std::move(part_size)),
      before_part_(std::move(before_part)),
      upload_part_(std::move(upload_part)) {}

PartUploader::~PartUploader() { wait(); }

void PartUploader::write(std::span<const std::byte> bytes) {
  while (!bytes.empty()) {
    if (!current_.data) current_ = take_buffer(part_size_(next_part_));
    const auto n = static_cast<std::size_t>(
        std::min<std::uint64_t>(bytes.size(), current_.capacity - current_.filled));
    std::memcpy(current_.data.get() + current_.filled, bytes.data(), n);
    current_.filled += n;
    bytes = bytes.subspan(n);
    if (current_.filled == current_.capacity) submit();
  }
}

std::span<const std::byte> PartUploader::pending() const {
  return {current_.data.get(), static_cast<std::size_t>(current_.filled)};
}

void PartUploader::finish() {
  if (current_.filled > 0) submit();
  wait_for(0);
  rethrow_failure();
}

void PartUploader::wait() noexcept { wait_for(0); }

PartUploader::Buffer PartUploader::take_buffer(std::uint64_t capacity) {
  std::lock_guard lock(mutex_);
  for (auto it = free_.begin(); it != free_.end(); ++it) {
    if (it->capacity == capacity) {
      Buffer buffer = std::move(*it);
      free_.erase(it);
      buffer.filled = 0;
      return buffer;
    }
  }
  free_.clear();  // the part size changed: the other buffers are of no more use
  return {std::make_unique_for_overwrite<std::byte[]>(capacity), capacity, 0};
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
  auto buffer = std::make_shared<Buffer>(std::move(current_));
  current_ = {};
  pool_->post([this, index, buffer] {
    std::exception_ptr failure;
    try {
      upload_part_(index, {buffer->data.get(), static_cast<std::size_t>(buffer->filled)});
    } catch (...) {
      failure = std::current_exception();
    }
    std::lock_guard lock(mutex_);
    if (failure && !failure_) failure_ = failure;
    free_.push_back(std::move(*buffer));
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
