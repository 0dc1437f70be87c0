// How an add writes an RBD image (internal).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "drivers/rbd/rbd_cluster.h"
#include "glance_store/store.h"

namespace glance_store::rbd {

/// The name an add writes under until it commits: `<image>;adding;<token>` (token: 128 random
/// bits in hex). Image ids never hold ';', so no image of glance's or ours has such a name, and
/// no two adds share one. An add that dies leaves only such an image: its id stays free.
std::string adding_name(std::string_view image, std::string_view token);
/// The image id of an add's temporary name, or nullopt when `name` is not one.
std::optional<std::string> image_of_adding_name(std::string_view name);

/// The RADOS object whose lock serialises the commits of adds of `image` (librbd's rename is
/// not safe against a concurrent rename onto the same name). It stays while the image does.
std::string commit_lock_object(std::string_view image);

/// The image metadata key an add sets when it creates its image (value: who writes it and
/// since when), for an operator looking at the pool; it goes at commit.
inline constexpr std::string_view kAddingMetadataKey = "glance_store.adding";

struct WriteTarget {
  std::shared_ptr<Cluster> cluster;
  std::string pool;
  std::string image;       ///< the final name: the image id
  std::uint64_t size = 0;  ///< declared; 0 = unknown (the image grows as data comes)
  int order = 23;          ///< log2 of the object size
  bool thin_provisioning = false;
  std::size_t max_in_flight = 8;  ///< asynchronous writes at once
};

/// Creates the add's temporary image and returns the writer that fills it. Writes go in
/// flight in parallel; commit waits for them, trims an unknown size to what came, creates and
/// protects the snapshot `snap`, and renames the image to its id (the commit point), under the
/// id's commit lock and only while no image has the id: of two adds of one id exactly one
/// wins, the other gets Duplicate. abort, and a failed commit, remove the temporary image.
std::unique_ptr<ImageWriter> make_rbd_writer(WriteTarget target);

}  // namespace glance_store::rbd
