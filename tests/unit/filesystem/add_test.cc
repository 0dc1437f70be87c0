// Adds: the result record, reading back, unknown sizes, Duplicate, verifier, hashes
// (FS-09, FS-10, FS-13..FS-18).
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "fs_test_util.h"
#include "glance_store/hashing.h"

namespace glance_store::filesystem::testing {
namespace {

const std::string kImg5k(5120, '*');
constexpr std::string_view kImg5kMd5 = "c2e5db72bd7fd153f53ede5da5a06de3";
constexpr std::string_view kImg5kSha256 =
    "caa938e97d93065e6d5e609e8d22592c8d8d64b8117f576684bce52e8227bbcb";
constexpr std::string_view kId = "5b1c9b34-2d8e-4d3c-8f4e-6a1b2c3d4e5f";

using AddTest = FsStoreTest;

// FS-09, FS-10
TEST_F(AddTest, ResultRecordAndReadBack) {
  CreateLegacy();
  const AddResult added = Add(kId, kImg5k, 5120, "sha256");
  EXPECT_EQ(added.location, "file://" + datadir() + "/" + std::string(kId));
  EXPECT_EQ(added.bytes_written, 5120U);
  EXPECT_EQ(added.checksum, kImg5kMd5);
  EXPECT_EQ(added.multihash, kImg5kSha256);
  EXPECT_EQ(added.hash_algo, "sha256");
  EXPECT_EQ(added.metadata, nlohmann::json::object());
  EXPECT_EQ(Get(added.location), kImg5k);
  EXPECT_EQ(ListDir(datadir()), std::vector<std::string>{std::string(kId)});
  EXPECT_EQ(ReadFile(datadir() + "/" + std::string(kId)), kImg5k);
}

// FS-10: `file://` + the path, without a doubled slash, when the datadir ends with '/'.
TEST_F(AddTest, LocationHasNoDoubledSlash) {
  CreateLegacy("filesystem_store_datadir = " + datadir() + "/");
  const AddResult added = Add("img", kImg5k);
  EXPECT_EQ(added.location, "file://" + datadir() + "/img");
  EXPECT_EQ(Get(added.location), kImg5k);
}

// FS-13: size 0 means unknown; several pipeline buffers.
TEST_F(AddTest, UnknownSizeWritesEverything) {
  CreateLegacy("add_buffer_size = 4096");
  const std::string data = Pattern(3 * 4096 + 17);
  const AddResult added = Add("img", data, 0);
  EXPECT_EQ(added.bytes_written, data.size());
  EXPECT_EQ(added.checksum, Md5(data));
  EXPECT_EQ(Get(added.location), data);
}

TEST_F(AddTest, EmptyImage) {
  CreateLegacy();
  const AddResult added = Add("empty", "", 0);
  EXPECT_EQ(added.bytes_written, 0U);
  EXPECT_EQ(added.checksum, "d41d8cd98f00b204e9800998ecf8427e");
  EXPECT_TRUE(std::filesystem::is_regular_file(datadir() + "/empty"));
  EXPECT_EQ(registry().get_size(added.location), 0U);
  EXPECT_EQ(Get(added.location), "");
}

// FS-14: Duplicate before any input is read; the original stays.
TEST_F(AddTest, DuplicateLeavesTheOriginalIntact) {
  CreateLegacy();
  Add("img", kImg5k);
  CountingStream second(Pattern(100));
  Error e = CatchError([&] { registry().add("img", second, 0, "sha256"); });
  EXPECT_EQ(e.kind(), ErrorKind::kDuplicate);
  EXPECT_EQ(e.message(), "Image " + datadir() + "/img already exists");
  EXPECT_EQ(second.reads(), 0);
  EXPECT_EQ(ReadFile(datadir() + "/img"), kImg5k);
  EXPECT_EQ(ListDir(datadir()), std::vector<std::string>{"img"});
}

// Decision Q-19: the id is looked for in every datadir, not just the chosen one.
TEST_F(AddTest, DuplicateInAnotherDatadir) {
  CreateWithDatadirs({root_.sub("d0") + ":100", root_.sub("d1") + ":200"});
  WriteFile(root_.sub("d0") + "/img", "original");
  CountingStream input(kImg5k);
  Error e = CatchError([&] { registry().add("img", input, kImg5k.size(), "sha256"); });
  EXPECT_EQ(e.kind(), ErrorKind::kDuplicate);
  EXPECT_EQ(e.message(), "Image " + root_.sub("d0") + "/img already exists");
  EXPECT_EQ(input.reads(), 0);
  EXPECT_EQ(ReadFile(root_.sub("d0") + "/img"), "original");
  EXPECT_TRUE(ListDir(root_.sub("d1")).empty());
}

// FS-15: the datadir is chosen first, so a full store reports StorageFull before Duplicate.
TEST_F(AddTest, StorageFullIsReportedBeforeDuplicate) {
  CreateWithDatadirs({root_.sub("d0") + ":100", root_.sub("d1") + ":200"});
  WriteFile(root_.sub("d1") + "/img", "original");
  auto sys = InjectSyscalls();
  sys->set_free_space(root_.sub("d0"), 0);
  sys->set_free_space(root_.sub("d1"), 0);
  EXPECT_EQ(CatchError([&] { Add("img", kImg5k); }).kind(), ErrorKind::kStorageFull);
  EXPECT_EQ(ReadFile(root_.sub("d1") + "/img"), "original");
}

// FS-16: the verifier sees every byte once, in order.
TEST_F(AddTest, VerifierSeesEveryByteInOrder) {
  CreateLegacy("add_buffer_size = 4096");
  const std::string data = Pattern(5 * 4096 + 123);
  std::string seen;
  int calls = 0;
  const Verifier verifier = [&](std::span<const std::byte> bytes) {
    ++calls;
    seen.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  };
  MemoryInputStream in(data);
  registry().add("img", in, data.size(), "sha256", "", &verifier);
  EXPECT_EQ(seen, data);
  EXPECT_GE(calls, 2);
}

TEST_F(AddTest, VerifierOfOneKibImageGetsTheWholeKib) {
  CreateLegacy("filesystem_store_chunk_size = 1024");
  const std::string data(1024, 'v');
  std::vector<std::size_t> sizes;
  const Verifier verifier = [&](std::span<const std::byte> bytes) {
    sizes.push_back(bytes.size());
  };
  MemoryInputStream in(data);
  registry().add("img", in, data.size(), "sha256", "", &verifier);
  ASSERT_FALSE(sizes.empty());
  EXPECT_EQ(sizes.back(), 1024U);
}

// FS-17: md5 and the multihash cover the bytes stored, thick and thin.
class ThickThinAddTest : public FsStoreTest, public ::testing::WithParamInterface<bool> {};

TEST_P(ThickThinAddTest, ChecksumsCoverAllBytes) {
  CreateLegacy(std::string("filesystem_store_chunk_size = 1024\nfilesystem_thin_provisioning = ") +
               (GetParam() ? "true" : "false"));
  std::string data = std::string(1024, '*') + std::string(2048, '\0') + std::string(1024, '*') +
                     std::string(1024, '\0');
  const AddResult added = Add("img", data, data.size(), "sha256");
  EXPECT_EQ(added.bytes_written, 5120U);
  EXPECT_EQ(added.checksum, Md5(data));
  EXPECT_EQ(added.multihash, Sha256(data));
  EXPECT_EQ(Get(added.location), data);
}

TEST_P(ThickThinAddTest, MultiStoreMetadataIsExactlyTheStore) {
  CreateMulti(
      {{"file1", "filesystem_store_chunk_size = 1024\nfilesystem_store_datadir = " + datadir() +
                     "\nfilesystem_thin_provisioning = " + (GetParam() ? "true" : "false")}});
  const AddResult added = Add("img", kImg5k, kImg5k.size(), "sha256");
  EXPECT_EQ(added.metadata, nlohmann::json({{"store", "file1"}}));
  EXPECT_EQ(added.checksum, kImg5kMd5);
  EXPECT_EQ(added.multihash, kImg5kSha256);
}

INSTANTIATE_TEST_SUITE_P(Provisioning, ThickThinAddTest, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "Thin" : "Thick"; });

// The multihash is computed with the algorithm asked for.
class HashAlgoTest : public FsStoreTest, public ::testing::WithParamInterface<const char*> {};

TEST_P(HashAlgoTest, MultihashUsesTheRequestedAlgorithm) {
  CreateLegacy();
  const std::string data = Pattern(70000);
  const AddResult added = Add("img", data, data.size(), GetParam());
  EXPECT_EQ(added.hash_algo, GetParam());
  EXPECT_EQ(added.multihash, hex_digest(GetParam(), data));
  EXPECT_EQ(added.checksum, Md5(data));
}

INSTANTIATE_TEST_SUITE_P(Algorithms, HashAlgoTest,
                         ::testing::Values("md5", "sha1", "sha256", "sha512", "sha3_256",
                                           "blake2b"));

TEST_F(AddTest, UnknownHashingAlgorithmFailsBeforeReading) {
  CreateLegacy();
  CountingStream input(kImg5k);
  Error e = CatchError([&] { registry().add("img", input, kImg5k.size(), "sha9"); });
  EXPECT_EQ(e.kind(), ErrorKind::kUnknownHashingAlgo);
  EXPECT_EQ(input.reads(), 0);
  EXPECT_TRUE(ListDir(datadir()).empty());
}

// FS-18: two backends on the same directory each report their own id.
TEST_F(AddTest, AddToSecondBackendSharingTheDirectory) {
  const std::string lines = "filesystem_store_datadir = " + datadir();
  CreateMulti({{"file1", lines}, {"file2", lines}});
  const AddResult first = Add("one", kImg5k, kImg5k.size(), "sha256");
  const AddResult second = Add("two", kImg5k, kImg5k.size(), "sha256", "file2");
  EXPECT_EQ(first.metadata, nlohmann::json({{"store", "file1"}}));
  EXPECT_EQ(second.metadata, nlohmann::json({{"store", "file2"}}));
  EXPECT_EQ(second.location, "file://" + datadir() + "/two");
  EXPECT_EQ(ReadFile(datadir() + "/two"), kImg5k);
}

}  // namespace
}  // namespace glance_store::filesystem::testing

