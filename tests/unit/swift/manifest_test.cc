// X-Object-Manifest values read as Swift's DLO middleware reads them: percent-decoded, then split
// at the first '/' into the segments' container and their name prefix.
#include <gtest/gtest.h>

#include "drivers/swift/swift_reader.h"

namespace glance_store::swift {
namespace {

TEST(ObjectManifestTest, ContainerAndPrefixAreSplitAfterDecoding) {
  const auto glance = parse_object_manifest("glance/71c675ab-d94f-49cd-a114-e12490b328d9-");
  ASSERT_TRUE(glance);
  EXPECT_EQ(glance->container, "glance");
  EXPECT_EQ(glance->prefix, "71c675ab-d94f-49cd-a114-e12490b328d9-");

  const auto encoded = parse_object_manifest("my%20segs/parts%2Fimage%2D");
  ASSERT_TRUE(encoded);
  EXPECT_EQ(encoded->container, "my segs");
  EXPECT_EQ(encoded->prefix, "parts/image-");

  // An encoded '/' in the container name still splits there, as Swift decodes first.
  const auto slash = parse_object_manifest("a%2Fb/c");
  ASSERT_TRUE(slash);
  EXPECT_EQ(slash->container, "a");
  EXPECT_EQ(slash->prefix, "b/c");

  const auto everything = parse_object_manifest("segs/");
  ASSERT_TRUE(everything);
  EXPECT_EQ(everything->prefix, "");
}

TEST(ObjectManifestTest, ValuesWithoutAContainerAreRefused) {
  EXPECT_FALSE(parse_object_manifest(""));
  EXPECT_FALSE(parse_object_manifest("no-slash"));
  EXPECT_FALSE(parse_object_manifest("/prefix"));
}

}  // namespace
}  // namespace glance_store::swift
