#include "drivers/filesystem/fs_options.h"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <set>
#include <sstream>

#include "core/log.h"
#include "glance_store/error.h"
#include "glance_store/store.h"

namespace glance_store::filesystem {
namespace {

constexpr std::string_view kStoreName = "filesystem";
constexpr std::int64_t kMaxSeconds = 2147483647;

[[noreturn]] void config_error(const std::string& reason) {
  throw bad_store_configuration_error(kStoreName, reason);
}

std::string trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return std::string(s);
}

// "/srv/images/" and "/srv/images" are one datadir; locations never get a doubled slash.
std::string without_trailing_slashes(std::string path) {
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  return path;
}

}  // namespace

FilesystemOptions FilesystemOptions::read(const OptionReader& reader,
                                          const std::string& default_datadir,
                                          const OptionReader& datadir_reader) {
  FilesystemOptions o;
  o.datadir = datadir_reader.get_path("filesystem_store_datadir", default_datadir);
  o.datadirs = reader.get_multi("filesystem_store_datadirs");
  for (const auto& entry : o.datadirs) {
    // "path[:priority]", split at the last ':', both parts trimmed (glance's rules and
    // reasons; malformed entries refused here rather than disabling add).
    const std::size_t colon = entry.rfind(':');
    const std::string priority = colon == std::string::npos ? "" : trim(entry.substr(colon + 1));
    if (!std::all_of(priority.begin(), priority.end(),
                     [](unsigned char c) { return std::isdigit(c) != 0; }) ||
        priority.size() > 18) {
      reader.fail("filesystem_store_datadirs",
                  "Invalid priority value " + priority + " in filesystem configuration");
    }
    if (trim(entry.substr(0, colon)).empty()) {
      reader.fail("filesystem_store_datadirs",
                  "Invalid directory specified in filesystem configuration");
    }
    reader.check_path("filesystem_store_datadirs", colon == std::string::npos
                                                       ? entry
                                                       : std::string_view(entry).substr(0, colon));
  }
  o.metadata_file = reader.get_path("filesystem_store_metadata_file");
  o.file_perm = reader.get_int("filesystem_store_file_perm", 0);
  // Decimal digits read as octal: a digit 8 or 9, or more than the 12 permission bits, is no
  // mode (the owner-read rule is configure_add's, which disables add).
  if (o.file_perm > 0) {
    const std::string digits = std::to_string(o.file_perm);
    if (digits.size() > 4 || digits.find_first_of("89") != std::string::npos) {
      reader.fail("filesystem_store_file_perm",
                  "'" + digits + "' is not a file mode (octal digits 0-7, at most 7777)");
    }
  }
  o.chunk_size = reader.get_int("filesystem_store_chunk_size", std::int64_t{64} * 1024, 1);
  o.thin_provisioning = reader.get_bool("filesystem_thin_provisioning", false);
  o.direct_io = reader.get_bool("filesystem_store_direct_io", true);
  // At most 68 years: a wait of 10^10 s overflows the clock's nanoseconds and ends at once.
  o.timeout = reader.get_int("filesystem_store_timeout", 0, 0, kMaxSeconds);
  o.thread_pool_size = reader.get_int("filesystem_store_thread_pool_size", 10, 1, 1024);
  o.threadpool_threshold = reader.get_int("filesystem_store_threadpool_threshold", 75, 0, 100);
  return o;
}

namespace {

std::string path_of_entry(const std::string& entry) {
  const std::size_t colon = entry.rfind(':');
  return without_trailing_slashes(
      trim(colon == std::string::npos ? entry : entry.substr(0, colon)));
}

}  // namespace

std::vector<std::string> named_datadirs(const FilesystemOptions& options) {
  std::vector<std::string> dirs;
  if (options.datadir) dirs.push_back(without_trailing_slashes(*options.datadir));
  for (const auto& entry : options.datadirs) {
    std::string path = path_of_entry(entry);
    if (!path.empty()) dirs.push_back(std::move(path));
  }
  return dirs;
}

std::map<std::int64_t, std::vector<std::string>, std::greater<>> datadirs_by_priority(
    const FilesystemOptions& options) {
  if (!options.datadir && options.datadirs.empty()) {
    config_error(
        "Specify at least 'filesystem_store_datadir' or 'filesystem_store_datadirs' option");
  }
  if (options.datadir && !options.datadirs.empty()) {
    config_error("Specify either 'filesystem_store_datadir' or 'filesystem_store_datadirs' option");
  }
  std::map<std::int64_t, std::vector<std::string>, std::greater<>> by_priority;
  if (options.datadir) {
    by_priority[0].push_back(without_trailing_slashes(*options.datadir));
    return by_priority;
  }
  std::map<std::string, std::int64_t> seen;
  for (const auto& entry : options.datadirs) {
    const std::size_t colon = entry.rfind(':');
    std::string path = path_of_entry(entry);
    std::string priority_text = colon == std::string::npos ? "" : trim(entry.substr(colon + 1));
    std::int64_t priority = 0;
    if (!priority_text.empty()) {
      if (!std::all_of(priority_text.begin(), priority_text.end(),
                       [](unsigned char c) { return std::isdigit(c) != 0; }) ||
          priority_text.size() > 18) {
        config_error("Invalid priority value " + priority_text + " in filesystem configuration");
      }
      priority = std::stoll(priority_text);
    }
    if (path.empty()) config_error("Invalid directory specified in filesystem configuration");
    if (auto it = seen.find(path); it != seen.end()) {
      const std::string msg = "Directory " + path +
                              " specified multiple times in filesystem_store_datadirs option "
                              "of filesystem configuration";
      if (it->second != priority) config_error(msg);
      internal::logger()->warn("{}", msg);
      continue;
    }
    seen[path] = priority;
    by_priority[priority].push_back(path);
  }
  return by_priority;
}

unsigned file_mode(std::int64_t file_perm) {
  if (file_perm <= 0) return 0;
  unsigned mode = 0;
  for (char c : std::to_string(file_perm)) {
    if (c > '7') config_error("Invalid 'filesystem_store_file_perm' option.");
    mode = mode * 8 + static_cast<unsigned>(c - '0');
  }
  if ((mode & 0400U) == 0 || mode > 07777U) {
    config_error("Invalid 'filesystem_store_file_perm' option.");
  }
  return mode;
}

nlohmann::json load_metadata_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    config_error("The path for the metadata file " + path +
                 " could not be accessed: cannot open the file.");
  }
  std::ostringstream text;
  text << in.rdbuf();
  const auto invalid = [&](const std::string& why) {
    config_error("The JSON in the metadata file " + path +
                 " is not valid and it can not be used: " + why + ".");
  };
  nlohmann::json metadata;
  try {
    metadata = nlohmann::json::parse(text.str());
  } catch (const nlohmann::json::parse_error& e) {
    invalid(e.what());
  }
  if (metadata.is_object()) metadata = nlohmann::json::array({metadata});
  if (!metadata.is_array()) invalid("expected an object or a list of objects");
  for (const auto& entry : metadata) {
    if (!entry.is_object()) invalid(entry.dump() + " is not an object");
    for (const char* key : {"id", "mountpoint"}) {
      if (!entry.contains(key)) invalid(std::string("'") + key + "' is a required property");
      if (!entry[key].is_string()) invalid(entry[key].dump() + " is not of type 'string'");
    }
    try {
      check_location_metadata(entry, "filesystem");
    } catch (const Error& e) {
      invalid(e.message());
    }
  }
  return metadata;
}

}  // namespace glance_store::filesystem
