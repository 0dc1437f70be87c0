// The XML answers of S3's multipart operations, parsed (internal): what the writer and the
// cleanup read from a server, apart from their HTTP exchange so that they can be fuzzed alone.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace glance_store::s3 {

/// The UploadId of an InitiateMultipartUploadResult ("" when the body holds none).
std::string parse_upload_id(std::string_view body);

/// The ETag of a CompleteMultipartUploadResult, quotes and all ("" when the body holds none:
/// RGW 16.2 leaves it out).
std::string parse_completed_etag(std::string_view body);

/// One page of a ListMultipartUploads answer.
struct UploadListing {
  struct Upload {
    std::string key;
    std::string upload_id;
    std::int64_t initiated = 0;  ///< Unix seconds
  };
  std::vector<Upload> uploads;
  bool truncated = false;
  /// Where the next page starts: the answer's NextKeyMarker and NextUploadIdMarker, or the last
  /// upload's key and id when a server leaves them out.
  std::string next_key_marker;
  std::string next_upload_id_marker;
};

/// The listing in `body`; nullopt when it is not a ListMultipartUploadsResult or an upload in
/// it lacks its key, upload id or start time.
std::optional<UploadListing> parse_upload_listing(std::string_view body);

}  // namespace glance_store::s3
