#include "glance_store/location.h"

#include <algorithm>
#include <array>

#include "core/drivers.h"
#include "core/url.h"
#include "glance_store/error.h"

namespace glance_store {

std::string dispatch_scheme(std::string_view uri) { return internal::split_url(uri).scheme; }

std::string redact_uri(std::string_view uri) {
  const std::size_t sep = uri.find("://");
  if (sep == std::string_view::npos) return std::string(uri);
  const std::size_t start = sep + 3;
  // The credentials end at the host's '@': the last one of the authority (as Python's urlsplit
  // reads it), or, when a secret holds a '/', the last one before the query (a '@' in a path
  // then hides a little too much of a message, never too little).
  const std::size_t authority_end = std::min(uri.find_first_of("/?#", start), uri.size());
  std::size_t at = uri.substr(0, authority_end).rfind('@');
  if (at == std::string_view::npos || at < start) {
    at = uri.substr(0, std::min(uri.find_first_of("?#", start), uri.size())).rfind('@');
    if (at == std::string_view::npos || at < start) at = uri.find('@', start);
  }
  if (at == std::string_view::npos) return std::string(uri);
  std::string_view userinfo = uri.substr(start, at - start);
  // A Swift user may hold ':' (tenant:user), its key follows the last one; elsewhere the
  // secret is everything after the first.
  const bool swift = uri.substr(0, sep).starts_with("swift");
  const std::size_t colon = swift ? userinfo.rfind(':') : userinfo.find(':');
  if (colon == std::string_view::npos) return std::string(uri);
  std::string out(uri.substr(0, start));
  out += userinfo.substr(0, colon + 1);
  out += "***";
  out += uri.substr(at);
  return out;
}

void SchemeRegistry::add(const std::string& scheme, LocationParser parser) {
  parsers_[scheme] = std::move(parser);
}

bool SchemeRegistry::knows(std::string_view scheme) const {
  return parsers_.find(scheme) != parsers_.end();
}

std::vector<std::string> SchemeRegistry::schemes() const {
  std::vector<std::string> out;
  for (const auto& [scheme, unused] : parsers_) out.push_back(scheme);
  return out;
}

std::unique_ptr<StoreLocation> SchemeRegistry::parse(std::string_view uri) const {
  const std::string scheme = dispatch_scheme(uri);
  auto it = parsers_.find(scheme);
  if (it == parsers_.end()) throw unknown_scheme_error(scheme);
  return it->second(uri);
}

const std::vector<std::string>& schemes_of_type(std::string_view store_type) {
  static const std::vector<std::string> kNone;
  const internal::DriverInfo* driver = internal::driver_of_type(store_type);
  return driver != nullptr ? driver->schemes : kNone;
}

std::string_view type_of_scheme(std::string_view scheme) {
  for (const auto& driver : internal::driver_table()) {
    for (const auto& s : driver.schemes) {
      if (s == scheme) return driver.type;
    }
  }
  return "";
}

std::unique_ptr<StoreLocation> parse_location(std::string_view uri) {
  const std::string scheme = dispatch_scheme(uri);
  const internal::DriverInfo* driver = internal::driver_of_type(type_of_scheme(scheme));
  if (driver == nullptr) throw unknown_scheme_error(scheme);
  if (driver->parse == nullptr) {
    throw Error(ErrorKind::kUnsupportedBackend,
                "locations of scheme '" + scheme + "' are not supported by this build");
  }
  return driver->parse(uri);
}

}  // namespace glance_store
