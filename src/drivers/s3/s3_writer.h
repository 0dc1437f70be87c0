// The two ways an S3 add writes: one streamed PUT, or a multipart upload (internal).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "drivers/s3/s3_client.h"
#include "glance_store/store.h"

namespace glance_store::s3 {

/// What a writer needs to know of its upload.
struct UploadTarget {
  S3Client* client = nullptr;
  Endpoint endpoint;
  std::string bucket;
  std::string key;
  std::string location;  ///< the URI the committed image gets
};

/// A known size below the large-object threshold: one PUT whose body streams from the add
/// pipeline as it arrives (never held whole). Its last byte is held back until commit, so
/// that a size mismatch or a failed hash check never leaves an object behind.
std::unique_ptr<ImageWriter> make_streaming_put_writer(UploadTarget target, std::uint64_t size);

struct MultipartPlan {
  std::uint64_t part_size = 0;  ///< bytes of every part but the last (growing for unknown sizes)
  bool grows = false;           ///< unknown size: the part size doubles every `parts_per_step`
  std::uint64_t parts_per_step = 0;
  std::uint64_t max_parts = 10000;
  std::size_t parallel = 10;  ///< parts uploading at once, at most (fewer when memory is short)
  /// The largest part the add's memory holds (a growing part size stops there).
  std::uint64_t max_part_size = std::uint64_t{5} << 30;
  /// The memory the parts keep at most: the parts uploading and the one being filled.
  std::uint64_t held_bytes = 0;
  PipelineOptions memory = {};  ///< the add's memory limit
};

/// The plan for an image of `size` bytes (0: unknown), as glance_store sizes parts:
/// max(chunk, ceil(size / max parts)); for an unknown size the part size grows so that up to
/// ~1,000 × chunk × (max parts / 10) bytes fit, up to the largest part `memory` holds. Throws
/// Invalid when a known size needs larger parts than that.
MultipartPlan plan_multipart(std::uint64_t size, std::uint64_t chunk_size, std::uint64_t max_parts,
                             std::size_t parallel, const PipelineOptions& memory);
/// The size of part `index` (from 0) under `plan`.
std::uint64_t part_size_at(const MultipartPlan& plan, std::uint64_t index);

/// A known size at or above the threshold, or an unknown size: parts upload in parallel
/// (each with Content-MD5), the upload completes at commit or is aborted on any failure.
/// An image smaller than one part goes as a single PUT.
std::unique_ptr<ImageWriter> make_multipart_writer(UploadTarget target, MultipartPlan plan);

}  // namespace glance_store::s3
