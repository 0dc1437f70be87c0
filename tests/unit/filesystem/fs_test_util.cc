#include "fs_test_util.h"

#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "core/log.h"
#include "glance_store/hashing.h"

namespace glance_store::filesystem::testing {

namespace fs = std::filesystem;

void FaultySyscalls::fail(Op op, int err) {
  std::lock_guard lock(mutex_);
  errors_[op] = err;
}

void FaultySyscalls::delay(Op op, std::chrono::milliseconds delay) {
  std::lock_guard lock(mutex_);
  delays_[op] = delay;
}

void FaultySyscalls::set_free_space(const std::string& dir, std::uint64_t bytes) {
  std::lock_guard lock(mutex_);
  free_[dir] = bytes;
}

void FaultySyscalls::reread_paths_after_delay(bool reread) {
  std::lock_guard lock(mutex_);
  reread_paths_ = reread;
}

void FaultySyscalls::on_pwrite(std::function<void()> hook) {
  std::lock_guard lock(mutex_);
  pwrite_hook_ = std::move(hook);
}

int FaultySyscalls::calls(Op op) const {
  std::lock_guard lock(mutex_);
  auto it = calls_.find(op);
  return it == calls_.end() ? 0 : it->second;
}

std::uint64_t FaultySyscalls::pwrite_bytes() const {
  std::lock_guard lock(mutex_);
  return pwrite_bytes_;
}

std::vector<std::string> FaultySyscalls::paths(Op op) const {
  std::lock_guard lock(mutex_);
  auto it = paths_.find(op);
  return it == paths_.end() ? std::vector<std::string>{} : it->second;
}

std::vector<std::thread::id> FaultySyscalls::threads(Op op) const {
  std::lock_guard lock(mutex_);
  auto it = threads_.find(op);
  return it == threads_.end() ? std::vector<std::thread::id>{} : it->second;
}

std::vector<Op> FaultySyscalls::sequence() const {
  std::lock_guard lock(mutex_);
  return sequence_;
}

int FaultySyscalls::enter(Op op, const char* path, std::string* copy) {
  std::chrono::milliseconds delay{0};
  int err = 0;
  bool reread = false;
  {
    std::lock_guard lock(mutex_);
    ++calls_[op];
    sequence_.push_back(op);
    threads_[op].push_back(std::this_thread::get_id());
    if (auto it = delays_.find(op); it != delays_.end()) delay = it->second;
    if (auto it = errors_.find(op); it != errors_.end()) err = it->second;
    reread = reread_paths_;
  }
  if (path != nullptr) *copy = path;
  if (delay.count() > 0) std::this_thread::sleep_for(delay);
  if (path != nullptr) {
    // Deliberately reads the caller's path again after the delay when asked to: a caller that
    // gave up (timeout) must still keep it alive.
    std::string seen = reread ? std::string(path) : *copy;
    std::lock_guard lock(mutex_);
    paths_[op].push_back(std::move(seen));
  }
  return err;
}

namespace {

int Fail(int err) {
  errno = err;
  return -1;
}

}  // namespace

int FaultySyscalls::open(const char* path, int flags, mode_t mode) {
  std::string copy;
  if (const int err = enter(Op::kOpen, path, &copy)) return Fail(err);
  return Syscalls::open(copy.c_str(), flags, mode);
}

ssize_t FaultySyscalls::pwrite(int fd, const void* data, size_t size, off_t offset) {
  const int err = enter(Op::kPwrite, nullptr, nullptr);
  std::function<void()> hook;
  {
    std::lock_guard lock(mutex_);
    hook = pwrite_hook_;
  }
  if (hook) hook();
  if (err != 0) return Fail(err);
  const ssize_t n = Syscalls::pwrite(fd, data, size, offset);
  if (n > 0) {
    std::lock_guard lock(mutex_);
    pwrite_bytes_ += static_cast<std::uint64_t>(n);
  }
  return n;
}

int FaultySyscalls::fsync(int fd) {
  if (const int err = enter(Op::kFsync, nullptr, nullptr)) return Fail(err);
  return Syscalls::fsync(fd);
}

int FaultySyscalls::ftruncate(int fd, off_t length) {
  if (const int err = enter(Op::kFtruncate, nullptr, nullptr)) return Fail(err);
  return Syscalls::ftruncate(fd, length);
}

int FaultySyscalls::rename_noreplace(const char* from, const char* to) {
  std::string copy;
  if (const int err = enter(Op::kRename, to, &copy)) return Fail(err);
  return Syscalls::rename_noreplace(from, copy.c_str());
}

int FaultySyscalls::unlink(const char* path) {
  std::string copy;
  if (const int err = enter(Op::kUnlink, path, &copy)) return Fail(err);
  return Syscalls::unlink(copy.c_str());
}

int FaultySyscalls::lstat(const char* path, struct stat* out) {
  std::string copy;
  if (const int err = enter(Op::kStat, path, &copy)) return Fail(err);
  return Syscalls::lstat(copy.c_str(), out);
}

int FaultySyscalls::statvfs(const char* path, struct statvfs* out) {
  std::string copy;
  if (const int err = enter(Op::kStatvfs, path, &copy)) return Fail(err);
  std::lock_guard lock(mutex_);
  auto it = free_.find(copy);
  // A datadir with set free space counts as existing (datadirs are created by the first add).
  if (Syscalls::statvfs(copy.c_str(), out) != 0) {
    if (it == free_.end()) return -1;
    *out = {};
  }
  if (it != free_.end()) {
    // Consistent for f_bavail × f_bsize and f_bavail × f_frsize; f_bfree (which includes the
    // blocks reserved for root) differs, so using it would be noticed.
    out->f_bsize = 1;
    out->f_frsize = 1;
    out->f_bavail = it->second;
    out->f_bfree = it->second + 4096;
    out->f_blocks = it->second * 2 + 8192;
  }
  return 0;
}

class LogCapture::Sink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  std::vector<std::string> messages() {
    std::lock_guard lock(mutex_);
    return messages_;
  }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    messages_.emplace_back(msg.payload.data(), msg.payload.size());
  }
  void flush_() override {}

 private:
  std::vector<std::string> messages_;
};

