#include "glance_store/image_id.h"

#include <cstdint>
#include <optional>
#include <string>

#include "core/url.h"
#include "glance_store/error.h"

namespace glance_store {
namespace {

[[noreturn]] void invalid(std::string_view why) {
  throw Error(ErrorKind::kInvalid, "Invalid image id: " + std::string(why));
}

// Decodes the code point at `i` and moves past it; nullopt for a malformed sequence (overlong
// forms, surrogates and values past U+10FFFF included).
std::optional<char32_t> next_code_point(std::string_view s, std::size_t& i) {
  const auto byte = [&](std::size_t k) { return static_cast<std::uint8_t>(s[k]); };
  const std::uint8_t lead = byte(i);
  std::size_t length = 0;
  char32_t cp = 0;
  char32_t min = 0;
  if (lead < 0x80) {
    ++i;
    return lead;
  }
  if ((lead & 0xE0) == 0xC0) {
    length = 2, cp = lead & 0x1F, min = 0x80;
  } else if ((lead & 0xF0) == 0xE0) {
    length = 3, cp = lead & 0x0F, min = 0x800;
  } else if ((lead & 0xF8) == 0xF0) {
    length = 4, cp = lead & 0x07, min = 0x10000;
  } else {
    return std::nullopt;
  }
  if (i + length > s.size()) return std::nullopt;
  for (std::size_t k = 1; k < length; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return std::nullopt;
    cp = (cp << 6) | (byte(i + k) & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return std::nullopt;
  i += length;
  return cp;
}

bool is_control(char32_t cp) { return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F); }

}  // namespace

void check_image_id(std::string_view id) {
  if (id.empty()) invalid("it is empty");
  if (id == "." || id == "..") invalid("'.' and '..' are not image ids");
  for (std::size_t i = 0; i < id.size();) {
    const std::size_t at = i;
    const auto cp = next_code_point(id, i);
    if (!cp) invalid("it is not well-formed UTF-8 (byte " + std::to_string(at) + ")");
    if (is_control(*cp))
      invalid("it contains a control character (byte " + std::to_string(at) + ")");
    if (*cp < 0x80 &&
        std::string_view("/?#;@%").find(static_cast<char>(*cp)) != std::string_view::npos) {
      invalid(std::string("it contains '") + static_cast<char>(*cp) +
              "', which a location cannot carry as part of an object name");
    }
  }
  // glance's filesystem parser strips the whole path (Python's str.strip): a space at the end
  // would be lost.
  if (internal::strip_py_whitespace(id).size() != id.size()) {
    invalid("it begins or ends with whitespace");
  }
}

}  // namespace glance_store
