// The fault matrix: each cell one fault the fault proxy (tests/tools/fault_proxy.py) puts between
// a store and its server, run on S3 (Swift's s3api and RGW), Swift (tempauth) and, for the read
// cells, HTTP. A cell's outcome is one of: retried (or resumed) and correct; detected and failed
// with a clean error kind and nothing left behind; or not detectable by any client (a flipped
// byte where no checksum covers the bytes read). Never a hang: the stores run with 1 s
// timeouts, and each cell asserts an upper bound on how long it took. The table is in the
// README; docs/testing.md says how to read it.
#include <gtest/gtest.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>

#include "conformance/backend.h"

namespace glance_store::conformance {
namespace {

using test_common::FaultProxy;

// Every store's request timeout at its minimum (1 s), whatever the store.
constexpr const char* kShortTimeouts =
    "s3_store_timeout = 1\nswift_store_timeout = 1\nhttp_store_timeout = 1\n";

class FaultMatrix : public ConformanceTest {
 protected:
  void SetUp() override {
    ConformanceTest::SetUp();
    proxy_ = std::make_unique<FaultProxy>(backend().fault_upstream());
    via_ = backend().registry_via(proxy_->url(), kShortTimeouts);
    ASSERT_TRUE(via_);
  }
  void TearDown() override {
    via_.reset();
    proxy_.reset();
    ConformanceTest::TearDown();
  }

  bool is(const char* name) const { return GetParam().name == name; }

  // One rule on the requests of `method` whose path matches `path_regex` (e.g. an image's id).
  void fault(const std::string& method, const std::string& path_regex, nlohmann::json rule) {
    rule["method"] = method;
    rule["path_regex"] = path_regex;
    if (!rule.contains("times")) rule["times"] = 1;
    proxy_->rules(nlohmann::json::array({rule}));
  }

  static double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }

  std::unique_ptr<FaultProxy> proxy_;
  std::unique_ptr<StoreRegistry> via_;
};

// --- Reads: an image of one S3 single PUT or Swift plain object (its ETag is its md5), read
// whole through the proxy.

class FaultMatrixRead : public FaultMatrix {
 protected:
  void SetUp() override {
    FaultMatrix::SetUp();
    id_ = new_id("fm-read");
    data_ = bytes_of(part() / 2 + 3, 9);
    location_ = backend().place_via(*via_, proxy_->url(), id_, data_);
  }

  struct Outcome {
    std::optional<std::string> data;  ///< the bytes, when the read ended cleanly
    std::optional<Error> error;
    double seconds = 0;
  };
  Outcome read_via(std::uint64_t offset = 0, std::optional<std::uint64_t> length = std::nullopt) {
    Outcome out;
    const auto start = std::chrono::steady_clock::now();
    try {
      GetResult got = via_->get(location_, offset, length);
      out.data = read_all(*got.stream);
    } catch (const Error& e) {
      out.error = e;
    }
    out.seconds = seconds_since(start);
    return out;
  }
  // Retried or resumed, and the very bytes.
  void expect_correct(const Outcome& outcome, double max_seconds) {
    EXPECT_FALSE(outcome.error) << outcome.error->message();
    EXPECT_TRUE(outcome.data == data_) << "the read ended cleanly with other bytes";
    EXPECT_LT(outcome.seconds, max_seconds);
  }
  void expect_failed(const Outcome& outcome, std::initializer_list<ErrorKind> kinds,
                     double max_seconds) {
    ASSERT_TRUE(outcome.error) << "the read ended cleanly";
    bool expected = false;
    for (const ErrorKind kind : kinds) expected = expected || outcome.error->is(kind);
    EXPECT_TRUE(expected) << outcome.error->message();
    EXPECT_LT(outcome.seconds, max_seconds);
  }

