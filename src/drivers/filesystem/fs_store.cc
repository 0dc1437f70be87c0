#include "drivers/filesystem/fs_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>

#include "core/log.h"
#include "drivers/filesystem/fs_location.h"
#include "drivers/filesystem/fs_reader.h"
#include "glance_store/error.h"

namespace glance_store::filesystem {
namespace {

namespace fs = std::filesystem;

constexpr std::size_t kMaxImageIdLength = 200;  // leaves room for the temporary's suffix

std::string canonical_or_lexical(const std::string& path) {
  std::error_code ec;
  fs::path p = fs::weakly_canonical(fs::absolute(path, ec), ec);
  if (ec) p = fs::absolute(path).lexically_normal();
  std::string out = p.string();
  while (out.size() > 1 && out.back() == '/') out.pop_back();
  return out;
}

}  // namespace

void validate_image_id(std::string_view id) {
  const auto invalid = [&](std::string_view why) {
    throw Error(ErrorKind::kInvalid, "Invalid image id: " + std::string(why));
  };
  if (id.empty()) invalid("it is empty");
  if (id == "." || id == "..") invalid("'.' and '..' are not image ids");
  if (id.front() == '.') invalid("it must not start with '.'");
  if (id.find('/') != std::string_view::npos) invalid("it must not contain '/'");
  if (id.find('\0') != std::string_view::npos) invalid("it must not contain a NUL byte");
  if (id.size() > kMaxImageIdLength) invalid("it is longer than 200 bytes");
}

FilesystemStore::FilesystemStore(OptionReader options, std::string backend_id,
                                 std::string default_datadir, bool reserved)
    : Store(std::move(options), std::move(backend_id), schemes_of_type("file"),
            Capability::kReadRandom | Capability::kWriteAccess | Capability::kDriverReusable),
      default_datadir_(std::move(default_datadir)),
      reserved_(reserved),
      executor_(std::make_unique<TimeoutExecutor>(0, 1, 100)) {}

std::unique_ptr<StoreLocation> FilesystemStore::parse_location(std::string_view uri) const {
  return FileLocation::parse(uri);
}

std::vector<std::string> FilesystemStore::local_directories() const {
  return named_datadirs(options_);
}

std::vector<std::string> FilesystemStore::datadirs() const {
  std::vector<std::string> out;
  for (const auto& [priority, dirs] : by_priority_) out.insert(out.end(), dirs.begin(), dirs.end());
  return out;
}

void FilesystemStore::configure_add() {
  // A reserved store's datadir comes from its own section only (decisions.md, Q-04).
  options_ = FilesystemOptions::read(options(), default_datadir_,
                                     reserved_ ? options().first_section_only() : options());
  executor_ = std::make_unique<TimeoutExecutor>(static_cast<double>(options_.timeout),
                                                static_cast<std::size_t>(options_.thread_pool_size),
                                                static_cast<int>(options_.threadpool_threshold));
  // Reads stay possible inside the named datadirs even when the checks below fail.
  const std::vector<std::string> named = named_datadirs(options_);
  const auto canonicalise = [&] {
    canonical_dirs_.clear();
    for (const auto& dir : named) canonical_dirs_.push_back(canonical_or_lexical(dir));
  };
  by_priority_.clear();
  canonicalise();
  by_priority_ = datadirs_by_priority(options_);
  file_mode_ = file_mode(options_.file_perm);
  for (const auto& dir : datadirs()) prepare_directory(dir);
  canonicalise();  // again: a datadir created just now may resolve through a symlink
  metadata_ = nlohmann::json::array();
  if (options_.metadata_file) metadata_ = load_metadata_file(*options_.metadata_file);
  for (const auto& dir : datadirs()) remove_stale_temporaries(dir);
}

// A datadir that does not exist yet is created by the first add, not here: commands and
// processes that only read must not leave directories (owned by whoever ran them) behind. Here
// it only has to be creatable: its nearest existing ancestor a directory we may write.
void FilesystemStore::prepare_directory(const std::string& dir) const {
  std::error_code ec;
  if (!fs::exists(dir, ec)) {
    fs::path ancestor = fs::absolute(dir, ec).parent_path();
    while (!ancestor.empty() && !fs::exists(ancestor, ec) && ancestor != ancestor.root_path()) {
      ancestor = ancestor.parent_path();
    }
    if (!fs::is_directory(ancestor, ec) || ::access(ancestor.c_str(), W_OK | X_OK) != 0) {
      throw bad_store_configuration_error("filesystem", "Unable to create datadir: " + dir);
    }
    return;
  }
  if (::access(dir.c_str(), W_OK) != 0) {
    throw bad_store_configuration_error("filesystem", "Permission to write in " + dir + " denied");
  }
  if (file_mode_ == 0) return;
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) return;
  mode_t mode = st.st_mode & 07777;
  if ((file_mode_ & S_IRWXO) != 0) mode |= S_IXOTH;
  if ((file_mode_ & S_IRWXG) != 0) mode |= S_IXGRP;
  if (mode != (st.st_mode & 07777) && ::chmod(dir.c_str(), mode) != 0) {
    internal::logger()->warn(
        "Unable to set execution permission of owner-group and/or other-users to datadir: {}", dir);
  }
}

