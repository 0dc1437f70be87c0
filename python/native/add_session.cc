#include "add_session.h"

#include <utility>

#include "glance_store/error.h"

namespace glance_store::python {

AddSession::AddSession(Store& store, std::string image_id, std::uint64_t size,
                       std::string hashing_algo, std::optional<RequestContext> context,
                       std::size_t queue_bytes)
    : queue_(queue_bytes), context_(std::move(context)) {
  thread_ =
      std::thread([this, &store, id = std::move(image_id), size, algo = std::move(hashing_algo)] {
        try {
          result_ = store.add(id, input_, size, algo, nullptr, context_ ? &*context_ : nullptr);
        } catch (...) {
          error_ = std::current_exception();
        }
        done_.store(true);
        queue_.cancel();  // refuses further bytes, and wakes Python
      });
}

AddSession::~AddSession() { abort(); }

AddResult AddSession::result() {
  if (!done_.load()) throw Error(ErrorKind::kBackendException, "the add has not ended");
  if (thread_.joinable()) thread_.join();
  if (error_) std::rethrow_exception(error_);
  if (!result_) throw Error(ErrorKind::kBackendException, "the add's result was taken");
  AddResult out = std::move(*result_);
  result_.reset();
  return out;
}

void AddSession::abort() noexcept {
  queue_.cancel();
  if (thread_.joinable()) thread_.join();
}

}  // namespace glance_store::python
