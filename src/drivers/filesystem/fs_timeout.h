// Runs blocking metadata calls (stat, unlink, statvfs) with a time limit, so a hung NFS mount
// fails an operation instead of hanging it (internal).
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <future>
#include <memory>

#include "core/thread_pool.h"

namespace glance_store::filesystem {

class TimeoutExecutor {
 public:
  /// timeout_seconds 0: calls run in the caller's thread. Otherwise they run on a pool of
  /// `pool_size` threads; a warning is logged when the calls in flight (the new one included)
  /// reach `threshold_percent` of the pool.
  TimeoutExecutor(double timeout_seconds, std::size_t pool_size, int threshold_percent);

  double timeout_seconds() const { return timeout_; }
  std::size_t pool_size() const { return pool_size_; }
  int threshold_percent() const { return threshold_; }
  bool enabled() const { return pool_ != nullptr; }

  /// Runs fn; throws Error(kTimeoutError) when it takes longer than the timeout (fn then
  /// finishes in the background and its result is dropped).
  template <typename T>
  T run(std::function<T()> fn) {
    if (!pool_) return fn();
    auto task = std::make_shared<std::packaged_task<T()>>(std::move(fn));
    auto future = task->get_future();
    submit([task] { (*task)(); });
    wait(future.wait_for(std::chrono::duration<double>(timeout_)));
    return future.get();
  }

 private:
  void submit(std::function<void()> job);
  void wait(std::future_status status) const;

  double timeout_;
  std::size_t pool_size_;
  int threshold_;
  std::shared_ptr<std::atomic<int>> in_flight_ = std::make_shared<std::atomic<int>>(0);
  std::shared_ptr<internal::ThreadPool> pool_;
};

}  // namespace glance_store::filesystem
