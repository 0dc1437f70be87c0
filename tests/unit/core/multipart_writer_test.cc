// internal::MultipartWriter over a recording driver (fault injection on top of the real part
// storages): which parts the driver is asked to begin, send or stream, with which bytes and md5s;
// the held, spooled and streamed ways; a small image committed whole; and that every failure,
// abort or destruction before a commit abandons the parts begun, once, and a commit never does.
#include "core/multipart_writer.h"

#include <gtest/gtest.h>

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "glance_store/hashing.h"
#include "unit/core/test_support.h"

namespace glance_store {
namespace {

using internal::MultipartLayout;
using internal::Part;
using internal::PartHolding;
using testing::as_string;
using testing::CatchError;
using testing::chunk_of;
using testing::pattern;
using testing::TempDir;

constexpr std::size_t kBuffer = 1000;

std::string md5_hex(std::string_view bytes) { return hex_digest("md5", bytes); }

// What the writer asked of the driver, in order.
struct Calls {
  std::mutex mutex;
  std::vector<std::string> log;                // "begin 0", "stream 1 len 100", "finish 0", …
  std::map<std::uint64_t, std::string> parts;  // the bytes each part got
  std::map<std::uint64_t, std::string> md5s;   // a streamed part's md5, as finish() was told
  std::optional<std::uint64_t> completed;      // complete()'s part count
  std::string completed_md5;
  std::vector<std::uint64_t> abandoned;  // abandon()'s part counts

  void note(std::string line) {
    std::lock_guard lock(mutex);
    log.push_back(std::move(line));
  }
  bool logged(const std::string& line) {
    std::lock_guard lock(mutex);
    return std::find(log.begin(), log.end(), line) != log.end();
  }
  std::string joined() {
    std::string all;
    for (const auto& [index, bytes] : parts) all += bytes;
    return all;
  }
};

// Faults to inject.
struct Faults {
  std::optional<std::uint64_t> failing_part = {};   // send_part() / the streamed finish() throws
  std::optional<std::uint64_t> answers_early = {};  // a streamed part's write() returns false
  bool unsplit = false;                             // complete_unsplit() stores the image whole
  bool failing_complete = false;
};

class RecordingUpload final : public internal::MultipartUpload {
 public:
  RecordingUpload(Calls& calls, Faults faults) : calls_(calls), faults_(faults) {}

  void begin_part(std::uint64_t index) override { calls_.note("begin " + std::to_string(index)); }

  void send_part(std::uint64_t index, const Part& part) override {
    std::string bytes;
    part.for_each_piece([&](std::span<const std::byte> piece) { bytes += as_string(piece); });
    if (faults_.failing_part == index) {
      throw Error(ErrorKind::kBackendException, "part " + std::to_string(index) + " refused");
    }
    std::lock_guard lock(calls_.mutex);
    calls_.parts[index] = bytes;
  }

  std::unique_ptr<internal::StreamedPart> stream_part(
      std::uint64_t index, std::optional<std::uint64_t> length) override {
    calls_.note("stream " + std::to_string(index) + " len " +
                (length ? std::to_string(*length) : "?"));
    return std::make_unique<Streamed>(*this, index);
  }

  std::optional<ImageWriter::Committed> complete_unsplit(const Part* pending) override {
    if (!faults_.unsplit) return std::nullopt;
    std::string bytes;
    if (pending != nullptr) {
      pending->for_each_piece([&](std::span<const std::byte> p) { bytes += as_string(p); });
    }
    calls_.note("whole " + std::to_string(bytes.size()));
    calls_.parts[0] = bytes;
    return ImageWriter::Committed{"whole://image", nlohmann::json::object()};
  }

  ImageWriter::Committed complete(std::uint64_t parts, std::string_view md5_hex) override {
    if (faults_.failing_complete) throw Error(ErrorKind::kDuplicate, "another add won");
    calls_.completed = parts;
    calls_.completed_md5 = std::string(md5_hex);
    return {"parts://image", nlohmann::json::object()};
  }

