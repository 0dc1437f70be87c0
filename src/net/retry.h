// The one retry loop of the network stores (internal): a driver says which answers are worth
// sending again (its error mapper), this says how often and how long to wait.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "core/log.h"
#include "net/http.h"
#include "net/transfer.h"

namespace glance_store::net {

/// Runs `attempt` (a request: it returns an answer, or throws TransportError) until its answer is
/// final or `max_retries` more attempts were made, pausing with backoff() in between.
/// `transient(answer)` is the driver's verdict: why the answer is worth another attempt (for the
/// log), or nullopt when it is final. A TransportError is tried again when it is retryable.
/// Returns the last answer, whatever it is; rethrows the last TransportError.
template <typename Attempt, typename Transient>
auto with_retries(int max_retries, std::string_view what, Attempt&& attempt, Transient&& transient)
    -> decltype(attempt()) {
  for (int retry = 0;; ++retry) {
    try {
      auto answer = attempt();
      const std::optional<std::string> why = transient(std::as_const(answer));
      if (!why || retry >= max_retries) return answer;
      internal::logger()->warn("{}: {}; retrying", what, *why);
    } catch (const TransportError& e) {
      if (!e.retryable() || retry >= max_retries) throw;
      internal::logger()->warn("{}: {}; retrying", what, e.what());
    }
    backoff(retry + 1);
  }
}

/// The status of an answer, whole or streamed (for the drivers' verdicts).
inline long status_of(const Response& response) { return response.status; }
inline long status_of(const ResponseStream& stream) { return stream.status(); }
template <typename Answer>
long status_of(const std::unique_ptr<Answer>& answer) {
  return status_of(*answer);
}

}  // namespace glance_store::net
