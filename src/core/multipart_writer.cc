#include "core/multipart_writer.h"

#include <algorithm>
#include <string>
#include <utility>

#include "core/part_uploader.h"
#include "core/thread_pool.h"
#include "glance_store/error.h"
#include "glance_store/hashing.h"

namespace glance_store::internal {

std::unique_ptr<StreamedPart> MultipartUpload::stream_part(
    std::uint64_t /*index*/, std::optional<std::uint64_t> /*length*/) {
  throw Error(ErrorKind::kInvalid, "This store cannot stream a part larger than add_memory_limit");
}

std::optional<ImageWriter::Committed> MultipartUpload::complete_unsplit(const Part* /*pending*/) {
  return std::nullopt;
}

PartHolding holding_for(const MultipartLayout& layout) {
  if (layout.spool_dir) return PartHolding::kFiles;
  if (layout.memory.part_fits(layout.largest_part)) return PartHolding::kChunks;
  return PartHolding::kStreamed;
}

std::uint64_t held_bytes_for(const MultipartLayout& layout) {
  const std::uint64_t slack = 2 * std::uint64_t{layout.memory.buffer_size};
  const std::uint64_t room = layout.memory.part_memory();
  switch (holding_for(layout)) {
    case PartHolding::kChunks:
      return std::min(
          room, (std::max<std::size_t>(1, layout.parallel) + 1) * (layout.largest_part + slack));
    case PartHolding::kStreamed:  // the request's queue and the part's md5 lag a little
      return std::min(room, 4 * slack);
    case PartHolding::kFiles:
      break;
  }
  return 0;
}

namespace {

// A streamed part: its request, and the md5 of what it was given (hashed on the shared pool,
// in order, while the bytes go out).
struct StreamingPart {
  std::uint64_t index = 0;
  std::uint64_t length = 0;  // bytes it gets (the part size when the image size is unknown)
  std::uint64_t filled = 0;
  std::unique_ptr<Hasher> md5 = Hasher::create("md5");
  std::unique_ptr<SerialQueue> hashing = std::make_unique<SerialQueue>(ThreadPool::shared());
  std::unique_ptr<StreamedPart> request;

  void finish() {
    hashing->wait_idle();
    if (const auto error = hashing->error()) std::rethrow_exception(error);
    request->finish(md5->hexdigest());
  }
};

class MultipartWriter final : public ImageWriter {
 public:
  MultipartWriter(std::unique_ptr<MultipartUpload> upload, MultipartLayout layout)
      : upload_(std::move(upload)), layout_(std::move(layout)), holding_(holding_for(layout_)) {
    if (holding_ == PartHolding::kStreamed) return;
    parts_ = std::make_unique<PartUploader>(
        layout_.parallel, layout_.part_size,
        [this](std::uint64_t index) { upload_->begin_part(index); },
        [this](std::uint64_t index, const Part& part) { upload_->send_part(index, part); },
        holding_ == PartHolding::kFiles ? file_parts(*layout_.spool_dir) : chunk_parts());
  }

  ~MultipartWriter() override { abort(); }

  void write(const DataChunk& chunk) override {
    if (parts_) {
      parts_->write(chunk);
    } else {
      stream(chunk);
    }
  }

  std::uint64_t held_bytes() const override { return held_bytes_for(layout_); }

  Committed commit(std::uint64_t /*total_bytes*/, std::string_view md5_hex) override {
    if (parts_) {
      if (parts_->parts_started() == 0) {
        if (auto whole = upload_->complete_unsplit(parts_->pending())) {
          done_ = true;
          return *std::move(whole);
        }
      }
      parts_->finish();
    } else {
      if (filling_) release_filled_part();  // the last one, shorter
      if (sending_) std::exchange(sending_, nullptr)->finish();
    }
    Committed committed = upload_->complete(parts_begun(), md5_hex);
    done_ = true;
    return committed;
  }

  void abort() noexcept override {
    if (done_) return;
    done_ = true;
    for (auto* part : {&filling_, &sending_}) {
      if (*part) (*part)->request->cancel();
      part->reset();
    }
    if (parts_) parts_->wait();
    upload_->abandon(parts_begun());
  }

 private:
  std::uint64_t parts_begun() const { return parts_ ? parts_->parts_started() : streamed_parts_; }

  void stream(const DataChunk& chunk) {
    const std::size_t size = chunk.bytes().size();
    for (std::size_t at = 0; at < size;) {
      if (!filling_) start_streamed_part();
      StreamingPart& part = *filling_;
      const auto n =
          static_cast<std::size_t>(std::min<std::uint64_t>(size - at, part.length - part.filled));
      const DataChunk piece = at == 0 && n == size ? chunk : chunk.slice(at, n);
      part.hashing->post([piece, md5 = part.md5.get()] { md5->update(piece.bytes()); });
      if (!part.request->write(piece)) {           // the server answered before the body's end
        part.finish();                             // throws what it said…
        throw Error(ErrorKind::kBackendException,  // …or this, if it said yes to half a body
                    "Failed to add the image: the upload of part " +
                        std::to_string(part.index + 1) + " ended before its body did");
      }
      part.filled += n;
      at += n;
      if (part.filled == part.length) release_filled_part();
    }
  }

  void start_streamed_part() {
    const std::uint64_t index = streamed_parts_;
    const std::uint64_t size = layout_.part_size(index);
    // A known image size gives each part's length; else the last one's end is only known at
    // the commit.
    std::optional<std::uint64_t> length;
    if (layout_.image_size != 0) length = std::min(size, layout_.image_size - streamed_bytes_);
    upload_->begin_part(index);
    auto part = std::make_unique<StreamingPart>();
    part->index = index;
    part->length = length.value_or(size);
    ++streamed_parts_;  // from here on, abandon() covers it
    part->request = upload_->stream_part(index, length);
    streamed_bytes_ += part->length;
    filling_ = std::move(part);
  }

  // Lets the filled part's request end, then waits for the one before it (by now mostly done).
  void release_filled_part() {
    filling_->request->release();
    if (sending_) sending_->finish();
    sending_ = std::move(filling_);
  }

  std::unique_ptr<MultipartUpload> upload_;
  MultipartLayout layout_;
  PartHolding holding_;
  bool done_ = false;
  // Streamed parts: how many were begun and their bytes, the one being filled, the one the
  // server finishes.
  std::uint64_t streamed_parts_ = 0;
  std::uint64_t streamed_bytes_ = 0;
  std::unique_ptr<StreamingPart> filling_;
  std::unique_ptr<StreamingPart> sending_;
  // Parts held until sent; last: waits for its parts before the state they use goes.
  std::unique_ptr<PartUploader> parts_;
};

}  // namespace

std::unique_ptr<ImageWriter> make_multipart_writer(std::unique_ptr<MultipartUpload> upload,
                                                   MultipartLayout layout) {
  return std::make_unique<MultipartWriter>(std::move(upload), std::move(layout));
}

}  // namespace glance_store::internal
