// glance-store get -o: never into a store's datadir, the same usage error for every output that
// cannot be created, and a replaced file keeps its mode.
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "tool/tool_runner.h"

namespace glance_store::tool_test {
namespace {

namespace fs = std::filesystem;

constexpr std::size_t kMiB = 1 << 20;

// Replaces each "{datadir}" and "{dir}" (the test directory) in `text`.
std::string Expand(std::string text, const std::string& datadir, const std::string& dir) {
  for (const auto& [name, value] : {std::pair{"{datadir}", datadir}, std::pair{"{dir}", dir}}) {
    for (std::size_t at; (at = text.find(name)) != std::string::npos;) {
      text.replace(at, std::string_view(name).size(), value);
    }
  }
  return text;
}

unsigned ModeOf(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

// A legacy store holding "read" (the image each get reads) and "other", and around it the
// symlinks an output may come through.
class GetOutputTest : public ToolTest {
 protected:
  void SetUp() override {
    ToolTest::SetUp();
    data_ = RandomBytes(kMiB + 17, 21);
    ASSERT_TRUE(Succeeded(Tool({"add", "--image-id", "read", "-"}, data_)));
    ASSERT_TRUE(Succeeded(Tool({"add", "--image-id", "other", "-"}, "other image")));
    fs::create_directory(Path("out"));
    fs::create_directory_symlink(datadir_, Path("to-images"));
    fs::create_symlink(ImagePath("other"), Path("out/alias"));
    fs::create_symlink("../images/other", Path("out/relative-alias"));
    fs::create_symlink(Path("out/alias"), Path("out/chain"));
    fs::create_symlink(ImagePath("new"), Path("out/dangling"));
  }

  // The store, its images and the symlinks are as SetUp left them.
  void ExpectUntouched() const {
    EXPECT_EQ(ListDir(datadir_), (std::vector<std::string>{"other", "read"}));
    EXPECT_TRUE(SameBytes(ReadFile(ImagePath("read")), data_));
    EXPECT_EQ(ReadFile(ImagePath("other")), "other image");
    EXPECT_EQ(ListDir(Path("out")),
              (std::vector<std::string>{"alias", "chain", "dangling", "relative-alias"}));
    for (const char* link : {"out/alias", "out/relative-alias", "out/chain", "out/dangling"}) {
      EXPECT_TRUE(fs::is_symlink(Path(link))) << link;
    }
  }

  std::string data_;
};

struct OutputCase : NamedCase {
  const char* output;  // with {datadir} and {dir}
};

class OutputInsideDatadirTest : public GetOutputTest,
                                public ::testing::WithParamInterface<OutputCase> {};

TEST_P(OutputInsideDatadirTest, IsAUsageErrorNamingTheDatadir) {
  const std::string output = Expand(GetParam().output, datadir_, dir_);
  const RunResult got = Tool({"get", ImageUri("read"), "-o", output});
  EXPECT_TRUE(FailedWith(got, 2, "UsageError"));
  EXPECT_NE(got.err.find("datadir " + datadir_), std::string::npos) << got.err;
  ExpectUntouched();
}

INSTANTIATE_TEST_SUITE_P(
    Outputs, OutputInsideDatadirTest,
    ::testing::Values(OutputCase{"AnotherImage", "{datadir}/other"},
                      OutputCase{"TheImageBeingRead", "{datadir}/read"},
                      OutputCase{"ANewFile", "{datadir}/new"},
                      OutputCase{"TheDatadirItself", "{datadir}"},
                      OutputCase{"TheDatadirWithASlash", "{datadir}/"},
                      OutputCase{"ThroughDotDot", "{dir}/out/../images/other"},
                      OutputCase{"ASubdirectory", "{datadir}/sub/new"},
                      OutputCase{"ThroughASymlinkedDirectory", "{dir}/to-images/other"},
                      OutputCase{"ASymlinkToAnImage", "{dir}/out/alias"},
                      OutputCase{"ARelativeSymlinkToAnImage", "{dir}/out/relative-alias"},
                      OutputCase{"AChainOfSymlinks", "{dir}/out/chain"},
                      OutputCase{"ADanglingSymlinkIntoTheDatadir", "{dir}/out/dangling"}),
    CaseName());

TEST_F(GetOutputTest, IsRefusedBeforeTheStoreIsAsked) {
  const RunResult got = Tool({"get", ImageUri("missing"), "-o", ImagePath("new")});
  EXPECT_TRUE(FailedWith(got, 2, "UsageError")) << "not NotFound: nothing was read";
  ExpectUntouched();
}

TEST_F(GetOutputTest, ANeighbourOfTheDatadirIsWritten) {
  // "images-2" starts with the datadir's name but is another directory.
  fs::create_directory(datadir_ + "-2");
  ASSERT_TRUE(Succeeded(Tool({"get", ImageUri("read"), "-o", datadir_ + "-2/copy"})));
  EXPECT_TRUE(SameBytes(ReadFile(datadir_ + "-2/copy"), data_));
  ASSERT_TRUE(Succeeded(Tool({"get", ImageUri("read"), "-o", Path("out/copy")})));
  EXPECT_TRUE(SameBytes(ReadFile(Path("out/copy")), data_));
}

TEST_F(GetOutputTest, DatadirConfiguredThroughASymlinkIsResolved) {
  fs::create_directory(Path("real"));
  fs::create_directory_symlink(Path("real"), Path("linked"));
  config_ = WriteConfig("linked.conf", LegacyConfig(Path("linked")));
  ASSERT_TRUE(Succeeded(Tool({"add", "--image-id", "img", "-"}, "bytes")));
  const RunResult got = Tool({"get", "file://" + Path("linked/img"), "-o", Path("real/img-copy")});
  EXPECT_TRUE(FailedWith(got, 2, "UsageError"));
  EXPECT_NE(got.err.find("datadir " + Path("linked") + " (" + Path("real") + ")"),
            std::string::npos)
      << got.err;
  EXPECT_EQ(ListDir(Path("real")), std::vector<std::string>{"img"});
}

TEST_F(GetOutputTest, EveryDatadirOfFilesystemStoreDatadirsIsGuarded) {
  config_ =
      WriteConfig("dirs.conf",
                  "[glance_store]\nstores = file\ndefault_store = file\n"
                  "filesystem_store_datadir =\nfilesystem_store_datadirs = " +
                      Path("high") + ":10\nfilesystem_store_datadirs = " + Path("low") + ":5\n");
  ASSERT_TRUE(Succeeded(Tool({"add", "--image-id", "img", "-"}, "bytes")));
  ASSERT_EQ(ListDir(Path("high")), std::vector<std::string>{"img"});
  for (const std::string& dir : {Path("high"), Path("low")}) {
    const RunResult got = Tool({"get", "file://" + Path("high/img"), "-o", dir + "/x"});
    EXPECT_TRUE(FailedWith(got, 2, "UsageError"));
    EXPECT_NE(got.err.find("datadir " + dir), std::string::npos) << got.err;
  }
  EXPECT_EQ(ListDir(Path("low")), std::vector<std::string>{});
}

TEST_F(GetOutputTest, EveryStoreOfAMultiStoreConfigurationIsGuarded) {
  std::string conf =
      "[DEFAULT]\nenabled_backends = fast:file, slow:file\n\n[glance_store]\n"
      "default_backend = fast\n";
  for (const char* id : {"fast", "slow", "os_glance_staging_store", "os_glance_tasks_store"}) {
    conf += std::string("\n[") + id + "]\nfilesystem_store_datadir = " + Path(id) + "\n";
  }
  config_ = WriteConfig("multi.conf", conf);
  ASSERT_TRUE(Succeeded(Tool({"add", "--image-id", "img", "-"}, "bytes")));
  for (const char* id : {"fast", "slow", "os_glance_staging_store", "os_glance_tasks_store"}) {
    const RunResult got = Tool({"get", "file://" + Path("fast/img"), "-o", Path(id) + "/img"});
    EXPECT_TRUE(FailedWith(got, 2, "UsageError")) << id;
    EXPECT_NE(got.err.find("datadir " + Path(id) + " of store '" + id + "'"), std::string::npos)
        << got.err;
  }
  EXPECT_EQ(ListDir(Path("fast")), std::vector<std::string>{"img"});
  EXPECT_EQ(ListDir(Path("slow")), std::vector<std::string>{});
}

// Outputs that cannot be created: the same usage error, whatever the reason, and nothing left.
struct UnwritableCase : NamedCase {
  const char* output;  // with {dir}
  const char* reason;
};

class UnwritableOutputTest : public GetOutputTest,
                             public ::testing::WithParamInterface<UnwritableCase> {};

TEST_P(UnwritableOutputTest, IsAUsageErrorGivingTheReason) {
  WriteFile(Path("out/a-file"), "a file");
  const std::string output = Expand(GetParam().output, datadir_, dir_);
  for (const std::string& uri : {ImageUri("read"), ImageUri("missing")}) {
    const RunResult got = Tool({"get", uri, "-o", output});
    EXPECT_TRUE(FailedWith(got, 2, "UsageError")) << uri;
    EXPECT_NE(got.err.find("cannot open " + output + " for writing: " + GetParam().reason),
              std::string::npos)
        << got.err;
  }
  EXPECT_EQ(ReadFile(Path("out/a-file")), "a file");
  EXPECT_EQ(ListDir(Path("out")),
            (std::vector<std::string>{"a-file", "alias", "chain", "dangling", "relative-alias"}));
  EXPECT_FALSE(fs::exists(Path("missing")));
}

INSTANTIATE_TEST_SUITE_P(
    Outputs, UnwritableOutputTest,
    ::testing::Values(
        UnwritableCase{"MissingDirectory", "{dir}/missing/image.raw", "No such file or directory"},
        UnwritableCase{"ADirectory", "{dir}/out", "Is a directory"},
        UnwritableCase{"UnderAFile", "{dir}/out/a-file/image.raw", "Not a directory"}),
    CaseName());

// Root may write anywhere: as root, the tool runs as nobody.
TEST_F(GetOutputTest, UnwritableDirectoryIsAUsageError) {
  fs::create_directory(Path("locked"));
  if (const std::string why = RunToolAsNobody(); !why.empty()) GTEST_SKIP() << why;
  const std::string output = Path("locked/image.raw");
  fs::permissions(Path("locked"), fs::perms::owner_read | fs::perms::owner_exec);
  const RunResult got = Tool({"get", ImageUri("read"), "-o", output});
  fs::permissions(Path("locked"), fs::perms::owner_all);
  EXPECT_TRUE(FailedWith(got, 2, "UsageError"));
  EXPECT_NE(got.err.find("cannot open " + output + " for writing: Permission denied"),
            std::string::npos)
      << got.err;
  EXPECT_EQ(ListDir(Path("locked")), std::vector<std::string>{});
  // The same user writes there once the directory is writable.
  EXPECT_TRUE(Succeeded(Tool({"get", ImageUri("read"), "-o", output})));
  EXPECT_TRUE(SameBytes(ReadFile(output), data_));
}

class ReplacedModeTest : public GetOutputTest, public ::testing::WithParamInterface<unsigned> {};

TEST_P(ReplacedModeTest, KeepsThePermissionsOfTheFileItReplaces) {
  const std::string target = WriteFile(Path("out/image.raw"), "old");
  ASSERT_EQ(::chmod(target.c_str(), GetParam()), 0);
  ASSERT_TRUE(Succeeded(Tool({"get", ImageUri("read"), "-o", target})));
  EXPECT_TRUE(SameBytes(ReadFile(target), data_));
  EXPECT_EQ(ModeOf(target), GetParam() & 0777) << "set-id bits are not carried over";
}

INSTANTIATE_TEST_SUITE_P(Modes, ReplacedModeTest,
                         ::testing::Values(0600u, 0400u, 0640u, 0644u, 0666u, 0755u, 04755u,
                                           02750u),
                         [](const auto& info) {
                           char name[16];
                           std::snprintf(name, sizeof name, "Mode%04o", info.param);
                           return std::string(name);
                         });

TEST_F(GetOutputTest, ANewFileGetsTheUsualModeUnderTheUmask) {
  const mode_t old_mask = ::umask(027);  // the tool inherits it
  const RunResult got = Tool({"get", ImageUri("read"), "-o", Path("out/image.raw")});
  ::umask(old_mask);
  ASSERT_TRUE(Succeeded(got));
  EXPECT_EQ(ModeOf(Path("out/image.raw")), 0640u);
}

TEST_F(GetOutputTest, AReplacedFileKeepsItsOwnerAndGroup) {
  if (::geteuid() != 0) GTEST_SKIP() << "giving a file away needs root";
  const std::string target = WriteFile(Path("out/image.raw"), "old");
  ASSERT_EQ(::chown(target.c_str(), 65534, 65534), 0);
  ASSERT_EQ(::chmod(target.c_str(), 0640), 0);
  ASSERT_TRUE(Succeeded(Tool({"get", ImageUri("read"), "-o", target})));
  struct stat st {};
  ASSERT_EQ(::stat(target.c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 65534u);
  EXPECT_EQ(st.st_gid, 65534u);
  EXPECT_EQ(st.st_mode & 07777, 0640u);
  EXPECT_TRUE(SameBytes(ReadFile(target), data_));
}

}  // namespace
}  // namespace glance_store::tool_test
