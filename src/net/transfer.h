// Transfers every network store shares (internal): retry pacing, header values, and uploads
// whose body streams from the add pipeline.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "glance_store/error.h"
#include "glance_store/store.h"
#include "net/http.h"

namespace glance_store::net {

/// The Error a transport failure becomes, prefixed by `what`: BadStoreConfiguration for a TLS
/// failure (a certificate the configuration does not trust), else RemoteServiceUnavailable.
Error transport_error(std::string_view what, const TransportError& e);

/// Sleeps before retry `attempt` (from 1): exponential from 100 ms up to 2 s, with jitter.
void backoff(int attempt);

/// Object stores keep the newest of two writes of one name, and check a create-only condition
/// (If-None-Match) when a write begins: two adds of one id that finish in the same moment can
/// both pass it. An add that found its own object stored after committing looks once more after
/// this long — twice its own commit's latency plus 50 ms, within 50 ms … 2 s — by when a
/// competing write that had passed its checks before ours landed has landed too.
std::chrono::milliseconds settle_time(std::chrono::steady_clock::duration commit_latency);

/// A decimal header value (Content-Length, …), or nullopt when absent or malformed.
std::optional<std::uint64_t> parse_u64(const std::string* text);

/// One request whose body streams from an add as it arrives (never held whole): a thread runs
/// the request and libcurl takes the bytes from a short queue. The last byte (of a body of
/// unknown size, sent chunked: its end) is held back until finish(), so the server never has a
/// complete body before the add has checked the size and the hashes: an add that fails leaves
/// no object.
class StreamingUpload {
 public:
  /// Starts `request` (its body fields are set here) with a body of `size` bytes (nullopt:
  /// unknown).
  StreamingUpload(HttpClient& http, Request request, std::optional<std::uint64_t> size);
  /// Cancels the request unless finish() returned.
  ~StreamingUpload();
  StreamingUpload(const StreamingUpload&) = delete;
  StreamingUpload& operator=(const StreamingUpload&) = delete;

  /// Queues a chunk (waits while the queue is full). Returns false when the request has already
  /// ended (the server answered early, or it failed): finish() tells how.
  bool write(const DataChunk& chunk);
  /// Releases the last byte (the request then ends on its own) without waiting.
  void release();
  /// Releases the last byte and waits for the response. Throws TransportError.
  Response finish();
  /// Stops the request; the server sees an incomplete body. Never throws.
  void cancel() noexcept;

 private:
  static constexpr std::size_t kQueued = 4;
  void run(HttpClient& http, Request request);
  std::size_t feed(std::span<std::byte> out);

  std::optional<std::uint64_t> size_;
  std::mutex mutex_;  // guards everything below but the thread
  std::condition_variable changed_;
  std::deque<DataChunk> queue_;
  std::size_t front_offset_ = 0;
  std::uint64_t sent_ = 0;
  bool released_ = false;
  bool cancelled_ = false;
  bool ended_ = false;
  Response response_;
  std::exception_ptr error_;
  std::thread thread_;  // last: started once everything it uses exists
};

}  // namespace glance_store::net
