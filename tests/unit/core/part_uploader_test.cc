// internal::PartUploader with each part storage (the pipeline's chunks, anonymous files made with
// O_TMPFILE or with mkstemp and unlink): parts in order and whole, re-readable for retries, bounded
// in flight and in number, failures rethrown, nothing named on disk; the files' errors typed.
#include "core/part_uploader.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/part_storage.h"
#include "unit/core/test_support.h"

namespace glance_store {
namespace {

using internal::MakePartStorage;
using internal::Part;
using internal::PartStorage;
using internal::PartUploader;
using test_common::OpenFilesIn;
using test_common::SmallTmpfs;
using testing::as_string;
using testing::CatchError;
using testing::chunk_of;
using testing::ListDir;
using testing::pattern;
using testing::TempDir;

enum class Storage { kChunks, kTmpfile, kUnlinkedName };

std::string read_with(const internal::ByteSource& source, std::size_t piece) {
  std::string out(piece, '\0');
  std::string all;
  for (;;) {
    const std::size_t n = source(std::as_writable_bytes(std::span(out)));
    if (n == 0) return all;
    all.append(out, 0, n);
  }
}

class PartUploaderTest : public ::testing::TestWithParam<Storage> {
 protected:
  bool in_files() const { return GetParam() != Storage::kChunks; }

  // Counts the parts it makes.
  MakePartStorage storage() {
    MakePartStorage make = GetParam() == Storage::kChunks ? internal::chunk_parts()
                           : GetParam() == Storage::kTmpfile
                               ? internal::file_parts(dir_.path())
                               : internal::file_parts(dir_.path(), /*try_tmpfile=*/false);
    return [this, make](std::uint64_t capacity) {
      ++made_;
      return make(capacity);
    };
  }

  // Uploads `data` in parts of `part_size` through writes of `write_size`; records each part
  // as read by two sources (a retry reads it again from the start) and by for_each_piece.
  std::map<std::uint64_t, std::string> upload(const std::string& data, std::uint64_t part_size,
                                              std::size_t write_size, std::size_t parallel = 3) {
    std::mutex mutex;
    std::map<std::uint64_t, std::string> parts;
    PartUploader uploader(
        parallel, [part_size](std::uint64_t) { return part_size; }, [](std::uint64_t) {},
        [&](std::uint64_t index, const Part& part) {
          const std::string first = read_with(part.source(), 1000);
          EXPECT_EQ(read_with(part.source(), 65536), first) << "a second attempt differs";
          std::string pieces;
          part.for_each_piece([&](std::span<const std::byte> p) { pieces += as_string(p); });
          EXPECT_EQ(pieces, first);
          EXPECT_EQ(part.size(), first.size());
          if (in_files()) {
            EXPECT_FALSE(OpenFilesIn(dir_.path()).empty());
          }
          // (Without O_TMPFILE a part's file has a name for an instant, between its creation and
          // its unlink: another part may be in that instant now.)
          if (GetParam() != Storage::kUnlinkedName) {
            EXPECT_TRUE(ListDir(dir_.path()).empty()) << "a named file in the buffer directory";
          }
          std::lock_guard lock(mutex);
          EXPECT_TRUE(parts.emplace(index, first).second);
        },
        storage());
    for (std::size_t at = 0; at < data.size(); at += write_size) {
      uploader.write(chunk_of(
          std::as_bytes(std::span(data)).subspan(at, std::min(write_size, data.size() - at))));
    }
    uploader.finish();
    EXPECT_EQ(uploader.parts_started(), parts.size());
    EXPECT_TRUE(OpenFilesIn(dir_.path()).empty()) << "finish() keeps files open";
    EXPECT_TRUE(ListDir(dir_.path()).empty()) << "a named file in the buffer directory";
    return parts;
  }

