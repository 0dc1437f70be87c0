#include "core/hex.h"

#include <openssl/rand.h>

#include "glance_store/error.h"

namespace glance_store::internal {

std::string to_hex(std::span<const unsigned char> bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (const unsigned char c : bytes) {
    out += kDigits[c >> 4];
    out += kDigits[c & 0xF];
  }
  return out;
}

std::string random_token() {
  unsigned char bytes[16];
  if (RAND_bytes(bytes, sizeof bytes) != 1) {
    throw Error(ErrorKind::kBackendException, "no random bytes for the add's token");
  }
  return to_hex(bytes);
}

}  // namespace glance_store::internal
