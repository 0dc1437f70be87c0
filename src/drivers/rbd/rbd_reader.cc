#include "drivers/rbd/rbd_reader.h"

#include <cstring>
#include <deque>
#include <rbd/librbd.hpp>

#include "drivers/rbd/rbd_errors.h"
#include "drivers/rbd/rbd_header.h"

namespace glance_store::rbd {
namespace {

Error not_found(const ReadTarget& target) {
  return {ErrorKind::kNotFound, "RBD image " + target.image +
                                    (target.snapshot ? "@" + *target.snapshot : "") +
                                    " does not exist"};
}

void open_read_only(const ReadTarget& target, librbd::Image& image) {
  librbd::RBD rbd;
  const int r = rbd.open_read_only(target.cluster->pool(target.pool), image, target.image.c_str(),
                                   target.snapshot ? target.snapshot->c_str() : nullptr);
  if (r == -ENOENT) throw not_found(target);
  check(r, "Failed to open RBD image " + target.image);
}

class ImageStream final : public InputStream {
 public:
  ImageStream(const ReadTarget& target, std::uint64_t offset, std::optional<std::uint64_t> length)
      : cluster_(target.cluster),
        name_(target.image),
        piece_size_(target.piece_size),
        in_flight_max_(target.in_flight) {
    open_read_only(target, image_);
    io_ = &target.cluster->pool(target.pool);
    snapshot_ = target.snapshot;
    check(image_.get_id(&id_), "Failed to read the id of RBD image " + name_);
    if (snapshot_) {
      check(image_.snap_get_id(*snapshot_, &snapshot_id_),
            "Failed to read the snapshot id of RBD image " + name_);
    }
    std::uint64_t size = 0;
    check(image_.size(&size), "Failed to get the size of RBD image " + name_);
    next_offset_ = std::min(offset, size);
    end_ = length ? next_offset_ + std::min(*length, size - next_offset_) : size;
    total_ = end_ - next_offset_;
    try {
      while (pending_.size() < in_flight_max_ && next_offset_ < end_) issue();
    } catch (...) {
      drain();  // the destructor does not run for a constructor that throws
      throw;
    }
  }

  /// The bytes the stream delivers.
  std::uint64_t length() const { return total_; }

  ~ImageStream() override { drain(); }

  std::size_t read(std::span<std::byte> out) override {
    while (current_.length() == position_) {
      if (pending_.empty()) {
        if (!confirmed_) confirm_still_there();
        return 0;
      }
      take_oldest();
    }
    const std::size_t n = std::min<std::size_t>(out.size(), current_.length() - position_);
    current_.begin(position_).copy(n, reinterpret_cast<char*>(out.data()));
    position_ += n;
    return n;
  }

 private:
  struct Piece {
    std::unique_ptr<ceph::bufferlist> data;
    librbd::RBD::AioCompletion* completion;
    std::uint64_t length;
  };

  // librbd reads the objects of a deleted image as zeros: a delete racing this read would end
  // it cleanly with wrong bytes. So the end comes only once the image (by its id, so that one
  // re-created under the name does not count) and its snapshot are found still there, in the
  // image's header (see rbd_header.h for why not by opening the image again).
  void confirm_still_there() {
    try {
      read_image_size(*io_, id_, snapshot_ ? std::optional(snapshot_id_) : std::nullopt);
    } catch (const Error& e) {
      if (!e.is(ErrorKind::kNotFound)) throw;
      throw Error(ErrorKind::kNotFound, "RBD image " + name_ + (snapshot_ ? "@" + *snapshot_ : "") +
                                            " was deleted while it was being read");
    }
    confirmed_ = true;
  }

  // Waits for the reads in flight (their buffers are ours), then closes the image.
  void drain() noexcept {
    for (auto& piece : pending_) piece.completion->wait_for_complete();
    for (auto& piece : pending_) piece.completion->release();
    pending_.clear();
    image_.close();
  }

  void issue() {
    const std::uint64_t length = std::min(piece_size_, end_ - next_offset_);
    Piece piece{std::make_unique<ceph::bufferlist>(),
                new librbd::RBD::AioCompletion(nullptr, nullptr), length};
    const int r = image_.aio_read(next_offset_, length, *piece.data, piece.completion);
    if (r < 0) {
      piece.completion->release();
      throw rbd_error(r, "Failed to read RBD image " + name_);
    }
    pending_.push_back(std::move(piece));
    next_offset_ += length;
  }

  void take_oldest() {
    Piece piece = std::move(pending_.front());
    pending_.pop_front();
    piece.completion->wait_for_complete();
    const auto r = piece.completion->get_return_value();
    piece.completion->release();
    if (r < 0) throw rbd_error(static_cast<int>(r), "Failed to read RBD image " + name_);
    if (static_cast<std::uint64_t>(r) != piece.length || piece.data->length() != piece.length) {
      throw Error(ErrorKind::kBackendException, "Short read from RBD image " + name_ + ": " +
                                                    std::to_string(r) + " of " +
                                                    std::to_string(piece.length) + " bytes");
    }
    current_ = std::move(*piece.data);
    position_ = 0;
    if (next_offset_ < end_) issue();
  }

  std::shared_ptr<Cluster> cluster_;  // outlives the image
  librados::IoCtx* io_ = nullptr;
  std::optional<std::string> snapshot_;
  std::uint64_t snapshot_id_ = 0;
  std::string id_;
  bool confirmed_ = false;
  std::string name_;
  librbd::Image image_;
  std::uint64_t piece_size_;
  std::size_t in_flight_max_;
  std::uint64_t next_offset_ = 0;
  std::uint64_t end_ = 0;
  std::uint64_t total_ = 0;
  std::deque<Piece> pending_;
  ceph::bufferlist current_;
  std::size_t position_ = 0;
};

// The image's id, its snapshot's and its size, from its header: NotFound without opening it.
struct HeaderFacts {
  std::string id;
  std::optional<std::uint64_t> snapshot_id;
  std::uint64_t size = 0;
};

HeaderFacts look_up(const ReadTarget& target) {
  librados::IoCtx& io = target.cluster->pool(target.pool);
  HeaderFacts facts;
  auto id = read_image_id(io, target.image);
  if (!id) throw not_found(target);
  facts.id = std::move(*id);
  try {
    if (target.snapshot) {
      facts.snapshot_id = read_snapshot_id(io, facts.id, *target.snapshot);
      if (!facts.snapshot_id) throw not_found(target);
    }
    facts.size = read_image_size(io, facts.id, facts.snapshot_id);
  } catch (const Error& e) {
    if (!e.is(ErrorKind::kNotFound)) throw;
    throw not_found(target);  // also when it was deleted meanwhile
  }
  return facts;
}

}  // namespace

std::uint64_t image_size(const ReadTarget& target) { return look_up(target).size; }

// The header first: a missing image is NotFound, and a read of no bytes (an empty image, a
// range past the end) is answered, without opening the image (see rbd_header.h).
GetResult open_image_stream(const ReadTarget& target, std::uint64_t offset,
                            std::optional<std::uint64_t> length) {
  const HeaderFacts facts = look_up(target);
  GetResult result;
  if (offset >= facts.size || length == std::uint64_t{0}) {
    result.stream = std::make_unique<MemoryInputStream>("");
    return result;
  }
  auto stream = std::make_unique<ImageStream>(target, offset, length);
  result.size = stream->length();
  result.stream = std::move(stream);
  return result;
}

}  // namespace glance_store::rbd
