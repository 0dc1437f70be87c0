#include "byte_queue.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <utility>

#include "glance_store/error.h"

namespace glance_store::python {

ByteQueue::ByteQueue(std::size_t capacity) : capacity_(capacity) {
  event_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (event_fd_ < 0) {
    throw Error(ErrorKind::kBackendException,
                std::string("cannot create an eventfd: ") + std::strerror(errno), errno);
  }
}

ByteQueue::~ByteQueue() { ::close(event_fd_); }

void ByteQueue::changed() {
  cv_.notify_all();
  const std::uint64_t one = 1;
  // Only fails when the counter would overflow: it is readable then anyway.
  (void)!::write(event_fd_, &one, sizeof one);
}

void ByteQueue::rearm() {
  std::uint64_t count = 0;
  (void)!::read(event_fd_, &count, sizeof count);  // EAGAIN: already clear
}

bool ByteQueue::try_push(std::span<const std::byte> bytes) {
  std::lock_guard lock(mutex_);
  if (cancelled_ || (!chunks_.empty() && queued_ + bytes.size() > capacity_)) {
    rearm();  // whatever changes this (a pop, a cancel) signals again
    return false;
  }
  chunks_.emplace_back(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  queued_ += bytes.size();
  changed();
  return true;
}

std::optional<std::string> ByteQueue::try_pop() {
  std::lock_guard lock(mutex_);
  if (chunks_.empty()) {
    if (error_) std::rethrow_exception(error_);
    if (closed_) return std::string();
    rearm();
    return std::nullopt;
  }
  std::string chunk = std::move(chunks_.front());
  chunks_.pop_front();
  queued_ -= chunk.size();
  changed();
  return chunk;
}

bool ByteQueue::push(std::string chunk) {
  std::unique_lock lock(mutex_);
  cv_.wait(lock,
           [&] { return cancelled_ || chunks_.empty() || queued_ + chunk.size() <= capacity_; });
  if (cancelled_) return false;
  queued_ += chunk.size();
  chunks_.push_back(std::move(chunk));
  changed();
  return true;
}

std::size_t ByteQueue::pop_into(std::span<std::byte> out) {
  std::unique_lock lock(mutex_);
  cv_.wait(lock, [&] { return cancelled_ || closed_ || !chunks_.empty(); });
  if (cancelled_) throw Error(ErrorKind::kBackendException, "the upload was abandoned");
  if (chunks_.empty()) return 0;  // closed, and everything taken
  const std::string& front = chunks_.front();
  const std::size_t n = std::min(out.size(), front.size() - front_offset_);
  std::memcpy(out.data(), front.data() + front_offset_, n);
  front_offset_ += n;
  if (front_offset_ == front.size()) {
    queued_ -= front.size();
    chunks_.pop_front();
    front_offset_ = 0;
    changed();
  }
  return n;
}

void ByteQueue::close() {
  std::lock_guard lock(mutex_);
  closed_ = true;
  changed();
}

void ByteQueue::fail(std::exception_ptr error) {
  std::lock_guard lock(mutex_);
  error_ = std::move(error);
  closed_ = true;
  changed();
}

void ByteQueue::cancel() {
  std::lock_guard lock(mutex_);
  cancelled_ = true;
  chunks_.clear();
  queued_ = 0;
  front_offset_ = 0;
  changed();
}

void ByteQueue::clear_signal() {
  std::lock_guard lock(mutex_);
  rearm();
}

bool ByteQueue::cancelled() const {
  std::lock_guard lock(mutex_);
  return cancelled_;
}

}  // namespace glance_store::python
