// Test images: pseudo-random bytes, the same for the same seed (no GoogleTest here: the load
// generator in bench/ makes its images with it too).
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>

namespace glance_store::test_common {

/// `size` pseudo-random bytes, the same for the same seed.
inline std::string bytes_of(std::uint64_t size, std::uint64_t seed) {
  std::string out(size, '\0');
  std::mt19937_64 random(seed);
  for (std::uint64_t i = 0; i < size; i += 8) {
    const std::uint64_t v = random();
    std::memcpy(out.data() + i, &v, std::min<std::uint64_t>(8, size - i));
  }
  return out;
}

}  // namespace glance_store::test_common
