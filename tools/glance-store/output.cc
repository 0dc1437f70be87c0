#include "output.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>

#include "cli.h"

namespace glance_store::cli {
namespace {

namespace fs = std::filesystem;

constexpr int kMaxSymlinkHops = 40;  // as the kernel's MAXSYMLINKS

// Absolute, with the symlinks of the part that exists resolved (the rest lexically).
std::string resolve(const std::string& path) {
  std::error_code ec;
  fs::path absolute = fs::absolute(path, ec);
  if (ec) absolute = path;
  fs::path resolved = fs::weakly_canonical(absolute, ec);
  if (ec) resolved = absolute.lexically_normal();
  std::string out = resolved.string();
  while (out.size() > 1 && out.back() == '/') out.pop_back();
  return out;
}

// The directory resolved, the last name kept: the output may not exist yet, and a symlink
// named as output is followed by output_targets, not here.
std::string resolve_directory_of(const std::string& path) {
  const fs::path p(path);
  const std::string name = p.filename().string();
  if (name.empty() || name == "." || name == "..") return resolve(path);
  const std::string dir = resolve(p.has_parent_path() ? p.parent_path().string() : ".");
  return dir == "/" ? "/" + name : dir + "/" + name;
}

// Every file `path` may stand for: itself, and each hop of the symlink chain it starts.
std::vector<std::string> output_targets(const std::string& path) {
  std::vector<std::string> targets{resolve_directory_of(path)};
  for (int hop = 0; hop < kMaxSymlinkHops; ++hop) {
    struct stat st {};
    const std::string current = targets.back();  // push_back below may move it
    if (::lstat(current.c_str(), &st) != 0 || !S_ISLNK(st.st_mode)) break;
    std::error_code ec;
    fs::path target = fs::read_symlink(current, ec);
    if (ec) break;
    if (target.is_relative()) target = fs::path(current).parent_path() / target;
    targets.push_back(resolve_directory_of(target.string()));
  }
  return targets;
}

bool under(const std::string& path, const std::string& dir) {
  if (dir == "/") return true;
  return path.starts_with(dir) && (path.size() == dir.size() || path[dir.size()] == '/');
}

// By identity too, so a bind mount or another name of the datadir is caught: any existing
// ancestor of `path` that is the datadir's directory.
bool same_directory_as_an_ancestor(const std::string& path, const std::string& dir) {
  struct stat want {};
  if (::stat(dir.c_str(), &want) != 0 || !S_ISDIR(want.st_mode)) return false;
  for (fs::path p(path); !p.empty(); p = p.parent_path()) {
    struct stat st {};
    if (::stat(p.c_str(), &st) == 0 && st.st_dev == want.st_dev && st.st_ino == want.st_ino) {
      return true;
    }
    if (p == p.parent_path()) break;
  }
  return false;
}

[[noreturn]] void cannot_open(const std::string& path, int err) {
  throw_usage("cannot open " + path + " for writing: " + std::strerror(err));
}

[[noreturn]] void io_failure(const std::string& what, int err) {
  throw Error(ErrorKind::kBackendException, what + ": " + std::strerror(err), err);
}

// The permission bits a replacement of `old` gets: its own, without set-id bits (the contents
// are new). Its owner and group are kept where we may set them; under a group we cannot give
// it, the group's bits are those both the old group and the others had, so nobody gets more
// than before.
mode_t replacement_mode(int fd, const struct stat& old) {
  mode_t mode = old.st_mode & 0777;
  struct stat now {};
  if (::fstat(fd, &now) != 0) return mode & 0700;
  if (now.st_uid != old.st_uid) {
    // Only root may give the file away; anyone else becomes its owner, which shows nobody else
    // anything new.
    [[maybe_unused]] const int kept = ::fchown(fd, old.st_uid, static_cast<gid_t>(-1));
  }
  if (now.st_gid != old.st_gid && ::fchown(fd, static_cast<uid_t>(-1), old.st_gid) != 0) {
    mode &= ~mode_t{0070} | ((mode & 0007) << 3);
  }
  return mode;
}

}  // namespace

std::vector<Datadir> configured_datadirs(const StoreRegistry& registry) {
  std::vector<Datadir> out;
  for (const Store* store : registry.stores()) {
    const std::string& id = store->backend_id();
    for (const std::string& path : store->local_directories()) {
      if (path.empty()) continue;
      out.push_back({id.empty() ? std::string(store->type()) : id, path, resolve(path)});
    }
  }
  return out;
}

void refuse_output_inside(const std::string& path, const std::vector<Datadir>& datadirs) {
  if (path.empty() || path == "-") return;
  for (const std::string& target : output_targets(path)) {
    for (const Datadir& dir : datadirs) {
      if (!under(target, dir.resolved) && !same_directory_as_an_ancestor(target, dir.resolved)) {
        continue;
      }
      std::string message = "-o " + path + " is inside the datadir " + dir.configured;
      if (dir.resolved != dir.configured) message += " (" + dir.resolved + ")";
      message += " of store '";
      message += dir.store;
      message += "': get never writes into a store's datadir";
      throw_usage(std::move(message));
    }
  }
}

OutputFile::OutputFile(const std::string& path) : path_(path) {
  if (path.empty() || path == "-") {
    fd_ = STDOUT_FILENO;
    name_ = "standard output";
    return;
  }
  name_ = path;
  struct stat st {};
  const bool exists = ::stat(path.c_str(), &st) == 0;
  if (exists && S_ISDIR(st.st_mode)) cannot_open(path, EISDIR);
  if (exists && !S_ISREG(st.st_mode)) {
    fd_ = ::open(path.c_str(), O_WRONLY | O_CLOEXEC | O_NOCTTY);
    if (fd_ < 0) cannot_open(path, errno);
    owned_ = true;
    return;
  }
  // An unpredictable, exclusive name beside the target (never a planted symlink).
  const std::size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "" : path.substr(0, slash + 1);
  const std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
  std::string pattern = dir + "." + base + ".glance-store-XXXXXX";
  fd_ = ::mkostemp(pattern.data(), O_CLOEXEC);
  if (fd_ < 0) cannot_open(path, errno);
  temp_ = std::move(pattern);
  owned_ = true;
  mode_t mode = 0;
  if (exists) {
    mode = replacement_mode(fd_, st);
  } else {
    const mode_t mask = ::umask(0);
    ::umask(mask);
    mode = 0666 & ~mask;
  }
  ::fchmod(fd_, mode);  // before any byte is written; on failure it stays 0600
}

OutputFile::~OutputFile() {
  if (owned_ && fd_ >= 0) ::close(fd_);
  if (!temp_.empty()) ::unlink(temp_.c_str());
}

void OutputFile::write(const std::byte* data, std::size_t size) {
  while (size > 0) {
    const ssize_t n = ::write(fd_, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      io_failure("cannot write " + name_, errno);
    }
    data += n;
    size -= static_cast<std::size_t>(n);
  }
}

void OutputFile::complete() {
  if (temp_.empty()) return;
  if (::fsync(fd_) != 0) io_failure("cannot flush " + temp_, errno);
  ::close(fd_);
  fd_ = -1;
  if (::rename(temp_.c_str(), path_.c_str()) != 0) io_failure("cannot rename to " + path_, errno);
  temp_.clear();
}

// One line, whole: blanks (newlines included) collapse to one space and other control
// characters print as '?', so a message never forges a second line.
void print_error(std::string_view kind, std::string_view message) {
  std::string line;
  bool space = false;
  for (char c : message) {
    const bool blank = c == '\n' || c == '\r' || c == '\t' || c == ' ';
    if (blank) {
      space = !line.empty();
      continue;
    }
    if (space) line += ' ';
    space = false;
    line += static_cast<unsigned char>(c) < 0x20 || c == 0x7f ? '?' : c;
  }
  std::fprintf(stderr, "glance-store: %.*s: %s\n", static_cast<int>(kind.size()), kind.data(),
               line.c_str());
}

}  // namespace glance_store::cli
