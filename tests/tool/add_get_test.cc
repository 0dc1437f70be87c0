// glance-store add / get / size / delete round trips on a legacy filesystem store.
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <regex>
#include <thread>

#include "tool/tool_runner.h"

namespace glance_store::tool_test {
namespace {

namespace fs = std::filesystem;

constexpr std::size_t kMiB = 1 << 20;

class AddGetTest : public ToolTest {
 protected:
  // Checks an add's JSON against the image `data` (also written to `data_file` for the digest
  // programs), then reads the image back with `get` and `size`.
  void ExpectStored(const Json& added, const std::string& id, const std::string& data,
                    const std::string& data_file) const {
    EXPECT_EQ(added.size(), 6u) << added.dump();
    EXPECT_EQ(added.value("location", ""), ImageUri(id));
    EXPECT_EQ(added.value("size", std::uint64_t{1} << 63), data.size());
    EXPECT_EQ(added.value("checksum", ""), Digest("md5sum", data_file));
    EXPECT_EQ(added.value("multihash", ""), Digest("sha512sum", data_file));
    EXPECT_EQ(added.value("hash_algo", ""), "sha512");
    EXPECT_EQ(added.value("metadata", Json()), Json::object());
    EXPECT_TRUE(SameBytes(ReadFile(ImagePath(id)), data));

    const RunResult got = Tool({"get", ImageUri(id)});
    ASSERT_TRUE(Succeeded(got));
    EXPECT_TRUE(SameBytes(got.out, data));
    const RunResult size = Tool({"size", ImageUri(id)});
    ASSERT_TRUE(Succeeded(size));
    EXPECT_EQ(size.out, std::to_string(data.size()) + "\n");
    EXPECT_EQ(ListDir(datadir_), std::vector<std::string>{id}) << "only the image is left";
  }
};

class FileRoundTripTest : public AddGetTest, public ::testing::WithParamInterface<std::size_t> {};

TEST_P(FileRoundTripTest, AddThenGetGivesBackTheFile) {
  const std::string data = RandomBytes(GetParam(), 42);
  const std::string file = WriteFile(Path("image.raw"), data);
  Json added;
  ASSERT_TRUE(SucceededWithJson(Tool({"add", "--image-id", "img-1", file}), &added));
  ExpectStored(added, "img-1", data, file);
}

INSTANTIATE_TEST_SUITE_P(Sizes, FileRoundTripTest, ::testing::Values(5 * kMiB, 0, 1, kMiB + 1),
                         [](const auto& info) { return "Bytes" + std::to_string(info.param); });

struct StdinCase : NamedCase {
  bool declare_size;
  bool dash;  // "-" as FILE, else no FILE argument at all
};

class StdinRoundTripTest : public AddGetTest, public ::testing::WithParamInterface<StdinCase> {};

TEST_P(StdinRoundTripTest, AddFromStandardInputThenGet) {
  const std::string data = RandomBytes(3 * kMiB + 123, 7);
  const std::string file = WriteFile(Path("stdin.raw"), data);
  std::vector<std::string> args{"add", "--image-id", "from-stdin"};
  if (GetParam().declare_size) {
    args.insert(args.end(), {"--size", std::to_string(data.size())});
  }
  if (GetParam().dash) args.push_back("-");
  Json added;
  ASSERT_TRUE(SucceededWithJson(Tool(args, data), &added));
  ExpectStored(added, "from-stdin", data, file);
}

INSTANTIATE_TEST_SUITE_P(Inputs, StdinRoundTripTest,
                         ::testing::Values(StdinCase{"UnknownSize", false, true},
                                           StdinCase{"DeclaredSize", true, true},
                                           StdinCase{"NoFileArgument", false, false}),
                         CaseName());

TEST_F(AddGetTest, EmptyStandardInputMakesAnEmptyImage) {
  const std::string file = WriteFile(Path("empty.raw"), "");
  Json added;
  ASSERT_TRUE(SucceededWithJson(Tool({"add", "--image-id", "empty", "-"}), &added));
  ExpectStored(added, "empty", "", file);
}

struct HashCase : NamedCase {  // name: the algorithm
  const char* program;
};

class HashAlgoTest : public ToolTest, public ::testing::WithParamInterface<HashCase> {};

TEST_P(HashAlgoTest, MultihashIsWhatTheDigestProgramPrints) {
  const std::string file = WriteFile(Path("image.raw"), RandomBytes(kMiB + 77, 3));
  Json added;
  ASSERT_TRUE(SucceededWithJson(
      Tool({"add", "--image-id", "hashed", "--hash-algo", GetParam().name, file}), &added));
  EXPECT_EQ(added.value("hash_algo", ""), GetParam().name);
  EXPECT_EQ(added.value("multihash", ""), Digest(GetParam().program, file));
  EXPECT_EQ(added.value("checksum", ""), Digest("md5sum", file));
}

INSTANTIATE_TEST_SUITE_P(Algorithms, HashAlgoTest,
                         ::testing::Values(HashCase{"sha256", "sha256sum"},
                                           HashCase{"sha1", "sha1sum"},
                                           HashCase{"sha384", "sha384sum"},
                                           HashCase{"md5", "md5sum"}),
                         CaseName());

TEST_F(AddGetTest, WithoutImageIdANewUuidIsUsed) {
  const std::string file = WriteFile(Path("image.raw"), "some bytes");
  const std::regex uuid_location("file://" + datadir_ +
                                 "/[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-"
                                 "[0-9a-f]{12}");
  std::vector<std::string> locations;
  for (int i = 0; i < 2; ++i) {
    Json added;
    ASSERT_TRUE(SucceededWithJson(Tool({"add", file}), &added));
    locations.push_back(added.value("location", ""));
    EXPECT_TRUE(std::regex_match(locations.back(), uuid_location)) << locations.back();
    EXPECT_EQ(ReadFile(locations.back().substr(7)), "some bytes");
  }
  EXPECT_NE(locations[0], locations[1]);
}

struct DefaultDatadirCase : NamedCase {
  std::optional<std::string> xdg_data_home;  // relative to the test directory; nullopt: unset
  const char* datadir;                       // relative to the test directory
};

class DefaultConfigTest : public ToolTest,
                          public ::testing::WithParamInterface<DefaultDatadirCase> {};

TEST_P(DefaultConfigTest, BuiltInStoreCreatesItsDatadirOnFirstUse) {
  const auto& xdg = GetParam().xdg_data_home;
  if (!xdg) {
    env_.erase("XDG_DATA_HOME");
  } else {
    env_["XDG_DATA_HOME"] = xdg->empty() ? "" : Path(*xdg);
  }
  const std::string datadir = Path(GetParam().datadir);
  ASSERT_FALSE(fs::exists(datadir));
  const std::string file = WriteFile(Path("image.raw"), "default store bytes");
  Json added;
  ASSERT_TRUE(SucceededWithJson(RunTool({"add", "--image-id", "def", file}), &added));
  EXPECT_TRUE(fs::is_directory(datadir));
  EXPECT_EQ(added.value("location", ""), "file://" + datadir + "/def");
  EXPECT_EQ(ReadFile(datadir + "/def"), "default store bytes");
  const RunResult got = RunTool({"get", "file://" + datadir + "/def"});
  ASSERT_TRUE(Succeeded(got));
  EXPECT_EQ(got.out, "default store bytes");
  EXPECT_FALSE(fs::exists(datadir_)) << "the test configuration was not used";
}

INSTANTIATE_TEST_SUITE_P(
    Environments, DefaultConfigTest,
    ::testing::Values(
        DefaultDatadirCase{"XdgDataHome", "xdg", "xdg/glance-store/images"},
        DefaultDatadirCase{"EmptyXdgDataHome", "", "home/.local/share/glance-store/images"},
        DefaultDatadirCase{"NoXdgDataHome", std::nullopt, "home/.local/share/glance-store/images"}),
    CaseName());

TEST_F(AddGetTest, ConfigComesFromTheEnvironmentUnlessGivenOnTheCommandLine) {
  env_["GLANCE_STORE_CONFIG"] = config_;
  const std::string file = WriteFile(Path("image.raw"), "bytes");
  Json added;
  ASSERT_TRUE(SucceededWithJson(RunTool({"add", "--image-id", "env", file}), &added));
  EXPECT_EQ(added.value("location", ""), ImageUri("env"));

  const std::string other = WriteConfig("other.conf", LegacyConfig(Path("other")));
  ASSERT_TRUE(
      SucceededWithJson(RunTool({"--config", other, "add", "--image-id", "cli", file}), &added));
  EXPECT_EQ(added.value("location", ""), "file://" + Path("other/cli"));
  EXPECT_FALSE(fs::exists(Path("xdg")));
}

TEST_F(AddGetTest, DeleteRemovesTheImage) {
  const std::string file = WriteFile(Path("image.raw"), "to be deleted");
  ASSERT_TRUE(Succeeded(Tool({"add", "--image-id", "doomed", file})));
  const RunResult deleted = Tool({"delete", ImageUri("doomed")});
  ASSERT_TRUE(Succeeded(deleted));
  EXPECT_EQ(deleted.out, "");
  EXPECT_FALSE(fs::exists(ImagePath("doomed")));
  EXPECT_TRUE(FailedWith(Tool({"get", ImageUri("doomed")}), 10, "NotFound"));
}

struct RangeCase : NamedCase {
  std::optional<std::uint64_t> offset;
  std::optional<std::uint64_t> length;
};

constexpr std::uint64_t kRangeImageSize = kMiB + 300;

class RangeTest : public ToolTest, public ::testing::WithParamInterface<RangeCase> {};

TEST_P(RangeTest, GetReturnsTheRequestedSlice) {
  const std::string data = RandomBytes(kRangeImageSize, 11);
  ASSERT_TRUE(Succeeded(Tool({"add", "--image-id", "ranged", "-"}, data)));
  std::vector<std::string> args{"get", ImageUri("ranged")};
  if (GetParam().offset) args.insert(args.end(), {"--offset", std::to_string(*GetParam().offset)});
  if (GetParam().length) args.insert(args.end(), {"--length", std::to_string(*GetParam().length)});
  const RunResult got = Tool(args);
  ASSERT_TRUE(Succeeded(got));
  const std::size_t begin = std::min<std::size_t>(GetParam().offset.value_or(0), data.size());
  EXPECT_TRUE(SameBytes(got.out, data.substr(begin, GetParam().length.value_or(data.size()))));
}

INSTANTIATE_TEST_SUITE_P(Ranges, RangeTest,
                         ::testing::Values(RangeCase{"Whole", std::nullopt, std::nullopt},
                                           RangeCase{"OffsetOnly", 1000, std::nullopt},
                                           RangeCase{"LengthOnly", std::nullopt, 4096},
                                           RangeCase{"OffsetAndLength", 12345, 100000},
                                           RangeCase{"LengthPastTheEnd", kRangeImageSize - 10, 100},
                                           RangeCase{"OffsetAtTheEnd", kRangeImageSize,
                                                     std::nullopt}),
                         CaseName());

class OutputFileTest : public ToolTest {
 protected:
  void SetUp() override {
    ToolTest::SetUp();
    data_ = RandomBytes(2 * kMiB + 9, 5);
    ASSERT_TRUE(Succeeded(Tool({"add", "--image-id", "out", "-"}, data_)));
    fs::create_directory(Path("out"));
  }
  std::string data_;
};

TEST_F(OutputFileTest, WritesANewFile) {
  const std::string target = Path("out/image.raw");
  const RunResult got = Tool({"get", ImageUri("out"), "-o", target});
  ASSERT_TRUE(Succeeded(got));
  EXPECT_EQ(got.out, "");
  EXPECT_TRUE(SameBytes(ReadFile(target), data_));
  EXPECT_EQ(ListDir(Path("out")), std::vector<std::string>{"image.raw"});
}

TEST_F(OutputFileTest, ReplacesAnExistingFileByRenaming) {
  const std::string target = WriteFile(Path("out/image.raw"), "old contents");
  fs::create_hard_link(target, Path("out/link"));
  ASSERT_TRUE(Succeeded(Tool({"get", ImageUri("out"), "--output", target})));
  EXPECT_TRUE(SameBytes(ReadFile(target), data_));
  EXPECT_EQ(ReadFile(Path("out/link")), "old contents")
      << "the file must be replaced, not rewritten";
  EXPECT_EQ(ListDir(Path("out")), (std::vector<std::string>{"image.raw", "link"}));
}

TEST_F(OutputFileTest, FailedGetCreatesNoFile) {
  const std::string target = Path("out/image.raw");
  EXPECT_TRUE(FailedWith(Tool({"get", ImageUri("missing"), "-o", target}), 10, "NotFound"));
  EXPECT_EQ(ListDir(Path("out")), std::vector<std::string>{});
}

TEST_F(OutputFileTest, DevNullIsWrittenInPlace) {
  const RunResult got = Tool({"get", ImageUri("out"), "-o", "/dev/null"});
  ASSERT_TRUE(Succeeded(got));
  EXPECT_EQ(got.out, "");
  EXPECT_TRUE(fs::is_character_file("/dev/null"));
}

TEST_F(OutputFileTest, APipeIsWrittenInPlace) {
  const std::string fifo = Path("out/fifo");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  std::string received;
  std::thread reader([&] { received = ReadFile(fifo); });
  const RunResult got = Tool({"get", ImageUri("out"), "-o", fifo});
  reader.join();
  ASSERT_TRUE(Succeeded(got));
  EXPECT_TRUE(SameBytes(received, data_));
  EXPECT_TRUE(fs::is_fifo(fifo));
  EXPECT_EQ(ListDir(Path("out")), std::vector<std::string>{"fifo"});
}

TEST_F(OutputFileTest, RightChecksumWritesTheFile) {
  const std::string target = Path("out/image.raw");
  const std::string md5 = Digest("md5sum", WriteFile(Path("expected.raw"), data_));
  ASSERT_TRUE(Succeeded(Tool({"get", ImageUri("out"), "-o", target, "--checksum", md5})));
  EXPECT_TRUE(SameBytes(ReadFile(target), data_));
}

TEST_F(OutputFileTest, WrongChecksumExits3AndCreatesNoFile) {
  const std::string target = Path("out/image.raw");
  const RunResult got = Tool(
      {"get", ImageUri("out"), "-o", target, "--checksum", "0123456789abcdef0123456789abcdef"});
  EXPECT_TRUE(FailedWith(got, 3, "ChecksumMismatch"));
  EXPECT_EQ(ListDir(Path("out")), std::vector<std::string>{});
}

TEST_F(OutputFileTest, WrongChecksumLeavesAnExistingFileAlone) {
  const std::string target = WriteFile(Path("out/image.raw"), "keep me");
  const RunResult got = Tool({"get", ImageUri("out"), "-o", target, "--checksum", "00"});
  EXPECT_TRUE(FailedWith(got, 3, "ChecksumMismatch"));
  EXPECT_EQ(ReadFile(target), "keep me");
  EXPECT_EQ(ListDir(Path("out")), std::vector<std::string>{"image.raw"});
}

}  // namespace
}  // namespace glance_store::tool_test
