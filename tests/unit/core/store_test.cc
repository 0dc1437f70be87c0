// Store: capability gating of get/add/remove (CAP-08..CAP-10) and the add result (C-17, C-30,
// C-33), through a real filesystem store of a legacy registry.
#include "glance_store/store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "glance_store/backend.h"
#include "glance_store/error.h"
#include "glance_store/hashing.h"
#include "unit/core/test_support.h"

namespace glance_store {
namespace {

using testing::CatchError;
using testing::HasKind;
using testing::TempDir;

constexpr char kImage[] = "0123456789";

class StoreGatingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    registry_ = testing::legacy_registry(dir_.path());
    store_ = &registry_->default_store();
    MemoryInputStream data(kImage);
    uri_ = registry_->add("img", data, 10, "sha256").location;
    location_ = store_->parse_location(uri_);
  }

  std::string get(std::uint64_t offset = 0, std::optional<std::uint64_t> length = std::nullopt) {
    return read_all(*store_->get(*location_, offset, length).stream);
  }

  Error get_error(std::uint64_t offset, std::optional<std::uint64_t> length = std::nullopt) {
    return CatchError([&] { store_->get(*location_, offset, length); });
  }

  TempDir dir_;
  std::unique_ptr<StoreRegistry> registry_;
  Store* store_ = nullptr;
  std::string uri_;
  std::unique_ptr<StoreLocation> location_;
};

// CAP-12.
TEST_F(StoreGatingTest, FilesystemStoreCapabilities) {
  EXPECT_EQ(store_->capabilities().mask(), 0x4Fu);
  EXPECT_TRUE(store_->add_enabled());
  EXPECT_EQ(store_->add_disabled_reason(), "");
}

TEST_F(StoreGatingTest, EverythingWorksWithFullCapabilities) {
  EXPECT_EQ(get(), kImage);
  EXPECT_EQ(get(3), "3456789");
  EXPECT_EQ(get(2, 4), "2345");
  EXPECT_EQ(get(0, 0), kImage);  // a zero length means the whole image
  EXPECT_EQ(store_->get_size(*location_), 10u);
}

// CAP-09: an offset needs READ_OFFSET; offset 0 never does.
TEST_F(StoreGatingTest, OffsetNeedsReadOffset) {
  store_->capabilities().unset({Capability::kReadOffset});
  store_->capabilities().set({Capability::kReadAccess});  // keep READ_ACCESS and READ_CHUNK
  const Error e = get_error(3);
  EXPECT_THAT(e, HasKind(ErrorKind::kStoreRandomGetNotSupported));
  EXPECT_TRUE(e.is(ErrorKind::kStoreGetNotSupported));
  EXPECT_EQ(e.message(),
            "Getting images randomly from this store is not supported. Offset: 3, length: None");
  EXPECT_EQ(get(), kImage);
  EXPECT_EQ(get(0, 4), "0123");
}

// CAP-09: a length needs READ_CHUNK.
TEST_F(StoreGatingTest, LengthNeedsReadChunk) {
  store_->capabilities().unset({Capability::kReadChunk});
  store_->capabilities().set({Capability::kReadOffset});
  const Error e = get_error(0, 4);
  EXPECT_THAT(e, HasKind(ErrorKind::kStoreRandomGetNotSupported));
  EXPECT_EQ(e.message(),
            "Getting images randomly from this store is not supported. Offset: 0, length: 4");
  EXPECT_EQ(get(2), "23456789");
  EXPECT_EQ(get(0, 0), kImage);
}

// CAP-09: without READ_ACCESS a plain get is StoreGetNotSupported, a ranged one
// StoreRandomGetNotSupported.
TEST_F(StoreGatingTest, GetNeedsReadAccess) {
  store_->capabilities().unset({Capability::kReadAccess});
  const Error plain = get_error(0);
  EXPECT_THAT(plain, HasKind(ErrorKind::kStoreGetNotSupported));
  EXPECT_EQ(plain.message(), "Getting images from this store is not supported.");
  EXPECT_THAT(get_error(1, 2), HasKind(ErrorKind::kStoreRandomGetNotSupported));
  EXPECT_EQ(get_error(1, 2).message(),
            "Getting images randomly from this store is not supported. Offset: 1, length: 2");
  EXPECT_THAT(CatchError([&] { registry_->get(uri_); }), HasKind(ErrorKind::kStoreGetNotSupported));
}

