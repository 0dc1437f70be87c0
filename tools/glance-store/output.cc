#include <cstdio>
#include <string>

#include "cli.h"

namespace glance_store::cli {

void print_error(std::string_view kind, std::string_view message) {
  constexpr std::size_t kMaxLine = 200;  // the whole line, prefix included
  const std::size_t prefix = std::string_view("glance-store: ").size() + kind.size() + 2;
  const std::size_t kMaxMessage = prefix + 40 < kMaxLine ? kMaxLine - prefix : 40;
  std::string line;
  bool space = false;
  for (char c : message) {
    const bool blank = c == '\n' || c == '\r' || c == '\t' || c == ' ';
    if (blank) {
      space = !line.empty();
      continue;
    }
    if (space) line += ' ';
    space = false;
    line += static_cast<unsigned char>(c) < 0x20 ? '?' : c;
  }
  if (line.size() > kMaxMessage) {
    std::size_t cut = kMaxMessage;
    // Do not split a UTF-8 sequence.
    while (cut > 0 && (static_cast<unsigned char>(line[cut]) & 0xC0) == 0x80) --cut;
    line.resize(cut);
    line += "...";
  }
  std::fprintf(stderr, "glance-store: %.*s: %s\n", static_cast<int>(kind.size()), kind.data(),
               line.c_str());
}

}  // namespace glance_store::cli
