// Python urllib.parse.urlsplit, reproduced so that URIs split exactly as glance_store splits
// them (internal).
#pragma once

#include <memory>
#include <string>
#include <string_view>

namespace glance_store::internal {

/// The parts are views into the URI given to split_url (which must outlive them), or into a
/// cleaned copy the result owns when the URI had tabs or newlines to remove.
struct SplitUrl {
  std::string scheme;  ///< lower-cased, "" when the URI has none
  std::string_view netloc;
  std::string_view path;
  std::string_view query;
  std::string_view fragment;
  bool has_netloc = false;               ///< the URI had "//" after the scheme
  std::unique_ptr<std::string> cleaned;  // heap-held so that moving the result keeps views valid
};

/// Python 3.11's urlsplit(uri): leading C0 controls and spaces dropped, tabs and newlines
/// removed, the scheme lower-cased. Throws Error(kBadStoreUri) where Python raises ValueError
/// (unbalanced or invalid IPv6 brackets). Allocates only for a long scheme or a URI with tabs
/// or newlines.
SplitUrl split_url(std::string_view uri);

/// Python's str.strip() with no arguments (Unicode white space, UTF-8 encoded).
std::string_view strip_py_whitespace(std::string_view s);

/// How many times `needle` occurs in `haystack`, without overlaps.
std::size_t count_occurrences(std::string_view haystack, std::string_view needle);

/// urllib.parse.quote(s, safe) for the ASCII `safe` set ("/" by default in Python).
std::string percent_quote(std::string_view s, std::string_view safe);
/// urllib.parse.unquote: %XX sequences decoded, everything else kept.
std::string percent_unquote(std::string_view s);
/// A credential from configuration as written into a location URI: only the characters that
/// would break the URI are encoded (`%` `:` `@` `#` `?`, and `/` with `encode_slash`).
std::string quote_credential(std::string_view s, bool encode_slash);

/// An empty, "." or ".." path segment: names no object (a request path with it would address
/// the container, bucket or service above).
inline bool names_no_object(std::string_view segment) {
  return segment.empty() || segment == "." || segment == "..";
}

/// Where requests to `url` go, for comparing two URLs: `scheme://host:port`, lower-cased, with
/// the scheme's default port filled in (80 for http, 443 for https), without credentials or
/// path. A URL without a scheme is read as http.
std::string url_origin(std::string_view url);

}  // namespace glance_store::internal
