// glance-store failures: exit codes, the single stderr line, and nothing left behind.
#include <unistd.h>

#include <filesystem>

#include "tool/tool_runner.h"

namespace glance_store::tool_test {
namespace {

namespace fs = std::filesystem;

constexpr std::size_t kMiB = 1 << 20;

using ErrorsTest = ToolTest;

// Replaces "{datadir}" and "{dir}" (the test directory) in `text`.
std::string Expand(std::string text, const std::string& datadir, const std::string& dir) {
  for (const auto& [name, value] : {std::pair{"{datadir}", datadir}, std::pair{"{dir}", dir}}) {
    for (std::size_t at; (at = text.find(name)) != std::string::npos;) {
      text.replace(at, std::string_view(name).size(), value);
    }
  }
  return text;
}

std::vector<std::string> Expand(const std::vector<std::string>& args, const std::string& datadir,
                                const std::string& dir = "") {
  std::vector<std::string> out;
  out.reserve(args.size());
  for (const auto& arg : args) out.push_back(Expand(arg, datadir, dir));
  return out;
}

struct FailureCase : NamedCase {
  std::vector<std::string> args;  // "{datadir}" stands for the store's datadir
  int exit_code;
  const char* kind;
};

// Each case runs against a store that holds one image, "kept", which must survive.
class CommandFailureTest : public ToolTest, public ::testing::WithParamInterface<FailureCase> {};

TEST_P(CommandFailureTest, ExitsWithTheKindsCodeAndOneStderrLine) {
  ASSERT_TRUE(Succeeded(Tool({"add", "--image-id", "kept", "-"}, "kept bytes")));
  EXPECT_TRUE(
      FailedWith(Tool(Expand(GetParam().args, datadir_)), GetParam().exit_code, GetParam().kind));
  EXPECT_EQ(ListDir(datadir_), std::vector<std::string>{"kept"});
  EXPECT_EQ(ReadFile(ImagePath("kept")), "kept bytes");
  EXPECT_TRUE(fs::is_regular_file("/etc/passwd"));
}

INSTANTIATE_TEST_SUITE_P(
    Uris, CommandFailureTest,
    ::testing::Values(
        FailureCase{"GetMissing", {"get", "file://{datadir}/missing"}, 10, "NotFound"},
        FailureCase{"SizeMissing", {"size", "file://{datadir}/missing"}, 10, "NotFound"},
        FailureCase{"DeleteMissing", {"delete", "file://{datadir}/missing"}, 10, "NotFound"},
        FailureCase{"NewlineInUri", {"get", "file://{datadir}/two\nlines"}, 10, "NotFound"},
        FailureCase{"GetEtcPasswd", {"get", "file:///etc/passwd"}, 19, "Forbidden"},
        FailureCase{"DeleteEtcPasswd", {"delete", "file:///etc/passwd"}, 19, "Forbidden"},
        FailureCase{"GetDotDot", {"get", "file://{datadir}/../glance-api.conf"}, 19, "Forbidden"},
        FailureCase{"GetNoSlashes", {"get", "file:x"}, 13, "BadStoreUri"},
        FailureCase{"DeleteNoSlashes", {"delete", "file:x"}, 13, "BadStoreUri"},
        FailureCase{"GetFtp", {"get", "ftp://x/y"}, 14, "UnknownScheme"},
        FailureCase{"SizeFtp", {"size", "ftp://x/y"}, 14, "UnknownScheme"},
        FailureCase{"ParseFtp", {"parse-uri", "ftp://x/y"}, 14, "UnknownScheme"},
        // A store this build has, but not configured here (stores = file): as glance_store.
        FailureCase{"ParseUnconfiguredS3", {"parse-uri", "s3://a:b@h/b/x"}, 14, "UnknownScheme"},
        FailureCase{"ParseUnconfiguredRbd", {"parse-uri", "rbd://f/p/i/s"}, 14, "UnknownScheme"},
        FailureCase{"ParseNoSlashes", {"parse-uri", "file:x"}, 13, "BadStoreUri"},
        FailureCase{"AddDuplicate", {"add", "--image-id", "kept", "/dev/null"}, 11, "Duplicate"},
        FailureCase{"UnknownOption", {"--bogus", "stores"}, 2, "UsageError"},
        FailureCase{"UnknownCommandOption", {"get", "--bogus", "file:///x"}, 2, "UsageError"},
        FailureCase{"NoCommand", {}, 2, "UsageError"},
        FailureCase{"UnknownCommand", {"frobnicate"}, 2, "UsageError"},
        FailureCase{"GetWithoutUri", {"get"}, 2, "UsageError"},
        FailureCase{"SizeNotANumber", {"add", "--size", "abc", "/dev/null"}, 2, "UsageError"},
        // Digests of the wrong form are refused before the source is read.
        FailureCase{"CopyChecksumNotMd5",
                    {"copy", "file:///nowhere/x", "--to", "file", "--checksum", "abc"},
                    2,
                    "UsageError"},
        FailureCase{"VerifyMultihashOfAnotherLength",
                    {"verify", "file:///nowhere/x", "--multihash", std::string(64, 'a')},
                    2,
                    "UsageError"},
        FailureCase{"VerifyWithoutDigests", {"verify", "file:///nowhere/x"}, 2, "UsageError"},
        FailureCase{"VerifyUnknownAlgorithm",
                    {"verify", "file:///nowhere/x", "--checksum", std::string(32, 'a'),
                     "--hash-algo", "crc32"},
                    15,
                    "UnknownHashingAlgo"}),
    CaseName());

TEST_F(ErrorsTest, HelpListsTheExitCodes) {
  const RunResult help = RunTool({"--help"});
  ASSERT_EQ(help.exit_code, 0) << help.err;
  for (const char* line :
       {"  2   usage error: ", "  3   checksum mismatch", "  10  NotFound\n", "  11  Duplicate\n",
        "  12  Invalid\n", "  13  BadStoreUri\n", "  14  UnknownScheme\n",
        "  15  UnknownHashingAlgo\n", "  16  BadStoreConfiguration\n", "  17  StorageFull\n",
        "  18  StorageWriteDenied\n", "  19  Forbidden\n", "  22  StoreAddDisabled\n"}) {
    EXPECT_NE(help.out.find(line), std::string::npos) << line << " not in:\n" << help.out;
  }
}

// Every file the tool cannot open is a usage error giving the path and the reason, whatever
// the path is: missing, a directory, under a file.
struct FileErrorCase : NamedCase {
  std::vector<std::string> args;  // with "{datadir}" and "{dir}"
  const char* message;            // the same
};

class FileErrorTest : public ToolTest, public ::testing::WithParamInterface<FileErrorCase> {};

TEST_P(FileErrorTest, IsAUsageErrorNamingThePathAndTheReason) {
  ASSERT_TRUE(Succeeded(Tool({"add", "--image-id", "kept", "-"}, "kept bytes")));
  WriteFile(Path("a-file"), "a file");
  const RunResult result = Tool(Expand(GetParam().args, datadir_, dir_));
  EXPECT_TRUE(FailedWith(result, 2, "UsageError"));
  EXPECT_NE(result.err.find(Expand(GetParam().message, datadir_, dir_)), std::string::npos)
      << result.err;
  EXPECT_EQ(ListDir(datadir_), std::vector<std::string>{"kept"});
  EXPECT_EQ(ReadFile(Path("a-file")), "a file");
}

INSTANTIATE_TEST_SUITE_P(
    Paths, FileErrorTest,
    ::testing::Values(
        FileErrorCase{"AddMissingFile",
                      {"add", "{dir}/missing.raw"},
                      "cannot open {dir}/missing.raw: No such file or directory"},
        FileErrorCase{"AddDirectory", {"add", "{dir}"}, "cannot open {dir}: Is a directory"},
        FileErrorCase{"AddUnderAFile",
                      {"add", "{dir}/a-file/x"},
                      "cannot open {dir}/a-file/x: Not a directory"},
        FileErrorCase{"GetIntoMissingDirectory",
                      {"get", "file://{datadir}/kept", "-o", "{dir}/missing/x"},
                      "cannot open {dir}/missing/x for writing: No such file or directory"},
        FileErrorCase{"GetOntoDirectory",
                      {"get", "file://{datadir}/kept", "-o", "{dir}"},
                      "cannot open {dir} for writing: Is a directory"},
        FileErrorCase{"GetUnderAFile",
                      {"get", "file://{datadir}/kept", "-o", "{dir}/a-file/x"},
                      "cannot open {dir}/a-file/x for writing: Not a directory"}),
    CaseName());

TEST_F(ErrorsTest, AddFromADirectoryOnStandardInputIsAUsageError) {
  const RunResult result = RunProgram({GLANCE_STORE_BINARY, "--config", config_, "add", "-"},
                                      SpawnOptions{Env(), dir_, std::nullopt});
  EXPECT_TRUE(FailedWith(result, 2, "UsageError"));
  EXPECT_NE(result.err.find("cannot open standard input: Is a directory"), std::string::npos)
      << result.err;
  EXPECT_EQ(ListDir(datadir_), std::vector<std::string>{});
}

// Root reads any file: as root, the tool runs as nobody.
TEST_F(ErrorsTest, AddOfAnUnreadableFileIsAUsageError) {
  const std::string file = WriteFile(Path("secret.raw"), "bytes");
  if (const std::string why = RunToolAsNobody(); !why.empty()) GTEST_SKIP() << why;
  fs::permissions(file, fs::perms::none);
  const RunResult result = Tool({"add", file});
  EXPECT_TRUE(FailedWith(result, 2, "UsageError"));
  EXPECT_NE(result.err.find("cannot open " + file + ": Permission denied"), std::string::npos)
      << result.err;
  EXPECT_EQ(ListDir(datadir_), std::vector<std::string>{});
  // The same user adds the file once it may read it.
  fs::permissions(file, fs::perms::owner_read);
  EXPECT_TRUE(Succeeded(Tool({"add", "--image-id", "secret", file})));
  EXPECT_EQ(ReadFile(ImagePath("secret")), "bytes");
}

// The reason is never cut: the line carries the whole message, however long.
TEST_F(ErrorsTest, LongMessagesArePrintedWhole) {
  fs::create_directories(datadir_);
  const std::string missing = ImagePath(std::string(240, 'm') + "-end");
  const RunResult got = Tool({"get", "file://" + missing});
  EXPECT_TRUE(FailedWith(got, 10, "NotFound"));
  EXPECT_NE(got.err.find(missing), std::string::npos) << got.err;

  const std::string value = std::string(300, '7') + "x";
  const RunResult usage = Tool({"get", "file://" + missing, "--length", value});
  EXPECT_TRUE(FailedWith(usage, 2, "UsageError"));
  EXPECT_NE(usage.err.find("'" + value + "'"), std::string::npos) << usage.err;
  EXPECT_EQ(usage.err.find("..."), std::string::npos) << usage.err;
}

TEST_F(ErrorsTest, SymlinkOutOfTheDatadirIsForbidden) {
  fs::create_directories(datadir_);
  fs::create_symlink("/etc/passwd", ImagePath("link"));
  EXPECT_TRUE(FailedWith(Tool({"get", ImageUri("link")}), 19, "Forbidden"));
  EXPECT_TRUE(FailedWith(Tool({"delete", ImageUri("link")}), 19, "Forbidden"));
  EXPECT_TRUE(fs::is_symlink(ImagePath("link")));
  EXPECT_TRUE(fs::is_regular_file("/etc/passwd"));
}

TEST_F(ErrorsTest, DuplicateKeepsTheOriginalBytes) {
  const std::string original = RandomBytes(kMiB + 3, 1);
  ASSERT_TRUE(Succeeded(Tool({"add", "--image-id", "dup", "-"}, original)));
  const RunResult again = Tool({"add", "--image-id", "dup", "-"}, RandomBytes(2 * kMiB, 2));
  EXPECT_TRUE(FailedWith(again, 11, "Duplicate"));
  EXPECT_TRUE(SameBytes(ReadFile(ImagePath("dup")), original));
  EXPECT_EQ(ListDir(datadir_), std::vector<std::string>{"dup"});
}

// Add failures that must leave the datadir empty: neither the image nor a temporary.
class AddFailureTest : public ToolTest, public ::testing::WithParamInterface<FailureCase> {};

TEST_P(AddFailureTest, LeavesNothingInTheDatadir) {
  const std::string data = RandomBytes(2 * kMiB + 5, 9);
  const RunResult result = Tool(Expand(GetParam().args, datadir_), data);
  EXPECT_TRUE(FailedWith(result, GetParam().exit_code, GetParam().kind));
  EXPECT_EQ(ListDir(datadir_), std::vector<std::string>{});
}

INSTANTIATE_TEST_SUITE_P(
    InvalidImageIds, AddFailureTest,
    ::testing::Values(FailureCase{"Empty", {"add", "--image-id", "", "-"}, 12, "Invalid"},
                      FailureCase{"Dot", {"add", "--image-id", ".", "-"}, 12, "Invalid"},
                      FailureCase{"DotDot", {"add", "--image-id", "..", "-"}, 12, "Invalid"},
                      FailureCase{"Hidden", {"add", "--image-id", ".x", "-"}, 12, "Invalid"},
                      FailureCase{"Slash", {"add", "--image-id", "a/b", "-"}, 12, "Invalid"}),
    CaseName());

INSTANTIATE_TEST_SUITE_P(
    HashAlgos, AddFailureTest,
    ::testing::Values(FailureCase{"Md6",
                                  {"add", "--image-id", "h", "--hash-algo", "md6", "-"},
                                  15,
                                  "UnknownHashingAlgo"},
                      FailureCase{"Crc32",
                                  {"add", "--image-id", "h", "--hash-algo", "crc32", "-"},
                                  15,
                                  "UnknownHashingAlgo"}),
    CaseName());

// The input is 2 MiB + 5 bytes: more than one buffer of the add pipeline.
INSTANTIATE_TEST_SUITE_P(
    DeclaredSizes, AddFailureTest,
    ::testing::Values(
        FailureCase{
            "FarTooSmall", {"add", "--image-id", "s", "--size", "1000", "-"}, 12, "Invalid"},
        FailureCase{"OneByteTooSmall",
                    {"add", "--image-id", "s", "--size", std::to_string(2 * kMiB + 4), "-"},
                    12,
                    "Invalid"},
        FailureCase{"OneByteTooLarge",
                    {"add", "--image-id", "s", "--size", std::to_string(2 * kMiB + 6), "-"},
                    12,
                    "Invalid"},
        FailureCase{"FarTooLarge",
                    {"add", "--image-id", "s", "--size", std::to_string(3 * kMiB), "-"},
                    12,
                    "Invalid"}),
    CaseName());

struct SizeMessageCase : NamedCase {
  std::uint64_t declared;
  const char* message;
};

class SizeMessageTest : public ToolTest, public ::testing::WithParamInterface<SizeMessageCase> {};

TEST_P(SizeMessageTest, SaysWhetherTheDataWasLongerOrShorter) {
  const std::string file = WriteFile(Path("image.raw"), RandomBytes(kMiB + 100, 4));
  const RunResult result =
      Tool({"add", "--image-id", "s", "--size", std::to_string(GetParam().declared), file});
  EXPECT_TRUE(FailedWith(result, 12, "Invalid"));
  EXPECT_NE(result.err.find(GetParam().message), std::string::npos) << result.err;
  EXPECT_EQ(ListDir(datadir_), std::vector<std::string>{});
}

INSTANTIATE_TEST_SUITE_P(
    Sizes, SizeMessageTest,
    ::testing::Values(SizeMessageCase{"FarTooSmall", 100, "Size exceeds"},
                      SizeMessageCase{"OneByteTooSmall", kMiB + 99, "Size exceeds"},
                      SizeMessageCase{"OneByteTooLarge", kMiB + 101, "Size mismatch"},
                      SizeMessageCase{"FarTooLarge", 4 * kMiB, "Size mismatch"}),
    CaseName());

struct BadOptionCase : NamedCase {
  const char* option;
  const char* value;
};

class BadOptionTest : public ToolTest, public ::testing::WithParamInterface<BadOptionCase> {};

TEST_P(BadOptionTest, FailsEveryCommandNamingTheOption) {
  config_ = WriteConfig("bad.conf", LegacyConfig(datadir_, std::string(GetParam().option) + " = " +
                                                               GetParam().value + "\n"));
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"stores"}, {"add", "--image-id", "x", "-"}, {"get", ImageUri("x")}}) {
    const RunResult result = Tool(args, "data");
    EXPECT_TRUE(FailedWith(result, 16, "BadStoreConfiguration")) << args.front();
    EXPECT_NE(result.err.find(GetParam().option), std::string::npos) << result.err;
  }
  EXPECT_EQ(ListDir(datadir_), std::vector<std::string>{});
}

