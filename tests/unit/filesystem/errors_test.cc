// Failed adds: size validation, errno mapping, input and verifier failures; nothing may be
// left in the datadir, neither the image nor its temporary (FS-11, FS-12, FS-19..FS-24).
#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "fs_test_util.h"

namespace glance_store::filesystem::testing {
namespace {

using SizeValidationTest = FsStoreTest;

// FS-11: more data than declared. The count in the message is what the pipeline had read when
// it noticed (decision: counts of input consumed are not targets).
TEST_F(SizeValidationTest, SizeExceedsLeavesNothing) {
  CreateLegacy("filesystem_store_chunk_size = 10");
  CountingStream input(std::string(1120, 'x'));
  Error e = CatchError([&] { registry().add("img", input, 1020, "sha256"); });
  EXPECT_EQ(e.kind(), ErrorKind::kInvalid);
  const std::string prefix = "Size exceeds: expected 1020 bytes, got ";
  ASSERT_EQ(e.message().rfind(prefix, 0), 0U) << e.message();
  const std::uint64_t got = std::stoull(e.message().substr(prefix.size()));
  EXPECT_GT(got, 1020U);
  EXPECT_LE(got, 1120U);
  EXPECT_TRUE(ListDir(datadir()).empty());
}

TEST_F(SizeValidationTest, SizeExceedsAfterPartialWritesLeavesNothing) {
  CreateLegacy("add_buffer_size = 4096");
  auto sys = InjectSyscalls();
  Error e = CatchError([&] { Add("img", Pattern(10000), 5000); });
  EXPECT_EQ(e.kind(), ErrorKind::kInvalid);
  EXPECT_EQ(e.message().rfind("Size exceeds: expected 5000 bytes, got ", 0), 0U) << e.message();
  EXPECT_GE(sys->calls(Op::kPwrite), 1);
  EXPECT_TRUE(ListDir(datadir()).empty());
}

// FS-12: less data than declared; all of it is read.
TEST_F(SizeValidationTest, SizeMismatchLeavesNothing) {
  CreateLegacy("filesystem_store_chunk_size = 10");
  CountingStream input(std::string(800, 'x'));
  Error e = CatchError([&] { registry().add("img", input, 1000, "sha256"); });
  EXPECT_EQ(e.kind(), ErrorKind::kInvalid);
  EXPECT_EQ(e.message(), "Size mismatch: expected 1000 bytes, got 800 bytes");
  EXPECT_EQ(input.consumed(), 800U);
  EXPECT_TRUE(ListDir(datadir()).empty());
}

TEST_F(SizeValidationTest, SizeMismatchAfterPartialWritesLeavesNothing) {
  CreateLegacy("add_buffer_size = 4096");
  auto sys = InjectSyscalls();
  Error e = CatchError([&] { Add("img", Pattern(10000), 20000); });
  EXPECT_EQ(e.message(), "Size mismatch: expected 20000 bytes, got 10000 bytes");
  EXPECT_GE(sys->calls(Op::kPwrite), 2);
  EXPECT_TRUE(ListDir(datadir()).empty());
}

// FS-19..FS-22: errno of a failing call → error kind; the temporary is removed.
struct ErrnoCase {
  const char* name;
  Op op;
  int err;
  ErrorKind kind;
  const char* message;  // exact, or nullptr: the message names strerror(err)
};

void PrintTo(const ErrnoCase& c, std::ostream* os) { *os << c.name; }

class WriteErrnoTest : public FsStoreTest, public ::testing::WithParamInterface<ErrnoCase> {};

TEST_P(WriteErrnoTest, MapsErrnoAndCleansUp) {
  const ErrnoCase& c = GetParam();
  // Thin provisioning with a trailing zero chunk, so the file is extended (ftruncate) too.
  CreateLegacy(
      "add_buffer_size = 4096\nfilesystem_store_chunk_size = 1024\n"
      "filesystem_thin_provisioning = true");
  auto sys = InjectSyscalls();
  sys->fail(c.op, c.err);
  const std::string data = Pattern(2 * 4096) + std::string(4096, '\0');
  Error e = CatchError([&] { Add("img", data); });
  EXPECT_GE(sys->calls(c.op), 1);
  EXPECT_EQ(e.kind(), c.kind) << e.message();
  EXPECT_EQ(e.sys_errno(), c.err);
  if (c.message != nullptr) {
    EXPECT_EQ(e.message(), c.message);
  } else {
    EXPECT_NE(e.message().find(std::strerror(c.err)), std::string::npos) << e.message();
  }
  EXPECT_TRUE(ListDir(datadir()).empty());
}

constexpr const char* kFull = "There is not enough disk space on the image storage media.";
constexpr const char* kDenied = "Permission to write image storage media denied.";

INSTANTIATE_TEST_SUITE_P(
    Errnos, WriteErrnoTest,
    ::testing::Values(
        ErrnoCase{"OpenEnospc", Op::kOpen, ENOSPC, ErrorKind::kStorageFull, kFull},
        ErrnoCase{"PwriteEnospc", Op::kPwrite, ENOSPC, ErrorKind::kStorageFull, kFull},
        ErrnoCase{"FsyncEnospc", Op::kFsync, ENOSPC, ErrorKind::kStorageFull, kFull},
        ErrnoCase{"FtruncateEnospc", Op::kFtruncate, ENOSPC, ErrorKind::kStorageFull, kFull},
        ErrnoCase{"OpenEfbig", Op::kOpen, EFBIG, ErrorKind::kStorageFull, kFull},
        ErrnoCase{"PwriteEfbig", Op::kPwrite, EFBIG, ErrorKind::kStorageFull, kFull},
        ErrnoCase{"PwriteEdquot", Op::kPwrite, EDQUOT, ErrorKind::kStorageFull, kFull},
        ErrnoCase{"OpenEacces", Op::kOpen, EACCES, ErrorKind::kStorageWriteDenied, kDenied},
        ErrnoCase{"PwriteEacces", Op::kPwrite, EACCES, ErrorKind::kStorageWriteDenied, kDenied},
        ErrnoCase{"FsyncEacces", Op::kFsync, EACCES, ErrorKind::kStorageWriteDenied, kDenied},
        ErrnoCase{"OpenErofs", Op::kOpen, EROFS, ErrorKind::kStorageWriteDenied, kDenied},
        ErrnoCase{"OpenEnotdir", Op::kOpen, ENOTDIR, ErrorKind::kBackendException, nullptr},
        ErrnoCase{"PwriteEnotdir", Op::kPwrite, ENOTDIR, ErrorKind::kBackendException, nullptr},
        ErrnoCase{"FsyncEnotdir", Op::kFsync, ENOTDIR, ErrorKind::kBackendException, nullptr},
        ErrnoCase{"FsyncEio", Op::kFsync, EIO, ErrorKind::kBackendException, nullptr},
        ErrnoCase{"RenameEio", Op::kRename, EIO, ErrorKind::kBackendException, nullptr}),
    [](const auto& info) { return info.param.name; });

using AddFailureTest = FsStoreTest;

// FS-23: a failing source: its own error comes out, the partial file goes.
TEST_F(AddFailureTest, ReadFailurePropagatesAndRemovesPartialData) {
  CreateLegacy("add_buffer_size = 4096");
  auto sys = InjectSyscalls();
  CountingStream input(Pattern(3 * 4096),
                       Error(ErrorKind::kRemoteServiceUnavailable, "the source went away"));
  Error e = CatchError([&] { registry().add("img", input, 0, "sha256"); });
  EXPECT_EQ(e.kind(), ErrorKind::kRemoteServiceUnavailable);
  EXPECT_EQ(e.message(), "the source went away");
  EXPECT_GE(sys->calls(Op::kPwrite), 1);
  EXPECT_TRUE(ListDir(datadir()).empty());
}

TEST_F(AddFailureTest, VerifierFailurePropagatesAndRemovesPartialData) {
  CreateLegacy("add_buffer_size = 4096");
  int calls = 0;
  const Verifier verifier = [&](std::span<const std::byte>) {
    if (++calls == 2) throw Error(ErrorKind::kInvalid, "bad signature");
  };
  MemoryInputStream in(Pattern(4 * 4096));
  Error e = CatchError([&] { registry().add("img", in, 0, "sha256", "", &verifier); });
  EXPECT_EQ(e.kind(), ErrorKind::kInvalid);
  EXPECT_EQ(e.message(), "bad signature");
  EXPECT_TRUE(ListDir(datadir()).empty());
}

// FS-24: a failed cleanup is logged and does not hide the error of the add.
TEST_F(AddFailureTest, FailedCleanupIsLoggedAndTheAddErrorKept) {
  CreateLegacy("add_buffer_size = 4096");
  auto sys = InjectSyscalls();
  sys->fail(Op::kPwrite, ENOSPC);
  sys->fail(Op::kUnlink, EIO);
  LogCapture log;
  Error e = CatchError([&] { Add("img", Pattern(4096)); });
  EXPECT_EQ(e.kind(), ErrorKind::kStorageFull);
  EXPECT_EQ(log.matching("Unable to remove partial image data").size(), 1U);
  const auto left = ListDir(datadir());
  ASSERT_EQ(left.size(), 1U);
  EXPECT_TRUE(is_temporary_name(left.front())) << left.front();
}

}  // namespace
}  // namespace glance_store::filesystem::testing
