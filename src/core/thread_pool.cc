#include "core/thread_pool.h"

#include <algorithm>
#include <system_error>

#include "glance_store/error.h"

namespace glance_store::internal {

ThreadPool::ThreadPool(std::size_t threads, OnDestroy on_destroy)
    : size_(threads), on_destroy_(on_destroy) {
  workers_.reserve(threads);
  try {
    for (std::size_t i = 0; i < threads; ++i) {
      workers_.emplace_back([state = state_] { run(state); });
    }
  } catch (const std::system_error& e) {
    on_destroy_ = OnDestroy::kJoin;
    stop();
    throw Error(ErrorKind::kBackendException,
                "cannot start " + std::to_string(threads) + " threads: " + e.what());
  }
}

ThreadPool::~ThreadPool() { stop(); }

void ThreadPool::stop() noexcept {
  {
    std::lock_guard lock(state_->mutex);
    state_->stopping = true;
    if (on_destroy_ == OnDestroy::kDetach) state_->queue.clear();
  }
  state_->wake.notify_all();
  for (auto& t : workers_) {
    if (on_destroy_ == OnDestroy::kJoin) {
      t.join();
    } else {
      t.detach();
    }
  }
  workers_.clear();
}

void ThreadPool::post(std::function<void()> task) {
  {
    std::lock_guard lock(state_->mutex);
    state_->queue.push_back(std::move(task));
  }
  state_->wake.notify_one();
}

void ThreadPool::run(const std::shared_ptr<State>& state) {
  for (;;) {
    std::function<void()> task;
    {
      std::unique_lock lock(state->mutex);
      state->wake.wait(lock, [&] { return state->stopping || !state->queue.empty(); });
      if (state->queue.empty()) return;
      task = std::move(state->queue.front());
      state->queue.pop_front();
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
