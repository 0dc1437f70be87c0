// glance-store's numbers: --size, --offset and --length are decimal digits within 64 bits, and
// an --offset past the end of the image is a usage error.
#include <filesystem>

#include "common/server_test_util.h"
#include "tool/tool_runner.h"

namespace glance_store::tool_test {
namespace {

namespace fs = std::filesystem;
using test_common::random_id;
using test_common::server_setting;

constexpr std::uint64_t kImageSize = (1 << 20) + 300;

class NumbersTest : public ToolTest {
 protected:
  void SetUp() override {
    ToolTest::SetUp();
    data_ = RandomBytes(kImageSize, 31);
    ASSERT_TRUE(Succeeded(Tool({"add", "--image-id", "img", "-"}, data_)));
    fs::create_directory(Path("out"));
  }
  std::string data_;
};

struct BadNumberCase : NamedCase {
  const char* value;
};

class BadNumberTest : public NumbersTest, public ::testing::WithParamInterface<BadNumberCase> {};

// Each value as its own argument, as a user types it ("-1" included: CLI11 reads it as the
// option's value), and as --option=value (but the empty one, which CLI11 reads as no value).
TEST_P(BadNumberTest, IsAUsageErrorNamingTheOption) {
  const std::string value = GetParam().value;
  std::vector<std::pair<std::string, std::vector<std::string>>> spellings;  // option, arguments
  const auto joined = [&](const std::string& option) { return option + "=" + value; };
  for (const std::string& option : {std::string("--offset"), std::string("--length")}) {
    spellings.push_back({option, {"get", ImageUri("img"), option, value, "-o", Path("out/x")}});
    if (!value.empty()) spellings.push_back({option, {"get", ImageUri("img"), joined(option)}});
  }
  spellings.push_back({"--size", {"add", "--image-id", "sized", "--size", value, "-"}});
  if (!value.empty()) {
    spellings.push_back({"--size", {"add", "--image-id", "sized", joined("--size"), "-"}});
  }
  for (const auto& [option, args] : spellings) {
    const RunResult result = Tool(args, "data");
    EXPECT_TRUE(FailedWith(result, 2, "UsageError")) << option;
    EXPECT_NE(result.err.find(option + " must be a decimal number"), std::string::npos)
        << result.err;
  }
  EXPECT_EQ(ListDir(datadir_), std::vector<std::string>{"img"}) << "--size -1 was StorageFull";
  EXPECT_EQ(ListDir(Path("out")), std::vector<std::string>{});
}

INSTANTIATE_TEST_SUITE_P(
    Values, BadNumberTest,
    ::testing::Values(BadNumberCase{"MinusOne", "-1"}, BadNumberCase{"MinusZero", "-0"},
                      BadNumberCase{"Plus", "+5"}, BadNumberCase{"Hex", "0x10"},
                      BadNumberCase{"Binary", "0b1"}, BadNumberCase{"Octal", "0o7"},
                      BadNumberCase{"Exponent", "1e3"}, BadNumberCase{"Fraction", "1.5"},
                      BadNumberCase{"Separator", "1_000"}, BadNumberCase{"Quote", "1'000"},
                      BadNumberCase{"LeadingSpace", " 5"}, BadNumberCase{"TrailingSpace", "5 "},
                      BadNumberCase{"Empty", ""}, BadNumberCase{"Word", "ten"},
                      BadNumberCase{"TwoToThe64", "18446744073709551616"},
                      BadNumberCase{"FarPast64Bits", "99999999999999999999999999"}),
    CaseName());

TEST_F(NumbersTest, LeadingZerosAreDecimal) {
  const RunResult got = Tool({"get", ImageUri("img"), "--offset", "010", "--length", "0020"});
  ASSERT_TRUE(Succeeded(got));
  EXPECT_TRUE(SameBytes(got.out, data_.substr(10, 20)));
}

TEST_F(NumbersTest, TheLargestLengthReadsToTheEnd) {
  const RunResult got =
      Tool({"get", ImageUri("img"), "--offset", "16", "--length", "18446744073709551615"});
  ASSERT_TRUE(Succeeded(got));
  EXPECT_TRUE(SameBytes(got.out, data_.substr(16)));
}

TEST_F(NumbersTest, OffsetAtTheEndReadsNothing) {
  const RunResult got = Tool({"get", ImageUri("img"), "--offset", std::to_string(kImageSize)});
  ASSERT_TRUE(Succeeded(got));
  EXPECT_EQ(got.out, "");
  ASSERT_TRUE(Succeeded(Tool({"get", ImageUri("img"), "--offset", std::to_string(kImageSize),
                              "--length", "10", "-o", Path("out/empty")})));
  EXPECT_EQ(ReadFile(Path("out/empty")), "");
}

struct PastTheEndCase : NamedCase {
  std::uint64_t image_size;
  std::string offset;
};

class OffsetPastTheEndTest : public ToolTest,
                             public ::testing::WithParamInterface<PastTheEndCase> {};

TEST_P(OffsetPastTheEndTest, IsAUsageErrorNamingTheOffset) {
  ASSERT_TRUE(
      Succeeded(Tool({"add", "--image-id", "img", "-"}, RandomBytes(GetParam().image_size, 32))));
  fs::create_directory(Path("out"));
  const RunResult got = Tool({"get", ImageUri("img"), "--offset", GetParam().offset, "--length",
                              "10", "-o", Path("out/x")});
  EXPECT_TRUE(FailedWith(got, 2, "UsageError"));
  EXPECT_NE(got.err.find("--offset " + GetParam().offset + " is past the end of the image (" +
                         std::to_string(GetParam().image_size) + " bytes)"),
            std::string::npos)
      << got.err;
  EXPECT_EQ(ListDir(Path("out")), std::vector<std::string>{}) << "no output file";
  const RunResult to_stdout = Tool({"get", ImageUri("img"), "--offset", GetParam().offset});
  EXPECT_TRUE(FailedWith(to_stdout, 2, "UsageError"));
}

INSTANTIATE_TEST_SUITE_P(
    Offsets, OffsetPastTheEndTest,
    ::testing::Values(PastTheEndCase{{"OneByte"}, kImageSize, std::to_string(kImageSize + 1)},
                      PastTheEndCase{{"Far"}, kImageSize, std::to_string(kImageSize + 5000)},
                      PastTheEndCase{{"Largest"}, kImageSize, "18446744073709551615"},
                      PastTheEndCase{{"EmptyImage"}, 0, "1"}),
    CaseName());

// The same on stores that answer a range past the end with a 416 (nginx, RGW): the tool asks
// for the size only then.
class RemoteOffsetTest : public ToolTest {
 protected:
  void TearDown() override {
    std::error_code ec;
    if (!served_.empty()) fs::remove(served_, ec);
    ToolTest::TearDown();
  }

