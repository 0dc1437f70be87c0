// Reading an image file (internal).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "glance_store/stream.h"

namespace glance_store::filesystem {

/// A stream of [offset, offset + length) of the open file `fd` (which it closes), at most
/// `chunk_size` bytes per read. A file that ends early fails the read (never short data).
std::unique_ptr<InputStream> make_file_reader(int fd, std::uint64_t offset, std::uint64_t length,
                                              std::size_t chunk_size);

}  // namespace glance_store::filesystem
