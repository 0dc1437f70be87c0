// Reads: chunks, random access, reported sizes, NotFound (FS-01..FS-08, FS-47).
#include <gtest/gtest.h>

#include <array>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "fs_test_util.h"

namespace glance_store::filesystem::testing {
namespace {

constexpr std::string_view kChunky = "chunk00000remainder";
constexpr std::string_view kImageBits = "I am a bootable image, I promise";

int OpenFdCount() {
  int count = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
    ++count;
  }
  return count;
}

// CHUNKY stored with a read chunk size of 10, as upstream's read tests do.
class ReadTest : public FsStoreTest {
 protected:
  void SetUp() override {
    CreateLegacy("filesystem_store_chunk_size = 10");
    location_ = Add("chunky", std::string(kChunky)).location;
  }

  std::string location_;
};

// FS-01, FS-05: each read returns at most filesystem_store_chunk_size bytes, however large the
// caller's buffer.
TEST_F(ReadTest, ReadsInChunksOfTheConfiguredChunkSize) {
  GetResult result = registry().get(location_);
  EXPECT_EQ(result.size, kChunky.size());
  std::array<std::byte, 4096> buffer{};
  std::vector<std::string> chunks;
  while (std::size_t n = result.stream->read(buffer)) {
    chunks.emplace_back(reinterpret_cast<const char*>(buffer.data()), n);
  }
  EXPECT_EQ(chunks, (std::vector<std::string>{"chunk00000", "remainder"}));
}

// FS-01: whatever the chunking, the bytes are the image.
TEST_F(ReadTest, WholeReadReturnsTheImage) { EXPECT_EQ(Get(location_), kChunky); }

// FS-02: one byte at every offset.
TEST_F(ReadTest, RandomAccessOneByteAtEveryOffset) {
  std::string joined;
  for (std::uint64_t i = 0; i < kChunky.size(); ++i) {
    GetResult result = registry().get(location_, i, 1);
    EXPECT_EQ(result.size, 1U) << "offset " << i;
    const std::string byte = read_all(*result.stream);
    EXPECT_EQ(byte, kChunky.substr(i, 1)) << "offset " << i;
    joined += byte;
  }
  EXPECT_EQ(joined, kChunky);
}

// FS-03
TEST_F(ReadTest, OffsetAndLengthSelectTheRange) {
  GetResult result = registry().get(location_, 5, 5);
  EXPECT_EQ(result.size, 5U);
  EXPECT_EQ(read_all(*result.stream), "00000");
}

// FS-04 with decision Q-10: the reported size is the number of bytes delivered.
struct RangeCase {
  std::uint64_t offset;
  std::optional<std::uint64_t> length;
  std::string_view expected;
};

void PrintTo(const RangeCase& c, std::ostream* os) {
  *os << "offset " << c.offset << ", length ";
  if (c.length) {
    *os << *c.length;
  } else {
    *os << "none";
  }
}

class ReadRangeTest : public ReadTest, public ::testing::WithParamInterface<RangeCase> {};

TEST_P(ReadRangeTest, SizeIsBytesDelivered) {
  const RangeCase& c = GetParam();
  GetResult result = registry().get(location_, c.offset, c.length);
  EXPECT_EQ(result.size, c.expected.size());
  EXPECT_EQ(read_all(*result.stream), c.expected);
}

INSTANTIATE_TEST_SUITE_P(
    Ranges, ReadRangeTest,
    ::testing::Values(RangeCase{0, std::nullopt, kChunky}, RangeCase{0, 0, kChunky},
                      RangeCase{5, std::nullopt, kChunky.substr(5)},
                      RangeCase{10, 100, kChunky.substr(10)}, RangeCase{0, 10, "chunk00000"},
                      RangeCase{18, std::nullopt, "r"}, RangeCase{19, std::nullopt, ""},
                      RangeCase{25, std::nullopt, ""}, RangeCase{25, 3, ""}));

// FS-05: the file is closed when the stream goes away.
TEST_F(ReadTest, StreamClosesItsFile) {
  const int before = OpenFdCount();
  {
    GetResult result = registry().get(location_);
    EXPECT_EQ(OpenFdCount(), before + 1);
    read_all(*result.stream);
  }
  EXPECT_EQ(OpenFdCount(), before);
}

// FS-06: NotFound when get is called, not while reading.
TEST_F(ReadTest, GetOfMissingImageIsNotFound) {
  const std::string path = datadir() + "/missing";
  Error e = CatchError([&] { registry().get(Uri(path)); });
  EXPECT_EQ(e.kind(), ErrorKind::kNotFound);
  EXPECT_EQ(e.message(), "Image " + path + " not found");
}

// FS-07
TEST_F(ReadTest, GetSizeReportsTheFileSize) {
  EXPECT_EQ(registry().get_size(location_), kChunky.size());
  const std::string path = datadir() + "/missing";
  Error e = CatchError([&] { registry().get_size(Uri(path)); });
  EXPECT_EQ(e.kind(), ErrorKind::kNotFound);
  EXPECT_EQ(e.message(), "Image " + path + " not found");
}

TEST_F(ReadTest, DirectoryInsideTheDatadirIsNotAnImage) {
  std::filesystem::create_directory(datadir() + "/subdir");
  EXPECT_EQ(CatchError([&] { registry().get(Uri(datadir() + "/subdir")); }).kind(),
            ErrorKind::kNotFound);
  EXPECT_EQ(CatchError([&] { registry().get_size(Uri(datadir() + "/subdir")); }).kind(),
            ErrorKind::kNotFound);
}

TEST_F(ReadTest, FilesystemSchemeReadsTheSameImage) {
  EXPECT_EQ(Get("filesystem://" + datadir() + "/chunky"), kChunky);
}

using StoreReadTest = FsStoreTest;

// FS-08
TEST_F(StoreReadTest, AddedImageReadsBackWithItsSize) {
  CreateLegacy();
  const AddResult added = Add("bits", std::string(kImageBits));
  EXPECT_EQ(registry().get_size(added.location), 32U);
  GetResult result = registry().get(added.location);
  EXPECT_EQ(result.size, 32U);
  EXPECT_EQ(read_all(*result.stream), kImageBits);
}

// A datadir reached through a symbolic link stays readable through the configured path.
TEST_F(StoreReadTest, DatadirBehindASymlinkIsReadable) {
  std::filesystem::create_directory(root_.sub("real"));
  std::filesystem::create_directory_symlink(root_.sub("real"), root_.sub("link"));
  CreateLegacy("filesystem_store_datadir = " + root_.sub("link"));
  const AddResult added = Add("img", std::string(kImageBits));
  EXPECT_EQ(added.location, Uri(root_.sub("link") + "/img"));
  EXPECT_EQ(Get(added.location), kImageBits);
  EXPECT_EQ(ReadFile(root_.sub("real") + "/img"), kImageBits);
}

// FS-06: the message names the location's path as given, also when the datadir is reached
// through a symbolic link.
TEST_F(StoreReadTest, NotFoundNamesTheLocationPath) {
  std::filesystem::create_directory(root_.sub("real"));
  std::filesystem::create_directory_symlink(root_.sub("real"), root_.sub("link"));
  CreateLegacy("filesystem_store_datadir = " + root_.sub("link"));
  const std::string path = root_.sub("link") + "/missing";
  Error e = CatchError([&] { registry().get(Uri(path)); });
  EXPECT_EQ(e.kind(), ErrorKind::kNotFound);
  EXPECT_EQ(e.message(), "Image " + path + " not found");
}

// FS-47: the chunk size option (default 64 KiB, minimum 1).
TEST_F(StoreReadTest, ChunkSizeOption) {
  CreateLegacy();
  EXPECT_EQ(store().fs_options().chunk_size, 64 * 1024);
  CreateLegacy("filesystem_store_chunk_size = 1073741824");
  EXPECT_EQ(store().fs_options().chunk_size, 1073741824);
  EXPECT_TRUE(store().add_enabled());
  Error e = CatchError([&] { CreateLegacy("filesystem_store_chunk_size = 0"); });
  EXPECT_EQ(e.kind(), ErrorKind::kBadStoreConfiguration);
  EXPECT_NE(e.message().find("filesystem_store_chunk_size"), std::string::npos) << e.message();
}

}  // namespace
}  // namespace glance_store::filesystem::testing
