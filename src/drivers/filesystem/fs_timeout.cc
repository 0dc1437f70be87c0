#include "drivers/filesystem/fs_timeout.h"

#include <fmt/format.h>

#include "core/log.h"
#include "glance_store/error.h"

namespace glance_store::filesystem {

TimeoutExecutor::TimeoutExecutor(double timeout_seconds, std::size_t pool_size,
                                 int threshold_percent)
    : timeout_(timeout_seconds), pool_size_(pool_size), threshold_(threshold_percent) {
  if (timeout_ > 0) {
    pool_ = std::make_shared<internal::ThreadPool>(pool_size_,
                                                   internal::ThreadPool::OnDestroy::kDetach);
  }
}

void TimeoutExecutor::submit(std::function<void()> job) {
  const int in_flight = in_flight_->fetch_add(1) + 1;
  const double usage = 100.0 * in_flight / static_cast<double>(pool_size_);
  if (usage >= threshold_) {
    internal::logger()->warn(
        "Thread pool usage is at {:.1f}% (threshold: {}%). Pool may start blocking.", usage,
        threshold_);
  }
  pool_->post([job = std::move(job), counter = in_flight_] {
    job();
    counter->fetch_sub(1);
  });
}

void TimeoutExecutor::wait(std::future_status status) const {
  if (status == std::future_status::ready) return;
  throw Error(ErrorKind::kTimeoutError,
              Error::format(default_message(ErrorKind::kTimeoutError),
                            {{"timeout", std::to_string(static_cast<long long>(timeout_))}}));
}

}  // namespace glance_store::filesystem