  void abandon(std::uint64_t parts) noexcept override { calls_.abandoned.push_back(parts); }

 private:
  class Streamed final : public internal::StreamedPart {
   public:
    Streamed(RecordingUpload& owner, std::uint64_t index) : owner_(owner), index_(index) {}
    bool write(const DataChunk& bytes) override {
      if (owner_.faults_.answers_early == index_) return false;
      owner_.calls_.parts[index_] += as_string(bytes.bytes());
      return true;
    }
    void release() override { owner_.calls_.note("release " + std::to_string(index_)); }
    void finish(std::string_view md5_hex) override {
      owner_.calls_.note("finish " + std::to_string(index_));
      owner_.calls_.md5s[index_] = std::string(md5_hex);
      if (owner_.faults_.failing_part == index_ || owner_.faults_.answers_early == index_) {
        throw Error(ErrorKind::kBackendException, "streamed part refused");
      }
    }
    void cancel() noexcept override { owner_.calls_.note("cancel " + std::to_string(index_)); }

   private:
    RecordingUpload& owner_;
    std::uint64_t index_;
  };

  Calls& calls_;
  Faults faults_;
};

// Buffers of 1000 bytes, 4 of them; `limit` decides whether parts of `part` bytes are held.
MultipartLayout layout(std::uint64_t part, std::uint64_t limit, std::uint64_t image_size = 0) {
  MultipartLayout l;
  l.part_size = [part](std::uint64_t) { return part; };
  l.largest_part = part;
  l.image_size = image_size;
  l.parallel = 3;
  l.memory.buffer_size = kBuffer;
  l.memory.buffer_count = 4;
  l.memory.memory_limit = limit;
  return l;
}

// Writes `data` in pieces of the pipeline's buffer size.
void write_all(ImageWriter& writer, const std::string& data) {
  for (std::size_t at = 0; at < data.size(); at += kBuffer) {
    const std::size_t n = std::min(kBuffer, data.size() - at);
    writer.write(chunk_of(std::as_bytes(std::span(data)).subspan(at, n)));
  }
}

constexpr std::uint64_t kRoomy = 1 << 20;  // parts of 2500 bytes fit, 3 + 1 of them
constexpr std::uint64_t kTight = 9000;     // 4000 of buffers, 5000 left: a part of 4000 does not

TEST(MultipartWriterTest, TheHoldingFollowsTheMemoryAndTheSpoolDirectory) {
  EXPECT_EQ(internal::holding_for(layout(2500, kRoomy)), PartHolding::kChunks);
  EXPECT_EQ(internal::holding_for(layout(4000, kTight)), PartHolding::kStreamed);
  MultipartLayout spooled = layout(4000, kTight);
  spooled.spool_dir = "/tmp";
  EXPECT_EQ(internal::holding_for(spooled), PartHolding::kFiles);
  // (3 sending + 1 filling) × (part + the 2 buffers it may share), within what parts may hold.
  EXPECT_EQ(internal::held_bytes_for(layout(2500, kRoomy)), 4U * (2500 + 2000));
  EXPECT_EQ(internal::held_bytes_for(layout(2500, 20000)), 16000U);  // capped at the room left
  EXPECT_EQ(internal::held_bytes_for(spooled), 0U);
  EXPECT_LE(internal::held_bytes_for(layout(4000, kTight)), 5000U);
}

TEST(MultipartWriterTest, HeldPartsAreSentWholeAndCompletedWithTheirCount) {
  Calls calls;
  const std::string data = pattern(4 * 2500 - 700);
  auto writer = internal::make_multipart_writer(std::make_unique<RecordingUpload>(calls, Faults{}),
                                                layout(2500, kRoomy));
  write_all(*writer, data);
  const auto committed = writer->commit(data.size(), md5_hex(data));
  EXPECT_EQ(committed.location, "parts://image");
  EXPECT_EQ(calls.completed, 4U);
  EXPECT_EQ(calls.completed_md5, md5_hex(data));
  ASSERT_EQ(calls.parts.size(), 4U);
  for (std::uint64_t i = 0; i < 4; ++i) {
    EXPECT_EQ(calls.parts[i], data.substr(i * 2500, 2500)) << "part " << i;
  }
  EXPECT_EQ(calls.log, (std::vector<std::string>{"begin 0", "begin 1", "begin 2", "begin 3"}));
  writer.reset();
  EXPECT_TRUE(calls.abandoned.empty()) << "a committed add was abandoned";
}

TEST(MultipartWriterTest, SpooledPartsAreSentFromTheirFiles) {
  TempDir dir;
  Calls calls;
  const std::string data = pattern(3 * 4000 + 1);
  MultipartLayout spooled = layout(4000, kTight);
  spooled.spool_dir = dir.path();
  auto writer =
      internal::make_multipart_writer(std::make_unique<RecordingUpload>(calls, Faults{}), spooled);
  EXPECT_EQ(writer->held_bytes(), 0U);
  write_all(*writer, data);
  writer->commit(data.size(), md5_hex(data));
  EXPECT_EQ(calls.completed, 4U);
  EXPECT_EQ(calls.joined(), data);
  EXPECT_EQ(calls.parts[3], data.substr(12000));
}

TEST(MultipartWriterTest, ASmallImageIsStoredWholeWhenTheDriverCan) {
  for (const bool unsplit : {true, false}) {
    Calls calls;
    const std::string data = pattern(2499);
    auto writer = internal::make_multipart_writer(
        std::make_unique<RecordingUpload>(calls, Faults{.unsplit = unsplit}), layout(2500, kRoomy));
    write_all(*writer, data);
    const auto committed = writer->commit(data.size(), md5_hex(data));
    EXPECT_EQ(calls.parts[0], data);
    if (unsplit) {
      EXPECT_EQ(committed.location, "whole://image");
      EXPECT_EQ(calls.log, std::vector<std::string>{"whole 2499"}) << "a part was begun";
      EXPECT_FALSE(calls.completed);
    } else {
      EXPECT_EQ(calls.completed, 1U);
    }
  }
}

TEST(MultipartWriterTest, AnImageOfExactlyOnePartIsAPartNotStoredWhole) {
  Calls calls;
  const std::string data = pattern(2500);
  auto writer = internal::make_multipart_writer(
      std::make_unique<RecordingUpload>(calls, Faults{.unsplit = true}), layout(2500, kRoomy));
  write_all(*writer, data);
  writer->commit(data.size(), md5_hex(data));
  EXPECT_EQ(calls.completed, 1U);
  EXPECT_FALSE(calls.logged("whole 2500"));
}

TEST(MultipartWriterTest, AFailedPartFailsTheAddAndItsAbortAbandonsThePartsBegunOnce) {
  Calls calls;
  const std::string data = pattern(std::size_t{6} * 2500);
  auto writer = internal::make_multipart_writer(
      std::make_unique<RecordingUpload>(calls, Faults{.failing_part = 1}), layout(2500, kRoomy));
  const Error e = CatchError([&] {
    write_all(*writer, data);
    writer->commit(data.size(), md5_hex(data));
  });
  EXPECT_EQ(e.kind(), ErrorKind::kBackendException);
  EXPECT_EQ(e.message(), "part 1 refused");
  EXPECT_FALSE(calls.completed);
  writer->abort();
  writer->abort();
  writer.reset();
  ASSERT_EQ(calls.abandoned.size(), 1U);
  EXPECT_GE(calls.abandoned[0], 2U);  // part 1 and at least the one begun before its failure
  EXPECT_LE(calls.abandoned[0], 6U);
}

TEST(MultipartWriterTest, AFailedCompleteAndADestroyedWriterAbandon) {
  {
    Calls calls;
    const std::string data = pattern(std::size_t{3} * 2500);
    auto writer = internal::make_multipart_writer(
        std::make_unique<RecordingUpload>(calls, Faults{.failing_complete = true}),
        layout(2500, kRoomy));
    write_all(*writer, data);
    EXPECT_EQ(CatchError([&] { writer->commit(data.size(), md5_hex(data)); }).kind(),
              ErrorKind::kDuplicate);
    writer.reset();
    EXPECT_EQ(calls.abandoned, std::vector<std::uint64_t>{3});
  }
  {
    Calls calls;
    auto writer = internal::make_multipart_writer(
        std::make_unique<RecordingUpload>(calls, Faults{}), layout(2500, kRoomy));
    write_all(*writer, pattern(5000));
    writer.reset();  // never committed
    EXPECT_EQ(calls.abandoned, std::vector<std::uint64_t>{2});
    EXPECT_FALSE(calls.completed);
  }
}

TEST(MultipartWriterTest, PartsTooLargeToHoldAreStreamedWithTheirLengthsAndMd5s) {
  Calls calls;
  const std::string data = pattern(3 * 4000 + 1500);
  auto writer = internal::make_multipart_writer(std::make_unique<RecordingUpload>(calls, Faults{}),
                                                layout(4000, kTight, data.size()));
  write_all(*writer, data);
  writer->commit(data.size(), md5_hex(data));
  EXPECT_EQ(calls.completed, 4U);
  EXPECT_EQ(calls.joined(), data);
  for (std::uint64_t i = 0; i < 4; ++i) {
    EXPECT_EQ(calls.md5s[i], md5_hex(data.substr(i * 4000, 4000))) << "part " << i;
  }
  // Each part is released when full, and its answer awaited only once the next one streams.
  EXPECT_EQ(calls.log,
            (std::vector<std::string>{"begin 0", "stream 0 len 4000", "release 0",              //
                                      "begin 1", "stream 1 len 4000", "release 1", "finish 0",  //
                                      "begin 2", "stream 2 len 4000", "release 2", "finish 1",  //
                                      "begin 3", "stream 3 len 1500", "release 3", "finish 2",  //
                                      "finish 3"}));
}

TEST(MultipartWriterTest, AnUnknownSizeStreamsPartsOfUnknownLength) {
  Calls calls;
  const std::string data = pattern(4000 + 10);
  auto writer = internal::make_multipart_writer(std::make_unique<RecordingUpload>(calls, Faults{}),
                                                layout(4000, kTight));
  write_all(*writer, data);
  writer->commit(data.size(), md5_hex(data));
  EXPECT_EQ(calls.completed, 2U);
  EXPECT_TRUE(calls.logged("stream 1 len ?"));
  EXPECT_EQ(calls.md5s[1], md5_hex(data.substr(4000)));
}

TEST(MultipartWriterTest, AStreamedPartAnsweredEarlyFailsTheAddAndIsCancelledAndAbandoned) {
  Calls calls;
  const std::string data = pattern(std::size_t{3} * 4000);
  auto writer = internal::make_multipart_writer(
      std::make_unique<RecordingUpload>(calls, Faults{.answers_early = 1}),
      layout(4000, kTight, data.size()));
  const Error e = CatchError([&] { write_all(*writer, data); });
  EXPECT_EQ(e.kind(), ErrorKind::kBackendException);
  writer->abort();
  EXPECT_TRUE(calls.logged("cancel 1"));
  EXPECT_EQ(calls.abandoned, std::vector<std::uint64_t>{2});
  EXPECT_FALSE(calls.logged("begin 2"));
}

TEST(MultipartWriterTest, AStoreThatCannotStreamSaysSoAsInvalid) {
  class HeldOnly final : public internal::MultipartUpload {
   public:
    void begin_part(std::uint64_t) override {}
    void send_part(std::uint64_t, const Part&) override {}
    ImageWriter::Committed complete(std::uint64_t, std::string_view) override { return {}; }
    void abandon(std::uint64_t) noexcept override {}
  };
  auto writer = internal::make_multipart_writer(std::make_unique<HeldOnly>(), layout(4000, kTight));
  EXPECT_EQ(CatchError([&] { write_all(*writer, pattern(10)); }).kind(), ErrorKind::kInvalid);
}

}  // namespace
}  // namespace glance_store
