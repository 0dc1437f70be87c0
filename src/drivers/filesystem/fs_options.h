// The filesystem store's options, read and checked (internal).
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "glance_store/config.h"

namespace glance_store::filesystem {

/// One documented field per glance option (options.md, "Filesystem driver").
struct FilesystemOptions {
  std::optional<std::string> datadir;        ///< filesystem_store_datadir
  std::vector<std::string> datadirs;         ///< filesystem_store_datadirs, "path[:priority]"
  std::optional<std::string> metadata_file;  ///< filesystem_store_metadata_file
  std::int64_t file_perm = 0;  ///< filesystem_store_file_perm, decimal digits read as octal
  std::int64_t chunk_size = std::int64_t{64} * 1024;  ///< filesystem_store_chunk_size
  bool thin_provisioning = false;                     ///< filesystem_thin_provisioning
  /// filesystem_store_direct_io (ours): adds write around the page cache, leaving the CPU to
  /// the hashes and the cache to the workload; buffered writes where the filesystem refuses.
  bool direct_io = true;
  std::int64_t timeout = 0;                ///< filesystem_store_timeout (seconds)
  std::int64_t thread_pool_size = 10;      ///< filesystem_store_thread_pool_size
  std::int64_t threadpool_threshold = 75;  ///< filesystem_store_threadpool_threshold (%)

  /// Reads the options; malformed values throw InvalidOptionValue. The datadir is read through
  /// `datadir_reader`, with `default_datadir` (/var/lib/glance/images, or /var/lib/glance/<id>
  /// for a reserved store) when it is not set.
  static FilesystemOptions read(const OptionReader& reader, const std::string& default_datadir,
                                const OptionReader& datadir_reader);
};

/// The datadirs by priority, highest first, as configure_add derives them. Throws
/// BadStoreConfiguration (neither/both datadir options, bad priority, empty path, a directory
/// listed twice with different priorities).
std::map<std::int64_t, std::vector<std::string>, std::greater<>> datadirs_by_priority(
    const FilesystemOptions& options);

/// The directories the options name, unvalidated: reads stay confined to them even when the
/// datadir options are rejected for adds.
std::vector<std::string> named_datadirs(const FilesystemOptions& options);

/// The permission bits of filesystem_store_file_perm (644 → 0644), or 0 when ≤ 0. Throws
/// BadStoreConfiguration when the owner could not read the files.
unsigned file_mode(std::int64_t file_perm);

/// Reads and validates the metadata file: an object or a list of objects, each with string
/// `id` and `mountpoint`, other values strings, lists or dicts. Returns a list.
nlohmann::json load_metadata_file(const std::string& path);

}  // namespace glance_store::filesystem
