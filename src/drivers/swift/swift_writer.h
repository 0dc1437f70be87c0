// The two ways a Swift add writes: one streamed PUT, or segments and a DLO manifest (internal).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "drivers/swift/swift_session.h"
#include "glance_store/error.h"
#include "glance_store/store.h"

namespace glance_store::swift {

/// What a writer needs to know of its upload.
struct UploadTarget {
  std::shared_ptr<Session> session;
  std::string container;
  std::string object;
  std::string location;  ///< the URI the committed image gets
};

/// A known size below the large-object threshold: one PUT streamed from the add pipeline (never
/// held whole), `If-None-Match: *` so an existing object is never replaced, its last byte held
/// back until commit, when the object is looked for once more (another add of the id may have
/// finished meanwhile: Duplicate); the returned ETag is checked against the md5 of the image,
/// and the object stored afterwards must have it (else another add replaced it: Duplicate).
std::unique_ptr<ImageWriter> make_object_writer(UploadTarget target, std::uint64_t size);

/// How a segmented add cuts and holds its segments.
struct SegmentPlan {
  std::uint64_t segment_size = 0;
  std::uint64_t image_size = 0;  ///< 0: unknown
  std::size_t parallel = 4;      ///< segments uploading at once (swift_store_upload_concurrency)
  std::optional<std::string> spool_dir = {};  ///< swift_buffer_on_upload's directory
  PipelineOptions memory = {};                ///< the add's memory limit
};

/// A size at or above the threshold, or unknown: segments `<object>/<token>/00000001`, … of
/// `segment_size` bytes (the last one shorter; the token is random, one per add), then the
/// manifest (`X-Object-Manifest: <container>/<object>/<token>/`) is put with
/// `If-None-Match: *`. Image ids have no '/', so no other image's objects, and no other add's
/// segments, share the prefix. The add succeeds only if the manifest then stored is its own;
/// any failure deletes the segments it wrote, and only those.
/// Segments are held until uploaded in one of three ways, each sent with its md5 as ETag so
/// Swift checks it, or checked against Swift's ETag:
/// - when (parallel + 1) segments fit in the add's memory limit, as the pipeline's chunks,
///   `parallel` uploading at once (a retry sends the same bytes again);
/// - with `spool_dir` (swift_buffer_on_upload), in anonymous files there, read back for each
///   attempt; a failure to write one is StorageFull (disk full) or BackendException naming the
///   directory;
/// - otherwise streamed, one at a time, as the bytes arrive: such a segment cannot be sent again,
///   so its failure fails the add.
std::unique_ptr<ImageWriter> make_segmented_writer(UploadTarget target, SegmentPlan plan);

}  // namespace glance_store::swift
