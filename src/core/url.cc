#include "core/url.h"

#include <arpa/inet.h>

#include <cctype>

#include "glance_store/error.h"

namespace glance_store::internal {
namespace {

bool is_scheme_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '+' || c == '-' || c == '.';
}

// Length of a Unicode white-space character (as Python's str.isspace) at the start of s.
std::size_t space_at_front(std::string_view s) {
  if (s.empty()) return 0;
  const auto c0 = static_cast<unsigned char>(s[0]);
  if (c0 == ' ' || (c0 >= 0x09 && c0 <= 0x0D) || (c0 >= 0x1C && c0 <= 0x1F)) return 1;
  if (s.size() >= 2 && c0 == 0xC2) {
    const auto c1 = static_cast<unsigned char>(s[1]);
    if (c1 == 0x85 || c1 == 0xA0) return 2;
  }
  if (s.size() >= 3) {
    const auto c1 = static_cast<unsigned char>(s[1]);
    const auto c2 = static_cast<unsigned char>(s[2]);
    if (c0 == 0xE1 && c1 == 0x9A && c2 == 0x80) return 3;  // U+1680
    if (c0 == 0xE2 && c1 == 0x80 && (c2 <= 0x8A || c2 == 0xA8 || c2 == 0xA9 || c2 == 0xAF)) {
      return 3;  // U+2000..200A, U+2028, U+2029, U+202F
    }
    if (c0 == 0xE2 && c1 == 0x81 && c2 == 0x9F) return 3;  // U+205F
    if (c0 == 0xE3 && c1 == 0x80 && c2 == 0x80) return 3;  // U+3000
  }
  return 0;
}

std::size_t space_at_back(std::string_view s) {
  for (std::size_t len : {1U, 2U, 3U}) {
    if (s.size() >= len && space_at_front(s.substr(s.size() - len)) == len) return len;
  }
  return 0;
}

[[noreturn]] void invalid_ipv6(std::string_view uri) {
  (void)uri;
  throw Error(ErrorKind::kBadStoreUri, "The Store URI was malformed: Invalid IPv6 URL");
}

void check_bracketed_host(std::string_view host, std::string_view uri) {
  if (!host.empty() && host.front() == 'v') {
    // IPvFuture: "v" 1*HEXDIG "." 1*char
    std::size_t i = 1;
    while (i < host.size() && std::isxdigit(static_cast<unsigned char>(host[i])) != 0) ++i;
    if (i == 1 || i >= host.size() || host[i] != '.' || i + 1 == host.size()) invalid_ipv6(uri);
    return;
  }
  std::string addr(host);
  if (auto pct = addr.find('%'); pct != std::string::npos && pct + 1 < addr.size()) {
    addr.resize(pct);  // Python accepts a scope id after an IPv6 address
  }
  unsigned char buf[16];
  if (inet_pton(AF_INET6, addr.c_str(), buf) != 1) invalid_ipv6(uri);
}

void check_bracketed_netloc(std::string_view netloc, std::string_view uri) {
  std::string_view host_port = netloc;
  if (auto at = netloc.rfind('@'); at != std::string_view::npos) host_port = netloc.substr(at + 1);
  auto open = host_port.find('[');
  std::string_view host;
  if (open != std::string_view::npos) {
    if (open != 0) invalid_ipv6(uri);
    std::string_view bracketed = host_port.substr(open + 1);
    auto close = bracketed.find(']');
    host = bracketed.substr(0, close);
    std::string_view port =
        close == std::string_view::npos ? std::string_view() : bracketed.substr(close + 1);
    if (!port.empty() && port.front() != ':') invalid_ipv6(uri);
  } else {
    host = host_port.substr(0, host_port.find(':'));
  }
  check_bracketed_host(host, uri);
}

}  // namespace

std::string_view strip_py_whitespace(std::string_view s) {
  while (std::size_t n = space_at_front(s)) s.remove_prefix(n);
  while (std::size_t n = space_at_back(s)) s.remove_suffix(n);
  return s;
}

