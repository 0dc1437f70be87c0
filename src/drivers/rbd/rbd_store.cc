#include <unistd.h>

#include <algorithm>
#include <ctime>
#include <mutex>
#include <rbd/librbd.hpp>

#include "core/log.h"
#include "drivers/rbd/rbd.h"
#include "drivers/rbd/rbd_cluster.h"
#include "drivers/rbd/rbd_errors.h"
#include "drivers/rbd/rbd_header.h"
#include "drivers/rbd/rbd_location.h"
#include "drivers/rbd/rbd_options.h"
#include "drivers/rbd/rbd_reader.h"
#include "drivers/rbd/rbd_writer.h"

namespace glance_store::rbd {
namespace {

constexpr std::uint32_t kCapabilities =
    bits(Capability::kReadRandom) | bits(Capability::kWriteAccess);
// Image names are keys of the pool's directory object; ours also carry the add's suffix.
constexpr std::size_t kMaxImageIdLength = 1024;
// Reads go in pieces of this size (the chunk size when smaller), several in flight: blocks this
// small are reused by the allocator, where 4 MiB ones would be mapped and unmapped every time.
constexpr std::uint64_t kReadPieceBytes = 1 << 20;

Error image_not_found(std::string_view image) {
  return {ErrorKind::kNotFound, "RBD image " + std::string(image) + " does not exist"};
}

class RbdStore final : public Store {
 public:
  RbdStore(OptionReader options, std::string backend_id)
      : Store(std::move(options), std::move(backend_id), schemes_of_type("rbd"), kCapabilities) {}

  std::string_view type() const override { return "rbd"; }
  std::string_view config_name() const override { return "rbd"; }

  std::unique_ptr<StoreLocation> parse_location(std::string_view uri) const override {
    return RbdLocation::parse(uri);
  }

  // The cluster's fsid once connected; before, the one ceph.conf names (so listing the
  // stores never waits on the cluster).
  std::string url_prefix() const override {
    std::string fsid = configured_fsid_;
    {
      std::lock_guard lock(mutex_);
      if (cluster_) fsid = cluster_->fsid();
    }
    return fsid.empty() ? "rbd://" : rbd_url_prefix(fsid, options_.pool);
  }

 protected:
  void configure_add() override {
    RbdOptions options = RbdOptions::read(this->options());
    {
      std::lock_guard lock(mutex_);
      options_ = options;
      cluster_.reset();  // the next operation connects with the new options
    }
    configured_fsid_ = configured_fsid(options);
    if (!options.ceph_conf.empty() && ::access(options.ceph_conf.c_str(), R_OK) != 0) {
      throw bad_store_configuration_error(
          "rbd",
          "Cannot read rbd_store_ceph_conf " + options.ceph_conf + ": " + std::strerror(errno));
    }
  }

  GetResult do_get(const StoreLocation& location, std::uint64_t offset,
                   std::optional<std::uint64_t> length,
                   const RequestContext* /*context*/) override {
    return open_image_stream(read_target(as_rbd(location)), offset, length);
  }

  std::uint64_t do_get_size(const StoreLocation& location,
                            const RequestContext* /*context*/) override {
    return image_size(read_target(as_rbd(location)));
  }

  void do_remove(const StoreLocation& location, const RequestContext* /*context*/) override {
    const auto& loc = as_rbd(location);
    auto cluster = connected();
    librados::IoCtx& io = cluster->pool(loc.pool().value_or(options_.pool));
    const std::string& name = loc.image();
    const bool own_snapshot = refuse_busy_or_snapshotted(io, loc);
    librbd::RBD rbd;
    if (own_snapshot) remove_snapshot(io, name, *loc.snapshot());
    const int r = rbd.remove(io, name.c_str());
    if (r == 0) return;
    // Opened or snapshotted since the checks: the image stays as it was, snapshot protected.
    if (own_snapshot) restore_snapshot(io, name, *loc.snapshot());
    if (r == -ENOENT) throw image_not_found(name);
    throw rbd_error(r, "Failed to remove RBD image " + name);
  }

