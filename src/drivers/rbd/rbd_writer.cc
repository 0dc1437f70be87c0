#include "drivers/rbd/rbd_writer.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <deque>
#include <rbd/librbd.hpp>
#include <thread>

#include "core/hex.h"
#include "core/log.h"
#include "drivers/rbd/rbd_errors.h"
#include "drivers/rbd/rbd_location.h"

namespace glance_store::rbd {
namespace {

constexpr std::string_view kAddingInfix = ";adding;";
constexpr const char* kCommitLockName = "glance_store.commit";
// A commit holds its lock for milliseconds; one whose process died frees it after this long.
constexpr int kCommitLockSeconds = 30;
// An unknown size grows the image by doubling steps (as glance), at most this much at once.
constexpr std::uint64_t kMaxGrowth = std::uint64_t{8} << 30;

bool all_zero(std::span<const std::byte> bytes) {
  return std::all_of(bytes.begin(), bytes.end(), [](std::byte b) { return b == std::byte{0}; });
}

std::string adding_mark() {
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  return "pid " + std::to_string(::getpid()) + " on " + host + " since " + std::to_string(now);
}

// Removes an image and its snapshots, whatever state an add left it in; never throws.
void remove_quietly(librados::IoCtx& io, const std::string& name) {
  librbd::RBD rbd;
  {
    librbd::Image image;
    if (rbd.open(io, image, name.c_str()) == 0) {
      std::vector<librbd::snap_info_t> snaps;
      image.snap_list(snaps);
      for (const auto& snap : snaps) {
        image.snap_unprotect(snap.name.c_str());
        image.snap_remove(snap.name.c_str());
      }
      image.close();
    }
  }
  const int r = rbd.remove(io, name.c_str());
  if (r < 0 && r != -ENOENT) {
    internal::logger()->warn("Could not remove the interrupted add's RBD image {}: {}", name,
                             std::strerror(-r));
  }
}

class RbdWriter final : public ImageWriter {
 public:
  explicit RbdWriter(WriteTarget target)
      : target_(std::move(target)),
        io_(&target_.cluster->pool(target_.pool)),
        temp_name_(adding_name(target_.image, internal::random_token())),
        capacity_(target_.size) {
    librbd::RBD rbd;
    int order = target_.order;
    // The cluster's default features (else layering), as glance creates its images.
    check(rbd.create2(*io_, temp_name_.c_str(), capacity_, target_.cluster->default_features(),
                      &order),
          "Failed to create RBD image " + temp_name_);
    try {
      check(rbd.open(*io_, image_, temp_name_.c_str()), "Failed to open RBD image " + temp_name_);
      image_.metadata_set(std::string(kAddingMetadataKey), adding_mark());
    } catch (...) {
      image_.close();
      remove_quietly(*io_, temp_name_);
      throw;
    }
  }

  ~RbdWriter() override {
    if (!done_) abort();
  }

  void write(const DataChunk& chunk) override {
    const auto bytes = chunk.bytes();
    const std::uint64_t end = offset_ + bytes.size();
    if (end > capacity_) grow(end);
    if (!(target_.thin_provisioning && all_zero(bytes))) {
      // librbd keeps the bufferlist until the write is stored: it gets its own copy, and the
      // pipeline's buffer goes back at once.
      ceph::bufferlist data;
      data.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
      auto* completion = new librbd::RBD::AioCompletion(nullptr, nullptr);
      const int r = image_.aio_write(offset_, bytes.size(), data, completion);
      if (r < 0) {
        completion->release();
        throw rbd_error(r, "Failed to write RBD image " + temp_name_);
      }
      in_flight_.push_back(completion);
      if (in_flight_.size() >= target_.max_in_flight) wait_oldest();
    }
    offset_ = end;
  }

  Committed commit(std::uint64_t total_bytes, std::string_view /*md5_hex*/) override {
    while (!in_flight_.empty()) wait_oldest();
    if (total_bytes != capacity_) {
      check(image_.resize(total_bytes), "Failed to resize RBD image " + temp_name_);
    }
    const std::string snap(kSnapshotName);
    check(image_.flush(), "Failed to flush RBD image " + temp_name_);
    check(image_.snap_create(snap.c_str()), "Failed to snapshot RBD image " + temp_name_);
    check(image_.snap_protect(snap.c_str()), "Failed to protect the snapshot of " + temp_name_);
    image_.metadata_remove(std::string(kAddingMetadataKey));
    std::string own_id;
    check(image_.get_id(&own_id), "Failed to read the id of RBD image " + temp_name_);
    check(image_.close(), "Failed to close RBD image " + temp_name_);
    rename_into_place(own_id);
    done_ = true;
    const RbdLocation location(target_.cluster->fsid(), target_.pool, target_.image, snap);
    return {location.uri(), nlohmann::json::object()};
  }

