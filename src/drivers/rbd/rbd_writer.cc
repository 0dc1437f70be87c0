#include "drivers/rbd/rbd_writer.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fstream>
#include <rbd/librbd.hpp>
#include <sstream>
#include <thread>

#include "core/hex.h"
#include "core/log.h"
#include "drivers/rbd/rbd_errors.h"
#include "drivers/rbd/rbd_header.h"
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

void remove_quietly(librados::IoCtx& io, const std::string& name) {
  const int r = remove_image_and_snapshots(io, name);
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
    check(image_.get_id(&own_id_), "Failed to read the id of RBD image " + temp_name_);
    check(image_.close(), "Failed to close RBD image " + temp_name_);
    rename_into_place();
    done_ = true;
    // The mark goes last: until the rename, the image is an add in progress for a cleanup.
    try {
      remove_metadata(*io_, own_id_, std::string(kAddingMetadataKey));
    } catch (const Error& e) {
      // Harmless: the image is stored and named, and cleanups look only at temporary names.
      internal::logger()->warn("RBD image {} keeps its add's mark: {}", target_.image, e.message());
    }
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
    // A commit that failed after its rename was applied: the id names our image.
    if (!own_id_.empty()) {
      try {
        if (read_image_id(*io_, target_.image) == own_id_) remove_quietly(*io_, target_.image);
      } catch (const Error& e) {
        internal::logger()->error("RBD image {} may hold the failed add's data: {}", target_.image,
                                  e.message());
      }
    }
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
  // success, one of them without renaming): adds of one id rename one at a time, under the id's
  // commit lock, and the name must hold their image afterwards — whatever the rename returned,
  // since it may have been applied and then failed to say so.
  void rename_into_place() {
    CommitLock lock(*io_, target_.image);
    if (read_image_id(*io_, target_.image)) throw duplicate_error(target_.image);
    librbd::RBD rbd;
    const int r = rbd.rename(*io_, temp_name_.c_str(), target_.image.c_str());
    std::optional<std::string> named;
    for (int attempt = 0;; ++attempt) {
      try {
        named = read_image_id(*io_, target_.image);
        break;
      } catch (const Error&) {
        if (attempt == 2) throw;  // unknown: abort() looks again
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
      }
    }
    if (named == own_id_) {
      if (!lock.still_held()) {
        internal::logger()->warn("The commit lock of RBD image {} expired during its rename",
                                 target_.image);
      }
      return;
    }
    check(r, "Failed to rename RBD image " + temp_name_ + " to " + target_.image);
    internal::logger()->error("RBD image {} is not the one its add renamed", target_.image);
    throw duplicate_error(target_.image);
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
  std::string own_id_;  // librbd's id of the image, once the commit has read it
  bool done_ = false;
};

}  // namespace

namespace {

std::string read_first_line(const char* path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

// What tells this process apart from every other: its pid namespace, the boot, and its start
// time (so that a reused pid is not taken for it).
std::string process_identity(pid_t pid) {
  const std::string proc = "/proc/" + std::to_string(pid);
  char ns[128] = {};
  const ssize_t n = ::readlink("/proc/self/ns/pid", ns, sizeof ns - 1);
  const std::string stat = read_first_line((proc + "/stat").c_str());
  // Field 22, after the command name in parentheses (which may hold spaces).
  std::string start;
  const std::size_t close = stat.rfind(')');
  if (close != std::string::npos) {
    std::istringstream fields(stat.substr(close + 2));
    std::string field;
    for (int i = 3; i <= 22 && fields >> field; ++i) {
      if (i == 22) start = field;
    }
  }
  return "pidns=" + std::string(ns, n > 0 ? static_cast<std::size_t>(n) : 0) +
         " boot=" + read_first_line("/proc/sys/kernel/random/boot_id") + " start=" + start;
}

std::string mark_field(std::string_view mark, std::string_view key) {
  // "key=value" at the start or after a space (built by appends: GCC 12's -Wrestrict misfires
  // on "literal" + string temporaries, bug 105651).
  std::string needle;
  needle.append(key).push_back('=');
  std::size_t at = 0;
  while ((at = mark.find(needle, at)) != std::string_view::npos && at != 0 && mark[at - 1] != ' ') {
    ++at;
  }
  if (at == std::string_view::npos) return "";
  const std::size_t from = at + needle.size();
  const std::size_t end = std::min(mark.find(' ', from), mark.size());
  return std::string(mark.substr(from, end - from));
}

}  // namespace

std::string adding_mark() {
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  return "pid=" + std::to_string(::getpid()) + " " + process_identity(::getpid()) +
         " host=" + host + " since=" + std::to_string(now);
}

// Dead only when the writer was a process of this very pid namespace and boot, and no process
// with its pid and start time runs: a process of another host or container is never judged.
WriterState writer_state(std::string_view mark) {
  const std::string pid_text = mark_field(mark, "pid");
  char* end = nullptr;
  const long pid = std::strtol(pid_text.c_str(), &end, 10);
  if (pid <= 0 || end == pid_text.c_str() || *end != '\0') return WriterState::kUnknown;
  const std::string ours = process_identity(::getpid());
  if (mark_field(mark, "pidns") != mark_field(ours, "pidns") ||
      mark_field(mark, "boot") != mark_field(ours, "boot") || mark_field(mark, "boot").empty()) {
    return WriterState::kUnknown;
  }
  if (::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) return WriterState::kDead;
  const std::string now = mark_field(process_identity(static_cast<pid_t>(pid)), "start");
  if (now.empty()) return WriterState::kUnknown;
  return now == mark_field(mark, "start") ? WriterState::kAlive : WriterState::kDead;
}

CommitLock::CommitLock(librados::IoCtx& io, std::string_view image)
    : io_(io), object_(commit_lock_object(image)), cookie_(internal::random_token()) {
  timeval duration{kCommitLockSeconds, 0};
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(2 * kCommitLockSeconds);
  for (;;) {
    const int r = io_.lock_exclusive(object_, kCommitLockName, cookie_,
                                     "glance_store commit of " + std::string(image), &duration, 0);
    if (r == 0) return;
    if ((r != -EBUSY && r != -EEXIST) || std::chrono::steady_clock::now() > deadline) {
      throw rbd_error(r, "Failed to lock the commit of RBD image " + std::string(image));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

bool CommitLock::still_held() {
  timeval duration{kCommitLockSeconds, 0};
  return io_.lock_exclusive(object_, kCommitLockName, cookie_, "", &duration,
                            LIBRADOS_LOCK_FLAG_MUST_RENEW) == 0;
}

// The object goes with the lock: one waiting for it creates it again.
CommitLock::~CommitLock() {
  if (io_.remove(object_) < 0) io_.unlock(object_, kCommitLockName, cookie_);
}

int remove_image_and_snapshots(librados::IoCtx& io, const std::string& name) {
  librbd::RBD rbd;
  {
    librbd::Image image;
    const int r = rbd.open(io, image, name.c_str());
    if (r < 0) return r;
    std::vector<librbd::snap_info_t> snaps;
    image.snap_list(snaps);
    for (const auto& snap : snaps) {
      image.snap_unprotect(snap.name.c_str());
      image.snap_remove(snap.name.c_str());
    }
    image.close();
  }
  return rbd.remove(io, name.c_str());
}

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
