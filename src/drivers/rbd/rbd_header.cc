#include "drivers/rbd/rbd_header.h"

#include <cerrno>
#include <cstring>
#include <list>
#include <string_view>

#include "drivers/rbd/rbd_errors.h"

namespace glance_store::rbd {
namespace {

// librados' "no snapshot": the image head.
constexpr std::uint64_t kHead = static_cast<std::uint64_t>(-2);

std::string header_object(const std::string& image_id) { return "rbd_header." + image_id; }

// Ceph's encoding of the rbd class's arguments and results: little-endian integers, strings
// as a 32-bit length and the bytes.
class Encoder {
 public:
  Encoder& u64(std::uint64_t value) {
    for (int i = 0; i < 8; ++i) bytes_.push_back(static_cast<char>(value >> (8 * i)));
    return *this;
  }
  Encoder& string(std::string_view value) {
    for (int i = 0; i < 4; ++i) bytes_.push_back(static_cast<char>(value.size() >> (8 * i)));
    bytes_.append(value);
    return *this;
  }
  ceph::bufferlist list() const {
    ceph::bufferlist out;
    out.append(bytes_);
    return out;
  }

 private:
  std::string bytes_;
};

class Decoder {
 public:
  Decoder(const ceph::bufferlist& in, std::string what)
      : bytes_(in.to_str()), what_(std::move(what)) {}

  std::uint64_t integer(std::size_t width) {
    need(width);
    std::uint64_t value = 0;
    for (std::size_t i = 0; i < width; ++i) {
      value |= std::uint64_t{static_cast<unsigned char>(bytes_[at_ + i])} << (8 * i);
    }
    at_ += width;
    return value;
  }
  std::string string() {
    const auto length = static_cast<std::size_t>(integer(4));
    need(length);
    std::string out = bytes_.substr(at_, length);
    at_ += length;
    return out;
  }

 private:
  void need(std::size_t n) const {
    if (bytes_.size() - at_ < n) {
      throw Error(ErrorKind::kBackendException,
                  "Malformed answer from Ceph's rbd class to " + what_);
    }
  }

  std::string bytes_;
  std::string what_;
  std::size_t at_ = 0;
};

// Calls `method` of the rbd class on `object`: its result, or the negative errno.
int call(librados::IoCtx& io, const std::string& object, const char* method,
         const ceph::bufferlist& in, ceph::bufferlist& out) {
  ceph::bufferlist args = in;  // exec takes a non-const list
  return io.exec(object, "rbd", method, args, out);
}

Error image_gone(const std::string& image_id) {
  return {ErrorKind::kNotFound, "RBD image with id " + image_id + " does not exist"};
}

}  // namespace

std::optional<std::string> read_image_id(librados::IoCtx& io, const std::string& name) {
  ceph::bufferlist out;
  const int r = call(io, "rbd_id." + name, "get_id", {}, out);
  if (r == -ENOENT) return std::nullopt;
  check(r, "Failed to read the id of RBD image " + name);
  return Decoder(out, "get_id").string();
}

std::optional<std::uint64_t> read_snapshot_id(librados::IoCtx& io, const std::string& image_id,
                                              const std::string& snapshot) {
  const std::string header = header_object(image_id);
  ceph::bufferlist context;
  int r = call(io, header, "get_snapcontext", {}, context);
  if (r == -ENOENT) throw image_gone(image_id);
  check(r, "Failed to list the snapshots of RBD image " + image_id);
  Decoder snaps(context, "get_snapcontext");
  snaps.integer(8);  // the sequence number
  for (auto count = snaps.integer(4); count > 0; --count) {
    const std::uint64_t id = snaps.integer(8);
    ceph::bufferlist name;
    r = call(io, header, "get_snapshot_name", Encoder().u64(id).list(), name);
    if (r == -ENOENT) continue;  // removed meanwhile
    check(r, "Failed to read a snapshot name of RBD image " + image_id);
    if (Decoder(name, "get_snapshot_name").string() == snapshot) return id;
  }
  return std::nullopt;
}

std::uint64_t read_image_size(librados::IoCtx& io, const std::string& image_id,
                              std::optional<std::uint64_t> snapshot_id) {
  ceph::bufferlist out;
  const int r = call(io, header_object(image_id), "get_size",
                     Encoder().u64(snapshot_id.value_or(kHead)).list(), out);
  if (r == -ENOENT) throw image_gone(image_id);
  check(r, "Failed to read the size of RBD image " + image_id);
  Decoder size(out, "get_size");
  size.integer(1);  // the object order
  return size.integer(8);
}

std::int64_t read_create_time(librados::IoCtx& io, const std::string& image_id) {
  ceph::bufferlist out;
  const int r = call(io, header_object(image_id), "get_create_timestamp", {}, out);
  if (r == -ENOENT) throw image_gone(image_id);
  check(r, "Failed to read the age of RBD image " + image_id);
  return static_cast<std::int64_t>(Decoder(out, "get_create_timestamp").integer(4));
}

std::optional<std::string> read_metadata(librados::IoCtx& io, const std::string& image_id,
                                         const std::string& key) {
  ceph::bufferlist out;
  const int r =
      call(io, header_object(image_id), "metadata_get", Encoder().string(key).list(), out);
  if (r == -ENOENT) {
    // No such key, or no such image: tell them apart.
    read_image_size(io, image_id);
    return std::nullopt;
  }
  check(r, "Failed to read the metadata of RBD image " + image_id);
  return Decoder(out, "metadata_get").string();
}

void remove_metadata(librados::IoCtx& io, const std::string& image_id, const std::string& key) {
  ceph::bufferlist out;
  const int r =
      call(io, header_object(image_id), "metadata_remove", Encoder().string(key).list(), out);
  if (r != -ENOENT) check(r, "Failed to remove the metadata of RBD image " + image_id);
}

std::vector<std::string> read_watchers(librados::IoCtx& io, const std::string& image_id) {
  std::list<obj_watch_t> watchers;
  const int r = io.list_watchers(header_object(image_id), &watchers);
  if (r == -ENOENT) throw image_gone(image_id);
  check(r, "Failed to list the clients of RBD image " + image_id);
  std::vector<std::string> out;
  for (const auto& watcher : watchers) out.emplace_back(watcher.addr);
  return out;
}

}  // namespace glance_store::rbd