namespace glance_store::filesystem::testing {
namespace {

struct DirectIoCase {
  const char* name;
  const char* option;
  std::size_t size;
};

void PrintTo(const DirectIoCase& c, std::ostream* os) { *os << c.name; }

class DirectIoTest : public FsStoreTest, public ::testing::WithParamInterface<DirectIoCase> {};

// Direct and buffered writes store the same bytes, aligned or not (an unaligned tail falls back
// to the page cache), across several pipeline buffers.
TEST_P(DirectIoTest, StoresTheSameBytes) {
  CreateLegacy(std::string(GetParam().option) + "\nadd_buffer_size = 65536");
  const std::string data = Pattern(GetParam().size);
  const AddResult added = Add("img", data);
  EXPECT_EQ(added.bytes_written, data.size());
  EXPECT_EQ(ReadFile(datadir() + "/img"), data);
  EXPECT_EQ(added.checksum, hex_digest("md5", data));
}

INSTANTIATE_TEST_SUITE_P(
    Sizes, DirectIoTest,
    ::testing::Values(DirectIoCase{"DirectAligned", "filesystem_store_direct_io = true", 196608},
                      DirectIoCase{"DirectUnaligned", "filesystem_store_direct_io = true", 200001},
                      DirectIoCase{"DirectTiny", "filesystem_store_direct_io = true", 7},
                      DirectIoCase{"BufferedUnaligned", "filesystem_store_direct_io = false",
                                   200001}),
    [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace glance_store::filesystem::testing