  void abort() noexcept override {
    if (done_) return;
    done_ = true;
    for (auto* completion : in_flight_) {
      completion->wait_for_complete();
      completion->release();
    }
    in_flight_.clear();
    image_.close();
    remove_quietly(*io_, temp_name_);
  }

 private:
  void wait_oldest() {
    auto* completion = in_flight_.front();
    in_flight_.pop_front();
    completion->wait_for_complete();
    const auto r = completion->get_return_value();
    completion->release();
    if (r < 0) throw rbd_error(static_cast<int>(r), "Failed to write RBD image " + temp_name_);
  }

  // librbd's rename is not safe against another rename onto the same name (both may report
  // success, one of them without renaming): adds of one id rename one at a time, under a
  // RADOS lock on the id's commit object, and check the name holds their image afterwards.
  void rename_into_place(const std::string& own_id) {
    const std::string lock_object = commit_lock_object(target_.image);
    const std::string cookie = internal::random_token();
    timeval duration{kCommitLockSeconds, 0};
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::seconds(2 * kCommitLockSeconds);
    for (;;) {
      const int r = io_->lock_exclusive(lock_object, kCommitLockName, cookie,
                                        "glance_store add of " + target_.image, &duration, 0);
      if (r == 0) break;
      if ((r != -EBUSY && r != -EEXIST) || std::chrono::steady_clock::now() > deadline) {
        throw rbd_error(r, "Failed to lock the commit of RBD image " + target_.image);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    const auto unlock = [&] { io_->unlock(lock_object, kCommitLockName, cookie); };
    try {
      librbd::RBD rbd;
      if (image_id_of(target_.image)) throw duplicate_error(target_.image);
      check(rbd.rename(*io_, temp_name_.c_str(), target_.image.c_str()),
            "Failed to rename RBD image " + temp_name_ + " to " + target_.image);
      if (image_id_of(target_.image) != own_id) {
        internal::logger()->error("RBD image {} is not the one its add renamed", target_.image);
        throw duplicate_error(target_.image);
      }
    } catch (...) {
      unlock();
      throw;
    }
    unlock();
  }

  // The id of the image `name` names, or nullopt when there is none.
  std::optional<std::string> image_id_of(const std::string& name) {
    librbd::RBD rbd;
    librbd::Image image;
    const int r = rbd.open_read_only(*io_, image, name.c_str(), nullptr);
    if (r == -ENOENT) return std::nullopt;
    check(r, "Failed to open RBD image " + name);
    std::string id;
    check(image.get_id(&id), "Failed to read the id of RBD image " + name);
    return id;
  }

  // An unknown size: doubling steps (at most 8 GiB at once), at least to `needed`.
  void grow(std::uint64_t needed) {
    const std::uint64_t step = std::clamp<std::uint64_t>(capacity_, 1 << target_.order, kMaxGrowth);
    const std::uint64_t size = std::max(needed, capacity_ + step);
    check(image_.resize(size), "Failed to resize RBD image " + temp_name_);
    capacity_ = size;
  }

  WriteTarget target_;
  librados::IoCtx* io_;
  std::string temp_name_;
  librbd::Image image_;
  std::uint64_t capacity_;
  std::uint64_t offset_ = 0;
  std::deque<librbd::RBD::AioCompletion*> in_flight_;
  bool done_ = false;
};

}  // namespace

std::string adding_name(std::string_view image, std::string_view token) {
  return std::string(image) + std::string(kAddingInfix) + std::string(token);
}

std::optional<std::string> image_of_adding_name(std::string_view name) {
  const std::size_t at = name.rfind(kAddingInfix);
  if (at == std::string_view::npos || at == 0) return std::nullopt;
  const std::string_view token = name.substr(at + kAddingInfix.size());
  if (token.size() != 32 || token.find_first_not_of("0123456789abcdef") != std::string_view::npos) {
    return std::nullopt;
  }
  return std::string(name.substr(0, at));
}

std::string commit_lock_object(std::string_view image) {
  return "glance_store.commit." + std::string(image);
}

std::unique_ptr<ImageWriter> make_rbd_writer(WriteTarget target) {
  return std::make_unique<RbdWriter>(std::move(target));
}

}  // namespace glance_store::rbd
