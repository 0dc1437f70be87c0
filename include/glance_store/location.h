// Location URIs: parsing, writing back, and dispatch by scheme.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace glance_store {

/// One parsed attribute of a location, named as glance_store names it (`path`, `bucket`, …).
struct LocationField {
  std::string name;
  std::optional<std::string> value;  ///< nullopt where glance_store has None
  bool secret = false;               ///< printed as *** unless credentials are asked for
};

/// A store-specific parsed location (glance_store's StoreLocation).
class StoreLocation {
 public:
  virtual ~StoreLocation() = default;
  /// The scheme as written in the URI (`file`, `filesystem`, `s3+https`, …).
  virtual const std::string& scheme() const = 0;
  /// The written-back URI, as glance_store's get_uri() writes it; with `redact`, secrets are
  /// replaced by `***`.
  virtual std::string uri(bool redact = false) const = 0;
  /// Every attribute of this scheme's locations, in a fixed order.
  virtual std::vector<LocationField> fields() const = 0;
};

/// Parses one scheme family's URIs. Throws Error(kBadStoreUri) for a malformed URI.
using LocationParser = std::function<std::unique_ptr<StoreLocation>(std::string_view uri)>;

/// The scheme of a URI as glance_store dispatches on it (Python's urlsplit: the text before the
/// first ':' when it is a valid scheme, lower-cased; "" otherwise).
std::string dispatch_scheme(std::string_view uri);

/// Replaces the credentials of any URI (`scheme://user:secret@host…`) by `***` for messages.
std::string redact_uri(std::string_view uri);

/// Scheme → parser. Each store type registers the schemes it handles.
class SchemeRegistry {
 public:
  void add(const std::string& scheme, LocationParser parser);
  bool knows(std::string_view scheme) const;
  std::vector<std::string> schemes() const;
  /// Dispatches on the URI's scheme. Throws Error(kUnknownScheme) for a scheme no store
  /// registered, Error(kBadStoreUri) for a malformed URI.
  std::unique_ptr<StoreLocation> parse(std::string_view uri) const;

 private:
  std::map<std::string, LocationParser, std::less<>> parsers_;
};

/// The parsers of every scheme this library knows, by store type (`file`, `s3`, `swift`,
/// `http`), and the schemes of each type.
const std::vector<std::string>& schemes_of_type(std::string_view store_type);
/// The store type serving a scheme, or "" when unknown.
std::string_view type_of_scheme(std::string_view scheme);

/// Parses a URI of any scheme this build has a driver for, without a configured store (a
/// swift+config location keeps its reference unresolved). Throws UnknownScheme, BadStoreUri, or
/// UnsupportedBackend for a type glance knows that this build lacks.
std::unique_ptr<StoreLocation> parse_location(std::string_view uri);

}  // namespace glance_store
