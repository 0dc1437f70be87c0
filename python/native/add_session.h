// One add driven from Python: Python hands over the image in chunks, a C++ thread runs the
// store's add and reads them. Python threads never run the store's code; C++ threads never
// touch Python objects.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>

#include "glance_store/context.h"
#include "glance_store/store.h"
#include "glance_store/stream.h"

namespace glance_store::python {

/// A stream whose bytes come from another thread, one borrowed chunk at a time: the producer's
/// offer() waits until the consumer has copied all of the chunk (or the add has ended), so the
/// chunk's memory needs to live only for that call and nothing is buffered here.
class HandoffStream final : public InputStream {
 public:
  std::size_t read(std::span<std::byte> out) override;

  /// Lends `data` to the reader and waits until it is consumed. Returns false when the add ended
  /// before consuming it all (it failed, or it got more bytes than it wanted).
  bool offer(std::span<const std::byte> data);
  /// No more data: the next read past the offered bytes returns 0.
  void close_input();
  /// Makes any read fail: the add is being abandoned.
  void cancel();
  /// The consumer is gone; wakes a waiting offer().
  void consumer_done();

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::span<const std::byte> offered_;
  bool input_closed_ = false;
  bool cancelled_ = false;
  bool consumer_done_ = false;
};

/// An add running on its own thread. write() and finish() block: call them off the event loop.
class AddSession {
 public:
  AddSession(Store& store, std::string image_id, std::uint64_t size, std::string hashing_algo,
             std::optional<RequestContext> context);
  /// Abandons the add (if still running) and waits for its thread.
  ~AddSession();
  AddSession(const AddSession&) = delete;
  AddSession& operator=(const AddSession&) = delete;

  /// Passes the next bytes of the image. Returns false when the add has already ended (finish()
  /// then says how).
  bool write(std::span<const std::byte> data);
  /// Ends the input, waits for the add and returns its result; throws the add's Error.
  AddResult finish();
  /// Stops the add; whatever it wrote is removed by the store. Never throws.
  void abort() noexcept;

 private:
  void join() noexcept;

  HandoffStream input_;
  std::optional<RequestContext> context_;
  std::optional<AddResult> result_;
  std::exception_ptr error_;
  std::thread thread_;
};

}  // namespace glance_store::python