  // The temporary images of adds (`<id>;adding;<token>`) created at least min_age ago, but not
  // those a live process of this host is still writing.
  std::vector<Leftover> find_leftovers(std::int64_t min_age_seconds) override {
    auto cluster = connected();
    librados::IoCtx& io = cluster->pool(options_.pool);
    librbd::RBD rbd;
    std::vector<librbd::image_spec_t> images;
    check(rbd.list2(io, &images), "Failed to list the RBD images of pool " + options_.pool);
    const std::int64_t now = std::time(nullptr);
    std::vector<Leftover> out;
    for (const auto& spec : images) {
      const auto image_id = image_of_adding_name(spec.name);
      if (!image_id) continue;
      try {
        const std::int64_t age = std::max<std::int64_t>(0, now - read_create_time(io, spec.id));
        const std::string mark =
            read_metadata(io, spec.id, std::string(kAddingMetadataKey)).value_or("");
        if (age < min_age_seconds || writer_state(mark) == WriterState::kAlive) continue;
        out.push_back({"rbd image", spec.name, *image_id, age, mark});
      } catch (const Error& e) {
        if (!e.is(ErrorKind::kNotFound)) throw;  // else removed meanwhile
      }
    }
    return out;
  }

  // An image a client still has open is removed only when that client is a dead process of
  // this host (fenced off first, so that its watch goes at once): another host's writer may be
  // alive, and a dead one's watch times out by itself (30 s).
  void remove_leftover(const Leftover& leftover) override {
    auto cluster = connected();
    librados::IoCtx& io = cluster->pool(options_.pool);
    // Never while an add of the id renames (its temporary could be this one).
    const CommitLock lock(io, leftover.image_id);
    const auto id = read_image_id(io, leftover.name);
    if (!id) return;
    try {
      const std::vector<std::string> watchers = read_watchers(io, *id);
      const std::string mark = read_metadata(io, *id, std::string(kAddingMetadataKey)).value_or("");
      if (!watchers.empty()) {
        if (writer_state(mark) != WriterState::kDead) {
          throw Error(ErrorKind::kInUseByStore,
                      "RBD image " + leftover.name + " is still open by " + watchers.front() +
                          ", whose process this host cannot tell dead (" +
                          (mark.empty() ? "no mark" : mark) + "): try again later");
        }
        for (const auto& watcher : watchers) cluster->blocklist(watcher);
      }
    } catch (const Error& e) {
      if (!e.is(ErrorKind::kNotFound)) throw;
      return;  // removed meanwhile
    }
    const int r = remove_image_and_snapshots(io, leftover.name);
    if (r < 0 && r != -ENOENT) throw rbd_error(r, "Failed to remove RBD image " + leftover.name);
  }

  std::unique_ptr<ImageWriter> begin_add(std::string_view image_id, std::uint64_t size,
                                         const RequestContext* /*context*/) override {
    if (image_id.size() > kMaxImageIdLength) {
      throw Error(ErrorKind::kInvalid, "Invalid image id: it is longer than " +
                                           std::to_string(kMaxImageIdLength) + " bytes");
    }
    WriteTarget target;
    target.cluster = connected();
    target.pool = options_.pool;
    try {
      target.cluster->pool(target.pool);
    } catch (const Error& e) {
      if (!e.is(ErrorKind::kNotFound)) throw;
      throw bad_store_configuration_error(
          "rbd", "rbd_store_pool " + target.pool + " does not exist: " + e.message());
    }
    target.image = std::string(image_id);
    target.size = size;
    target.order = options_.order();
    target.thin_provisioning = options_.thin_provisioning;
    // librbd gets a copy of each chunk in flight: those copies count in add_memory_limit.
    const PipelineOptions& memory = pipeline_options();
    target.max_in_flight = std::max<std::size_t>(
        1, std::min<std::uint64_t>(memory.buffer_count, memory.part_memory() / memory.buffer_size));
    if (read_image_id(target.cluster->pool(target.pool), target.image)) {
      throw Error(ErrorKind::kDuplicate, "RBD image " + target.image + " already exists");
    }
    return make_rbd_writer(std::move(target));
  }

 private:
  static const RbdLocation& as_rbd(const StoreLocation& location) {
    const auto* loc = dynamic_cast<const RbdLocation*>(&location);
    if (loc == nullptr) throw Error(ErrorKind::kBadStoreUri, "not an RBD location");
    return *loc;
  }

  // Connecting may take the connect timeout: not under the mutex, which url_prefix takes.
  std::shared_ptr<Cluster> connected() {
    RbdOptions options;
    {
      std::lock_guard lock(mutex_);
      if (cluster_) return cluster_;
      options = options_;
    }
    auto cluster = Cluster::connect(options);
    std::lock_guard lock(mutex_);
    if (!cluster_) cluster_ = std::move(cluster);
    return cluster_;
  }

  ReadTarget read_target(const RbdLocation& loc) {
    ReadTarget target;
    target.cluster = connected();
    target.pool = loc.pool().value_or(options_.pool);
    target.image = loc.image();
    target.snapshot = loc.snapshot();
    target.piece_size = std::min<std::uint64_t>(options_.chunk_bytes(), kReadPieceBytes);
    target.in_flight = static_cast<std::size_t>(options_.read_concurrency);
    return target;
  }