// CAP-10: add and delete both need WRITE_ACCESS.
TEST_F(StoreGatingTest, AddAndRemoveNeedWriteAccess) {
  store_->capabilities().unset({Capability::kWriteAccess});
  EXPECT_FALSE(store_->add_enabled());

  MemoryInputStream data("new");
  const Error add = CatchError([&] { store_->add("img2", data, 3); });
  EXPECT_THAT(add, HasKind(ErrorKind::kStoreAddDisabled));
  EXPECT_EQ(add.message(),
            "Configuration for store failed. Adding images to this store is disabled.");
  EXPECT_FALSE(std::filesystem::exists(dir_.sub("img2")));

  const Error remove = CatchError([&] { store_->remove(*location_); });
  EXPECT_THAT(remove, HasKind(ErrorKind::kStoreDeleteNotSupported));
  EXPECT_EQ(remove.message(), "Deleting images from this store is not supported.");
  EXPECT_THAT(CatchError([&] { registry_->remove(uri_); }),
              HasKind(ErrorKind::kStoreDeleteNotSupported));
  MemoryInputStream again("new");
  EXPECT_THAT(CatchError([&] { registry_->add("img3", again, 3); }),
              HasKind(ErrorKind::kStoreAddDisabled));

  EXPECT_EQ(get(), kImage);  // still readable, still there
  EXPECT_TRUE(std::filesystem::exists(dir_.sub("img")));

  store_->capabilities().set({Capability::kWriteAccess});
  EXPECT_NO_THROW(store_->remove(*location_));
  EXPECT_FALSE(std::filesystem::exists(dir_.sub("img")));
}

TEST_F(StoreGatingTest, GetSizeIsNotGated) {
  store_->capabilities().unset({Capability::kAll});
  EXPECT_EQ(registry_->get_size(uri_), 10u);
}

// C-17: an unknown algorithm fails before a byte is read or anything is written.
TEST_F(StoreGatingTest, UnknownHashingAlgorithmFailsBeforeReading) {
  testing::ScriptedSource source("data", 4096);
  int reads = 0;
  source.on_read = [&](std::span<std::byte>) { ++reads; };
  const Error e = CatchError([&] { registry_->add("img2", source, 4, "sha3-256"); });
  EXPECT_THAT(e, HasKind(ErrorKind::kUnknownHashingAlgo));
  EXPECT_EQ(e.message(), "Unknown hashing algorithm identifier: sha3-256");
  EXPECT_EQ(reads, 0);
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir_.path()),
                          std::filesystem::directory_iterator()),
            1);  // only "img"
}

// C-30 / C-33: the 5-tuple (legacy mode: no "store" in the metadata).
TEST_F(StoreGatingTest, AddResult) {
  const std::string data = testing::pattern(100000);
  MemoryInputStream in(data);
  const AddResult r = registry_->add("big", in, data.size(), "sha256");
  EXPECT_EQ(r.location, "file://" + dir_.sub("big"));
  EXPECT_EQ(r.bytes_written, data.size());
  EXPECT_EQ(r.checksum, hex_digest("md5", data));
  EXPECT_EQ(r.multihash, hex_digest("sha256", data));
  EXPECT_EQ(r.hash_algo, "sha256");
  EXPECT_EQ(r.metadata, nlohmann::json::object());
  EXPECT_EQ(read_all(*registry_->get(r.location).stream), data);
}

TEST_F(StoreGatingTest, Md5AsTheMultihash) {
  MemoryInputStream in("abc");
  const AddResult r = store_->add("md5img", in, 3, "md5");
  EXPECT_EQ(r.checksum, "900150983cd24fb0d6963f7d28e17f72");
  EXPECT_EQ(r.multihash, r.checksum);
  EXPECT_EQ(r.hash_algo, "md5");
}

TEST_F(StoreGatingTest, VerifierSeesTheImage) {
  std::string seen;
  const Verifier verifier = [&](std::span<const std::byte> b) { seen += testing::as_string(b); };
  MemoryInputStream in("verified bytes");
  registry_->add("v", in, 14, "sha256", "", &verifier);
  EXPECT_EQ(seen, "verified bytes");
}

// C-14: stores without ACLs accept set_acls silently.
TEST_F(StoreGatingTest, SetAclsIsANoOp) {
  EXPECT_NO_THROW(registry_->set_acls(uri_, true, {"tenant1"}, {}));
  EXPECT_EQ(get(), kImage);
}

}  // namespace
}  // namespace glance_store
