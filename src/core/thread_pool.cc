#include "core/thread_pool.h"

#include <algorithm>

namespace glance_store::internal {

ThreadPool::ThreadPool(std::size_t threads) {
  workers_.reserve(threads);
  for (std::size_t i = 0; i < threads; ++i) workers_.emplace_back([this] { run(); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  for (auto& t : workers_) t.join();
}

void ThreadPool::post(std::function<void()> task) {
  {
    std::lock_guard lock(mutex_);
    queue_.push_back(std::move(task));
  }
  wake_.notify_one();
}

void ThreadPool::run() {
  for (;;) {
    std::function<void()> task;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;
      task = std::move(queue_.front());
      queue_.pop_front();
    }
    task();
  }
}

ThreadPool& ThreadPool::shared() {
  static ThreadPool pool(std::clamp<std::size_t>(std::thread::hardware_concurrency(), 2, 16));
  return pool;
}

void SerialQueue::post(std::function<void()> task) {
  bool start = false;
  {
    std::lock_guard lock(mutex_);
    tasks_.push_back(std::move(task));
    if (!running_) {
      running_ = true;
      start = true;
    }
  }
  if (start) pool_.post([this] { drain(); });
}

void SerialQueue::drain() {
  for (;;) {
    std::function<void()> task;
    bool skip = false;
    {
      std::lock_guard lock(mutex_);
      if (tasks_.empty()) {
        running_ = false;
        idle_.notify_all();
        return;
      }
      task = std::move(tasks_.front());
      tasks_.pop_front();
      skip = error_ != nullptr;
    }
    if (skip) continue;
    try {
      task();
    } catch (...) {
      std::lock_guard lock(mutex_);
      error_ = std::current_exception();
    }
  }
}

void SerialQueue::wait_idle() {
  std::unique_lock lock(mutex_);
  idle_.wait(lock, [this] { return !running_ && tasks_.empty(); });
}

std::exception_ptr SerialQueue::error() {
  std::lock_guard lock(mutex_);
  return error_;
}

}  // namespace glance_store::internal
