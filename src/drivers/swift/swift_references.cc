#include "drivers/swift/swift_references.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <utility>

#include "core/log.h"
#include "glance_store/error.h"

namespace glance_store::swift {
namespace {

bool present(const std::optional<std::string>& value) { return value && !value->empty(); }

// A value opening with a quote that no matching quote closes (`'user`, `"user'`, a lone `"`).
bool has_unclosed_quote(std::string_view value) {
  return !value.empty() && (value.front() == '"' || value.front() == '\'') &&
         (value.size() == 1 || value.back() != value.front());
}

// The values of auth_version / swift_store_auth_version, as swiftclient names the versions:
// v1 (tempauth) or Keystone ("2" is read as v3).
constexpr std::string_view kAuthVersions = "1, 1.0, 2, 2.0, 3, 3.0";

// "1", "2" or "3" ("3.0" is "3"), or nullopt for no version.
std::optional<std::string> auth_version_number(std::string_view version) {
  for (const std::string_view v : {"1", "1.0", "2", "2.0", "3", "3.0"}) {
    if (v == version) return std::string(version.substr(0, 1));
  }
  return std::nullopt;
}

// A malformed reference file fails the configuration, naming the option that names the file.
[[noreturn]] void malformed(const OptionReader* options, const std::string& why) {
  if (options != nullptr) options->fail("swift_store_config_file", why);
  const Error e = bad_store_configuration_error("swift", "swift config file " + why);
  throw InvalidOptionValue(e.kind(), e.message());
}

}  // namespace

std::string strip_reference_quotes(std::string_view value) {
  if (has_unclosed_quote(value)) {
    throw bad_store_configuration_error(
        "swift", "a value of the Swift reference file has an unclosed quote: " +
                     std::string(value.substr(0, 1)) + "…");
  }
  if (value.empty() || (value.front() != '"' && value.front() != '\'')) return std::string(value);
  return std::string(value.substr(1, value.size() - 2));
}

SwiftReferences load_reference_file(const std::string& path, const OptionReader* options) {
  // A file that cannot be read is the environment's problem (add is disabled); one that does
  // not parse, or holds a malformed value, is the configuration's.
  errno = 0;
  std::ifstream in(path, std::ios::binary);
  const int err = errno;
  std::error_code ec;
  if (!in || std::filesystem::is_directory(path, ec)) {
    const std::string why = in ? "Is a directory" : std::strerror(err != 0 ? err : ENOENT);
    throw bad_store_configuration_error("swift",
                                        "swift config file " + path + " could not be read: " + why);
  }
  std::ostringstream text;
  text << in.rdbuf();
  ConfigFile file;
  try {
    file = ConfigFile::parse(text.str(), path, /*strip_quotes=*/false);  // glance's own rule below
  } catch (const Error& e) {
    malformed(options, e.message());
  }
  // The value of `key` in `section`, or in [DEFAULT] (configparser's defaults), unquoted.
  const auto entry = [&](const std::string& section,
                         std::string_view key) -> std::optional<std::string> {
    for (const std::string_view where : {std::string_view(section), std::string_view("DEFAULT")}) {
      const auto& values = file.values(where, key);
      if (values.empty()) continue;
      if (has_unclosed_quote(values.back())) {
        malformed(options, path + ": [" + std::string(where) + "] " + std::string(key) +
                               ": the value has an unclosed quote: " + values.back().substr(0, 1) +
                               "…");
      }
      return strip_reference_quotes(values.back());
    }
    return std::nullopt;
  };
  SwiftReferences references;
  for (const std::string& name : file.sections()) {
    if (name == "DEFAULT") continue;
    SwiftReference ref;
    ref.auth_address = entry(name, "auth_address").value_or("");
    ref.user = entry(name, "user");
    ref.key = entry(name, "key");
    ref.application_credential_id = entry(name, "application_credential_id");
    ref.application_credential_secret = entry(name, "application_credential_secret");
    ref.project_name = entry(name, "project_name");
    ref.project_id = entry(name, "project_id");
    ref.user_domain_id = entry(name, "user_domain_id");
    ref.user_domain_name = entry(name, "user_domain_name");
    ref.project_domain_id = entry(name, "project_domain_id");
    ref.project_domain_name = entry(name, "project_domain_name");
    // Domains default to the `default` domain's id unless names are given.
    if (!ref.user_domain_id && !ref.user_domain_name) ref.user_domain_id = "default";
    if (!ref.project_domain_id && !ref.project_domain_name) ref.project_domain_id = "default";
    const std::string version = entry(name, "auth_version").value_or("3");
    const auto number = auth_version_number(version);
    if (!number) {
      malformed(options, path + ": [" + name + "] auth_version: '" + version + "' is not one of " +
                             std::string(kAuthVersions));
    }
    ref.auth_version = *number;
    const bool app_credential = present(ref.application_credential_id) &&
                                present(ref.application_credential_secret) &&
                                !ref.auth_address.empty();
    const bool password = !ref.auth_address.empty() && ref.user && ref.key;
    if (!app_credential && !password) {
      internal::logger()->error(
          "Swift reference [{}] skipped: it needs auth_address with user and key, or "
          "application_credential_id and application_credential_secret",
          name);
      continue;
    }
    if (app_credential) {
      ref.user.reset();
      ref.key.reset();
    } else {
      ref.application_credential_id.reset();
      ref.application_credential_secret.reset();
    }
    references.emplace(name, std::move(ref));
  }
  return references;
}

SwiftReferences read_references(const OptionReader& options) {
  // Checked even when a reference file makes it unused.
  const std::string auth_version_text = options.raw("swift_store_auth_version").value_or("3");
  const auto auth_version = auth_version_number(auth_version_text);
  if (!auth_version) {
    options.fail("swift_store_auth_version",
                 "'" + auth_version_text + "' is not one of " + std::string(kAuthVersions));
  }
  if (const auto file = options.get_path("swift_store_config_file")) {
    return load_reference_file(*file, &options);
  }
  SwiftReference ref;
  ref.auth_address = options.get_string("swift_store_auth_address").value_or("");
  ref.auth_version = *auth_version;
  ref.user_domain_id = "default";
  ref.project_domain_id = "default";
  const auto app_id = options.get_string("swift_store_application_credential_id");
  const auto app_secret = options.get_string("swift_store_application_credential_secret");
  const auto user = options.get_string("swift_store_user");
  const auto key = options.get_string("swift_store_key");
  if (ref.auth_address.empty()) return {};
  if (app_id && app_secret) {
    ref.application_credential_id = app_id;
    ref.application_credential_secret = app_secret;
    ref.project_name = options.get_string("swift_store_project_name");
    ref.project_id = options.get_string("swift_store_project_id");
  } else if (user && key) {
    ref.user = user;
    ref.key = key;
  } else {
    return {};
  }
  SwiftReferences references;
  references.emplace(options.get_string("default_swift_reference").value_or("ref1"),
                     std::move(ref));
  return references;
}

}  // namespace glance_store::swift
