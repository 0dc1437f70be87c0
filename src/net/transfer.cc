#include "net/transfer.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <limits>
#include <random>

#include "core/log.h"
#include "glance_store/error.h"

namespace glance_store::net {

Error transport_error(std::string_view what, const TransportError& e) {
  // libcurl's text names the host and port, never the credentials (they are in headers).
  return {e.tls() ? ErrorKind::kBadStoreConfiguration : ErrorKind::kRemoteServiceUnavailable,
          std::string(what) + ": " + e.what()};
}

void backoff(int attempt) {
  thread_local std::minstd_rand random(std::random_device{}());
  const int base_ms = std::min(2000, 100 << std::min(std::max(attempt, 1) - 1, 5));
  const int jitter = static_cast<int>(random() % static_cast<unsigned>(base_ms / 2 + 1));
  std::this_thread::sleep_for(std::chrono::milliseconds(base_ms / 2 + jitter));
}

std::chrono::milliseconds settle_time(std::chrono::steady_clock::duration commit_latency) {
  const auto twice = 2 * std::chrono::duration_cast<std::chrono::milliseconds>(commit_latency);
  return std::clamp(twice + std::chrono::milliseconds(50), std::chrono::milliseconds(50),
                    std::chrono::milliseconds(2000));
}

std::optional<std::uint64_t> parse_u64(const std::string* text) {
  if (text == nullptr || text->empty() || text->size() > 19) return std::nullopt;
  std::uint64_t value = 0;
  for (const char c : *text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return value;
}

StreamingUpload::StreamingUpload(HttpClient& http, Request request,
                                 std::optional<std::uint64_t> size)
    : size_(size), thread_([this, &http, request = std::move(request)]() mutable {
        run(http, std::move(request));
      }) {}

StreamingUpload::~StreamingUpload() { cancel(); }

bool StreamingUpload::write(const DataChunk& chunk) {
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [&] { return queue_.size() < kQueued || ended_; });
  if (ended_) return false;
  queue_.push_back(chunk);
  changed_.notify_all();
  return true;
}

void StreamingUpload::release() {
  std::lock_guard lock(mutex_);
  released_ = true;
  changed_.notify_all();
}

Response StreamingUpload::finish() {
  release();
  if (thread_.joinable()) thread_.join();
  if (error_) std::rethrow_exception(error_);
  return std::move(response_);
}

void StreamingUpload::cancel() noexcept {
  {
    std::lock_guard lock(mutex_);
    cancelled_ = !released_;
    changed_.notify_all();
  }
  if (thread_.joinable()) thread_.join();
}

void StreamingUpload::run(HttpClient& http, Request request) {
  try {
    request.body = {};
    request.body_source = [this](std::span<std::byte> out) { return feed(out); };
    request.body_size = size_;
    response_ = http.perform(request);
  } catch (...) {
    error_ = std::current_exception();
  }
  std::lock_guard lock(mutex_);
  ended_ = true;
  changed_.notify_all();
}

// libcurl asks for body bytes: hand over queued chunks, all but the very last byte (or the end
// of a body of unknown size) until finish() releases it.
std::size_t StreamingUpload::feed(std::span<std::byte> out) {
  std::unique_lock lock(mutex_);
  for (;;) {
    if (cancelled_) throw Error(ErrorKind::kBackendException, "upload cancelled");
    if (!size_ && released_ && queue_.empty()) return 0;
    if (size_ && sent_ == *size_) return 0;
    const std::uint64_t limit = !size_      ? std::numeric_limits<std::uint64_t>::max()
                                : released_ ? *size_
                                            : *size_ - 1;
    if (sent_ < limit && !queue_.empty()) {
      const auto bytes = queue_.front().bytes().subspan(front_offset_);
      const auto n = static_cast<std::size_t>(
          std::min<std::uint64_t>({out.size(), bytes.size(), limit - sent_}));
      std::memcpy(out.data(), bytes.data(), n);
      sent_ += n;
      front_offset_ += n;
      if (front_offset_ == queue_.front().bytes().size()) {
        queue_.pop_front();
        front_offset_ = 0;
        changed_.notify_all();
      }
      return n;
    }
    changed_.wait(lock);
  }
}

}  // namespace glance_store::net