SplitUrl split_url(std::string_view input) {
  while (!input.empty() && static_cast<unsigned char>(input.front()) <= 0x20) {
    input.remove_prefix(1);
  }
  SplitUrl out;
  std::string_view rest = input;
  if (input.find_first_of("\t\r\n") != std::string_view::npos) {
    out.cleaned = std::make_unique<std::string>();
    for (char c : input) {
      if (c != '\t' && c != '\r' && c != '\n') *out.cleaned += c;
    }
    rest = *out.cleaned;
  }

  const std::size_t colon = rest.find(':');
  if (colon != std::string_view::npos && colon > 0 &&
      std::isalpha(static_cast<unsigned char>(rest[0])) != 0 &&
      static_cast<unsigned char>(rest[0]) < 0x80) {
    bool valid = true;
    for (std::size_t i = 0; i < colon && valid; ++i) valid = is_scheme_char(rest[i]);
    if (valid) {
      out.scheme.resize(colon);
      for (std::size_t i = 0; i < colon; ++i) {
        out.scheme[i] = static_cast<char>(std::tolower(static_cast<unsigned char>(rest[i])));
      }
      rest.remove_prefix(colon + 1);
    }
  }
  if (rest.substr(0, 2) == "//") {
    out.has_netloc = true;
    std::size_t end = rest.find_first_of("/?#", 2);
    if (end == std::string_view::npos) end = rest.size();
    out.netloc = rest.substr(2, end - 2);
    rest.remove_prefix(end);
    const bool open = out.netloc.find('[') != std::string_view::npos;
    const bool close = out.netloc.find(']') != std::string_view::npos;
    if (open != close) invalid_ipv6(input);
    if (open && close) check_bracketed_netloc(out.netloc, input);
  }
  if (auto hash = rest.find('#'); hash != std::string_view::npos) {
    out.fragment = rest.substr(hash + 1);
    rest = rest.substr(0, hash);
  }
  if (auto q = rest.find('?'); q != std::string_view::npos) {
    out.query = rest.substr(q + 1);
    rest = rest.substr(0, q);
  }
  out.path = rest;
  return out;
}

std::string percent_quote(std::string_view s, std::string_view safe) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    const bool unreserved =
        (std::isalnum(c) != 0 && c < 0x80) || ch == '_' || ch == '.' || ch == '-' || ch == '~';
    if (unreserved || safe.find(ch) != std::string_view::npos) {
      out += ch;
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0xF];
    }
  }
  return out;
}

std::string percent_unquote(std::string_view s) {
  const auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      const int hi = hex(s[i + 1]);
      const int lo = hex(s[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
        continue;
      }
    }
    out += s[i];
  }
  return out;
}

std::string quote_credential(std::string_view s, bool encode_slash) {
  std::string out;
  out.reserve(s.size());
  for (const char c : s) {
    switch (c) {
      case '%':
        out += "%25";
        break;
      case ':':
        out += "%3A";
        break;
      case '@':
        out += "%40";
        break;
      case '#':
        out += "%23";
        break;
      case '?':
        out += "%3F";
        break;
      case '/':
        out += encode_slash ? "%2F" : "/";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::size_t count_occurrences(std::string_view haystack, std::string_view needle) {
  std::size_t n = 0;
  for (std::size_t at = haystack.find(needle); at != std::string_view::npos;
       at = haystack.find(needle, at + needle.size())) {
    ++n;
  }
  return n;
}

std::string url_origin(std::string_view url) {
  std::string scheme = "http";
  if (const auto sep = url.find("://"); sep != std::string_view::npos) {
    scheme = std::string(url.substr(0, sep));
    url.remove_prefix(sep + 3);
  }
  std::string_view authority = url.substr(0, url.find_first_of("/?#"));
  if (const auto at = authority.rfind('@'); at != std::string_view::npos) {
    authority.remove_prefix(at + 1);
  }
  std::string out = scheme + "://" + std::string(authority);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  const auto colon = authority.rfind(':');
  const bool has_port =
      colon != std::string_view::npos && authority.find(']', colon) == std::string_view::npos;
  if (!has_port) out += scheme == "https" ? ":443" : ":80";
  return out;
}

}  // namespace glance_store::internal
