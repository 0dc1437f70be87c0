// X-Object-Manifest values read as Swift's DLO middleware reads them: percent-decoded, then split
// at the first '/' into the segments' container and their name prefix.
#include <gtest/gtest.h>

#include "drivers/swift/swift_reader.h"

namespace glance_store::swift {
namespace {

TEST(ObjectManifestTest, ContainerAndPrefixAreSplitAfterDecoding) {
  struct Case {
    const char* value;
    const char* container;
    const char* prefix;
  };
  for (const Case c : {
           Case{"glance/71c675ab-d94f-49cd-a114-e12490b328d9-", "glance",
                "71c675ab-d94f-49cd-a114-e12490b328d9-"},
           Case{"my%20segs/parts%2Fimage%2D", "my segs", "parts/image-"},
           // An encoded '/' in the container name still splits there: Swift decodes first.
           Case{"a%2Fb/c", "a", "b/c"},
           Case{"segs/", "segs", ""},
       }) {
    SCOPED_TRACE(c.value);
    const auto target = parse_object_manifest(c.value);
    ASSERT_TRUE(target);
    EXPECT_EQ(target->container, c.container);
    EXPECT_EQ(target->prefix, c.prefix);
  }
}

TEST(ObjectManifestTest, ValuesWithoutAContainerAreRefused) {
  EXPECT_FALSE(parse_object_manifest(""));
  EXPECT_FALSE(parse_object_manifest("no-slash"));
  EXPECT_FALSE(parse_object_manifest("/prefix"));
}

}  // namespace
}  // namespace glance_store::swift
