// Reading images from web servers (internal): glance_store's redirect rules and error kinds,
// reads by offset and length, and reads that resume after a broken connection.
#pragma once

#include <cstdint>
#include <optional>

#include "drivers/http/http_location.h"
#include "drivers/http/http_options.h"
#include "glance_store/stream.h"

namespace glance_store::http {

/// Opens `length` bytes (to the end when nullopt) from `offset` of the image at `location`,
/// following redirects as glance_store does. A body of unknown length is streamed as it comes
/// (size_known false); one of known length resumes where a connection broke, with If-Match or
/// If-Unmodified-Since. Throws Error with glance_store's kinds.
GetResult open_image(const Clients& clients, const HttpLocation& location, std::uint64_t offset,
                     std::optional<std::uint64_t> length);

/// The image's size from a HEAD (0 when the server does not say, as glance_store answers).
std::uint64_t image_size(const Clients& clients, const HttpLocation& location);

}  // namespace glance_store::http
