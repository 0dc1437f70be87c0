// One add driven from Python: Python queues the image's chunks without blocking, a C++ thread
// runs the store's add on them. Python waits on the queue's eventfd (under eventlet, in its hub),
// so a slow store never blocks the process's other requests.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <optional>
#include <span>
#include <string>
#include <thread>

#include "byte_queue.h"
#include "glance_store/context.h"
#include "glance_store/store.h"

namespace glance_store::python {

class AddSession {
 public:
  /// Starts the add on its own thread; `queue_bytes` bounds what waits between Python and it.
  AddSession(Store& store, std::string image_id, std::uint64_t size, std::string hashing_algo,
             std::optional<RequestContext> context, std::size_t queue_bytes);
  /// Abandons the add if it still runs, and waits for its thread.
  ~AddSession();
  AddSession(const AddSession&) = delete;
  AddSession& operator=(const AddSession&) = delete;

  /// Readable when the add may take more bytes or has ended.
  int fd() const { return queue_.fd(); }
  /// Queues the next bytes (a copy); false when the queue is full or the add has ended.
  bool try_write(std::span<const std::byte> bytes) { return queue_.try_push(bytes); }
  /// No more bytes: the add commits once it has taken what is queued.
  void close_input() { queue_.close(); }
  /// Whether the add has ended, committed or failed.
  bool done() const { return done_.load(); }
  /// done(), clearing fd() first: when false, fd() becomes readable once it may have changed.
  bool poll_done() {
    queue_.clear_signal();
    return done_.load();
  }
  /// The result of an ended add; throws its Error.
  AddResult result();
  /// Asks the add to stop (its writer removes what it wrote); done() tells when it has.
  void cancel() { queue_.cancel(); }
  /// Stops the add and waits for it. Never throws.
  void abort() noexcept;

 private:
  // The add's source: what Python queued.
  class QueueStream final : public InputStream {
   public:
    explicit QueueStream(ByteQueue& queue) : queue_(queue) {}
    std::size_t read(std::span<std::byte> out) override { return queue_.pop_into(out); }

   private:
    ByteQueue& queue_;
  };

  ByteQueue queue_;
  QueueStream input_{queue_};
  std::optional<RequestContext> context_;
  std::optional<AddResult> result_;
  std::exception_ptr error_;
  std::atomic<bool> done_{false};
  std::thread thread_;
};

}  // namespace glance_store::python
