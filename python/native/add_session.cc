#include "add_session.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "glance_store/error.h"

namespace glance_store::python {

std::size_t HandoffStream::read(std::span<std::byte> out) {
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [&] { return cancelled_ || !offered_.empty() || input_closed_; });
  if (cancelled_) throw Error(ErrorKind::kBackendException, "the upload was abandoned");
  if (offered_.empty()) return 0;  // input closed and everything consumed
  const std::size_t n = std::min(out.size(), offered_.size());
  std::memcpy(out.data(), offered_.data(), n);
  offered_ = offered_.subspan(n);
  if (offered_.empty()) changed_.notify_all();
  return n;
}

bool HandoffStream::offer(std::span<const std::byte> data) {
  std::unique_lock lock(mutex_);
  if (consumer_done_) return false;
  offered_ = data;
  changed_.notify_all();
  changed_.wait(lock, [&] { return offered_.empty() || consumer_done_; });
  const bool consumed = offered_.empty();
  offered_ = {};  // never leave a pointer into the caller's memory behind
  return consumed;
}

void HandoffStream::close_input() {
  std::lock_guard lock(mutex_);
  input_closed_ = true;
  changed_.notify_all();
}

void HandoffStream::cancel() {
  std::lock_guard lock(mutex_);
  cancelled_ = true;
  changed_.notify_all();
}

void HandoffStream::consumer_done() {
  std::lock_guard lock(mutex_);
  consumer_done_ = true;
  changed_.notify_all();
}

AddSession::AddSession(Store& store, std::string image_id, std::uint64_t size,
                       std::string hashing_algo, std::optional<RequestContext> context)
    : context_(std::move(context)) {
  thread_ =
      std::thread([this, &store, id = std::move(image_id), size, algo = std::move(hashing_algo)] {
        try {
          result_ = store.add(id, input_, size, algo, nullptr, context_ ? &*context_ : nullptr);
        } catch (...) {
          error_ = std::current_exception();
        }
        input_.consumer_done();
      });
}

AddSession::~AddSession() { abort(); }

bool AddSession::write(std::span<const std::byte> data) {
  if (data.empty()) return true;
  return input_.offer(data);
}

AddResult AddSession::finish() {
  input_.close_input();
  join();
  if (error_) std::rethrow_exception(error_);
  if (!result_) throw Error(ErrorKind::kBackendException, "the add has already been finished");
  AddResult result = std::move(*result_);
  result_.reset();
  error_ = std::make_exception_ptr(
      Error(ErrorKind::kBackendException, "the add has already been finished"));
  return result;
}

void AddSession::abort() noexcept {
  input_.cancel();
  join();
}

void AddSession::join() noexcept {
  if (thread_.joinable()) thread_.join();
}

}  // namespace glance_store::python