  std::string id_;
  std::string data_;
  std::string location_;
};

TEST_P(FaultMatrixRead, AResetAtTheStartOfTheBodyIsRetried) {
  fault("GET", id_, {{"action", "cut_response"}, {"after_bytes", 0}, {"reset", true}});
  expect_correct(read_via(), 5);
  EXPECT_GE(proxy_->count("GET", id_), 2);
}

TEST_P(FaultMatrixRead, AResetInTheMiddleOfTheBodyIsResumed) {
  fault("GET", id_,
        {{"action", "cut_response"}, {"after_bytes", data_.size() / 2}, {"reset", true}});
  expect_correct(read_via(), 5);
  EXPECT_GE(proxy_->count("GET", id_), 2);
}

TEST_P(FaultMatrixRead, AResetBeforeTheLastByteIsResumed) {
  fault("GET", id_,
        {{"action", "cut_response"}, {"after_bytes", data_.size() - 1}, {"reset", true}});
  expect_correct(read_via(), 5);
  EXPECT_GE(proxy_->count("GET", id_), 2);
}

// S3 and Swift send a 5xx again; glance's HTTP store takes any status of 400 and more for a bad
// location, and so do we.
TEST_P(FaultMatrixRead, A5xxBurstIsRetriedExceptOnHttp) {
  fault("GET", id_, {{"action", "status"}, {"status", 503}, {"times", 2}});
  const Outcome outcome = read_via();
  if (is("http")) {
    expect_failed(outcome, {ErrorKind::kBadStoreUri}, 3);
  } else {
    expect_correct(outcome, 8);  // two backoffs
  }
}

// The proxy stops for 6 s in the middle of the body; the 1 s timeout fires first and the read
// resumes from where it stopped.
TEST_P(FaultMatrixRead, AStallInTheMiddleOfTheBodyTimesOutAndResumes) {
  fault("GET", id_,
        {{"action", "stall_response"}, {"after_bytes", data_.size() / 2}, {"seconds", 6}});
  expect_correct(read_via(), 5);
}

// Every answer ends early with a clean FIN, each after a sixteenth of the image: more resumes
// than any store makes (HTTP 5, S3 and Swift their max_retries of 2), so the read fails.
TEST_P(FaultMatrixRead, ABodyTruncatedEveryTimeFails) {
  fault("GET", id_,
        {{"action", "cut_response"}, {"after_bytes", data_.size() / 16}, {"times", nullptr}});
  expect_failed(read_via(), {ErrorKind::kBackendException, ErrorKind::kRemoteServiceUnavailable},
                8);
}

// A whole read of an object whose ETag is its md5 is checked as it streams; HTTP has no
// checksum to check against, so the changed byte goes through.
TEST_P(FaultMatrixRead, AFlippedByteInAWholeReadIsDetectedWhereAnETagCoversIt) {
  fault("GET", id_, {{"action", "flip_response_byte"}, {"offset", data_.size() / 3}});
  const Outcome outcome = read_via();
  if (is("http")) {
    ASSERT_TRUE(outcome.data) << outcome.error->message();
    ASSERT_EQ(outcome.data->size(), data_.size());
    EXPECT_NE(*outcome.data, data_);
    EXPECT_EQ((*outcome.data)[data_.size() / 3], static_cast<char>(data_[data_.size() / 3] ^ 0xFF));
  } else {
    expect_failed(outcome, {ErrorKind::kBackendException}, 3);
  }
}

// No store can check a range: no checksum covers part of an object.
TEST_P(FaultMatrixRead, AFlippedByteInARangeIsNotDetectable) {
  fault("GET", id_, {{"action", "flip_response_byte"}, {"offset", 10}});
  const Outcome outcome = read_via(5, 100);
  ASSERT_TRUE(outcome.data) << outcome.error->message();
  std::string expected = data_.substr(5, 100);
  expected[10] = static_cast<char>(expected[10] ^ 0xFF);
  EXPECT_EQ(*outcome.data, expected);
}

INSTANTIATE_TEST_SUITE_P(Backends, FaultMatrixRead, ::testing::ValuesIn(fault_backends()),
                         backend_name);

// --- Writes: an add of several parts (S3 multipart, Swift segments); the fault hits the
// second PUT of the add, a part or segment. Afterwards the image reads back whole, or the add
// failed and nothing is left.

class FaultMatrixWrite : public FaultMatrix {
 protected:
  struct Outcome {
    std::optional<AddResult> added;
    std::optional<Error> error;
    double seconds = 0;
  };
  Outcome add_via(const std::string& id, const std::string& data) {
    Outcome out;
    const auto start = std::chrono::steady_clock::now();
    try {
      out.added = add_to(*via_, id, data, data.size());
    } catch (const Error& e) {
      out.error = e;
    }
    out.seconds = seconds_since(start);
    return out;
  }
  void expect_correct(const std::string& id, const std::string& data, const Outcome& outcome,
                      double max_seconds) {
    ASSERT_TRUE(outcome.added) << outcome.error->message();
    EXPECT_TRUE(read(outcome.added->location) == data);
    EXPECT_EQ(backend().leftovers(id), std::vector<std::string>{});
    EXPECT_LT(outcome.seconds, max_seconds);
  }
  // The request the fault hit (the first, when it hit more).
  nlohmann::json faulted_entry() {
    for (const auto& entry : proxy_->log()) {
      if (!entry["fault"].is_null()) return entry;
    }
    return nullptr;
  }
  // Part 2, a whole part, by its name (S3's partNumber, Swift's segment number): "the second
  // PUT to arrive" could be the image's short last part, which parts sent in parallel may start
  // earlier, and a fault past that part's end never happens.
  void fault_second_part(const std::string& id, nlohmann::json rule) {
    fault("PUT", id + ".*(partNumber=2&|/00000002$)", std::move(rule));
  }
  std::string parts_image() const { return bytes_of(3 * part() + 11, 12); }
};

TEST_P(FaultMatrixWrite, AResetAtTheStartOfAPartIsRetried) {
  const std::string id = new_id("fm-w-start");
  const std::string data = parts_image();
  fault_second_part(id, {{"action", "cut_request"}, {"after_bytes", 0}, {"reset", true}});
  expect_correct(id, data, add_via(id, data), 10);
  EXPECT_FALSE(faulted_entry().is_null()) << "the fault did not happen";
}

TEST_P(FaultMatrixWrite, AResetInTheMiddleOfAPartIsRetried) {
  const std::string id = new_id("fm-w-mid");
  const std::string data = parts_image();
  fault_second_part(id, {{"action", "cut_request"}, {"after_bytes", part() / 2}, {"reset", true}});
  expect_correct(id, data, add_via(id, data), 10);
  EXPECT_FALSE(faulted_entry().is_null()) << "the fault did not happen";
}

TEST_P(FaultMatrixWrite, AResetBeforeTheLastByteOfAPartIsRetried) {
  const std::string id = new_id("fm-w-end");
  const std::string data = parts_image();
  fault_second_part(id, {{"action", "cut_request"}, {"after_bytes", part() - 1}, {"reset", true}});
  expect_correct(id, data, add_via(id, data), 10);
  EXPECT_FALSE(faulted_entry().is_null()) << "the fault did not happen";
}

TEST_P(FaultMatrixWrite, A5xxBurstOnAPartIsRetried) {
  const std::string id = new_id("fm-w-5xx");
  const std::string data = parts_image();
  fault_second_part(id, {{"action", "status"}, {"status", 503}, {"times", 2}});
  expect_correct(id, data, add_via(id, data), 12);
  EXPECT_FALSE(faulted_entry().is_null()) << "the fault did not happen";
}

// The server refuses the changed part (S3 through its Content-MD5, Swift through the ETag the
// store sends): the part goes again with the bytes of the first try.
TEST_P(FaultMatrixWrite, AFlippedByteInAPartIsRefusedByTheServerAndRetried) {
  const std::string id = new_id("fm-w-flip");
  const std::string data = parts_image();
  fault_second_part(id, {{"action", "flip_request_byte"}, {"offset", 100}});
  expect_correct(id, data, add_via(id, data), 10);
  const nlohmann::json entry = faulted_entry();
  ASSERT_FALSE(entry.is_null()) << "the fault did not happen";
  EXPECT_GE(entry["status"].get<int>(), 400) << "the server took the changed part";
}

TEST_P(FaultMatrixWrite, AStallInAPartTimesOutAndIsRetried) {
  const std::string id = new_id("fm-w-stall");
  const std::string data = parts_image();
  fault_second_part(id, {{"action", "stall_request"}, {"after_bytes", part() / 2}, {"seconds", 8}});
  expect_correct(id, data, add_via(id, data), 7);
  EXPECT_FALSE(faulted_entry().is_null()) << "the fault did not happen";
}

// An image below the part size goes in one PUT streamed from the add's pipeline: its bytes
// cannot be sent again, so a broken PUT fails the add, and nothing is left; the id can be
// added again at once.
TEST_P(FaultMatrixWrite, AResetSinglePutFailsCleanlyAndTheIdStaysFree) {
  const std::string id = new_id("fm-w-single");
  const std::string data = bytes_of(part() / 2 + 1, 13);
  fault("PUT", id, {{"action", "cut_request"}, {"after_bytes", data.size() / 2}, {"reset", true}});
  const Outcome outcome = add_via(id, data);
  ASSERT_TRUE(outcome.error) << "the add succeeded";
  EXPECT_TRUE(outcome.error->is(ErrorKind::kBackendException) ||
              outcome.error->is(ErrorKind::kRemoteServiceUnavailable))
      << outcome.error->message();
  EXPECT_LT(outcome.seconds, 5);
  EXPECT_EQ(backend().leftovers(id), std::vector<std::string>{});
  EXPECT_EQ(CatchError([&] { registry().get(backend().location_of(id)); }).kind(),
            ErrorKind::kNotFound);
  expect_correct(id, data, add_via(id, data), 5);
}

INSTANTIATE_TEST_SUITE_P(Backends, FaultMatrixWrite, ::testing::ValuesIn(writable_fault_backends()),
                         backend_name);

}  // namespace
}  // namespace glance_store::conformance
