// Reading an RBD image (internal).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "drivers/rbd/rbd_cluster.h"
#include "glance_store/stream.h"

namespace glance_store::rbd {

struct ReadTarget {
  std::shared_ptr<Cluster> cluster;
  std::string pool;
  std::string image;
  std::optional<std::string> snapshot;  ///< nullopt: the image itself
  std::uint64_t piece_size = 4 << 20;   ///< bytes per read request
  std::size_t in_flight = 4;            ///< read requests at once
};

/// The size of the image (or of its snapshot). NotFound when either is missing.
std::uint64_t image_size(const ReadTarget& target);

/// Opens the image (at its snapshot, read-only) and streams `length` bytes from `offset` (all
/// of it without a length; no bytes from the end on), with up to `in_flight` reads ahead of
/// the caller: memory stays at in_flight × piece_size. NotFound when the image or snapshot is
/// missing; a failed read ends the stream with an error, never with short data.
GetResult open_image_stream(const ReadTarget& target, std::uint64_t offset,
                            std::optional<std::uint64_t> length);

}  // namespace glance_store::rbd
