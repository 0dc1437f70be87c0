// The add pipeline (internal::run_add_pipeline): data order, hashes, size validation (EX-13),
// abort on every failure, the verifier, and the memory bound.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "core/add_pipeline.h"
#include "glance_store/error.h"
#include "glance_store/hashing.h"
#include "unit/core/test_support.h"

namespace glance_store {
namespace {

using internal::PipelineResult;
using testing::as_string;
using testing::CatchError;
using testing::HasKind;
using testing::pattern;
using testing::ScriptedSource;

constexpr std::size_t kBuffer = 4096;

/// Records what the pipeline hands it; can be told to fail.
class RecordingWriter : public ImageWriter {
 public:
  void write(const DataChunk& chunk) override {
    sizes.push_back(chunk.bytes().size());
    data += as_string(chunk.bytes());
    if (fail_on_write != 0 && sizes.size() == fail_on_write) {
      throw Error(ErrorKind::kStorageFull, "There is not enough disk space (test)");
    }
  }
  Committed commit(std::uint64_t total_bytes, std::string_view /*md5_hex*/) override {
    ++commits;
    committed_total = total_bytes;
    if (fail_on_commit) throw duplicate_error("/fake/img");
    return {"fake:///img", nlohmann::json{{"mountpoint", "/fake"}}};
  }
  void abort() noexcept override { ++aborts; }

  std::vector<std::size_t> sizes;
  std::string data;
  std::size_t fail_on_write = 0;  // 1-based write index that throws; 0 never
  bool fail_on_commit = false;
  int commits = 0;
  int aborts = 0;
  std::uint64_t committed_total = 0;
};

/// A hash whose update throws: a failure on a hashing thread.
class BrokenHasher final : public Hasher {
 public:
  void update(std::span<const std::byte>) override {
    throw Error(ErrorKind::kBackendException, "digest update failed (test)");
  }
  std::string hexdigest() override { return "never"; }
  std::string_view algorithm() const override { return "sha256"; }
};

class PipelineTest : public ::testing::Test {
 protected:
  PipelineResult run(InputStream& source, std::uint64_t declared, ImageWriter& writer,
                     std::size_t buffer_count = 2, const Verifier* verifier = nullptr) {
    return internal::run_add_pipeline(source, declared, *md5_, multihash_.get(), verifier, writer,
                                      PipelineOptions{kBuffer, buffer_count});
  }

