// Where `get` writes: standard output, a device or pipe in place, or a regular file replaced
// atomically; and the guard that keeps -o out of the stores' datadirs.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "glance_store/backend.h"
#include "glance_store/config.h"

namespace glance_store::cli {

/// A filesystem datadir named by the configuration (resolved when it exists).
struct Datadir {
  std::string store;       ///< backend id (multi-store) or "file" (legacy)
  std::string configured;  ///< as the configuration writes it
  std::string resolved;    ///< absolute, symlinks resolved as far as the path exists
};

/// Every datadir of every store of `registry` (reserved stores included): what each store
/// names as its local directories.
std::vector<Datadir> configured_datadirs(const StoreRegistry& registry);

/// Throws a usage error naming the datadir when `path` (or, when it is a symlink, what it points
/// to) is inside one of `datadirs`. The output need not exist; its directory is resolved.
void refuse_output_inside(const std::string& path, const std::vector<Datadir>& datadirs);

/// The destination of `get`. An empty path or "-" is standard output; a path that exists and is
/// not a regular file (a device, a pipe) is written in place; anything else is written under a
/// temporary name beside it and renamed onto it by complete(). A replaced file keeps its
/// permission bits (never more readable than it was); a new one gets 0666 & ~umask.
/// Opening throws a usage error (a directory, a missing directory, no permission).
class OutputFile {
 public:
  explicit OutputFile(const std::string& path);
  ~OutputFile();
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;

  /// Throws BackendException when the write fails.
  void write(const std::byte* data, std::size_t size);
  /// Flushes and renames the temporary onto the path; until then the path is untouched.
  void complete();

 private:
  std::string path_;
  std::string name_;  // for messages
  std::string temp_;
  int fd_ = -1;
  bool owned_ = false;
};

}  // namespace glance_store::cli
