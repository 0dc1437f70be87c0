// Reads cut by the fault proxy (tests/tools/fault_proxy.py) between the store and its server,
// on every store with a network in between (S3, Swift, HTTP; not the filesystem, and not RBD,
// whose librados no HTTP proxy can cut): a read resumes with the same bytes, or fails with an
// Error; it never ends cleanly with short data.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "conformance/backend.h"

namespace glance_store::conformance {
namespace {

using test_common::FaultProxy;

class FaultConformance : public ConformanceTest {
 protected:
  void SetUp() override {
    ConformanceTest::SetUp();
    proxy_ = std::make_unique<FaultProxy>(backend().fault_upstream());
    via_ = backend().registry_via(proxy_->url(), "");
    ASSERT_TRUE(via_);
  }
  void TearDown() override {
    via_.reset();
    proxy_.reset();
    ConformanceTest::TearDown();
  }
  // The GETs of `id` (Swift's segments of it too) are cut after `after_bytes`, `times` times
  // (null: every time).
  void cut(const std::string& id, const nlohmann::json& times, std::uint64_t after_bytes) {
    proxy_->rules({{{"method", "GET"},
                    {"path_regex", id},
                    {"times", times},
                    {"action", "cut_response"},
                    {"after_bytes", after_bytes}}});
  }

  std::unique_ptr<FaultProxy> proxy_;
  std::unique_ptr<StoreRegistry> via_;
};

TEST_P(FaultConformance, ACutReadResumesWithTheSameBytes) {
  const std::string id = new_id("cut");
  const std::string data = bytes_of(3 * part() + 11, 5);
  const std::string location = backend().place_via(*via_, proxy_->url(), id, data);
  cut(id, 2, part() / 2);
  GetResult whole = via_->get(location);
  EXPECT_EQ(whole.size, data.size());
  EXPECT_TRUE(read_all(*whole.stream) == data);
  EXPECT_GE(proxy_->count("GET", id), 3) << "the cuts did not happen";
  // A range resumes inside itself.
  cut(id, 1, part() / 4);
  GetResult range = via_->get(location, part() - 3, part());
  EXPECT_EQ(range.size, part());
  EXPECT_TRUE(read_all(*range.stream) == data.substr(part() - 3, part()));
}

TEST_P(FaultConformance, AReadCutEveryTimeFailsInsteadOfEndingShort) {
  const std::string id = new_id("short");
  const std::string data = bytes_of(2 * part() + 1, 6);
  const std::string location = backend().place_via(*via_, proxy_->url(), id, data);
  // Cut every eighth of a part: more cuts than any store resumes (HTTP 5, S3 and Swift their
  // max_retries of 2 for the whole read).
  cut(id, nullptr, part() / 8);
  std::uint64_t delivered = 0;
  const Error e = CatchError([&] {
    GetResult got = via_->get(location);
    std::string buffer(65536, '\0');
    while (const std::size_t n = got.stream->read(std::as_writable_bytes(std::span(buffer)))) {
      delivered += n;
    }
  });
  EXPECT_TRUE(e.is(ErrorKind::kBackendException) || e.is(ErrorKind::kRemoteServiceUnavailable))
      << e.message();
  EXPECT_LT(delivered, data.size());
}

INSTANTIATE_TEST_SUITE_P(Backends, FaultConformance, ::testing::ValuesIn(fault_backends()),
                         backend_name);

}  // namespace
}  // namespace glance_store::conformance