  std::unique_ptr<Hasher> md5_ = Hasher::create("md5");
  std::unique_ptr<Hasher> multihash_ = Hasher::create("sha256");
};

// (image size, largest read the source returns)
class PipelineDataTest
    : public PipelineTest,
      public ::testing::WithParamInterface<std::tuple<std::size_t, std::size_t>> {};

TEST_P(PipelineDataTest, PassesEveryByteInOrderAndHashesIt) {
  const auto [size, max_read] = GetParam();
  const std::string data = pattern(size);
  ScriptedSource source(data, max_read);
  RecordingWriter writer;

  const PipelineResult result = run(source, size, writer);

  EXPECT_EQ(writer.data, data);
  EXPECT_EQ(result.bytes, size);
  EXPECT_EQ(result.md5, hex_digest("md5", data));
  EXPECT_EQ(result.multihash, hex_digest("sha256", data));
  EXPECT_EQ(writer.commits, 1);
  EXPECT_EQ(writer.committed_total, size);
  EXPECT_EQ(writer.aborts, 0);
  EXPECT_EQ(result.committed.location, "fake:///img");
  EXPECT_EQ(result.committed.metadata, (nlohmann::json{{"mountpoint", "/fake"}}));
  // Buffers are filled before they are written, however small the source's reads.
  EXPECT_EQ(writer.sizes.size(), (size + kBuffer - 1) / kBuffer);
  for (std::size_t i = 0; i + 1 < writer.sizes.size(); ++i) EXPECT_EQ(writer.sizes[i], kBuffer);
  EXPECT_TRUE(
      std::none_of(writer.sizes.begin(), writer.sizes.end(), [](std::size_t n) { return n == 0; }));
}

INSTANTIATE_TEST_SUITE_P(SizesAndReads, PipelineDataTest,
                         ::testing::Combine(::testing::Values(0, 1, 4095, 4096, 4097,
                                                              5 * kBuffer + 123),
                                            ::testing::Values(1000, kBuffer, 3 * kBuffer)));

TEST_F(PipelineTest, UnknownSizeIsNotValidated) {
  const std::string data = pattern(3 * kBuffer + 1);
  ScriptedSource source(data, kBuffer);
  RecordingWriter writer;
  const PipelineResult result = run(source, 0, writer);
  EXPECT_EQ(result.bytes, data.size());
  EXPECT_EQ(writer.data, data);
  EXPECT_EQ(writer.committed_total, data.size());
}

TEST_F(PipelineTest, WithoutAMultihashItIsTheMd5) {
  const std::string data = pattern(10000);
  ScriptedSource source(data, kBuffer);
  RecordingWriter writer;
  const PipelineResult result = internal::run_add_pipeline(source, 0, *md5_, nullptr, nullptr,
                                                           writer, PipelineOptions{kBuffer, 2});
  EXPECT_EQ(result.md5, hex_digest("md5", data));
  EXPECT_EQ(result.multihash, result.md5);
}

TEST_F(PipelineTest, SizeExceedsAbortsAndNamesTheCumulativeCount) {
  ScriptedSource source(pattern(10000), kBuffer);
  RecordingWriter writer;
  const Error e = CatchError([&] { run(source, 5000, writer); });
  EXPECT_THAT(e, HasKind(ErrorKind::kInvalid));
  std::smatch m;
  const std::string& message = e.message();
  ASSERT_TRUE(std::regex_match(message, m,
                               std::regex("Size exceeds: expected 5000 bytes, got ([0-9]+) bytes")))
      << message;
  const auto got = std::stoull(m[1]);
  EXPECT_GT(got, 5000u);
  EXPECT_LE(got, 10000u);
  EXPECT_EQ(writer.aborts, 1);
  EXPECT_EQ(writer.commits, 0);
}

TEST_F(PipelineTest, SizeExceedsByOneByte) {
  ScriptedSource source(pattern(kBuffer + 1), kBuffer);
  RecordingWriter writer;
  const Error e = CatchError([&] { run(source, kBuffer, writer); });
  EXPECT_THAT(e, HasKind(ErrorKind::kInvalid));
  EXPECT_EQ(e.message(), "Size exceeds: expected 4096 bytes, got 4097 bytes");
  EXPECT_EQ(writer.aborts, 1);
  EXPECT_EQ(writer.commits, 0);
}

// (declared size, actual size)
class PipelineShortInputTest
    : public PipelineTest,
      public ::testing::WithParamInterface<std::pair<std::size_t, std::size_t>> {};

TEST_P(PipelineShortInputTest, IsASizeMismatch) {
  const std::size_t declared = GetParam().first;
  const std::size_t actual = GetParam().second;
  ScriptedSource source(pattern(actual), kBuffer);
  RecordingWriter writer;
  const Error e = CatchError([&] { run(source, declared, writer); });
  EXPECT_THAT(e, HasKind(ErrorKind::kInvalid));
  EXPECT_EQ(e.message(), "Size mismatch: expected " + std::to_string(declared) + " bytes, got " +
                             std::to_string(actual) + " bytes");
  EXPECT_EQ(writer.aborts, 1);
  EXPECT_EQ(writer.commits, 0);
}

INSTANTIATE_TEST_SUITE_P(Sizes, PipelineShortInputTest,
                         ::testing::Values(std::pair<std::size_t, std::size_t>{10000, 5000},
                                           std::pair<std::size_t, std::size_t>{1, 0},
                                           std::pair<std::size_t, std::size_t>{kBuffer + 1,
                                                                               kBuffer}));

TEST_F(PipelineTest, ChunksKeptByTheWriterOutliveThePipeline) {
  // A driver may keep a chunk (e.g. for a parallel part upload) after the add returned.
  struct KeepingWriter final : RecordingWriter {
    void write(const DataChunk& chunk) override {
      RecordingWriter::write(chunk);
      kept.emplace(chunk);
    }
    std::optional<DataChunk> kept;
  } writer;
  const std::string data = pattern(2 * kBuffer + 10);
  ScriptedSource source(data, kBuffer);
  run(source, data.size(), writer);
  ASSERT_TRUE(writer.kept.has_value());
  EXPECT_EQ(as_string(writer.kept->bytes()), data.substr(2 * kBuffer));
}

TEST_F(PipelineTest, VerifierSeesEveryByteOnceInOrder) {
  const std::string data = pattern(4 * kBuffer + 17);
  std::string seen;
  int calls = 0;
  const Verifier verifier = [&](std::span<const std::byte> bytes) {
    seen += as_string(bytes);
    ++calls;
  };
  ScriptedSource source(data, 777);
  RecordingWriter writer;
  run(source, data.size(), writer, 2, &verifier);
  EXPECT_EQ(seen, data);
  EXPECT_EQ(calls, 5);
}

// Every failure, wherever it happens, aborts the writer once and propagates unchanged.
enum class Failure { kSource, kWrite, kVerifier, kHasher, kCommit };

struct FailureCase {
  const char* name;
  Failure failure;
  ErrorKind kind;
  const char* message;
};

class PipelineFailureTest : public PipelineTest,
                            public ::testing::WithParamInterface<FailureCase> {};

TEST_P(PipelineFailureTest, AbortsTheWriterAndPropagates) {
  const auto& c = GetParam();
  ScriptedSource source(
      pattern(6 * kBuffer), kBuffer,
      c.failure == Failure::kSource ? std::optional<std::size_t>(3 * kBuffer) : std::nullopt);
  RecordingWriter writer;
  writer.fail_on_write = c.failure == Failure::kWrite ? 2 : 0;
  writer.fail_on_commit = c.failure == Failure::kCommit;
  int verified = 0;
  const Verifier verifier = [&](std::span<const std::byte>) {
    if (++verified == 3 && c.failure == Failure::kVerifier) {
      throw Error(ErrorKind::kBackendException, "Signature verification failed (test)");
    }
  };
  if (c.failure == Failure::kHasher) multihash_ = std::make_unique<BrokenHasher>();

  const Error e = CatchError([&] { run(source, 6 * kBuffer, writer, 2, &verifier); });

  EXPECT_THAT(e, HasKind(c.kind));
  EXPECT_EQ(e.message(), c.message);
  EXPECT_EQ(writer.aborts, 1);
  EXPECT_EQ(writer.commits, c.failure == Failure::kCommit ? 1 : 0);
}

INSTANTIATE_TEST_SUITE_P(
    Failures, PipelineFailureTest,
    ::testing::Values(FailureCase{"SourceThrows", Failure::kSource, ErrorKind::kBackendException,
                                  "cannot read the image data: broken pipe"},
                      FailureCase{"WriterThrows", Failure::kWrite, ErrorKind::kStorageFull,
                                  "There is not enough disk space (test)"},
                      FailureCase{"VerifierThrows", Failure::kVerifier,
                                  ErrorKind::kBackendException,
                                  "Signature verification failed (test)"},
                      FailureCase{"HasherThrows", Failure::kHasher, ErrorKind::kBackendException,
                                  "digest update failed (test)"},
                      FailureCase{"CommitThrows", Failure::kCommit, ErrorKind::kDuplicate,
                                  "Image /fake/img already exists"}),
    [](const auto& info) { return std::string(info.param.name); });

/// A writer that holds on to the last `keep` chunks: it keeps keep-1 of them itself and hands
/// the oldest to a thread that lets go of it a little later. Right after write() returns it thus
/// holds `keep` buffers; a bounded pipeline with `keep` buffers must wait for that thread before
/// it can read more. The thread always lets go, so a correct pipeline cannot deadlock.
class HoardingWriter final : public ImageWriter {
 public:
  explicit HoardingWriter(std::size_t keep, std::uint64_t held_bytes = 0)
      : keep_(keep), held_bytes_(held_bytes) {}
  ~HoardingWriter() override {
    for (auto& t : releasers_) t.join();
  }

