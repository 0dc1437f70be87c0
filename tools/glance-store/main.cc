// glance-store: add, get, size and delete images through glance_store's stores.
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <charconv>
#include <cstdio>
#include <fstream>
#include <limits>
#include <string>

#include "cli.h"
#include "glance_store/hashing.h"
#include "help.h"
#include "man_page.h"

namespace {

using namespace glance_store;
using namespace glance_store::cli;

// The library's log goes to stderr only when asked for (-v): by default each failure is the
// single error line the tool prints.
void set_up_logging(int verbosity) {
  auto logger = spdlog::stderr_color_mt("glance_store");
  logger->set_pattern("glance-store: %l: %v");
  switch (verbosity) {
    case 0:
      logger->set_level(spdlog::level::off);
      break;
    case 1:
      logger->set_level(spdlog::level::warn);
      break;
    case 2:
      logger->set_level(spdlog::level::info);
      break;
    default:
      logger->set_level(spdlog::level::debug);
  }
}

// Byte counts are decimal digits within uint64: CLI11's own conversion would take "-1" (and wrap
// it), "0x10" and values past 2^64.
std::uint64_t parse_count(const std::string& option, const std::string& text) {
  std::uint64_t value = 0;
  const char* end = text.data() + text.size();
  const bool digits = !text.empty() && std::all_of(text.begin(), text.end(),
                                                   [](char c) { return c >= '0' && c <= '9'; });
  const auto [stop, ec] = std::from_chars(text.data(), end, value);
  if (!digits || ec != std::errc() || stop != end) {
    throw_usage(option + " must be a decimal number from 0 to " +
                std::to_string(std::numeric_limits<std::uint64_t>::max()) + ", not '" + text + "'");
  }
  return value;
}

// A duration: decimal digits and one unit, s, m, h or d ("90s", "24h").
std::int64_t parse_duration(const std::string& option, const std::string& text) {
  const auto usage = [&] {
    throw_usage(option + " must be a number followed by s, m, h or d (e.g. 24h), not '" + text +
                "'");
  };
  if (text.size() < 2) usage();
  const char unit = text.back();
  const std::int64_t scale = unit == 's'   ? 1
                             : unit == 'm' ? 60
                             : unit == 'h' ? 3600
                             : unit == 'd' ? 86400
                                           : 0;
  if (scale == 0) usage();
  const std::string digits = text.substr(0, text.size() - 1);
  if (!std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    usage();
  }
  std::int64_t value = 0;
  const auto [stop, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (ec != std::errc() || stop != digits.data() + digits.size() ||
      value > std::numeric_limits<std::int64_t>::max() / scale) {
    usage();
  }
  return value * scale;
}

// A command whose one-line description, long help and example come from help.h.
CLI::App* add_command(CLI::App& app, std::string_view name) {
  const CommandHelp* help = find_command_help(name);
  auto* command = app.add_subcommand(std::string(name), std::string(help->summary));
  command->footer(command_footer(*help));
  return command;
}

// `glance-store --man FILE` (run by the build) writes the man page; not a documented option.
int write_man_page(const CLI::App& app, const char* path) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << man_page(app);
  out.close();
  if (!out) {
    print_error("UsageError", std::string("cannot write the man page to ") + path);
    return kExitUsage;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{std::string(kToolSummary), "glance-store"};
  app.footer(std::string(kToolDetails) + "\n\n" + exit_code_help());
  app.require_subcommand(1);
  app.fallthrough();

  GlobalOptions global;
  int verbosity = 0;
  app.add_option("--config", global.config_path,
                 "glance-api.conf to use (default: $GLANCE_STORE_CONFIG, else a built-in "
                 "filesystem store under ${XDG_DATA_HOME:-~/.local/share}/glance-store/images)");
  app.add_option("--backend", global.backend,
                 "backend id (multi-store) or store type: file, s3, swift, http, rbd (legacy)");
  app.add_flag("-v,--verbose", verbosity, "log to stderr (repeat for more detail)");

  AddOptions add;
  std::string add_size;
  auto* add_cmd = add_command(app, "add");
  std::string image_id;
  auto* image_id_opt =
      add_cmd->add_option("--image-id", image_id, "image id (default: a new UUID)");
  auto* size_opt =
      add_cmd->add_option("--size", add_size, "declared size in bytes; 0 means unknown")
          ->type_name("N");
  add_cmd->add_option("--hash-algo", add.hash_algo, "multihash algorithm (default sha512)");
  add_cmd->add_option("file", add.file, "image file, or - for standard input")
      ->capture_default_str();
  add_cmd->add_flag("--show-credentials", add.show_credentials,
                    "print the location with its secret (S3, Swift) instead of ***");

  GetOptions get;
  std::string get_offset;
  std::string get_length;
  auto* get_cmd = add_command(app, "get");
  get_cmd->add_option("uri", get.uri, "location URI")->required();
  auto* offset_opt =
      get_cmd->add_option("--offset", get_offset, "first byte to read (at most the size)")
          ->type_name("N");
  auto* length_opt =
      get_cmd->add_option("--length", get_length, "number of bytes to read")->type_name("N");
  get_cmd->add_option("-o,--output", get.output,
                      "output file (default: stdout); never inside a store's datadir");
  get_cmd->add_option("--checksum", get.checksum,
                      "expected md5 of the bytes read; exit 3 when they differ");

  CopyOptions copy;
  std::string copy_image_id;
  auto* copy_cmd = add_command(app, "copy");
  copy_cmd->add_option("uri", copy.uri, "location URI of the source image")->required();
  copy_cmd->add_option("--to", copy.to, "destination backend id (or store type, legacy mode)")
      ->required();
  auto* copy_id_opt = copy_cmd->add_option(
      "--image-id", copy_image_id,
      "image id of the copy (default: the source's, when its URI ends with a UUID or is an "
      "rbd:// location of one; else a new one)");
  copy_cmd->add_option("--checksum", copy.expected.md5,
                       "expected md5; on a mismatch nothing is stored and the exit code is 3");
  copy_cmd->add_option("--multihash", copy.expected.multihash,
                       "expected multihash (of --hash-algo); as --checksum");
  copy_cmd->add_option("--hash-algo", copy.hash_algo, "multihash algorithm (default sha512)");
  copy_cmd->add_flag("--show-credentials", copy.show_credentials,
                     "print the location with its secret (S3, Swift) instead of ***");

  VerifyOptions verify;
  auto* verify_cmd = add_command(app, "verify");
  verify_cmd->add_option("uri", verify.uri, "location URI")->required();
  verify_cmd->add_option("--checksum", verify.expected.md5, "expected md5");
  verify_cmd->add_option("--multihash", verify.expected.multihash,
                         "expected multihash (of --hash-algo)");
  verify_cmd->add_option("--hash-algo", verify.hash_algo, "multihash algorithm (default sha512)");

  std::string uri;
  auto* size_cmd = add_command(app, "size");
  size_cmd->add_option("uri", uri, "location URI")->required();
  auto* delete_cmd = add_command(app, "delete");
  delete_cmd->add_option("uri", uri, "location URI")->required();

  bool show_credentials = false;
  auto* parse_cmd = add_command(app, "parse-uri");
  parse_cmd->add_option("uri", uri, "location URI")->required();
  parse_cmd->add_flag("--show-credentials", show_credentials, "print secrets instead of ***");

  auto* stores_cmd = add_command(app, "stores");

  CleanupOptions cleanup;
  std::string older_than = "24h";
  auto* cleanup_cmd = add_command(app, "cleanup");
  cleanup_cmd->add_option("--older-than", older_than,
                          "only leftovers at least this old: a number with s, m, h or d "
                          "(default 24h)");
  cleanup_cmd->add_flag("--dry-run", cleanup.dry_run, "list, remove nothing");

  if (argc == 3 && std::string_view(argv[1]) == "--man") return write_man_page(app, argv[2]);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    print_error("UsageError", std::string(e.what()) + " (see glance-store --help)");
    return kExitUsage;
  }

  set_up_logging(verbosity);
  try {
    if (*add_cmd) {
      if (*size_opt) add.size = parse_count("--size", add_size);
      if (*image_id_opt) add.image_id = image_id;
      return run_add(global, add);
    }
    if (*get_cmd) {
      if (*offset_opt) get.offset = parse_count("--offset", get_offset);
      if (*length_opt) get.length = parse_count("--length", get_length);
      return run_get(global, get);
    }
    if (*copy_cmd) {
      if (*copy_id_opt) copy.image_id = copy_image_id;
      return run_copy(global, copy);
    }
    if (*verify_cmd) {
      if (verify.expected.md5.empty() && verify.expected.multihash.empty()) {
        throw_usage("verify needs --checksum or --multihash");
      }
      return run_verify(global, verify);
    }
    if (*size_cmd) return run_size(global, uri);
    if (*delete_cmd) return run_delete(global, uri);
    if (*parse_cmd) return run_parse_uri(global, uri, show_credentials);
    if (*stores_cmd) return run_stores(global);
    if (*cleanup_cmd) {
      cleanup.older_than_seconds = parse_duration("--older-than", older_than);
      return run_cleanup(global, cleanup);
    }
  } catch (const Error& e) {
    print_error(kind_name(e.kind()), e.message());
    return exit_code(e.kind());
  } catch (const ToolError& e) {
    print_error(e.kind, e.message);
    return e.code;
  } catch (const std::exception& e) {
    print_error("InternalError", e.what());
    return kExitInternal;
  }
  return kExitUsage;
}