INSTANTIATE_TEST_SUITE_P(
    Values, BadOptionTest,
    ::testing::Values(BadOptionCase{"ChunkSizeZero", "filesystem_store_chunk_size", "0"},
                      BadOptionCase{"ChunkSizeText", "filesystem_store_chunk_size", "abc"},
                      BadOptionCase{"ChunkSizeNegative", "filesystem_store_chunk_size", "-1"},
                      BadOptionCase{"PoolSizeZero", "filesystem_store_thread_pool_size", "0"},
                      BadOptionCase{"TimeoutNegative", "filesystem_store_timeout", "-3"},
                      BadOptionCase{"ThinNotABool", "filesystem_thin_provisioning", "maybe"}),
    CaseName());

TEST_F(ErrorsTest, StoreWithFailedAddConfigurationStillReads) {
  const std::string data = RandomBytes(kMiB + 1, 8);
  ASSERT_TRUE(Succeeded(Tool({"add", "--image-id", "before", "-"}, data)));
  config_ = WriteConfig("perm.conf", LegacyConfig(datadir_, "filesystem_store_file_perm = 7\n"));

  EXPECT_TRUE(FailedWith(Tool({"add", "--image-id", "after", "-"}, "x"), 22, "StoreAddDisabled"));
  EXPECT_FALSE(fs::exists(ImagePath("after")));
  const RunResult got = Tool({"get", ImageUri("before")});
  ASSERT_TRUE(Succeeded(got));
  EXPECT_TRUE(SameBytes(got.out, data));
  const RunResult size = Tool({"size", ImageUri("before")});
  ASSERT_TRUE(Succeeded(size));
  EXPECT_EQ(size.out, std::to_string(data.size()) + "\n");

  Json stores;
  ASSERT_TRUE(SucceededWithJson(Tool({"stores"}), &stores));
  ASSERT_EQ(stores.size(), 1u) << stores.dump();
  EXPECT_EQ(stores[0].value("add_enabled", true), false);
  EXPECT_NE(stores[0].value("add_disabled_reason", "").find("filesystem_store_file_perm"),
            std::string::npos)
      << stores.dump();
}

}  // namespace
}  // namespace glance_store::tool_test
