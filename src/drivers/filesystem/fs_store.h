// The filesystem store (internal header; the public entry is make_filesystem_store).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "drivers/filesystem/fs_errors.h"
#include "drivers/filesystem/fs_options.h"
#include "drivers/filesystem/fs_syscalls.h"
#include "drivers/filesystem/fs_timeout.h"
#include "glance_store/error.h"
#include "glance_store/store.h"

namespace glance_store::filesystem {

class FilesystemStore final : public Store {
 public:
  /// `reserved`: a consuming service's own store, whose datadir is read from its section only.
  FilesystemStore(OptionReader options, std::string backend_id, std::string default_datadir,
                  bool reserved = false);

  std::string_view type() const override { return "file"; }
  std::string_view config_name() const override { return "filesystem"; }
  std::unique_ptr<StoreLocation> parse_location(std::string_view uri) const override;
  std::string url_prefix() const override;
  std::vector<std::string> local_directories() const override;
  /// The temporaries of adds that died (their lock can be taken), in every datadir.
  std::vector<Leftover> find_leftovers(std::int64_t min_age_seconds) override;
  void remove_leftover(const Leftover& leftover) override;

  /// Test seam: the system calls made from now on.
  void set_syscalls_for_testing(std::shared_ptr<Syscalls> syscalls) {
    syscalls_ = std::move(syscalls);
  }
  /// The datadirs, highest priority first (after configure).
  std::vector<std::string> datadirs() const;
  const FilesystemOptions& fs_options() const { return options_; }
  const TimeoutExecutor* timeout_executor() const { return executor_.get(); }

  /// Where an add of `size` bytes goes: the highest priority with a datadir that has room
  /// (free ≥ size and > 0), the one with most free space within it. Throws StorageFull.
  std::string choose_datadir(std::uint64_t size) const;

 protected:
  void configure_add() override;
  GetResult do_get(const StoreLocation& location, std::uint64_t offset,
                   std::optional<std::uint64_t> length, const RequestContext* context) override;
  std::uint64_t do_get_size(const StoreLocation& location, const RequestContext* context) override;
  void do_remove(const StoreLocation& location, const RequestContext* context) override;
  std::unique_ptr<ImageWriter> begin_add(std::string_view image_id, std::uint64_t size,
                                         const RequestContext* context) override;

 private:
  struct ResolvedPath {
    std::string real;   ///< canonical, for the system calls
    std::string shown;  ///< as the location wrote it, for messages
  };
  /// The path of a location, checked to name an image inside a datadir (Forbidden).
  ResolvedPath resolve(const StoreLocation& location) const;
  std::uint64_t image_size(const ResolvedPath& path) const;
  std::uint64_t free_space(const std::string& dir) const;
  void prepare_directory(const std::string& dir) const;
  /// Creates a datadir that does not exist yet (the first add into it does).
  void create_if_missing(const std::string& dir) const;
  void remove_stale_temporaries(const std::string& dir) const;
  /// Removes `path` when it is the temporary of an add that died; whether it did.
  static bool remove_if_stale(const std::string& path);
  nlohmann::json metadata_for(const std::string& path) const;

  std::string default_datadir_;
  bool reserved_;
  FilesystemOptions options_;
  std::map<std::int64_t, std::vector<std::string>, std::greater<>> by_priority_;
  std::vector<std::string> canonical_dirs_;  // for the "inside a datadir" check
  unsigned file_mode_ = 0;
  nlohmann::json metadata_ = nlohmann::json::array();
  std::shared_ptr<Syscalls> syscalls_ = Syscalls::posix();
  std::unique_ptr<TimeoutExecutor> executor_;
};

/// Image ids become file names: empty, ".", "..", a leading ".", "/" or NUL → Invalid.
void validate_image_id(std::string_view image_id);

/// What one add's writer needs to know.
struct WriterSettings {
  std::string dir;  ///< the datadir chosen for the image
  std::string image_id;
  std::vector<std::string> other_dirs;  ///< checked again for a Duplicate before the rename
  unsigned file_mode = 0;               ///< 0: leave the default permissions
  bool thin = false;                    ///< filesystem_thin_provisioning
  std::uint64_t chunk_size = 65536;     ///< granularity of hole detection
  bool direct_io = false;               ///< write with O_DIRECT where the filesystem allows
  nlohmann::json metadata;
};

/// The writer of one add: a locked temporary file beside the final name (internal).
std::unique_ptr<ImageWriter> open_image_writer(std::shared_ptr<Syscalls> syscalls,
                                               WriterSettings settings);

/// Whether a directory entry is one of our add temporaries (".<id>.tmp.<pid>.<hex>").
bool is_temporary_name(std::string_view name);
/// Whether `path` is the temporary of an add this process is running (which a cleanup must
/// never take for stale, whatever the lock says).
bool is_live_temporary(const std::string& path);

}  // namespace glance_store::filesystem
