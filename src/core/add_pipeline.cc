#include "core/add_pipeline.h"

#include <algorithm>

#include "core/buffer_pool.h"
#include "core/thread_pool.h"
#include "glance_store/error.h"

namespace glance_store::internal {
namespace {

// Fills the buffer as far as the source allows, so the writer sees large, aligned writes even
// when the source is a pipe that returns a few KiB at a time.
std::size_t fill(InputStream& source, std::byte* data, std::size_t capacity) {
  std::size_t filled = 0;
  while (filled < capacity) {
    const std::size_t n = source.read({data + filled, capacity - filled});
    if (n == 0) break;
    filled += n;
  }
  return filled;
}

void rethrow_if(const std::exception_ptr& error) {
  if (error) std::rethrow_exception(error);
}

std::string size_message(std::string_view what, std::uint64_t expected, std::uint64_t got) {
  return std::string(what) + ": expected " + std::to_string(expected) + " bytes, got " +
         std::to_string(got) + " bytes";
}

void check_digest(std::string_view algo, const std::string& expected, const std::string& actual) {
  if (!expected.empty() && !same_digest(expected, actual)) {
    throw checksum_mismatch_error(algo, actual, expected);
  }
}

}  // namespace

PipelineResult run_add_pipeline(InputStream& source, std::uint64_t declared_size, Hasher& md5,
                                Hasher* multihash, const Verifier* verifier, ImageWriter& writer,
                                const PipelineOptions& options, const ExpectedDigests* expected,
                                std::string_view hash_algo) {
  PipelineResult result;
  try {
    // The writer's parts keep the pipeline's buffers: the pool has room for them too, and it is
    // what bounds the add's memory (a reader waits for a buffer while parts upload).
    const std::uint64_t held = std::min(writer.held_bytes(), options.part_memory());
    auto pool = BufferPool::create(
        options.buffer_size,
        options.buffer_count + static_cast<std::size_t>(held / options.buffer_size));
    // Declared after the pool and the hashers they use, so they are drained first.
    SerialQueue md5_queue(ThreadPool::shared());
    SerialQueue multihash_queue(ThreadPool::shared());
    for (;;) {
      auto buffer = pool->acquire();
      const std::size_t n = fill(source, buffer->data, buffer->capacity);
      if (n == 0) break;
      result.bytes += n;
      if (declared_size != 0 && result.bytes > declared_size) {
        throw Error(ErrorKind::kInvalid, size_message("Size exceeds", declared_size, result.bytes));
      }
      DataChunk chunk(std::move(buffer), n);
      md5_queue.post([chunk, &md5] { md5.update(chunk.bytes()); });
      if (multihash != nullptr) {
        multihash_queue.post([chunk, multihash] { multihash->update(chunk.bytes()); });
      }
      if (verifier != nullptr) (*verifier)(chunk.bytes());
      writer.write(chunk);
      rethrow_if(md5_queue.error());
      rethrow_if(multihash_queue.error());
    }
    if (declared_size != 0 && result.bytes < declared_size) {
      throw Error(ErrorKind::kInvalid, size_message("Size mismatch", declared_size, result.bytes));
    }
    md5_queue.wait_idle();
    multihash_queue.wait_idle();
    rethrow_if(md5_queue.error());
    rethrow_if(multihash_queue.error());
    result.md5 = md5.hexdigest();
    result.multihash = multihash != nullptr ? multihash->hexdigest() : result.md5;
    if (expected != nullptr) {
      check_digest("md5", expected->md5, result.md5);
      check_digest(hash_algo, expected->multihash, result.multihash);
    }
    result.committed = writer.commit(result.bytes, result.md5);
  } catch (...) {
    writer.abort();
    throw;
  }
  return result;
}

}  // namespace glance_store::internal
