// A fixed pool of worker threads and serial queues on top of it (internal).
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace glance_store::internal {

/// Runs posted tasks on a fixed set of threads. Tasks must not block on other tasks.
class ThreadPool {
 public:
  enum class OnDestroy {
    kJoin,    ///< wait for the queued tasks
    kDetach,  ///< leave running tasks behind (they must own what they use): for calls that
              ///< may hang, such as stat() on a dead NFS mount
  };
  /// Throws Error(kBackendException) when the threads cannot be started.
  explicit ThreadPool(std::size_t threads, OnDestroy on_destroy = OnDestroy::kJoin);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  void post(std::function<void()> task);
  std::size_t size() const { return size_; }

  /// The process-wide pool the add pipeline hashes on: one thread per core, at least two, so
  /// md5 and the multihash run on different cores.
  static ThreadPool& shared();

 private:
  // Shared with the workers, so that detached ones outlive the pool safely.
  struct State {
    std::mutex mutex;  // guards queue and stopping
    std::condition_variable wake;
    std::deque<std::function<void()>> queue;
    bool stopping = false;
  };
  static void run(const std::shared_ptr<State>& state);
  void stop() noexcept;

  std::shared_ptr<State> state_ = std::make_shared<State>();
  std::vector<std::thread> workers_;
  std::size_t size_;
  OnDestroy on_destroy_;
};

/// Runs its tasks one at a time, in the order posted, on a ThreadPool: a hash's updates must be
/// ordered, but different hashes may run side by side. After a task throws, later tasks are
/// skipped and the error is kept for the owner.
class SerialQueue {
 public:
  explicit SerialQueue(ThreadPool& pool) : pool_(pool) {}
  /// Waits for the queued tasks: they may refer to the owner's state.
  ~SerialQueue() { wait_idle(); }
  SerialQueue(const SerialQueue&) = delete;
  SerialQueue& operator=(const SerialQueue&) = delete;

  void post(std::function<void()> task);
  /// Blocks until every posted task has run (or been skipped).
  void wait_idle();
  /// The first error a task threw, if any.
  std::exception_ptr error();

 private:
  void drain();

  ThreadPool& pool_;
  std::mutex mutex_;  // guards everything below
  std::condition_variable idle_;
  std::deque<std::function<void()>> tasks_;
  bool running_ = false;
  std::exception_ptr error_;
};

}  // namespace glance_store::internal
