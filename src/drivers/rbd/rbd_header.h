// What an RBD image's header says, asked of Ceph's rbd object class without opening the image
// (internal). librbd 16.2 can corrupt the heap or abort the process when an image is closed
// right after it was opened (a handler still queued on librbd's own thread touches the freed
// image): the quick lookups of the store's operations (an id, a size, a metadata value, the
// clients) go to the header objects instead, one round trip each.
#pragma once

#include <cstdint>
#include <optional>
#include <rados/librados.hpp>
#include <string>
#include <vector>

namespace glance_store::rbd {

/// librbd's id of the image `name` names (from its `rbd_id.<name>` object), nullopt when no
/// image has that name.
std::optional<std::string> read_image_id(librados::IoCtx& io, const std::string& name);

/// The id of snapshot `snapshot` of image `image_id`, nullopt when the image has none of that
/// name. NotFound when the image is gone.
std::optional<std::uint64_t> read_snapshot_id(librados::IoCtx& io, const std::string& image_id,
                                              const std::string& snapshot);

/// The size in bytes of image `image_id`, or of its snapshot `snapshot_id`. NotFound when the
/// image or the snapshot is gone.
std::uint64_t read_image_size(librados::IoCtx& io, const std::string& image_id,
                              std::optional<std::uint64_t> snapshot_id = std::nullopt);

/// When image `image_id` was created, in Unix seconds.
std::int64_t read_create_time(librados::IoCtx& io, const std::string& image_id);

/// The image metadata value of `key`, nullopt when the image has no such key.
std::optional<std::string> read_metadata(librados::IoCtx& io, const std::string& image_id,
                                         const std::string& key);
/// Removes the image metadata `key` (nothing when it has none).
void remove_metadata(librados::IoCtx& io, const std::string& image_id, const std::string& key);

/// The addresses of the clients that have image `image_id` open for writing (read-only opens
/// watch nothing).
std::vector<std::string> read_watchers(librados::IoCtx& io, const std::string& image_id);

}  // namespace glance_store::rbd
