// A bounded pool of equal-sized buffers (internal).
#pragma once

#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <vector>

namespace glance_store::detail {

/// One buffer of a BufferPool; returned to the pool when its last shared_ptr goes away.
struct PooledBuffer {
  std::byte* data = nullptr;
  std::size_t capacity = 0;
};

}  // namespace glance_store::detail

namespace glance_store::internal {

/// At most `count` buffers of `size` bytes exist at once; acquire() waits for a free one. The
/// memory is allocated lazily and page-aligned.
class BufferPool : public std::enable_shared_from_this<BufferPool> {
 public:
  static std::shared_ptr<BufferPool> create(std::size_t size, std::size_t count);
  ~BufferPool();

  std::shared_ptr<detail::PooledBuffer> acquire();
  std::size_t buffer_size() const { return size_; }

 private:
  BufferPool(std::size_t size, std::size_t count) : size_(size), count_(count) {}
  void release(detail::PooledBuffer* buffer);

  const std::size_t size_;
  const std::size_t count_;
  std::mutex mutex_;  // guards free_ and allocated_
  std::condition_variable available_;
  std::vector<detail::PooledBuffer*> free_;
  std::size_t allocated_ = 0;
};

}  // namespace glance_store::internal
