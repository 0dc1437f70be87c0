#include "glance_store/capabilities.h"

#include <array>
#include <utility>

namespace glance_store {
namespace {

constexpr std::array<std::pair<Capability, std::string_view>, 15> kNames = {{
    {Capability::kNone, "NONE"},
    {Capability::kReadAccess, "READ_ACCESS"},
    {Capability::kReadOffset, "READ_OFFSET"},
    {Capability::kReadChunk, "READ_CHUNK"},
    {Capability::kReadRandom, "READ_RANDOM"},
    {Capability::kWriteAccess, "WRITE_ACCESS"},
    {Capability::kRwAccess, "RW_ACCESS"},
    {Capability::kWriteOffset, "WRITE_OFFSET"},
    {Capability::kRwOffset, "RW_OFFSET"},
    {Capability::kWriteChunk, "WRITE_CHUNK"},
    {Capability::kRwChunk, "RW_CHUNK"},
    {Capability::kWriteRandom, "WRITE_RANDOM"},
    {Capability::kRwRandom, "RW_RANDOM"},
    {Capability::kDriverReusable, "DRIVER_REUSABLE"},
    {Capability::kAll, "ALL"},
}};

std::uint32_t combined(std::initializer_list<Capability> caps) {
  std::uint32_t mask = 0;
  for (Capability c : caps) mask |= bits(c);
  return mask;
}

}  // namespace

std::string_view capability_name(Capability c) {
  for (const auto& [cap, name] : kNames) {
    if (cap == c) return name;
  }
  return "UNKNOWN";
}

std::vector<std::string_view> capability_names(std::uint32_t mask) {
  std::vector<std::string_view> names;
  for (const auto& [cap, name] : kNames) {
    const std::uint32_t b = bits(cap);
    if (cap == Capability::kNone || cap == Capability::kAll) {
      if (mask == b) names.push_back(name);
    } else if ((mask & b) == b) {
      names.push_back(name);
    }
  }
  return names;
}

bool CapabilitySet::is_capable(std::initializer_list<Capability> caps) const {
  const std::uint32_t want = combined(caps);
  return (mask() & want) == want;
}

void CapabilitySet::set(std::initializer_list<Capability> caps) {
  bits_.fetch_or(combined(caps), std::memory_order_acq_rel);
}

void CapabilitySet::unset(std::initializer_list<Capability> caps) {
  bits_.fetch_and(~combined(caps), std::memory_order_acq_rel);
}

}  // namespace glance_store
