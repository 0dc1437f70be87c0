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
/// not safe against a concurrent rename onto the same name). It exists only while locked.
std::string commit_lock_object(std::string_view image);

/// The image metadata key an add sets when it creates its image (value: who writes it and
/// since when); it goes after the commit's rename.
inline constexpr std::string_view kAddingMetadataKey = "glance_store.adding";

/// The mark's value for this process: "pid=<n> pidns=<ns> boot=<boot id> start=<ticks>
/// host=<name> since=<unix seconds>".
std::string adding_mark();
enum class WriterState { kAlive, kDead, kUnknown };
/// What a mark says of its writer: alive or dead when it is a process of this pid namespace
/// and boot (its pid and start time tell), else unknown (another host's or container's, or no
/// mark).
WriterState writer_state(std::string_view mark);

/// The exclusive RADOS lock on an id's commit object, taken by an add's rename and by a cleanup
/// removing a temporary of that id: they never run at once. Waits for it (up to 60 s; a holder
/// that died frees it after 30 s). The object is removed with the lock.
class CommitLock {
 public:
  CommitLock(librados::IoCtx& io, std::string_view image);
  ~CommitLock();
  CommitLock(const CommitLock&) = delete;
  CommitLock& operator=(const CommitLock&) = delete;
  /// Renews the lock; false when it expired and was taken by another meanwhile.
  bool still_held();

 private:
  librados::IoCtx& io_;
  std::string object_;
  std::string cookie_;
};

/// Removes an image and every snapshot of it (unprotecting them): 0, or librbd's negative errno.
int remove_image_and_snapshots(librados::IoCtx& io, const std::string& name);

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
