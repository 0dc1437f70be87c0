// Reading an image from S3 (internal): one GET by offset and length that resumes where a broken
// connection stopped, with If-Match on the object's ETag.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "drivers/s3/s3_client.h"
#include "glance_store/stream.h"

namespace glance_store::s3 {

/// Opens `length` bytes (to the end when nullopt) from `offset` of the object; a connection that
/// breaks is resumed at most the client's max_retries times, only while the object is the same
/// one. Throws NotFound for a missing object, Error for other failures. A range that starts at
/// or past the end gives an empty stream.
GetResult open_object(const std::shared_ptr<S3Client>& client, const Endpoint& endpoint,
                      const std::string& bucket, const std::string& key, std::uint64_t offset,
                      std::optional<std::uint64_t> length);

}  // namespace glance_store::s3
