// The add pipeline: read once, hash on other cores, write in order (internal).
#pragma once

#include <cstdint>
#include <string_view>

#include "glance_store/hashing.h"
#include "glance_store/store.h"

namespace glance_store::internal {

struct PipelineResult {
  std::uint64_t bytes = 0;
  std::string md5;
  std::string multihash;
  ImageWriter::Committed committed;
};

/// Reads `source` into pooled buffers; each buffer goes to the md5 and the multihash queues
/// (different pool threads), to the verifier, and to `writer`, in order. More data than a
/// non-zero `declared_size`, or less, fails with Invalid. On any failure `writer.abort()` runs
/// before the error propagates. `multihash` may be null when it is md5 itself.
PipelineResult run_add_pipeline(InputStream& source, std::uint64_t declared_size, Hasher& md5,
                                Hasher* multihash, const Verifier* verifier, ImageWriter& writer,
                                const PipelineOptions& options,
                                const ExpectedDigests* expected = nullptr,
                                std::string_view hash_algo = "sha512");

}  // namespace glance_store::internal
