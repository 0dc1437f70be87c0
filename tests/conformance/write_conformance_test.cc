// What every store that takes adds does with them: round trips at the edges of a part, known
// and unknown sizes, Duplicate, wrong sizes that leave nothing, deletes, and adds and reads
// that meet (8 adds of different ids, 8 of one id, gets racing a delete).
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/test_util.h"
#include "conformance/backend.h"
#include "glance_store/hashing.h"

namespace glance_store::conformance {
namespace {

using WriteConformance = ConformanceTest;
using Leftovers = std::vector<std::string>;

// A stream whose end waits (10 s at most) until `parties` streams sharing `gate` reach theirs:
// the adds then commit together, which is where the race is.
class EndTogether final : public InputStream {
 public:
  struct Gate {
    std::mutex mutex;
    std::condition_variable all_here;
    int waiting = 0;
    int parties = 0;
  };
  EndTogether(std::string data, Gate& gate) : data_(std::move(data)), gate_(gate) {}
  std::size_t read(std::span<std::byte> out) override {
    const std::size_t n = data_.read(out);
    if (n == 0 && !ended_) {
      ended_ = true;
      std::unique_lock lock(gate_.mutex);
      ++gate_.waiting;
      gate_.all_here.notify_all();
      gate_.all_here.wait_for(lock, std::chrono::seconds(10),
                              [&] { return gate_.waiting >= gate_.parties; });
    }
    return n;
  }

