// The header lookups (src/drivers/rbd/rbd_header.h) against what librbd says of the same image.
#include "drivers/rbd/rbd_header.h"

#include <gtest/gtest.h>

#include <ctime>

#include "common/test_util.h"
#include "glance_store/error.h"
#include "integration/rbd/rbd_server.h"

namespace glance_store::rbd::testing {
namespace {

using test_common::CatchError;
using test_common::random_id;

class RbdHeaderTest : public ::testing::Test {
 protected:
  void TearDown() override { admin_.remove_all(name_); }

  RbdServer server_ = rbd_server();
  CephAdmin admin_{server_};
  std::string name_ = random_id("gs-rbd-header-");
};

TEST_F(RbdHeaderTest, AgreesWithLibrbdOnIdSizesSnapshotsMetadataAndClients) {
  const std::int64_t before = std::time(nullptr);
  admin_.create_image(name_, std::string(3000, 'x'));
  librados::IoCtx& io = admin_.io();
  std::string id;
  {
    librbd::Image image;
    ASSERT_EQ(admin_.rbd().open(io, image, name_.c_str()), 0);
    ASSERT_EQ(image.get_id(&id), 0);
    ASSERT_EQ(image.snap_create("first"), 0);
    ASSERT_EQ(image.resize(5000), 0);
    ASSERT_EQ(image.snap_create("second"), 0);
    ASSERT_EQ(image.resize(7000), 0);
    ASSERT_EQ(image.metadata_set("some.key", "some value"), 0);

    EXPECT_EQ(read_image_id(io, name_), id);
    const auto first = read_snapshot_id(io, id, "first");
    const auto second = read_snapshot_id(io, id, "second");
    ASSERT_TRUE(first && second);
    std::uint64_t librbd_first = 0;
    ASSERT_EQ(image.snap_get_id("first", &librbd_first), 0);
    EXPECT_EQ(*first, librbd_first);
    EXPECT_EQ(read_snapshot_id(io, id, "third"), std::nullopt);
    EXPECT_EQ(read_image_size(io, id), 7000u);
    EXPECT_EQ(read_image_size(io, id, first), 3000u);
    EXPECT_EQ(read_image_size(io, id, second), 5000u);
    EXPECT_EQ(read_metadata(io, id, "some.key"), "some value");
    EXPECT_EQ(read_metadata(io, id, "other.key"), std::nullopt);
    const std::int64_t created = read_create_time(io, id);
    EXPECT_GE(created, before - 1);
    EXPECT_LE(created, std::time(nullptr) + 1);
    // This writable handle watches the header.
    EXPECT_EQ(read_watchers(io, id).size(), 1u);
    remove_metadata(io, id, "some.key");
    remove_metadata(io, id, "some.key");  // nothing left to remove: no error
    std::string value;
    EXPECT_EQ(image.metadata_get("some.key", &value), -ENOENT);
    // A snapshot removed is gone for get_size too (what a read's end check relies on).
    ASSERT_EQ(image.snap_remove("first"), 0);
    EXPECT_EQ(CatchError([&] { read_image_size(io, id, first); }).kind(), ErrorKind::kNotFound);
  }
  EXPECT_EQ(read_watchers(io, id).size(), 0u);
  admin_.remove_all(name_);
  EXPECT_EQ(read_image_id(io, name_), std::nullopt);
  for (const auto& lookup : std::vector<std::function<void()>>{
           [&] { read_image_size(io, id); },
           [&] { read_snapshot_id(io, id, "second"); },
           [&] { read_create_time(io, id); },
           [&] { read_metadata(io, id, "some.key"); },
           [&] { read_watchers(io, id); },
       }) {
    EXPECT_EQ(CatchError(lookup).kind(), ErrorKind::kNotFound);
  }
}

}  // namespace
}  // namespace glance_store::rbd::testing
