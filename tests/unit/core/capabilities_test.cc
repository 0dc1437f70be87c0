// Store capabilities: bit values (CAP-01), single bits (CAP-02), containment (CAP-03), the
// capability set (CAP-04..CAP-07) and the names.
#include "glance_store/capabilities.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <bit>
#include <string>
#include <thread>
#include <vector>

namespace glance_store {
namespace {

using ::testing::ElementsAre;
using ::testing::UnorderedElementsAre;

struct CapabilityCase {
  Capability cap;
  std::uint32_t value;
  const char* name;
};

const CapabilityCase kCapabilityCases[] = {
    {Capability::kNone, 0x00, "NONE"},
    {Capability::kReadAccess, 0x01, "READ_ACCESS"},
    {Capability::kReadOffset, 0x03, "READ_OFFSET"},
    {Capability::kReadChunk, 0x05, "READ_CHUNK"},
    {Capability::kReadRandom, 0x07, "READ_RANDOM"},
    {Capability::kWriteAccess, 0x08, "WRITE_ACCESS"},
    {Capability::kRwAccess, 0x09, "RW_ACCESS"},
    {Capability::kWriteOffset, 0x18, "WRITE_OFFSET"},
    {Capability::kRwOffset, 0x1B, "RW_OFFSET"},
    {Capability::kWriteChunk, 0x28, "WRITE_CHUNK"},
    {Capability::kRwChunk, 0x2D, "RW_CHUNK"},
    {Capability::kWriteRandom, 0x38, "WRITE_RANDOM"},
    {Capability::kRwRandom, 0x3F, "RW_RANDOM"},
    {Capability::kDriverReusable, 0x40, "DRIVER_REUSABLE"},
    {Capability::kAll, 0xFF, "ALL"},
};

class CapabilityValueTest : public ::testing::TestWithParam<CapabilityCase> {};

// CAP-01.
TEST_P(CapabilityValueTest, HasGlanceStoreBitValue) {
  EXPECT_EQ(bits(GetParam().cap), GetParam().value);
}

TEST_P(CapabilityValueTest, HasGlanceStoreName) {
  EXPECT_EQ(capability_name(GetParam().cap), GetParam().name);
}

TEST_P(CapabilityValueTest, ExactMaskIsNamed) {
  const std::vector<std::string_view> names = capability_names(GetParam().value);
  EXPECT_THAT(names, ::testing::Contains(std::string_view(GetParam().name)));
}

INSTANTIATE_TEST_SUITE_P(AllMasks, CapabilityValueTest, ::testing::ValuesIn(kCapabilityCases),
                         [](const auto& info) { return std::string(info.param.name); });

// CAP-02.
TEST(CapabilityBitsTest, SingleCapabilitiesOwnOneBit) {
  for (Capability c :
       {Capability::kReadAccess, Capability::kWriteAccess, Capability::kDriverReusable}) {
    EXPECT_EQ(std::popcount(bits(c)), 1) << capability_name(c);
  }
}

bool contains(Capability whole, Capability part) {
  return (bits(whole) & bits(part)) == bits(part);
}

// CAP-03.
TEST(CapabilityBitsTest, CombinedMasksContainTheirParts) {
  const std::pair<Capability, std::vector<Capability>> expectations[] = {
      {Capability::kReadOffset, {Capability::kReadAccess}},
      {Capability::kReadChunk, {Capability::kReadAccess}},
      {Capability::kReadRandom, {Capability::kReadChunk, Capability::kReadOffset}},
      {Capability::kWriteOffset, {Capability::kWriteAccess}},
      {Capability::kWriteChunk, {Capability::kWriteAccess}},
      {Capability::kWriteRandom, {Capability::kWriteChunk, Capability::kWriteOffset}},
      {Capability::kRwAccess, {Capability::kReadAccess, Capability::kWriteAccess}},
      {Capability::kRwOffset, {Capability::kReadOffset, Capability::kWriteOffset}},
      {Capability::kRwChunk, {Capability::kReadChunk, Capability::kWriteChunk}},
      {Capability::kRwRandom, {Capability::kReadRandom, Capability::kWriteRandom}},
  };
  for (const auto& [whole, parts] : expectations) {
    for (Capability part : parts) {
      EXPECT_TRUE(contains(whole, part))
          << capability_name(whole) << " ⊇ " << capability_name(part);
    }
  }
  EXPECT_FALSE(contains(Capability::kReadOffset, Capability::kReadChunk));
  EXPECT_FALSE(contains(Capability::kReadRandom, Capability::kWriteAccess));
  EXPECT_FALSE(contains(Capability::kRwRandom, Capability::kDriverReusable));
}

TEST(CapabilityBitsTest, OrCombinesMasks) {
  EXPECT_EQ(Capability::kReadRandom | Capability::kWriteAccess, 0x0Fu);
  EXPECT_EQ(Capability::kReadRandom | Capability::kWriteAccess | Capability::kDriverReusable,
            0x4Fu);
}

// CAP-04.
TEST(CapabilitySetTest, StaticCapabilities) {
  const CapabilitySet caps(Capability::kReadRandom | Capability::kDriverReusable);
  EXPECT_TRUE(caps.is_capable(Capability::kReadRandom));
  EXPECT_TRUE(caps.is_capable(Capability::kDriverReusable));
  EXPECT_TRUE(caps.is_capable(Capability::kReadOffset));
  EXPECT_FALSE(caps.is_capable(Capability::kWriteAccess));
  EXPECT_FALSE(caps.is_capable({Capability::kReadRandom, Capability::kWriteAccess}));
}

// CAP-05.
TEST(CapabilitySetTest, DynamicAndMixedSetupsEqualTheStaticOne) {
  const CapabilitySet fixed(Capability::kReadRandom | Capability::kDriverReusable);
  CapabilitySet dynamic;
  dynamic.set({Capability::kReadRandom, Capability::kDriverReusable});
  CapabilitySet mixed(bits(Capability::kReadRandom));
  mixed.set({Capability::kDriverReusable});
  EXPECT_EQ(dynamic.mask(), fixed.mask());
  EXPECT_EQ(mixed.mask(), fixed.mask());
  EXPECT_EQ(fixed.mask(), 0x47u);
}

TEST(CapabilitySetTest, NothingByDefault) {
  const CapabilitySet caps;
  EXPECT_EQ(caps.mask(), 0u);
  EXPECT_FALSE(caps.is_capable(Capability::kReadAccess));
  EXPECT_TRUE(caps.is_capable(Capability::kNone));
}

// CAP-06.
TEST(CapabilitySetTest, SetAndUnsetToggle) {
  CapabilitySet caps;
  caps.set({Capability::kWriteAccess});
  EXPECT_TRUE(caps.is_capable(Capability::kWriteAccess));
  caps.unset({Capability::kWriteAccess});
  EXPECT_FALSE(caps.is_capable(Capability::kWriteAccess));

  caps.set({Capability::kWriteAccess, Capability::kWriteOffset});
  EXPECT_TRUE(caps.is_capable({Capability::kWriteAccess, Capability::kWriteOffset}));
  caps.unset({Capability::kWriteOffset});
  EXPECT_FALSE(caps.is_capable({Capability::kWriteAccess, Capability::kWriteOffset}));
  EXPECT_FALSE(caps.is_capable(Capability::kWriteAccess));  // 0x18 includes the 0x08 bit
}

// CAP-07: pure bit-mask semantics.
TEST(CapabilitySetTest, CascadedUnsetOfRead) {
  CapabilitySet caps(Capability::kReadRandom | Capability::kDriverReusable);
  caps.unset({Capability::kReadAccess});
  for (Capability c : {Capability::kReadAccess, Capability::kReadOffset, Capability::kReadChunk,
                       Capability::kReadRandom}) {
    EXPECT_FALSE(caps.is_capable(c)) << capability_name(c);
  }
  EXPECT_TRUE(caps.is_capable(Capability::kDriverReusable));
}

TEST(CapabilitySetTest, CascadedUnsetOfWrite) {
  CapabilitySet caps(Capability::kWriteRandom | Capability::kDriverReusable);
  caps.unset({Capability::kWriteAccess});
  for (Capability c : {Capability::kWriteAccess, Capability::kWriteOffset, Capability::kWriteChunk,
                       Capability::kWriteRandom}) {
    EXPECT_FALSE(caps.is_capable(c)) << capability_name(c);
  }
  EXPECT_TRUE(caps.is_capable(Capability::kDriverReusable));
}

TEST(CapabilitySetTest, UnsettingOffsetKeepsChunkBit) {
  CapabilitySet caps(bits(Capability::kReadRandom));
  caps.unset({Capability::kReadOffset});
  EXPECT_EQ(caps.mask(), 0x04u);
  caps.set({Capability::kReadAccess});
  EXPECT_TRUE(caps.is_capable(Capability::kReadChunk));
  EXPECT_FALSE(caps.is_capable(Capability::kReadOffset));
}

TEST(CapabilitySetTest, CopiesAreIndependent) {
  CapabilitySet a(bits(Capability::kRwAccess));
  CapabilitySet b(a);
  b.unset({Capability::kWriteAccess});
  EXPECT_TRUE(a.is_capable(Capability::kWriteAccess));
  EXPECT_FALSE(b.is_capable(Capability::kWriteAccess));
  a = b;
  EXPECT_EQ(a.mask(), bits(Capability::kReadAccess));
}

TEST(CapabilitySetTest, ConcurrentSetAndUnsetOfDifferentBitsDoNotLoseUpdates) {
  CapabilitySet caps;
  std::thread reader_bits([&] {
    for (int i = 0; i < 10000; ++i) caps.set({Capability::kReadAccess});
  });
  std::thread writer_bits([&] {
    for (int i = 0; i < 10000; ++i) {
      caps.set({Capability::kWriteAccess});
      caps.unset({Capability::kWriteAccess});
    }
  });
  reader_bits.join();
  writer_bits.join();
  EXPECT_EQ(caps.mask(), bits(Capability::kReadAccess));
}

TEST(CapabilityNamesTest, NamesEveryContainedMask) {
  // The filesystem store's capabilities (CAP-12).
  EXPECT_THAT(capability_names(0x4F),
              UnorderedElementsAre("READ_ACCESS", "READ_OFFSET", "READ_CHUNK", "READ_RANDOM",
                                   "WRITE_ACCESS", "RW_ACCESS", "DRIVER_REUSABLE"));
  EXPECT_THAT(capability_names(0x41), UnorderedElementsAre("READ_ACCESS", "DRIVER_REUSABLE"));
  EXPECT_THAT(capability_names(0x09),
              UnorderedElementsAre("READ_ACCESS", "WRITE_ACCESS", "RW_ACCESS"));
}

TEST(CapabilityNamesTest, NoneAndAllOnlyWhenExact) {
  EXPECT_THAT(capability_names(0), ElementsAre("NONE"));
  const auto all = capability_names(0xFF);
  EXPECT_THAT(all, ::testing::Contains("ALL"));
  EXPECT_THAT(all, ::testing::Not(::testing::Contains("NONE")));
  EXPECT_EQ(all.size(), std::size(kCapabilityCases) - 1);  // everything but NONE
  EXPECT_THAT(capability_names(0x7F), ::testing::Not(::testing::Contains("ALL")));
  EXPECT_THAT(capability_names(0x01), ElementsAre("READ_ACCESS"));
}

}  // namespace
}  // namespace glance_store
