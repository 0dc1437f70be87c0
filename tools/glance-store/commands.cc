#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <future>
#include <nlohmann/json.hpp>
#include <random>
#include <vector>

#include "cli.h"
#include "glance_store/hashing.h"
#include "output.h"

namespace glance_store::cli {
namespace {

using Json = nlohmann::ordered_json;

constexpr std::size_t kIoBuffer = 1 << 20;

std::string default_datadir() {
  const char* xdg = std::getenv("XDG_DATA_HOME");
  std::string base;
  if (xdg != nullptr && *xdg != '\0') {
    base = xdg;
  } else {
    const char* home = std::getenv("HOME");
    base = std::string(home != nullptr && *home != '\0' ? home : "/tmp") + "/.local/share";
  }
  return base + "/glance-store/images";
}

std::string new_uuid() {
  std::random_device rd;
  unsigned char b[16];
  for (auto& byte : b) byte = static_cast<unsigned char>(rd());
  b[6] = static_cast<unsigned char>((b[6] & 0x0F) | 0x40);  // version 4
  b[8] = static_cast<unsigned char>((b[8] & 0x3F) | 0x80);  // RFC 4122 variant
  char out[37];
  std::snprintf(out, sizeof out,
                "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
                b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
                b[15]);
  return out;
}

// Non-UTF-8 bytes (an image id, a path) print as U+FFFD rather than failing after the work is
// done; a failed write to stdout is an error, not a silent success.
void print_json(const Json& value) {
  const std::string text = value.dump(2, ' ', false, Json::error_handler_t::replace);
  if (std::printf("%s\n", text.c_str()) < 0 || std::fflush(stdout) != 0) {
    const int err = errno;
    throw Error(ErrorKind::kBackendException,
                std::string("cannot write standard output: ") + std::strerror(err), err);
  }
}

[[noreturn]] void io_failure(const std::string& what, int err) {
  throw Error(ErrorKind::kBackendException, what + ": " + std::strerror(err), err);
}

// Counts what passes through, for the progress bar.
class ProgressStream final : public InputStream {
 public:
  ProgressStream(InputStream& inner, Progress& progress) : inner_(inner), progress_(progress) {}
  std::size_t read(std::span<std::byte> out) override {
    const std::size_t n = inner_.read(out);
    progress_.advance(n);
    return n;
  }

 private:
  InputStream& inner_;
  Progress& progress_;
};

void print_added(const StoreRegistry& registry, const AddResult& result, bool show_credentials) {
  Json out;
  // Locations of S3 (and Swift) carry secrets: shown only when asked for.
  out["location"] = show_credentials ? result.location
                                     : registry.parse_any(result.location)->uri(/*redact=*/true);
  out["size"] = result.bytes_written;
  out["checksum"] = result.checksum;
  out["multihash"] = result.multihash;
  out["hash_algo"] = result.hash_algo;
  out["metadata"] = Json::parse(result.metadata.dump());
  print_json(out);
}

bool is_uuid(std::string_view s) {
  if (s.size() != 36) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? s[i] != '-' : std::isxdigit(static_cast<unsigned char>(s[i])) == 0) return false;
  }
  return true;
}

// Glance names an image's object after the image: a copy keeps that id when the source's URI
// ends with one (an rbd:// location ends with its snapshot: the image comes before it).
std::string image_id_of(std::string_view uri) {
  uri = uri.substr(0, uri.find_first_of("?#"));
  const auto last_component = [](std::string_view& rest) {
    const std::size_t slash = rest.rfind('/');
    const std::string_view last = slash == std::string_view::npos ? rest : rest.substr(slash + 1);
    rest = slash == std::string_view::npos ? std::string_view() : rest.substr(0, slash);
    return last;
  };
  const bool rbd = uri.starts_with("rbd://");
  std::string_view last = last_component(uri);
  if (rbd && !is_uuid(last) && !uri.empty()) last = last_component(uri);
  return is_uuid(last) ? std::string(last) : new_uuid();
}

// md5 and the multihash of a stream: each buffer is hashed by both digests on their own threads
// while the next one is read (the add pipeline's shape, for a read-only check).
struct Digests {
  std::uint64_t size = 0;
  std::string md5;
  std::string multihash;
};

