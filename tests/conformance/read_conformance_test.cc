// What every store's reads do, the read-only HTTP store included: whole images at the edges of
// a part, ranges at the edges of the image, offsets past its end, and NotFound.
#include <gtest/gtest.h>

#include <string>

#include "conformance/backend.h"

namespace glance_store::conformance {
namespace {

using ReadConformance = ConformanceTest;

// On http: HT-01 and HT-02 (a whole get, and its size).
TEST_P(ReadConformance, WholeImagesAtThePartEdges) {
  for (const std::uint64_t size :
       {std::uint64_t{0}, std::uint64_t{1}, part() - 1, part(), part() + 1, 3 * part() + 7}) {
    SCOPED_TRACE(size);
    const std::string data = bytes_of(size, size + 1);
    const std::string location = place("whole", data);
    EXPECT_EQ(registry().get_size(location), size);
    GetResult got = registry().get(location);
    EXPECT_TRUE(got.size_known);
    EXPECT_EQ(got.size, size);
    // (Not EXPECT_EQ: its diff of MiB-long strings takes minutes.)
    EXPECT_TRUE(read_all(*got.stream) == data);
  }
}

// A range is the bytes it names, cut at the end of the image; an offset at or past the end
// gives no bytes (not an error: what the library does today, on every store).
TEST_P(ReadConformance, RangesAtTheEdges) {
  const std::string data = bytes_of(2 * part() + 5, 2);
  const std::uint64_t n = data.size();
  const std::string location = place("range", data);
  EXPECT_EQ(read(location, 0, 1), data.substr(0, 1));
  EXPECT_EQ(read(location, n - 1, 1), data.substr(n - 1));
  EXPECT_EQ(read(location, n - 1), data.substr(n - 1));
  EXPECT_EQ(read(location, part() - 1, 2), data.substr(part() - 1, 2));  // across a part
  EXPECT_TRUE(read(location, 5, n - 5) == data.substr(5));               // exactly to the end
  EXPECT_EQ(read(location, n - 10, 1000), data.substr(n - 10));          // clamped
  EXPECT_TRUE(read(location, 0, n + 1) == data);
  EXPECT_EQ(read(location, n), "");
  EXPECT_EQ(read(location, n, 10), "");
  EXPECT_EQ(read(location, n + 1000), "");
}

TEST_P(ReadConformance, AMissingImageIsNotFound) {
  const std::string location = backend().location_of(new_id("missing"));
  EXPECT_EQ(CatchError([&] { registry().get(location); }).kind(), ErrorKind::kNotFound);
  EXPECT_EQ(CatchError([&] { registry().get_size(location); }).kind(), ErrorKind::kNotFound);
}

INSTANTIATE_TEST_SUITE_P(Backends, ReadConformance, ::testing::ValuesIn(all_backends()),
                         backend_name);

}  // namespace
}  // namespace glance_store::conformance
