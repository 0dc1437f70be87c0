// Python urllib.parse.urlsplit, reproduced so that URIs split exactly as glance_store splits
// them (internal).
#pragma once

#include <string>
#include <string_view>

namespace glance_store::internal {

struct SplitUrl {
  std::string scheme;  ///< lower-cased, "" when the URI has none
  std::string netloc;
  std::string path;
  std::string query;
  std::string fragment;
  bool has_netloc = false;  ///< the URI had "//" after the scheme
};

/// Python 3.11's urlsplit(uri): leading C0 controls and spaces dropped, tabs and newlines
/// removed, the scheme lower-cased. Throws Error(kBadStoreUri) where Python raises ValueError
/// (unbalanced or invalid IPv6 brackets).
SplitUrl split_url(std::string_view uri);

/// Python's str.strip() with no arguments (Unicode white space, UTF-8 encoded).
std::string_view strip_py_whitespace(std::string_view s);

/// urllib.parse.quote(s, safe) for the ASCII `safe` set ("/" by default in Python).
std::string percent_quote(std::string_view s, std::string_view safe);
/// urllib.parse.unquote: %XX sequences decoded, everything else kept.
std::string percent_unquote(std::string_view s);

}  // namespace glance_store::internal
