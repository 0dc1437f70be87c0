// Swift account references: the sections of `swift_store_config_file`, or the one reference
// made from the swift_store_* options when there is no such file (internal).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "glance_store/config.h"

namespace glance_store::swift {

/// How to reach and authenticate with one Swift account.
struct SwiftReference {
  std::string auth_address;         ///< as configured, with or without http(s)://
  std::optional<std::string> user;  ///< `project:user` for Keystone, `account:user` for v1
  std::optional<std::string> key;
  std::optional<std::string> application_credential_id;
  std::optional<std::string> application_credential_secret;
  std::optional<std::string> project_name;  ///< with application credentials
  std::optional<std::string> project_id;
  std::optional<std::string> user_domain_id;
  std::optional<std::string> user_domain_name;
  std::optional<std::string> project_domain_id;
  std::optional<std::string> project_domain_name;
  /// "1" is Swift's v1.0 auth (tempauth); anything else is Keystone v3 ("2" is read as v3).
  std::string auth_version = "3";

  bool uses_application_credential() const {
    return application_credential_id.has_value() && application_credential_secret.has_value();
  }
  bool is_v1() const { return auth_version == "1"; }
};

using SwiftReferences = std::map<std::string, SwiftReference, std::less<>>;

/// The value of a reference-file entry with one pair of matching quotes removed, as glance's
/// Swift config parser does. Throws Error(kBadStoreConfiguration) for an unclosed quote
/// (`'user`, `"user'`, a lone `"`).
std::string strip_reference_quotes(std::string_view value);

/// Reads a reference file. Sections lacking both complete application credentials and
/// auth_address + user + key are skipped (logged). Throws BadStoreConfiguration when the file
/// cannot be read, and InvalidOptionValue when it is malformed (a syntax error, an unclosed
/// quote, an auth_version other than 1, 2 or 3 and their ".0" forms), naming the section and
/// key, and the swift_store_config_file option of `options` when given.
SwiftReferences load_reference_file(const std::string& path, const OptionReader* options = nullptr);

/// The references of a Swift store: the file's when swift_store_config_file is set, else one
/// reference named by default_swift_reference, made from the swift_store_* options (or none
/// when they are incomplete).
SwiftReferences read_references(const OptionReader& options);

}  // namespace glance_store::swift
