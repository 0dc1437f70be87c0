// A bounded queue of byte chunks between a C++ thread and Python, with an eventfd that Python's
// event loop can wait on. Python's side never blocks: it tries, and when it cannot go on it waits
// until the descriptor is readable (eventlet's trampoline, or select()). The C++ side blocks on a
// condition variable. So no Python thread waits for C++ in a native call, and no C++ thread
// touches Python: the only thing crossing is the queue, under its mutex.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <exception>
#include <mutex>
#include <optional>
#include <span>
#include <string>

namespace glance_store::python {

class ByteQueue {
 public:
  /// At most `capacity` bytes queued (one chunk more when the queue is empty, so that any chunk
  /// fits).
  explicit ByteQueue(std::size_t capacity);
  ~ByteQueue();
  ByteQueue(const ByteQueue&) = delete;
  ByteQueue& operator=(const ByteQueue&) = delete;

  /// Readable whenever the queue's state changed since Python last found it could not go on.
  int fd() const { return event_fd_; }

  // --- Python's side: never blocks.
  /// Queues a copy of `bytes`; false when the queue is full or the consumer is gone (Python then
  /// waits for fd() and checks again).
  bool try_push(std::span<const std::byte> bytes);
  /// The next chunk; "" after the end; nullopt when none is ready yet. Rethrows the producer's
  /// failure.
  std::optional<std::string> try_pop();

  // --- The C++ thread's side: blocks.
  /// Queues a chunk, waiting for room; false when the consumer is gone.
  bool push(std::string chunk);
  /// Copies up to out.size() queued bytes into out, waiting for some; 0 after close(). Throws
  /// when cancelled.
  std::size_t pop_into(std::span<std::byte> out);

  // --- Either side.
  /// The producer has finished; the consumer drains what is queued, then sees the end.
  void close();
  /// The producer failed: the consumer gets `error` after what is queued.
  void fail(std::exception_ptr error);
  /// The consumer is gone: pushes fail, a waiting pop_into throws.
  void cancel();
  bool cancelled() const;
  /// Clears the eventfd: the next change makes it readable again. For a caller about to check a
  /// condition of its own and wait for fd() when it does not hold.
  void clear_signal();

 private:
  void changed();  // wakes both sides; called with mutex_ held
  void rearm();    // clears the eventfd; called with mutex_ held

  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<std::string> chunks_;
  std::size_t front_offset_ = 0;  // bytes of chunks_.front() already taken by pop_into
  std::size_t queued_ = 0;
  std::size_t capacity_;
  bool closed_ = false;
  bool cancelled_ = false;
  std::exception_ptr error_;
  int event_fd_ = -1;
};

}  // namespace glance_store::python