void FilesystemStore::create_if_missing(const std::string& dir) const {
  std::error_code ec;
  if (fs::is_directory(dir, ec)) return;
  internal::logger()->info("Directory to write image files does not exist ({}). Creating.", dir);
  fs::create_directories(dir, ec);
  if (ec && !fs::is_directory(dir)) {  // another process may have won the race
    throw Error(ErrorKind::kStorageWriteDenied,
                "Unable to create datadir " + dir + ": " + ec.message());
  }
  prepare_directory(dir);  // its permissions, as for one that existed
}

// A temporary whose lock can be taken belongs to an add that died: remove it. A live add holds
// its lock until the rename, so it is never touched.
void FilesystemStore::remove_stale_temporaries(const std::string& dir) const {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return;
  while (const dirent* entry = ::readdir(d)) {
    if (!is_temporary_name(entry->d_name)) continue;
    const std::string path = dir + "/" + entry->d_name;
    if (remove_if_stale(path)) {
      internal::logger()->info("Removed the leftover of an interrupted add: {}", path);
    }
  }
  ::closedir(d);
}

bool FilesystemStore::remove_if_stale(const std::string& path) {
  if (is_live_temporary(path)) return false;  // POSIX-emulated locks (NFS) are per process
  // Opened for writing: on NFS an exclusive lock needs a writable descriptor.
  const int fd = ::open(path.c_str(), O_RDWR | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return false;
  struct stat by_fd {};
  struct stat by_name {};
  bool removed = false;
  if (::flock(fd, LOCK_EX | LOCK_NB) == 0 && ::fstat(fd, &by_fd) == 0 && S_ISREG(by_fd.st_mode) &&
      ::lstat(path.c_str(), &by_name) == 0 && by_fd.st_ino == by_name.st_ino &&
      by_fd.st_dev == by_name.st_dev) {
    removed = ::unlink(path.c_str()) == 0;
  }
  ::close(fd);
  return removed;
}

// Every process that configures the store removes what dead adds left (above); what is found
// here died since, or in a datadir this process could not clean.
std::vector<Leftover> FilesystemStore::find_leftovers(std::int64_t min_age_seconds) {
  std::vector<Leftover> out;
  const std::int64_t now = std::time(nullptr);
  for (const auto& dir : datadirs()) {
    DIR* d = ::opendir(dir.c_str());
    if (d == nullptr) continue;
    while (const dirent* entry = ::readdir(d)) {
      const std::string_view name = entry->d_name;
      if (!is_temporary_name(name)) continue;
      const std::string path = dir + "/" + entry->d_name;
      struct stat st {};
      if (is_live_temporary(path) || ::lstat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
        continue;
      }
      // A live add in another process holds the lock.
      const int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
      if (fd < 0) continue;
      const bool locked_elsewhere = ::flock(fd, LOCK_SH | LOCK_NB) != 0;
      ::close(fd);
      // time() may read a second less than a file's mtime just written: not a negative age.
      const std::int64_t age = std::max<std::int64_t>(0, now - st.st_mtime);
      if (locked_elsewhere || age < min_age_seconds) continue;
      // ".<id>.tmp.<pid>.<hex>"
      const std::string_view id = name.substr(1, name.rfind(".tmp.") - 1);
      out.push_back({"temporary file", path, std::string(id), age, ""});
    }
    ::closedir(d);
  }
  return out;
}

void FilesystemStore::remove_leftover(const Leftover& leftover) {
  struct stat st {};
  if (::lstat(leftover.name.c_str(), &st) != 0) return;  // gone already
  if (!remove_if_stale(leftover.name)) {
    throw Error(ErrorKind::kInUseByStore,
                "The temporary " + leftover.name + " is locked: an add is writing it");
  }
}

std::uint64_t FilesystemStore::free_space(const std::string& dir) const {
  // Calls that time out finish in the background: they own what they use.
  return executor_->run<std::uint64_t>([sys = syscalls_, dir]() -> std::uint64_t {
    struct statvfs st {};
    // A datadir not created yet will be on the filesystem of its nearest existing ancestor.
    fs::path where = dir;
    while (sys->statvfs(where.c_str(), &st) != 0) {
      if (errno != ENOENT || !where.has_relative_path()) return 0;
      where = where.parent_path();
    }
    return static_cast<std::uint64_t>(st.f_bavail) * st.f_bsize;
  });
}

std::string FilesystemStore::choose_datadir(std::uint64_t size) const {
  for (const auto& [priority, dirs] : by_priority_) {
    std::string best;
    std::uint64_t most_free = 0;
    for (const auto& dir : dirs) {
      const std::uint64_t free = free_space(dir);
      if (free >= size && free > most_free) {
        most_free = free;
        best = dir;
      }
    }
    if (!best.empty()) return best;
  }
  throw Error(ErrorKind::kStorageFull,
              "There is no enough disk space left on the image storage media. requested=" +
                  std::to_string(size));
}

std::string FilesystemStore::url_prefix() const {
  const auto dirs = datadirs();
  if (dirs.empty()) return "file://";
  try {
    return "file://" + choose_datadir(0);
  } catch (const Error&) {
    return "file://" + dirs.front();
  }
}

// The parent directory is resolved (symlinks, "..") and must be a datadir; the last name is
// kept as written and never followed, so a link inside a datadir cannot reach another file.
FilesystemStore::ResolvedPath FilesystemStore::resolve(const StoreLocation& location) const {
  const auto* file = dynamic_cast<const FileLocation*>(&location);
  if (file == nullptr) throw Error(ErrorKind::kBadStoreUri, "not a file:// location");
  const fs::path literal = fs::absolute(file->path()).lexically_normal();
  const std::string name = literal.filename().string();
  const std::string parent = canonical_or_lexical(literal.parent_path().string());
  const bool inside =
      std::find(canonical_dirs_.begin(), canonical_dirs_.end(), parent) != canonical_dirs_.end();
  if (!inside || name.empty() || name.front() == '.') {
    throw Error(ErrorKind::kForbidden,
                "The location " + file->path() + " is not an image of this store's datadirs");
  }
  return {parent == "/" ? "/" + name : parent + "/" + name, file->path()};
}

// The size of the image at `path`, through the timeout executor. A symbolic link is not an
// image (Forbidden); anything else that is not a regular file is NotFound.
std::uint64_t FilesystemStore::image_size(const ResolvedPath& path) const {
  return executor_->run<std::uint64_t>([sys = syscalls_, path]() -> std::uint64_t {
    struct stat st {};
    if (sys->lstat(path.real.c_str(), &st) != 0) throw not_found_error(path.shown);
    if (S_ISLNK(st.st_mode)) {
      throw Error(ErrorKind::kForbidden, "The location " + path.shown + " is a symbolic link");
    }
    if (!S_ISREG(st.st_mode)) throw not_found_error(path.shown);
    return static_cast<std::uint64_t>(st.st_size);
  });
}

GetResult FilesystemStore::do_get(const StoreLocation& location, std::uint64_t offset,
                                  std::optional<std::uint64_t> length,
                                  const RequestContext* /*context*/) {
  const ResolvedPath path = resolve(location);
  const std::uint64_t size = image_size(path);
  const int fd = ::open(path.real.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) throw open_error(errno, path.shown);
  const std::uint64_t available = offset >= size ? 0 : size - offset;
  const std::uint64_t deliver = length ? std::min(*length, available) : available;
  return {make_file_reader(fd, offset, deliver, static_cast<std::size_t>(options_.chunk_size)),
          deliver};
}

std::uint64_t FilesystemStore::do_get_size(const StoreLocation& location,
                                           const RequestContext* /*context*/) {
  return image_size(resolve(location));
}

void FilesystemStore::do_remove(const StoreLocation& location, const RequestContext* /*context*/) {
  const ResolvedPath path = resolve(location);
  (void)image_size(path);  // NotFound, or Forbidden for a symbolic link
  executor_->run<int>([sys = syscalls_, path]() -> int {
    if (sys->unlink(path.real.c_str()) == 0) return 0;
    throw delete_error(errno, path.shown);
  });
  internal::logger()->debug("Deleted image at {}", path.shown);
}

nlohmann::json FilesystemStore::metadata_for(const std::string& path) const {
  for (const auto& entry : metadata_) {
    std::string mount = entry["mountpoint"].get<std::string>();
    while (mount.size() > 1 && mount.back() == '/') mount.pop_back();
    if (path == mount || path.starts_with(mount == "/" ? mount : mount + "/")) return entry;
  }
  if (!metadata_.empty()) {
    internal::logger()->error(
        "The image path {} does not match with any of the mountpoint defined in metadata: {}. "
        "An empty dictionary will be returned to the client.",
        path, metadata_.dump());
  }
  return nlohmann::json::object();
}

std::unique_ptr<ImageWriter> FilesystemStore::begin_add(std::string_view image_id,
                                                        std::uint64_t size,
                                                        const RequestContext* /*context*/) {
  validate_image_id(image_id);
  const std::string dir = choose_datadir(size);
  create_if_missing(dir);
  for (const auto& candidate : datadirs()) {
    const std::string existing = candidate + "/" + std::string(image_id);
    struct stat st {};
    if (syscalls_->lstat(existing.c_str(), &st) == 0) throw duplicate_error(existing);
  }
  WriterSettings settings;
  settings.dir = dir;
  settings.image_id = std::string(image_id);
  for (const auto& other : datadirs()) {
    if (other != dir) settings.other_dirs.push_back(other);
  }
  settings.file_mode = file_mode_;
  settings.thin = options_.thin_provisioning;
  settings.direct_io = options_.direct_io;
  settings.chunk_size = static_cast<std::uint64_t>(options_.chunk_size);
  settings.metadata = metadata_for(dir + "/" + settings.image_id);
  return open_image_writer(syscalls_, std::move(settings));
}

}  // namespace glance_store::filesystem

#include "drivers/filesystem/filesystem.h"

namespace glance_store::filesystem {

std::unique_ptr<Store> make_filesystem_store(OptionReader options, std::string backend_id,
                                             std::string default_datadir, bool reserved) {
  return std::make_unique<FilesystemStore>(std::move(options), std::move(backend_id),
                                           std::move(default_datadir), reserved);
}

std::unique_ptr<StoreLocation> parse_file_location(std::string_view uri) {
  return FileLocation::parse(uri);
}

}  // namespace glance_store::filesystem
