// libFuzzer target: the input is a response header value. The numbers (Content-Length) and ETags
// the readers take from headers must parse to what they say or to nothing, and the Range a read
// sends must name the bytes asked for.
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include "fuzz_check.h"
#include "net/ranged_read.h"
#include "net/transfer.h"

namespace {

namespace gs = glance_store;

using glance_store::fuzz::require;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  if (const auto value = gs::net::parse_u64(&text)) {
    // Only decimal digits, and the value they spell.
    std::string digits = text;
    digits.erase(0, std::min(digits.find_first_not_of('0'), digits.size() - 1));
    require(std::to_string(*value) == digits);
  }
  const std::string md5 = gs::net::etag_md5(text);
  require(md5.empty() || md5.size() == 32);
  for (const unsigned char c : md5) require(std::isxdigit(c) && !std::isupper(c));
  if (size >= 16) {
    std::uint64_t offset = 0;
    std::uint64_t length = 0;
    std::memcpy(&offset, data, 8);
    std::memcpy(&length, data + 8, 8);
    offset >>= 2;  // keep offset + length - 1 in range
    length = (length >> 2) + 1;
    const auto headers = gs::net::range_headers(offset, length);
    require(headers.size() == 1 && headers[0].second == "bytes=" + std::to_string(offset) + "-" +
                                                            std::to_string(offset + length - 1));
  }
  return 0;
}