  void write(const DataChunk& chunk) override {
    data_ += as_string(chunk.bytes());
    held_.push_back(chunk);
    outstanding_.fetch_add(1);
    if (held_.size() < keep_) return;
    std::optional<DataChunk> oldest(held_.front());
    held_.pop_front();
    releasers_.emplace_back([this, oldest]() mutable {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      outstanding_.fetch_sub(1);  // before the buffer goes back to the pool
      oldest.reset();
    });
  }
  Committed commit(std::uint64_t, std::string_view) override {
    drop_held();
    return {"fake:///hoard", nlohmann::json::object()};
  }
  void abort() noexcept override { drop_held(); }

  std::uint64_t held_bytes() const override { return held_bytes_; }
  int outstanding() const { return outstanding_.load(); }
  const std::string& data() const { return data_; }

 private:
  void drop_held() {
    outstanding_.fetch_sub(static_cast<int>(held_.size()));
    held_.clear();
  }

  std::size_t keep_;
  std::uint64_t held_bytes_;
  std::deque<DataChunk> held_;
  std::atomic<int> outstanding_{0};
  std::vector<std::thread> releasers_;
  std::string data_;
};

class PipelineMemoryBoundTest : public PipelineTest,
                                public ::testing::WithParamInterface<std::size_t> {};

TEST_P(PipelineMemoryBoundTest, BlocksInsteadOfAllocatingMoreBuffers) {
  const std::size_t count = GetParam();
  const std::string data = pattern(10 * kBuffer);
  ScriptedSource source(data, kBuffer);
  std::optional<HoardingWriter> writer(std::in_place, count);
  int most_held_while_reading = 0;
  std::set<const std::byte*> buffers;
  source.on_read = [&](std::span<std::byte> out) {
    // The pipeline owns the buffer it reads into: the writer can hold at most the others.
    most_held_while_reading = std::max(most_held_while_reading, writer->outstanding());
    buffers.insert(out.data());
  };

  const PipelineResult result = run(source, data.size(), *writer, count);

  EXPECT_EQ(writer->data(), data);
  EXPECT_EQ(result.bytes, data.size());
  EXPECT_LE(most_held_while_reading, static_cast<int>(count) - 1);
  EXPECT_LE(buffers.size(), count);
  writer.reset();  // joins the releasing threads
}

INSTANTIATE_TEST_SUITE_P(BufferCounts, PipelineMemoryBoundTest, ::testing::Values(2, 3));

// A writer that keeps chunks for its parts (held_bytes) gets room for them in the pool — and no
// more than the add's memory limit leaves.
TEST_F(PipelineTest, AWritersPartsGetRoomWithinTheMemoryLimit) {
  struct Case {
    std::uint64_t held;   // what the writer asks for
    std::uint64_t limit;  // add_memory_limit
    std::size_t buffers;  // what the pool may then have
  };
  for (const Case c : {Case{3 * kBuffer, 64 * kBuffer, 5}, Case{100 * kBuffer, 4 * kBuffer, 4}}) {
    SCOPED_TRACE("held " + std::to_string(c.held) + ", limit " + std::to_string(c.limit));
    const std::string data = pattern(20 * kBuffer);
    ScriptedSource source(data, kBuffer);
    std::optional<HoardingWriter> writer(std::in_place, c.buffers, c.held);
    int most_held_while_reading = 0;
    std::set<const std::byte*> buffers;
    source.on_read = [&](std::span<std::byte> out) {
      most_held_while_reading = std::max(most_held_while_reading, writer->outstanding());
      buffers.insert(out.data());
    };
    const PipelineResult result =
        internal::run_add_pipeline(source, data.size(), *md5_, multihash_.get(), nullptr, *writer,
                                   PipelineOptions{kBuffer, 2, c.limit});
    EXPECT_EQ(writer->data(), data);
    EXPECT_EQ(result.bytes, data.size());
    // The writer held all but the buffer being read into: the room was there…
    EXPECT_EQ(most_held_while_reading, static_cast<int>(c.buffers) - 1);
    // …and no more buffers than that were ever made.
    EXPECT_LE(buffers.size(), c.buffers);
    writer.reset();
  }
}

// The expected digests are checked after the last byte and before commit: a mismatch never
// reaches the store's commit, and the writer cleans up.
TEST_F(PipelineTest, ExpectedDigestsAreCheckedBeforeCommit) {
  const std::string data = pattern(3 * kBuffer + 17);
  auto md5 = Hasher::create("md5");
  auto sha256 = Hasher::create("sha256");
  md5->update(std::as_bytes(std::span(data)));
  sha256->update(std::as_bytes(std::span(data)));
  const std::string right_md5 = md5->hexdigest();
  const std::string right_sha256 = sha256->hexdigest();
  const auto run_expecting = [&](ExpectedDigests expected, RecordingWriter& writer) {
    ScriptedSource source(data, kBuffer);
    return internal::run_add_pipeline(source, data.size(), *Hasher::create("md5"),
                                      Hasher::create("sha256").get(), nullptr, writer,
                                      PipelineOptions{kBuffer, 2}, &expected, "sha256");
  };

  std::string upper = right_md5;
  std::transform(upper.begin(), upper.end(), upper.begin(), ::toupper);
  RecordingWriter matching;
  EXPECT_EQ(run_expecting({upper, right_sha256}, matching).md5, right_md5);
  EXPECT_EQ(matching.commits, 1);
  EXPECT_EQ(matching.aborts, 0);

  for (const ExpectedDigests& wrong :
       {ExpectedDigests{std::string(32, '0'), right_sha256},
        ExpectedDigests{right_md5, std::string(64, '0')}, ExpectedDigests{"", "ff"}}) {
    RecordingWriter writer;
    const Error e = CatchError([&] { run_expecting(wrong, writer); });
    EXPECT_THAT(e, HasKind(ErrorKind::kChecksumMismatch));
    EXPECT_EQ(writer.data, data);  // every byte went to the writer…
    EXPECT_EQ(writer.commits, 0);  // …but was never committed
    EXPECT_EQ(writer.aborts, 1);
  }
}

}  // namespace
}  // namespace glance_store