Digests digest_stream(InputStream& in, std::string_view hash_algo, Progress& progress) {
  auto md5 = Hasher::create("md5");
  auto multihash = Hasher::create(hash_algo);
  Digests out;
  std::vector<std::byte> buffers[2] = {std::vector<std::byte>(kIoBuffer),
                                       std::vector<std::byte>(kIoBuffer)};
  std::future<void> md5_job;
  std::future<void> multihash_job;
  for (int turn = 0;; turn ^= 1) {
    std::vector<std::byte>& buffer = buffers[turn];
    std::size_t filled = 0;
    while (filled < buffer.size()) {
      const std::size_t n = in.read(std::span(buffer).subspan(filled));
      if (n == 0) break;
      filled += n;
    }
    if (md5_job.valid()) md5_job.get();  // the other buffer is free again
    if (multihash_job.valid()) multihash_job.get();
    if (filled == 0) break;
    const std::span<const std::byte> bytes(buffer.data(), filled);
    md5_job = std::async(std::launch::async, [&md5, bytes] { md5->update(bytes); });
    multihash_job =
        std::async(std::launch::async, [&multihash, bytes] { multihash->update(bytes); });
    out.size += filled;
    progress.advance(filled);
  }
  out.md5 = md5->hexdigest();
  out.multihash = multihash->hexdigest();
  return out;
}

}  // namespace

void check_expected_digests(const ExpectedDigests& expected, const std::string& hash_algo) {
  const std::size_t multihash_length = Hasher::create(hash_algo)->hexdigest().size();
  const auto check = [](const std::string& option, const std::string& hex, std::size_t length) {
    const bool is_hex = std::all_of(hex.begin(), hex.end(), [](char c) {
      return std::isxdigit(static_cast<unsigned char>(c)) != 0;
    });
    if (!hex.empty() && (!is_hex || hex.size() != length)) {
      throw ToolError{kExitUsage, "UsageError",
                      option + " must be " + std::to_string(length) + " hexadecimal digits"};
    }
  };
  check("--checksum (md5)", expected.md5, 32);
  check("--multihash (" + hash_algo + ")", expected.multihash, multihash_length);
}

std::unique_ptr<StoreRegistry> open_registry(const GlobalOptions& global, ConfigFile& storage) {
  std::string path = global.config_path;
  if (path.empty()) {
    const char* env = std::getenv("GLANCE_STORE_CONFIG");
    if (env != nullptr) path = env;
  }
  if (!path.empty()) {
    storage = ConfigFile::load(path);
  } else {
    storage = ConfigFile();
    storage.set("glance_store", "stores", {"file"});
    storage.set("glance_store", "default_store", {"file"});
    storage.set("glance_store", "filesystem_store_datadir", {default_datadir()});
  }
  return StoreRegistry::create(storage);
}

