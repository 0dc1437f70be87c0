// libFuzzer target: the input is the body of an S3 answer (its first byte picks the status),
// read as an error, as the answers of a multipart upload's start and completion, and as a page
// of the multipart upload listing a cleanup walks. Parsing it, wording it and judging whether it
// is worth a retry must never crash, the kind it maps to must be one an S3 failure can have, and
// a listing accepted must hold what the cleanup relies on.
#include <cstddef>
#include <cstdint>
#include <string>

#include "drivers/s3/s3_answers.h"
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

  (void)gs::s3::parse_upload_id(response.body);
  (void)gs::s3::parse_completed_etag(response.body);
  if (const auto listing = gs::s3::parse_upload_listing(response.body)) {
    for (const auto& upload : listing->uploads) {
      require(!upload.key.empty() && !upload.upload_id.empty());
    }
    // A page that goes on always says where: its markers or its last upload's.
    if (!listing->uploads.empty()) require(!listing->next_key_marker.empty());
  }
  return 0;
}