 private:
  test_common::TrickleStream data_;
  Gate& gate_;
  bool ended_ = false;
};

TEST_P(WriteConformance, AddGetSizeDeleteAtThePartEdges) {
  for (const bool known : {true, false}) {
    for (const std::uint64_t size :
         {std::uint64_t{0}, std::uint64_t{1}, part() - 1, part(), part() + 1, 3 * part() + 7}) {
      SCOPED_TRACE(std::to_string(size) + (known ? " bytes declared" : " bytes, size unknown"));
      const std::string id = new_id("rt");
      const std::string data = bytes_of(size, size + known);
      const AddResult added = add_to(registry(), id, data, known ? size : 0);  // 0: unknown
      EXPECT_EQ(added.bytes_written, size);
      EXPECT_EQ(added.checksum, hex_digest("md5", data));
      EXPECT_EQ(added.multihash, hex_digest("sha256", data));
      EXPECT_EQ(added.hash_algo, "sha256");
      EXPECT_EQ(backend().leftovers(id), Leftovers{});
      EXPECT_EQ(registry().get_size(added.location), size);
      EXPECT_TRUE(read(added.location) == data);
      registry().remove(added.location);
      EXPECT_EQ(backend().leftovers(id), Leftovers{});
      EXPECT_EQ(CatchError([&] { registry().get(added.location); }).kind(), ErrorKind::kNotFound);
      EXPECT_EQ(CatchError([&] { registry().get_size(added.location); }).kind(),
                ErrorKind::kNotFound);
      EXPECT_EQ(CatchError([&] { registry().remove(added.location); }).kind(),
                ErrorKind::kNotFound);
    }
  }
}

TEST_P(WriteConformance, DeletingAMissingImageIsNotFound) {
  const std::string location = backend().location_of(new_id("missing"));
  EXPECT_EQ(CatchError([&] { registry().remove(location); }).kind(), ErrorKind::kNotFound);
}

// A second add of an id, of a known size or of an unknown one of several parts, is Duplicate
// and leaves the first image as it was.
TEST_P(WriteConformance, ASecondAddOfAnIdIsDuplicate) {
  const std::string id = new_id("dup");
  const std::string first = bytes_of(part() + 1, 1);
  const AddResult added = add_to(registry(), id, first, first.size());
  for (const std::uint64_t declared : {std::uint64_t{100}, std::uint64_t{0}}) {
    SCOPED_TRACE(declared);
    const Error e = CatchError(
        [&] { add_to(registry(), id, bytes_of(declared ? declared : 3 * part(), 2), declared); });
    EXPECT_EQ(e.kind(), ErrorKind::kDuplicate) << e.message();
  }
  EXPECT_TRUE(read(added.location) == first);
  EXPECT_EQ(backend().leftovers(id), Leftovers{});
}

// More or fewer bytes than declared: Invalid (the add pipeline's message, the same for every
// store), nothing left behind, and the id free for the next add.
TEST_P(WriteConformance, TooFewOrTooManyBytesLeaveNothing) {
  const std::uint64_t p = part();
  struct Case {
    std::uint64_t declared;
    std::uint64_t given;
  };
  // Below a part (one object on S3 and Swift), at its edge, and over several parts.
  for (const Case c : {Case{p - 1, p - 2}, Case{p - 1, p + 1}, Case{p + 1, p}, Case{p, p + 1},
                       Case{3 * p + 1, 2 * p}, Case{2 * p, 3 * p}}) {
    SCOPED_TRACE(std::to_string(c.given) + " bytes declared as " + std::to_string(c.declared));
    const std::string id = new_id("size");
    const Error e = CatchError([&] { add_to(registry(), id, bytes_of(c.given, 3), c.declared); });
    EXPECT_EQ(e.kind(), ErrorKind::kInvalid) << e.message();
    EXPECT_TRUE(e.message().starts_with(c.given < c.declared ? "Size mismatch" : "Size exceeds"))
        << e.message();
    EXPECT_EQ(backend().leftovers(id), Leftovers{});
    const std::string location = backend().location_of(id);
    EXPECT_EQ(CatchError([&] { registry().get(location); }).kind(), ErrorKind::kNotFound);
    const std::string data = bytes_of(c.declared, 4);
    EXPECT_TRUE(read(add_to(registry(), id, data, data.size()).location) == data);
  }
}

TEST_P(WriteConformance, ConcurrentAddsOfDifferentIds) {
  constexpr int kAdds = 8;
  std::vector<std::string> ids;
  for (int i = 0; i < kAdds; ++i) ids.push_back(new_id("many"));
  const auto data = [&](int i) { return bytes_of(2 * part() + i, 200 + i); };
  std::vector<std::optional<AddResult>> results(kAdds);
  std::vector<std::optional<Error>> errors(kAdds);
  std::vector<std::thread> threads;
  for (int i = 0; i < kAdds; ++i) {
    threads.emplace_back([&, i] {
      try {
        results[i] = add_to(registry(), ids[i], data(i), i % 2 ? 0 : data(i).size());
      } catch (const Error& e) {
        errors[i] = e;
      }
    });
  }
  for (auto& t : threads) t.join();
  for (int i = 0; i < kAdds; ++i) {
    SCOPED_TRACE(ids[i]);
    ASSERT_TRUE(results[i]) << errors[i]->message();
    EXPECT_TRUE(read(results[i]->location) == data(i));
    EXPECT_EQ(backend().leftovers(ids[i]), Leftovers{});
  }
}

// Eight adds of one id, of several parts each, committing at once. Every store gives "exactly
// one succeeds": the filesystem renames without replacing; Swift writes each add's segments
// under a prefix of its own and the manifest with If-None-Match; RBD renames one add's image
// into place under the id's commit lock. S3 has no conditional write: the last complete wins,
// and each add confirms afterwards that the stored ETag is its own, so the others learn they
// lost. The losers are Duplicate and their uploads, segments and images are gone.
TEST_P(WriteConformance, ConcurrentAddsOfOneIdLeaveExactlyOneWholeImage) {
  constexpr int kAdds = 8;
  // Several parts (S3's multipart uploads, Swift's segments), and under one part (S3's and
  // Swift's single objects).
  for (const std::uint64_t size : {3 * part() + 17, part() / 2}) {
    SCOPED_TRACE(size);
    const std::string id = new_id("race");
    std::vector<std::string> inputs;
    for (int i = 0; i < kAdds; ++i) inputs.push_back(bytes_of(size, size + i));
    EndTogether::Gate gate;
    gate.parties = kAdds;
    const auto won = test_common::the_one_that_won<AddResult>(kAdds, [&](int i) {
      EndTogether in(inputs[i], gate);
      return registry().add(id, in, inputs[i].size(), "sha256");
    });
    ASSERT_TRUE(won);
    EXPECT_TRUE(read(won->second.location) == inputs[won->first]) << "not the winner's input";
    EXPECT_EQ(won->second.checksum, hex_digest("md5", inputs[won->first]));
    EXPECT_EQ(backend().leftovers(id), Leftovers{}) << "the losers' parts must go";
  }
}

// Gets that have started reading when the image is deleted: each ends with the whole image or
// with an error of a clean kind, never with short data; afterwards nothing is left.
TEST_P(WriteConformance, ConcurrentGetsRacingADeleteAreWholeOrAnError) {
  constexpr int kGets = 4;
  const std::string id = new_id("race-delete");
  const std::string data = bytes_of(4 * part() + 3, 12);
  const std::string location = add_to(registry(), id, data, data.size()).location;
  std::vector<GetResult> gets;
  std::vector<std::string> got(kGets);
  for (int i = 0; i < kGets; ++i) {
    gets.push_back(registry().get(location));
    got[i].resize(4096);
    ASSERT_EQ(gets[i].stream->read(std::as_writable_bytes(std::span(got[i]))), 4096U);
  }
  std::vector<std::optional<Error>> errors(kGets);
  std::vector<std::thread> readers;
  for (int i = 0; i < kGets; ++i) {
    readers.emplace_back([&, i] {
      try {
        got[i] += read_all(*gets[i].stream);
      } catch (const Error& e) {
        errors[i] = e;
      }
    });
  }
  registry().remove(location);
  for (auto& t : readers) t.join();
  for (int i = 0; i < kGets; ++i) {
    SCOPED_TRACE(i);
    if (errors[i]) {
      EXPECT_TRUE(errors[i]->is(ErrorKind::kNotFound) ||
                  errors[i]->is(ErrorKind::kBackendException))
          << errors[i]->message();
    } else {
      EXPECT_TRUE(got[i] == data) << "a read that ends cleanly must be whole: " << got[i].size();
    }
  }
  EXPECT_EQ(CatchError([&] { registry().get(location); }).kind(), ErrorKind::kNotFound);
  EXPECT_EQ(backend().leftovers(id), Leftovers{});
}

INSTANTIATE_TEST_SUITE_P(Backends, WriteConformance, ::testing::ValuesIn(writable_backends()),
                         backend_name);

}  // namespace
}  // namespace glance_store::conformance