  TempDir dir_;
  std::atomic<int> made_ = 0;
};

TEST_P(PartUploaderTest, PartsHoldTheirBytesInOrderAndReadAgainFromTheStart) {
  const std::string data = pattern(10 * 1000 + 3);
  const auto parts = upload(data, 1000, 777);
  ASSERT_EQ(parts.size(), 11U);
  std::string joined;
  for (const auto& [index, bytes] : parts) joined += bytes;
  EXPECT_EQ(joined, data);
  EXPECT_EQ(parts.at(10).size(), 3U);
  EXPECT_TRUE(ListDir(dir_.path()).empty());
}

TEST_P(PartUploaderTest, AnExactMultipleHasNoEmptyLastPart) {
  const std::string data = pattern(3 * 4096);
  const auto parts = upload(data, 4096, 4096);
  ASSERT_EQ(parts.size(), 3U);
  for (const auto& [index, bytes] : parts) EXPECT_EQ(bytes.size(), 4096U);
  EXPECT_TRUE(upload("", 4096, 1).empty());
}

TEST_P(PartUploaderTest, AtMostParallelInFlightAndParallelPlusOnePartsMade) {
  std::atomic<int> in_flight = 0;
  std::atomic<int> most = 0;
  PartUploader uploader(
      2, [](std::uint64_t) { return 1000; }, [](std::uint64_t) {},
      [&](std::uint64_t, const Part&) {
        most = std::max(most.load(), ++in_flight);
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        --in_flight;
      },
      storage());
  const std::string data = pattern(20 * 1000 + 1);
  for (std::size_t at = 0; at < data.size(); at += 500) {
    uploader.write(chunk_of(
        std::as_bytes(std::span(data)).subspan(at, std::min<std::size_t>(500, data.size() - at))));
  }
  uploader.finish();
  EXPECT_EQ(uploader.parts_started(), 21U);
  EXPECT_LE(most.load(), 2);
  EXPECT_LE(made_.load(), 3) << "parts are reused once uploaded";
}

TEST_P(PartUploaderTest, AFailedUploadIsRethrownAndItsFileGoes) {
  auto uploader = std::make_unique<PartUploader>(
      2, [](std::uint64_t) { return 100; }, [](std::uint64_t) {},
      [](std::uint64_t index, const Part&) {
        if (index == 1) throw Error(ErrorKind::kBackendException, "part 2 refused");
      },
      storage());
  const std::string data = pattern(1000);
  const Error e = CatchError([&] {
    for (std::size_t at = 0; at < data.size(); at += 50) {
      uploader->write(chunk_of(std::as_bytes(std::span(data)).subspan(at, 50)));
    }
    uploader->finish();
  });
  EXPECT_EQ(e.message(), "part 2 refused");
  uploader->wait();
  uploader.reset();
  EXPECT_TRUE(OpenFilesIn(dir_.path()).empty());
  EXPECT_TRUE(ListDir(dir_.path()).empty());
}

INSTANTIATE_TEST_SUITE_P(Storages, PartUploaderTest,
                         ::testing::Values(Storage::kChunks, Storage::kTmpfile,
                                           Storage::kUnlinkedName),
                         [](const auto& info) {
                           switch (info.param) {
                             case Storage::kChunks:
                               return "Chunks";
                             case Storage::kTmpfile:
                               return "Tmpfile";
                             default:
                               return "UnlinkedName";
                           }
                         });

// The parts are the pipeline's own buffers, sliced where a part ends inside one, and each buffer
// is let go once the parts using it are uploaded.
TEST(ChunkPartsTest, PartsKeepThePipelinesBuffersAndLetThemGoOnceUploaded) {
  std::mutex mutex;
  std::vector<const std::byte*> buffers;  // the chunks written, in order
  std::atomic<int> alive = 0;
  std::atomic<int> most_alive = 0;
  std::map<std::uint64_t, std::string> parts;
  const std::string data = pattern(10 * 700 + 5);
  {
    PartUploader uploader(
        2, [](std::uint64_t) { return 1000; }, [](std::uint64_t) {},
        [&](std::uint64_t index, const Part& part) {
          std::string bytes;
          part.for_each_piece([&](std::span<const std::byte> piece) {
            std::lock_guard lock(mutex);
            // Every piece lies inside one of the buffers written: nothing was copied.
            EXPECT_TRUE(std::any_of(buffers.begin(), buffers.end(), [&](const std::byte* b) {
              return piece.data() >= b && piece.data() + piece.size() <= b + 700;
            }));
            bytes += as_string(piece);
          });
          std::this_thread::sleep_for(std::chrono::milliseconds(5));
          std::lock_guard lock(mutex);
          parts.emplace(index, bytes);
        });
    for (std::size_t at = 0; at < data.size(); at += 700) {
      const auto bytes =
          std::as_bytes(std::span(data)).subspan(at, std::min<std::size_t>(700, data.size() - at));
      auto* buffer = new detail::PooledBuffer{new std::byte[700], bytes.size()};
      std::copy(bytes.begin(), bytes.end(), buffer->data);
      {
        std::lock_guard lock(mutex);
        buffers.push_back(buffer->data);
      }
      most_alive = std::max(most_alive.load(), ++alive);
      uploader.write(DataChunk(std::shared_ptr<detail::PooledBuffer>(buffer,
                                                                     [&](detail::PooledBuffer* b) {
                                                                       --alive;
                                                                       delete[] b->data;
                                                                       delete b;
                                                                     }),
                               bytes.size()));
    }
    uploader.finish();
    EXPECT_EQ(alive.load(), 0) << "an uploaded part still keeps a buffer";
  }
  // 2 uploading and 1 filling: at most 3 parts of 1000 bytes, 2 buffers of 700 bytes each.
  EXPECT_LE(most_alive.load(), 3 * 2 + 1);
  std::string joined;
  for (const auto& [index, bytes] : parts) joined += bytes;
  EXPECT_EQ(joined, data);
  EXPECT_EQ(parts.size(), 8U);
}

TEST(FilePartsTest, AMissingDirectoryIsABackendExceptionNamingIt) {
  TempDir dir;
  for (const bool tmpfile : {true, false}) {
    const Error e = CatchError([&] { internal::file_parts(dir.sub("gone"), tmpfile)(100); });
    EXPECT_EQ(e.kind(), ErrorKind::kBackendException) << e.message();
    EXPECT_NE(e.message().find(dir.sub("gone")), std::string::npos) << e.message();
  }
}

TEST(FilePartsTest, AFullDiskIsStorageFullAndLeavesNothing) {
  SmallTmpfs disk(64 * 1024);
  if (!disk.mounted()) GTEST_SKIP() << "cannot mount a tmpfs here (needs CAP_SYS_ADMIN)";
  for (const bool tmpfile : {true, false}) {
    std::unique_ptr<PartStorage> part = internal::file_parts(disk.path(), tmpfile)(1 << 20);
    const std::string data = pattern(1 << 20);
    const Error e = CatchError([&] { part->append(chunk_of(std::as_bytes(std::span(data)))); });
    EXPECT_EQ(e.kind(), ErrorKind::kStorageFull) << e.message();
    EXPECT_NE(e.message().find(disk.path()), std::string::npos) << e.message();
    part.reset();
    EXPECT_TRUE(ListDir(disk.path()).empty());
  }
}

}  // namespace
}  // namespace glance_store
