#include "drivers/swift/swift_references.h"

#include <utility>

#include "core/log.h"
#include "glance_store/error.h"

namespace glance_store::swift {
namespace {

// The value of `key` in `section`, or in [DEFAULT] (configparser's defaults), unquoted.
std::optional<std::string> entry(const ConfigFile& file, const std::string& section,
                                 std::string_view key) {
  for (const std::string_view where : {std::string_view(section), std::string_view("DEFAULT")}) {
    const auto& values = file.values(where, key);
    if (!values.empty()) return strip_reference_quotes(values.back());
  }
  return std::nullopt;
}

bool present(const std::optional<std::string>& value) { return value && !value->empty(); }

}  // namespace

std::string strip_reference_quotes(std::string_view value) {
  if (value.empty() || (value.front() != '"' && value.front() != '\'')) return std::string(value);
  if (value.size() == 1 || value.back() != value.front()) {
    throw bad_store_configuration_error(
        "swift", "a value of the Swift reference file has an unclosed quote: " +
                     std::string(value.substr(0, 1)) + "…");
  }
  return std::string(value.substr(1, value.size() - 2));
}

SwiftReferences load_reference_file(const std::string& path) {
  ConfigFile file;
  try {
    file = ConfigFile::load(path);
  } catch (const Error& e) {
    throw bad_store_configuration_error(
        "swift", "swift config file " + path + " could not be read: " + e.message());
  }
  SwiftReferences references;
  for (const std::string& name : file.sections()) {
    if (name == "DEFAULT") continue;
    SwiftReference ref;
    ref.auth_address = entry(file, name, "auth_address").value_or("");
    ref.user = entry(file, name, "user");
    ref.key = entry(file, name, "key");
    ref.application_credential_id = entry(file, name, "application_credential_id");
    ref.application_credential_secret = entry(file, name, "application_credential_secret");
    ref.project_name = entry(file, name, "project_name");
    ref.project_id = entry(file, name, "project_id");
    ref.user_domain_id = entry(file, name, "user_domain_id");
    ref.user_domain_name = entry(file, name, "user_domain_name");
    ref.project_domain_id = entry(file, name, "project_domain_id");
    ref.project_domain_name = entry(file, name, "project_domain_name");
    // Domains default to the `default` domain's id unless names are given.
    if (!ref.user_domain_id && !ref.user_domain_name) ref.user_domain_id = "default";
    if (!ref.project_domain_id && !ref.project_domain_name) ref.project_domain_id = "default";
    ref.auth_version = entry(file, name, "auth_version").value_or("3");
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
  if (const auto file = options.get_string("swift_store_config_file")) {
    return load_reference_file(*file);
  }
  SwiftReference ref;
  ref.auth_address = options.get_string("swift_store_auth_address").value_or("");
  ref.auth_version = options.get_string("swift_store_auth_version").value_or("3");
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
