// Thin provisioning: all-zero chunks of filesystem_store_chunk_size (1 KiB here) are not written
// and become holes; the content, size and checksums are those of the input (FS-28..FS-35).
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <string>

#include "fs_test_util.h"

namespace glance_store::filesystem::testing {
namespace {

constexpr std::size_t kKi = 1024;
constexpr std::size_t kMi = 1024 * 1024;

std::string Stars(std::size_t n) { return std::string(n, '*'); }
std::string Zeros(std::size_t n) { return std::string(n, '\0'); }

struct Written {
  int pwrite_calls = 0;
  std::uint64_t pwrite_bytes = 0;
  int ftruncate_calls = 0;
  std::uint64_t allocated = 0;  // st_blocks × 512 of the image file
  AddResult result;
};

class ThinTest : public FsStoreTest {
 protected:
  // Adds `data` as `id` to a store with 1 KiB chunks and 4 KiB pipeline buffers.
  Written AddWith(bool thin, const std::string& id, const std::string& data) {
    CreateLegacy(std::string("filesystem_store_chunk_size = 1024\nadd_buffer_size = 4096\n") +
                 "filesystem_thin_provisioning = " + (thin ? "true" : "false"));
    auto sys = InjectSyscalls();
    Written w;
    w.result = Add(id, data);
    w.pwrite_calls = sys->calls(Op::kPwrite);
    w.pwrite_bytes = sys->pwrite_bytes();
    w.ftruncate_calls = sys->calls(Op::kFtruncate);
    struct stat st {};
    EXPECT_EQ(::stat((datadir() + "/" + id).c_str(), &st), 0);
    EXPECT_EQ(static_cast<std::uint64_t>(st.st_size), data.size());
    w.allocated = static_cast<std::uint64_t>(st.st_blocks) * 512;
    EXPECT_EQ(Get(w.result.location), data);
    EXPECT_EQ(w.result.checksum, Md5(data));
    EXPECT_EQ(w.result.multihash, Sha256(data));
    EXPECT_EQ(w.result.bytes_written, data.size());
    return w;
  }
};

// FS-28
TEST_F(ThinTest, DisabledByDefault) {
  CreateLegacy();
  EXPECT_FALSE(store().fs_options().thin_provisioning);
  CreateLegacy("filesystem_thin_provisioning = true");
  EXPECT_TRUE(store().fs_options().thin_provisioning);
}

struct ThinCase {
  const char* name;
  std::string data;
  std::uint64_t thin_bytes;  // bytes of the chunks that are not all zero
};

void PrintTo(const ThinCase& c, std::ostream* os) { *os << c.name; }

class ThinContentTest : public ThinTest, public ::testing::WithParamInterface<ThinCase> {};

// FS-29, FS-31, FS-33: thick writes every byte and never truncates.
TEST_P(ThinContentTest, ThickWritesEveryByte) {
  const Written w = AddWith(false, "img", GetParam().data);
  EXPECT_EQ(w.pwrite_bytes, GetParam().data.size());
  EXPECT_EQ(w.ftruncate_calls, 0);
}

// FS-30, FS-32, FS-34, FS-35: thin skips exactly the all-zero chunks; it extends the file only
// when the image ends in a hole.
TEST_P(ThinContentTest, ThinSkipsAllZeroChunks) {
  const ThinCase& c = GetParam();
  const Written w = AddWith(true, "img", c.data);
  EXPECT_EQ(w.pwrite_bytes, c.thin_bytes);
  const std::size_t last_chunk = (c.data.size() - 1) / kKi * kKi;
  const bool ends_in_hole = c.data.find_first_not_of('\0', last_chunk) == std::string::npos;
  if (ends_in_hole) {
    EXPECT_GE(w.ftruncate_calls, 1);
  } else if (c.thin_bytes == c.data.size()) {
    EXPECT_EQ(w.ftruncate_calls, 0);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Contents, ThinContentTest,
    ::testing::Values(
        ThinCase{"HolesInFile", Stars(kKi) + Zeros(kKi) + Stars(kKi), 2 * kKi},
        ThinCase{"WithoutHoles", Stars(3 * kKi), 3 * kKi},
        // Only [2048, 3072) is all zero; the partly zero chunks around it are written.
        ThinCase{"PartialHoles", Stars(1536) + Zeros(1536) + Stars(1536), 2048 + 1536},
        ThinCase{"LeadingHole", Zeros(2 * kKi) + Stars(kKi), kKi},
        ThinCase{"TrailingZeroChunk", Stars(kKi) + Zeros(2 * kKi), kKi},
        ThinCase{"AllZero", Zeros(8 * kKi), 0},
        ThinCase{"ZerosAcrossPipelineBuffers", Stars(3 * kKi) + Zeros(3 * kKi) + Stars(2 * kKi),
                 5 * kKi},
        ThinCase{"ShortLastChunk", Stars(kKi) + Zeros(kKi) + Stars(10), kKi + 10},
        ThinCase{"ShortZeroLastChunk", Stars(kKi) + Zeros(100), kKi}),
    [](const auto& info) { return info.param.name; });

// The chunk, not the pipeline buffer, is the unit of hole detection: an 8 KiB chunk that is half
// data and half zeros is written whole even when a 4 KiB buffer ends in its middle, whichever
// half comes first.
TEST_F(ThinTest, PartlyZeroChunkAcrossBuffersIsWrittenWhole) {
  CreateLegacy(
      "filesystem_store_chunk_size = 8192\nadd_buffer_size = 4096\n"
      "filesystem_thin_provisioning = true");
  auto sys = InjectSyscalls();
  const std::string data = Stars(4 * kKi) + Zeros(4 * kKi) +  // data head, zero tail
                           Zeros(8 * kKi) +                   // all zero: a hole
                           Zeros(4 * kKi) + Stars(4 * kKi);   // zero head, data tail
  const AddResult added = Add("img", data);
  EXPECT_EQ(Get(added.location), data);
  EXPECT_EQ(sys->pwrite_bytes(), 16 * kKi);
}

// A 1 MiB zero region really becomes a hole: the thin file uses far less disk than the thick
// one, with identical content.
TEST_F(ThinTest, ZeroRegionBecomesAHole) {
  const std::string data = Stars(4 * kKi) + Zeros(kMi) + Stars(4 * kKi);
  const Written thick = AddWith(false, "thick", data);
  const Written thin = AddWith(true, "thin", data);
  EXPECT_GE(thick.allocated, kMi + 8 * kKi);
  EXPECT_LE(thin.allocated, 256 * kKi) << "thin file allocated " << thin.allocated << " bytes";
  EXPECT_LE(thin.allocated + kMi / 2, thick.allocated);
  EXPECT_EQ(ReadFile(datadir() + "/thin"), ReadFile(datadir() + "/thick"));
  EXPECT_EQ(thin.result.checksum, thick.result.checksum);
}

// Thin writes fewer calls when the image is mostly zeros.
TEST_F(ThinTest, ThinMakesFewerWriteCalls) {
  const std::string data = Stars(4 * kKi) + Zeros(kMi) + Stars(4 * kKi);
  const Written thick = AddWith(false, "thick", data);
  const Written thin = AddWith(true, "thin", data);
  EXPECT_LT(thin.pwrite_calls, thick.pwrite_calls);
  EXPECT_LE(thin.pwrite_calls, 2);
  EXPECT_EQ(thin.pwrite_bytes, 8 * kKi);
}

// FS-35: a trailing zero chunk keeps the size and reads back as zeros; the verifier and the
// checksums include the zeros.
TEST_F(ThinTest, TrailingZerosKeepSizeAndAreVerified) {
  CreateLegacy("filesystem_store_chunk_size = 1024\nfilesystem_thin_provisioning = true");
  const std::string data = Stars(kKi) + Zeros(3 * kKi);
  std::string seen;
  const Verifier verifier = [&](std::span<const std::byte> bytes) {
    seen.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  };
  MemoryInputStream in(data);
  const AddResult added = registry().add("img", in, data.size(), "sha256", "", &verifier);
  EXPECT_EQ(seen, data);
  EXPECT_EQ(added.checksum, Md5(data));
  EXPECT_EQ(registry().get_size(added.location), data.size());
  EXPECT_EQ(Get(added.location, 2 * kKi, kKi), Zeros(kKi));
}

}  // namespace
}  // namespace glance_store::filesystem::testing
