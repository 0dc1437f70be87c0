// The glance-store command-line tool: shared declarations.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "glance_store/backend.h"
#include "glance_store/error.h"

namespace glance_store::cli {

/// Exit codes: 0 success, 1 internal error, 2 usage, 3 checksum mismatch, 10 + kind (other
/// kinds).
inline constexpr int kExitInternal = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitChecksumMismatch = 3;
inline constexpr int kExitKindBase = 10;
inline int exit_code(ErrorKind kind) {
  return kind == ErrorKind::kChecksumMismatch ? kExitChecksumMismatch
                                              : kExitKindBase + static_cast<int>(kind);
}

/// A failure of the tool itself (usage), reported like an Error but with its own code.
struct ToolError {
  int code;
  std::string kind;
  std::string message;
};

/// Throws the ToolError of a usage error (exit 2).
[[noreturn]] inline void throw_usage(std::string message) {
  throw ToolError{kExitUsage, "UsageError", std::move(message)};
}

/// Options shared by every command.
struct GlobalOptions {
  std::string config_path;  ///< --config, else $GLANCE_STORE_CONFIG, else built-in default
  std::string backend;      ///< --backend
};

/// Loads the configuration the tool runs with and builds the stores.
std::unique_ptr<StoreRegistry> open_registry(const GlobalOptions& global, ConfigFile& storage);

struct AddOptions {
  std::optional<std::string> image_id;  ///< nullopt: a new UUID
  std::optional<std::uint64_t> size;
  std::string hash_algo = "sha512";
  std::string file = "-";
  bool show_credentials = false;  ///< print the location's secret instead of ***
};
int run_add(const GlobalOptions& global, const AddOptions& options);

struct GetOptions {
  std::string uri;
  std::uint64_t offset = 0;
  std::optional<std::uint64_t> length;
  std::string output;    ///< -o; empty means stdout
  std::string checksum;  ///< --checksum: expected md5 of the bytes delivered
};
int run_get(const GlobalOptions& global, const GetOptions& options);
int run_size(const GlobalOptions& global, const std::string& uri);

struct CopyOptions {
  std::string uri;
  std::string to;                       ///< backend id (multi-store) or store type (legacy)
  std::optional<std::string> image_id;  ///< nullopt: the source's, when its URI ends with one
  ExpectedDigests expected;
  std::string hash_algo = "sha512";
  bool show_credentials = false;
};
int run_copy(const GlobalOptions& global, const CopyOptions& options);

struct CleanupOptions {
  std::int64_t older_than_seconds = 24 * 3600;
  bool dry_run = false;
};
int run_cleanup(const GlobalOptions& global, const CleanupOptions& options);

struct VerifyOptions {
  std::string uri;
  ExpectedDigests expected;
  std::string hash_algo = "sha512";
};
int run_verify(const GlobalOptions& global, const VerifyOptions& options);
/// Usage error unless each given digest is hex of its algorithm's length (UnknownHashingAlgo for
/// an unknown algorithm): checked before a byte is read.
void check_expected_digests(const ExpectedDigests& expected, const std::string& hash_algo);
int run_delete(const GlobalOptions& global, const std::string& uri);
int run_parse_uri(const GlobalOptions& global, const std::string& uri, bool show_credentials);
int run_stores(const GlobalOptions& global);

/// Prints `glance-store: <kind>: <message>` as one line, the whole message: line breaks and
/// tabs become spaces, other control characters '?'.
void print_error(std::string_view kind, std::string_view message);

/// A progress bar on stderr, drawn only when stderr is a terminal and the operation has lasted
/// more than a second.
class Progress {
 public:
  Progress(std::string label, std::uint64_t total);
  ~Progress();
  void advance(std::uint64_t bytes);
  void finish();

 private:
  void draw(bool final);

  std::string label_;
  std::uint64_t total_;
  std::uint64_t done_ = 0;
  bool enabled_;
  bool drawn_ = false;
  std::int64_t start_ns_;
  std::int64_t last_draw_ns_ = 0;
};

}  // namespace glance_store::cli