LogCapture::LogCapture() : sink_(std::make_shared<Sink>()) {
  internal::logger()->sinks().push_back(sink_);
}

LogCapture::~LogCapture() {
  auto& sinks = internal::logger()->sinks();
  sinks.erase(std::remove(sinks.begin(), sinks.end(), sink_), sinks.end());
}

std::vector<std::string> LogCapture::messages() const { return sink_->messages(); }

std::vector<std::string> LogCapture::matching(std::string_view needle) const {
  std::vector<std::string> out;
  for (auto& m : messages()) {
    if (m.find(needle) != std::string::npos) out.push_back(m);
  }
  return out;
}

std::size_t CountingStream::read(std::span<std::byte> out) {
  ++reads_;
  if (pos_ == data_.size() && fail_) throw *fail_;
  const std::size_t n = std::min(out.size(), data_.size() - pos_);
  std::memcpy(out.data(), data_.data() + pos_, n);
  pos_ += n;
  return n;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

void WriteFile(const std::string& path, std::string_view data) {
  // Datadirs are created by the first add: a test that plants a file makes them itself.
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
  if (!out) throw std::runtime_error("cannot write " + path);
}

unsigned Mode(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return 0xFFFFFFFFU;
  return st.st_mode & 07777U;
}

std::string Md5(std::string_view data) { return hex_digest("md5", data); }
std::string Sha256(std::string_view data) { return hex_digest("sha256", data); }

std::string Pattern(std::size_t n) {
  std::string out(n, '\0');
  for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<char>('a' + (i * 7 + i / 251) % 26);
  return out;
}

void RunUnprivileged(const std::function<void()>& fn) {
  if (::geteuid() != 0) {
    fn();
    return;
  }
  // The raw system calls change the credentials of this thread only (glibc's wrappers would
  // change every thread of the process).
  std::exception_ptr error;
  std::thread worker([&] {
    constexpr long kNobody = 65534;
    if (::syscall(SYS_setgroups, 0, nullptr) != 0 ||
        ::syscall(SYS_setresgid, kNobody, kNobody, kNobody) != 0 ||
        ::syscall(SYS_setresuid, kNobody, kNobody, kNobody) != 0) {
      error = std::make_exception_ptr(
          std::runtime_error(std::string("cannot drop privileges: ") + std::strerror(errno)));
      return;
    }
    try {
      fn();
    } catch (...) {
      error = std::current_exception();
    }
  });
  worker.join();
  if (error) std::rethrow_exception(error);
}

void FsStoreTest::CreateLegacy(const std::string& extra) {
  CreateFromText(
      "[glance_store]\nstores = file\ndefault_store = file\nfilesystem_store_datadir = " +
      datadir() + "\n" + extra + "\n");
}

void FsStoreTest::CreateWithDatadirs(const std::vector<std::string>& entries,
                                     const std::string& extra) {
  std::string text = "[glance_store]\nstores = file\nfilesystem_store_datadir =\n";
  for (const auto& entry : entries) text += "filesystem_store_datadirs = " + entry + "\n";
  CreateFromText(text + extra + "\n");
}

void FsStoreTest::CreateMulti(const std::vector<std::pair<std::string, std::string>>& backends,
                              const std::string& defaults) {
  std::string ids;
  std::string sections;
  for (const auto& [id, lines] : backends) {
    ids += (ids.empty() ? "" : ", ") + id + ":file";
    sections += "[" + id + "]\n" + lines + "\n";
  }
  CreateFromText("[DEFAULT]\nenabled_backends = " + ids + "\n[glance_store]\ndefault_backend = " +
                 backends.front().first + "\n[backend_defaults]\n" + defaults + "\n" + sections +
                 "[os_glance_staging_store]\nfilesystem_store_datadir = " + root_.sub("staging") +
                 "\n[os_glance_tasks_store]\nfilesystem_store_datadir = " + root_.sub("tasks") +
                 "\n");
}

void FsStoreTest::CreateFromText(const std::string& text) {
  registry_.reset();
  config_ = std::make_unique<ConfigFile>(ConfigFile::parse(text, "glance-api.conf"));
  registry_ = StoreRegistry::create(*config_);
}

FilesystemStore& FsStoreTest::store() {
  auto* fs_store = dynamic_cast<FilesystemStore*>(&registry_->default_store());
  if (fs_store == nullptr) throw std::runtime_error("the default store is not a filesystem store");
  return *fs_store;
}

FilesystemStore& FsStoreTest::store(std::string_view backend_id) {
  auto* fs_store = dynamic_cast<FilesystemStore*>(&registry_->store_by_name(backend_id));
  if (fs_store == nullptr) throw std::runtime_error("not a filesystem store");
  return *fs_store;
}

std::shared_ptr<FaultySyscalls> FsStoreTest::InjectSyscalls(std::string_view backend_id) {
  auto syscalls = std::make_shared<FaultySyscalls>();
  (backend_id.empty() ? store() : store(backend_id)).set_syscalls_for_testing(syscalls);
  return syscalls;
}

AddResult FsStoreTest::Add(std::string_view id, const std::string& data,
                           std::optional<std::uint64_t> size, std::string_view algo,
                           std::string_view backend) {
  MemoryInputStream in(data);
  return registry_->add(id, in, size.value_or(data.size()), algo, backend);
}

std::string FsStoreTest::Get(const std::string& uri, std::uint64_t offset,
                             std::optional<std::uint64_t> length) {
  GetResult result = registry_->get(uri, offset, length);
  return read_all(*result.stream);
}

}  // namespace glance_store::filesystem::testing
