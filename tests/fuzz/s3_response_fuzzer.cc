// libFuzzer target: the input is the body of an S3 error answer (its first byte picks the
// status). Parsing it, wording it and judging whether it is worth a retry must never crash, and
// the kind it maps to must be one an S3 failure can have.
#include <cstddef>
#include <cstdint>
#include <string>

#include "drivers/s3/s3_errors.h"
#include "fuzz_check.h"
#include "net/http.h"

namespace {

namespace gs = glance_store;

constexpr long kStatuses[] = {200, 400, 401, 403, 404, 409, 412, 416, 429, 500, 503};

using glance_store::fuzz::require;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const long status = kStatuses[data[0] % std::size(kStatuses)];
  gs::net::Response response;
  response.status = status;
  response.body.assign(reinterpret_cast<const char*>(data) + 1, size - 1);
  const gs::s3::S3Failure failure = gs::s3::parse_failure(response);
  require(failure.status == status);
  require(!failure.describe().empty());
  const gs::Error error = gs::s3::failure_error("S3 GET of key failed", failure);
  require(error.kind() == gs::ErrorKind::kBackendException ||
          (failure.refused() && (error.kind() == gs::ErrorKind::kForbidden ||
                                 error.kind() == gs::ErrorKind::kBadStoreConfiguration)));
  // 5xx and 429 are always worth another attempt; 2xx and most 4xx never.
  const bool again = gs::s3::transient(response).has_value();
  if (status >= 500 || status == 429) require(again);
  if (status != 400 && status < 429) require(!again);
  return 0;
}