  // Everything that keeps an image from being deleted, found before anything changes (glance
  // removes the snapshot first and fails afterwards). Returns whether the location's snapshot
  // exists.
  static bool refuse_busy_or_snapshotted(librados::IoCtx& io, const RbdLocation& loc) {
    const std::string& name = loc.image();
    // A missing image is NotFound without a failed open (see rbd_header.h).
    if (!read_image_id(io, name)) throw image_not_found(name);
    librbd::RBD rbd;
    librbd::Image image;  // read-only: it adds no watcher of its own
    const int r = rbd.open_read_only(io, image, name.c_str(), nullptr);
    if (r == -ENOENT) throw image_not_found(name);
    check(r, "Failed to open RBD image " + name);
    std::vector<librbd::snap_info_t> snaps;
    check(image.snap_list(snaps), "Failed to list the snapshots of RBD image " + name);
    bool own = false;
    std::string others;
    for (const auto& snap : snaps) {
      if (loc.snapshot() && snap.name == *loc.snapshot()) {
        own = true;
      } else {
        others += (others.empty() ? "" : ", ") + snap.name;
      }
    }
    if (!others.empty()) {
      throw Error(
          ErrorKind::kHasSnapshot,
          "RBD image " + name + " cannot be deleted: it has other snapshots (" + others + ")");
    }
    if (own) {
      check(image.snap_set(loc.snapshot()->c_str()), "Failed to open the snapshot of " + name);
      std::vector<librbd::linked_image_spec_t> children;
      check(image.list_children3(&children), "Failed to list the clones of RBD image " + name);
      if (!children.empty()) {
        throw Error(ErrorKind::kInUseByStore,
                    "RBD image " + name + " cannot be deleted: its snapshot has " +
                        std::to_string(children.size()) + " clone(s), e.g. " +
                        children.front().pool_name + "/" + children.front().image_name);
      }
      check(image.snap_set(nullptr), "Failed to open RBD image " + name);
    }
    std::list<librbd::image_watcher_t> watchers;
    check(image.list_watchers(watchers), "Failed to list the clients of RBD image " + name);
    if (!watchers.empty()) {
      throw Error(ErrorKind::kInUseByStore,
                  "RBD image " + name + " cannot be deleted: " + std::to_string(watchers.size()) +
                      " client(s) have it open, e.g. " + watchers.front().addr);
    }
    return own;
  }

  static void remove_snapshot(librados::IoCtx& io, const std::string& name,
                              const std::string& snap) {
    librbd::RBD rbd;
    librbd::Image image;
    check(rbd.open(io, image, name.c_str()), "Failed to open RBD image " + name);
    const int r = image.snap_unprotect(snap.c_str());
    // EINVAL: not protected (glance's own removal may have stopped half-way), which is fine.
    if (r < 0 && r != -EINVAL) throw rbd_error(r, "Failed to unprotect the snapshot of " + name);
    const int removed = image.snap_remove(snap.c_str());
    if (removed < 0 && removed != -ENOENT) {
      if (r == 0) image.snap_protect(snap.c_str());
      throw rbd_error(removed, "Failed to remove the snapshot of " + name);
    }
  }

  // The image was not removed after all: give it back the protected snapshot it had. Its data
  // is unchanged since the add's snapshot, so the new one holds the same bytes.
  static void restore_snapshot(librados::IoCtx& io, const std::string& name,
                               const std::string& snap) {
    librbd::RBD rbd;
    librbd::Image image;
    int r = rbd.open(io, image, name.c_str());
    if (r == 0) r = image.snap_create(snap.c_str());
    if (r == 0) r = image.snap_protect(snap.c_str());
    if (r < 0) {
      internal::logger()->error(
          "RBD image {} was not removed, and its snapshot {} could not be "
          "restored: {}",
          name, snap, std::strerror(-r));
    }
  }

  mutable std::mutex mutex_;
  RbdOptions options_;
  std::string configured_fsid_;
  std::shared_ptr<Cluster> cluster_;
};

}  // namespace

std::unique_ptr<Store> make_rbd_store(OptionReader options, std::string backend_id) {
  return std::make_unique<RbdStore>(std::move(options), std::move(backend_id));
}

std::unique_ptr<StoreLocation> parse_rbd_location(std::string_view uri) {
  return RbdLocation::parse(uri);
}

}  // namespace glance_store::rbd
