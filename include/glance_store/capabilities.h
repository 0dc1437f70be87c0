// Store capabilities: glance_store's bit masks and a thread-safe set of them.
#pragma once

#include <atomic>
#include <cstdint>
#include <initializer_list>
#include <string_view>
#include <vector>

namespace glance_store {

/// glance_store's BitMasks, with the same values. Combined masks contain their parts.
enum class Capability : std::uint32_t {
  kNone = 0x00,
  kReadAccess = 0x01,
  kReadOffset = 0x03,
  kReadChunk = 0x05,
  kReadRandom = 0x07,
  kWriteAccess = 0x08,
  kRwAccess = 0x09,
  kWriteOffset = 0x18,
  kRwOffset = 0x1B,
  kWriteChunk = 0x28,
  kRwChunk = 0x2D,
  kWriteRandom = 0x38,
  kRwRandom = 0x3F,
  kDriverReusable = 0x40,
  kAll = 0xFF,
};

constexpr std::uint32_t bits(Capability c) { return static_cast<std::uint32_t>(c); }
constexpr std::uint32_t operator|(Capability a, Capability b) { return bits(a) | bits(b); }
constexpr std::uint32_t operator|(std::uint32_t a, Capability b) { return a | bits(b); }

/// glance_store's name of a mask, e.g. "READ_RANDOM".
std::string_view capability_name(Capability c);

/// The names of every named mask wholly contained in `mask` (NONE and ALL excluded unless exact).
std::vector<std::string_view> capability_names(std::uint32_t mask);

/// A store's capabilities: static ones given at construction, changed at run time with
/// set/unset (for example, a store whose add-configuration failed loses WRITE_ACCESS).
/// Pure bit-mask semantics: unsetting READ_ACCESS also makes READ_RANDOM false.
class CapabilitySet {
 public:
  explicit CapabilitySet(std::uint32_t initial = 0) : bits_(initial) {}
  CapabilitySet(const CapabilitySet& other) : bits_(other.mask()) {}
  CapabilitySet& operator=(const CapabilitySet& other) {
    bits_.store(other.mask());
    return *this;
  }

  std::uint32_t mask() const { return bits_.load(std::memory_order_acquire); }

  /// True when every bit of every given capability is present.
  bool is_capable(std::initializer_list<Capability> caps) const;
  bool is_capable(Capability c) const { return (mask() & bits(c)) == bits(c); }

  void set(std::initializer_list<Capability> caps);
  void unset(std::initializer_list<Capability> caps);

 private:
  std::atomic<std::uint32_t> bits_;
};

}  // namespace glance_store