  // The image's whole bytes, then reads at, past and before its end.
  void ExpectOffsetsChecked(const std::string& uri, const std::string& data) const {
    const std::string size = std::to_string(data.size());
    const RunResult at_end = Tool({"get", uri, "--offset", size});
    ASSERT_TRUE(Succeeded(at_end));
    EXPECT_EQ(at_end.out, "");
    const RunResult past = Tool({"get", uri, "--offset", std::to_string(data.size() + 1)});
    EXPECT_TRUE(FailedWith(past, 2, "UsageError"));
    EXPECT_NE(past.err.find("is past the end of the image (" + size + " bytes)"), std::string::npos)
        << past.err;
    const RunResult tail = Tool({"get", uri, "--offset", std::to_string(data.size() - 7)});
    ASSERT_TRUE(Succeeded(tail));
    EXPECT_TRUE(SameBytes(tail.out, data.substr(data.size() - 7)));
  }

  std::string served_;  // a file put under nginx's root, removed by TearDown
};

TEST_F(RemoteOffsetTest, HttpStore) {
  const std::string root = server_setting("http-origin", "GS_HTTP_ROOT");
  ASSERT_FALSE(root.empty());
  const std::string name = random_id("gs-offset-") + ".raw";
  const std::string data = RandomBytes(100000, 33);
  served_ = WriteFile(root + "/" + name, data);
  config_ = WriteConfig("http.conf", "[glance_store]\nstores = http\ndefault_store = http\n");
  ExpectOffsetsChecked(server_setting("http-origin", "GS_HTTP_URL") + "/images/" + name, data);
}

TEST_F(RemoteOffsetTest, S3Store) {
  const std::string endpoint = server_setting("ceph-rgw", "GS_RGW_ENDPOINT");
  ASSERT_FALSE(endpoint.empty());
  config_ = WriteConfig(
      "s3.conf", "[glance_store]\nstores = s3\ndefault_store = s3\ns3_store_host = " + endpoint +
                     "\ns3_store_access_key = " + server_setting("ceph-rgw", "GS_RGW_ACCESS_KEY") +
                     "\ns3_store_secret_key = " + server_setting("ceph-rgw", "GS_RGW_SECRET_KEY") +
                     "\ns3_store_region_name = " + server_setting("ceph-rgw", "GS_RGW_REGION") +
                     "\ns3_store_bucket = " + random_id("gs-offset-") +
                     "\ns3_store_create_bucket_on_put = True\ns3_store_bucket_url_format = path\n");
  const std::string data = RandomBytes(100000, 34);
  Json added;
  ASSERT_TRUE(SucceededWithJson(
      Tool({"add", "--image-id", "offsets", "--show-credentials", "-"}, data), &added));
  const std::string location = added.value("location", "");
  ExpectOffsetsChecked(location, data);
  EXPECT_TRUE(Succeeded(Tool({"delete", location})));
}

}  // namespace
}  // namespace glance_store::tool_test