int run_add(const GlobalOptions& global, const AddOptions& options) {
  ConfigFile config;
  auto registry = open_registry(global, config);
  int fd = STDIN_FILENO;
  std::uint64_t size = 0;
  const bool from_stdin = options.file == "-";
  if (!from_stdin) {
    fd = ::open(options.file.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw_usage("cannot open " + options.file + ": " + std::strerror(errno));
  }
  struct stat st {};
  if (::fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
    // A directory opens, but reading it would fail only later, as the add's read error.
    if (!from_stdin) ::close(fd);
    throw_usage("cannot open " + (from_stdin ? std::string("standard input") : options.file) +
                ": " + std::strerror(EISDIR));
  }
  if (!from_stdin) {
    if (S_ISREG(st.st_mode)) size = static_cast<std::uint64_t>(st.st_size);
    ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  }
  if (options.size) size = *options.size;
  const std::string id = options.image_id.value_or(new_uuid());

  FdInputStream source(fd);
  Progress progress("add", size);
  ProgressStream counted(source, progress);
  AddResult result;
  try {
    result = registry->add(id, counted, size, options.hash_algo, global.backend);
  } catch (...) {
    if (fd != STDIN_FILENO) ::close(fd);
    throw;
  }
  if (fd != STDIN_FILENO) ::close(fd);
  progress.finish();
  print_added(*registry, result, options.show_credentials);
  return 0;
}

int run_get(const GlobalOptions& global, const GetOptions& options) {
  ConfigFile config;
  auto registry = open_registry(global, config);
  // Before a byte is read: -o inside a datadir would replace an image or truncate the one being
  // read, and an output that cannot be created should fail before the store is asked.
  refuse_output_inside(options.output, configured_datadirs(*registry));
  OutputFile sink(options.output);
  GetResult got = registry->get(options.uri, options.offset, options.length, global.backend);
  if (options.offset > 0 && got.size_known && got.size == 0) {
    // The library gives no bytes from an offset at or past the end: only past it is an error.
    const std::uint64_t size = registry->get_size(options.uri, global.backend);
    if (options.offset > size) {
      throw_usage("--offset " + std::to_string(options.offset) + " is past the end of the image (" +
                  std::to_string(size) + " bytes)");
    }
  }
  std::unique_ptr<Hasher> md5;
  if (!options.checksum.empty()) md5 = Hasher::create("md5");
  Progress progress("get", got.size);
  std::vector<std::byte> buffer(kIoBuffer);
  std::uint64_t delivered = 0;
  while (std::size_t n = got.stream->read(buffer)) {
    if (md5) md5->update({buffer.data(), n});
    sink.write(buffer.data(), n);
    progress.advance(n);
    delivered += n;
  }
  progress.finish();
  if (got.size_known && delivered != got.size) {
    throw Error(ErrorKind::kBackendException, "the store announced " + std::to_string(got.size) +
                                                  " bytes and delivered " +
                                                  std::to_string(delivered));
  }
  if (md5) {
    const std::string actual = md5->hexdigest();
    if (!same_digest(options.checksum, actual)) {
      throw checksum_mismatch_error("md5", actual, options.checksum);
    }
  }
  sink.complete();
  return 0;
}

int run_size(const GlobalOptions& global, const std::string& uri) {
  ConfigFile config;
  auto registry = open_registry(global, config);
  const std::uint64_t size = registry->get_size(uri, global.backend);
  if (std::printf("%llu\n", static_cast<unsigned long long>(size)) < 0 ||
      std::fflush(stdout) != 0) {
    io_failure("cannot write standard output", errno);
  }
  return 0;
}

int run_copy(const GlobalOptions& global, const CopyOptions& options) {
  check_expected_digests(options.expected, options.hash_algo);
  ConfigFile config;
  auto registry = open_registry(global, config);
  GetResult source = registry->get(options.uri, 0, std::nullopt, global.backend);
  const std::uint64_t size = source.size_known ? source.size : 0;
  Progress progress("copy", size);
  ProgressStream counted(*source.stream, progress);
  const std::string id = options.image_id.value_or(image_id_of(options.uri));
  const AddResult result = registry->add(id, counted, size, options.hash_algo, options.to, nullptr,
                                         nullptr, &options.expected);
  progress.finish();
  print_added(*registry, result, options.show_credentials);
  return 0;
}

int run_verify(const GlobalOptions& global, const VerifyOptions& options) {
  check_expected_digests(options.expected, options.hash_algo);
  ConfigFile config;
  auto registry = open_registry(global, config);
  GetResult got = registry->get(options.uri, 0, std::nullopt, global.backend);
  Progress progress("verify", got.size);
  const Digests digests = digest_stream(*got.stream, options.hash_algo, progress);
  progress.finish();
  if (got.size_known && digests.size != got.size) {
    throw Error(ErrorKind::kBackendException, "the store announced " + std::to_string(got.size) +
                                                  " bytes and delivered " +
                                                  std::to_string(digests.size));
  }
  const auto matches = [](const std::string& expected, const std::string& actual) {
    return expected.empty() || same_digest(expected, actual);
  };
  const bool md5_ok = matches(options.expected.md5, digests.md5);
  const bool multihash_ok = matches(options.expected.multihash, digests.multihash);
  Json out;
  out["size"] = digests.size;
  out["checksum"] = digests.md5;
  out["multihash"] = digests.multihash;
  out["hash_algo"] = options.hash_algo;
  out["matches"] = md5_ok && multihash_ok;
  print_json(out);
  if (!md5_ok) throw checksum_mismatch_error("md5", digests.md5, options.expected.md5);
  if (!multihash_ok) {
    throw checksum_mismatch_error(options.hash_algo, digests.multihash, options.expected.multihash);
  }
  return 0;
}

int run_delete(const GlobalOptions& global, const std::string& uri) {
  ConfigFile config;
  auto registry = open_registry(global, config);
  registry->remove(uri, global.backend);
  return 0;
}

int run_parse_uri(const GlobalOptions& global, const std::string& uri, bool show_credentials) {
  ConfigFile config;
  auto registry = open_registry(global, config);
  // As glance_store, whose scheme map holds only the configured stores' schemes: a scheme no
  // configured store serves is UnknownScheme, one of a configured store this build lacks
  // (cinder) UnsupportedBackend.
  const std::vector<std::string> known = registry->known_schemes();
  if (std::find(known.begin(), known.end(), dispatch_scheme(uri)) == known.end()) {
    (void)registry->store_for_uri(uri);
  }
  auto location = registry->parse_any(uri);
  Json fields = Json::object();
  for (const auto& field : location->fields()) {
    if (!field.value) {
      fields[field.name] = nullptr;
    } else {
      fields[field.name] = field.secret && !show_credentials ? "***" : *field.value;
    }
  }
  Json out;
  out["scheme"] = location->scheme();
  out["fields"] = fields;
  out["uri"] = location->uri(!show_credentials);
  print_json(out);
  return 0;
}

int run_stores(const GlobalOptions& global) {
  ConfigFile config;
  auto registry = open_registry(global, config);
  Json list = Json::array();
  for (Store* store : registry->stores()) {
    Json entry;
    entry["name"] = store->backend_id().empty() ? std::string(store->type()) : store->backend_id();
    entry["type"] = store->type();
    entry["schemes"] = store->schemes();
    Json caps = Json::array();
    for (auto name : capability_names(store->capabilities().mask())) caps.push_back(name);
    entry["capabilities"] = caps;
    entry["default"] = registry->is_default(*store);
    entry["reserved"] = registry->is_reserved(*store);
    entry["add_enabled"] = store->add_enabled();
    if (!store->add_enabled()) entry["add_disabled_reason"] = store->add_disabled_reason();
    list.push_back(entry);
  }
  print_json(list);
  return 0;
}

int run_cleanup(const GlobalOptions& global, const CleanupOptions& options) {
  ConfigFile config;
  auto registry = open_registry(global, config);
  Json list = Json::array();
  bool failed = false;
  for (Store* store : registry->stores()) {
    Json entry;
    entry["name"] = store->backend_id().empty() ? std::string(store->type()) : store->backend_id();
    entry["type"] = store->type();
    Json leftovers = Json::array();
    try {
      for (const Leftover& leftover : store->find_leftovers(options.older_than_seconds)) {
        Json item = {{"kind", leftover.kind},
                     {"name", leftover.name},
                     {"image_id", leftover.image_id},
                     {"age_seconds", leftover.age_seconds},
                     {"removed", false}};
        if (!options.dry_run) {
          try {
            store->remove_leftover(leftover);
            item["removed"] = true;
          } catch (const Error& e) {
            item["error"] = std::string(kind_name(e.kind())) + ": " + e.message();
            failed = true;
          }
        }
        leftovers.push_back(item);
      }
      const std::string out_of_reach = store->leftovers_out_of_reach();
      if (!out_of_reach.empty()) entry["skipped"] = out_of_reach;
    } catch (const Error& e) {
      entry["skipped"] = std::string(kind_name(e.kind())) + ": " + e.message();
      failed = true;
    }
    entry["leftovers"] = leftovers;
    list.push_back(entry);
  }
  print_json(list);
  return failed ? exit_code(ErrorKind::kBackendException) : 0;
}

}  // namespace glance_store::cli
