// What the fuzz targets assert: a property that does not hold traps, and libFuzzer reports the
// input.
#pragma once

namespace glance_store::fuzz {

inline void require(bool ok) {
  if (!ok) __builtin_trap();
}

}  // namespace glance_store::fuzz
