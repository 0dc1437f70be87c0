#include "core/buffer_pool.h"

#include <cstdlib>
#include <new>

#include "glance_store/store.h"

namespace glance_store {

DataChunk::DataChunk(std::shared_ptr<detail::PooledBuffer> buffer, std::size_t size)
    : buffer_(std::move(buffer)), size_(size) {}

std::span<const std::byte> DataChunk::bytes() const { return {buffer_->data + offset_, size_}; }

DataChunk DataChunk::slice(std::size_t offset, std::size_t size) const {
  DataChunk part(buffer_, size);
  part.offset_ = offset_ + offset;
  return part;
}

}  // namespace glance_store

namespace glance_store::internal {
namespace {
constexpr std::size_t kAlignment = 4096;
}

std::shared_ptr<BufferPool> BufferPool::create(std::size_t size, std::size_t count) {
  return std::shared_ptr<BufferPool>(new BufferPool(size, count));
}

BufferPool::~BufferPool() {
  for (auto* b : free_) {
    std::free(b->data);
    delete b;
  }
}

std::shared_ptr<detail::PooledBuffer> BufferPool::acquire() {
  detail::PooledBuffer* buffer = nullptr;
  {
    std::unique_lock lock(mutex_);
    available_.wait(lock, [this] { return !free_.empty() || allocated_ < count_; });
    if (!free_.empty()) {
      buffer = free_.back();
      free_.pop_back();
    } else {
      const std::size_t rounded = (size_ + kAlignment - 1) / kAlignment * kAlignment;
      void* mem = std::aligned_alloc(kAlignment, rounded);
      if (mem == nullptr) throw std::bad_alloc();
      buffer = new detail::PooledBuffer{static_cast<std::byte*>(mem), size_};
      ++allocated_;
    }
  }
  auto self = shared_from_this();
  return {buffer, [self](detail::PooledBuffer* b) { self->release(b); }};
}

void BufferPool::release(detail::PooledBuffer* buffer) {
  {
    std::lock_guard lock(mutex_);
    free_.push_back(buffer);
  }
  available_.notify_one();
}

}  // namespace glance_store::internal
