#include "drivers/swift/swift_writer.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <memory>
#include <optional>
#include <span>
#include <thread>
#include <utility>

#include "core/hex.h"
#include "core/log.h"
#include "core/part_uploader.h"
#include "core/thread_pool.h"
#include "core/url.h"
#include "glance_store/hashing.h"
#include "net/transfer.h"

namespace glance_store::swift {
namespace {

using internal::to_hex;

std::string unquote(std::string_view etag) {
  if (etag.size() >= 2 && etag.front() == '"' && etag.back() == '"') {
    etag = etag.substr(1, etag.size() - 2);
  }
  return std::string(etag);
}

std::string segment_name(const std::string& prefix, std::uint64_t index) {
  char number[32];
  std::snprintf(number, sizeof number, "%08llu", static_cast<unsigned long long>(index + 1));
  return prefix + number;
}

// Swift percent-decodes X-Object-Manifest; bytes a header cannot carry as they are, and '%'
// itself, go encoded. Image ids have no '%', so for an ASCII id the value is the prefix as
// written, which glance_store (which does not decode it) also lists correctly.
std::string manifest_value(const std::string& container, const std::string& prefix) {
  const auto encode = [](std::string_view s) {
    std::string safe;
    for (int c = 0x21; c < 0x7F; ++c) {
      if (c != '%') safe += static_cast<char>(c);
    }
    return internal::percent_quote(s, safe);
  };
  return encode(container) + "/" + encode(prefix);
}

void delete_quietly(Session& session, const std::string& container, const std::string& object) {
  try {
    const net::Response response =
        session.call({.method = "DELETE", .container = container, .object = object},
                     "Deleting " + container + "/" + object);
    if (response.status >= 300 && response.status != 404) {
      internal::logger()->error("Could not delete Swift object {}/{}: {}", container, object,
                                describe_failure(response.status, response.body));
    }
  } catch (const std::exception& e) {
    internal::logger()->error("Could not delete Swift object {}/{}: {}", container, object,
                              e.what());
  }
}

Error etag_mismatch(const std::string& what, std::string_view got, std::string_view expected) {
  return {ErrorKind::kBackendException,
          "Failed to add object to Swift.\nSwift's ETag " + std::string(got) + " for " + what +
              " does not match the md5 of the data sent (" + std::string(expected) + ")"};
}

// The object as stored now; a manifest itself (not its joined segments) with `manifest`.
net::Response head(const UploadTarget& target, bool manifest = false) {
  net::Response response =
      target.session->call({.method = "HEAD",
                            .container = target.container,
                            .object = target.object,
                            .query = manifest ? "multipart-manifest=get" : ""},
                           "Failed to add object to Swift: HEAD of " + target.object);
  if (response.status / 100 != 2 && response.status != 404) {
    throw add_error(response.status, response.body);
  }
  return response;
}

Error another_add_won() {
  return {ErrorKind::kDuplicate,
          "Swift already has an image at this location: another add of the same image id "
          "finished first, and its data is the one stored"};
}

Error vanished(const UploadTarget& target) {
  return {ErrorKind::kBackendException, "Failed to add object to Swift: " + target.object +
                                            " was not found right after it was written"};
}

// Succeeds when the object stored is this add's (`is_own`), now and once more after the settle
// time. Another add's object there: Duplicate. None at all (deleted meanwhile, or not yet
// listed): BackendException, as that tells nothing of who won.
template <typename IsOwn>
void confirm_own(const UploadTarget& target, std::chrono::steady_clock::duration commit_latency,
                 IsOwn is_own, bool manifest = false) {
  for (int look = 0; look < 2; ++look) {
    if (look == 1) std::this_thread::sleep_for(net::settle_time(commit_latency));
    const net::Response stored = head(target, manifest);
    if (stored.status == 404) throw vanished(target);
    if (!is_own(stored)) throw another_add_won();
  }
}

// Removes an object we wrote whose content came out wrong — unless what is there now is not
// the object we were answered for (another add's, which must stay).
void remove_if_still(const UploadTarget& target, const std::string* etag) {
  if (etag == nullptr) return;
  try {
    const net::Response stored = head(target);
    const std::string* now = stored.header("etag");
    if (stored.status / 100 != 2 || now == nullptr || unquote(*now) != unquote(*etag)) return;
  } catch (const std::exception&) {
    return;
  }
  delete_quietly(*target.session, target.container, target.object);
}

class ObjectWriter final : public ImageWriter {
 public:
  ObjectWriter(UploadTarget target, std::uint64_t size)
      : target_(std::move(target)), upload_(target_.session->http(), request(), size) {}

  void write(const DataChunk& chunk) override {
    if (upload_.write(chunk)) return;
    const net::Response response = finish();  // the PUT ended before its body did
    throw add_error(response.status, response.body);
  }

  Committed commit(std::uint64_t /*total_bytes*/, std::string_view md5) override {
    // Swift checks If-None-Match when a PUT begins: another add of this id that began at the
    // same time and finished first is seen here, before our last byte lets ours complete.
    if (head(target_).status / 100 == 2) {
      upload_.cancel();
      throw another_add_won();
    }
    const auto started = std::chrono::steady_clock::now();
    const net::Response response = finish();
    if (response.status != 201) throw add_error(response.status, response.body);
    const std::string* etag = response.header("etag");
    if (etag == nullptr || unquote(*etag) != md5) {
      remove_if_still(target_, etag);
      throw etag_mismatch(target_.object, etag ? *etag : "(none)", md5);
    }
    // One that finished in the same moment with a newer timestamp replaces ours.
    confirm_own(target_, std::chrono::steady_clock::now() - started, [&md5](const auto& stored) {
      const std::string* stored_etag = stored.header("etag");
      return stored_etag != nullptr && unquote(*stored_etag) == md5;
    });
    return {target_.location, nlohmann::json::object()};
  }

  void abort() noexcept override { upload_.cancel(); }

 private:
  net::Request request() {
    SwiftRequest put{.method = "PUT", .container = target_.container, .object = target_.object};
    put.headers.emplace_back("If-None-Match", "*");
    return target_.session->build(put, target_.session->token());
  }

  net::Response finish() {
    try {
      return upload_.finish();
    } catch (const net::TransportError& e) {
      throw net::transport_error("Failed to add object to Swift", e);
    }
  }

  UploadTarget target_;
  net::StreamingUpload upload_;
};

// How a segmented add holds its segments until they are uploaded.
enum class SegmentMode {
  kChunks,    // the pipeline's chunks, several segments in parallel (they fit in memory)
  kFiles,     // anonymous spool files (swift_buffer_on_upload), read again for each attempt
  kStreamed,  // neither: one segment at a time, its body streamed from the pipeline
};

class SegmentedWriter final : public ImageWriter {
 public:
  SegmentedWriter(UploadTarget target, SegmentPlan plan)
      : target_(std::move(target)),
        plan_(std::move(plan)),
        prefix_(target_.object + "/" + internal::random_token() + "/"),
        mode_(plan_.spool_dir                              ? SegmentMode::kFiles
              : plan_.memory.part_fits(plan_.segment_size) ? SegmentMode::kChunks
                                                           : SegmentMode::kStreamed) {
    if (mode_ != SegmentMode::kStreamed) {
      segments_ = std::make_unique<internal::PartUploader>(
          plan_.parallel, [this](std::uint64_t) { return plan_.segment_size; },
          [](std::uint64_t) {},
          [this](std::uint64_t index, const internal::Part& part) { put_segment(index, part); },
          mode_ == SegmentMode::kFiles ? internal::file_parts(*plan_.spool_dir)
                                       : internal::chunk_parts());
    }
  }

  ~SegmentedWriter() override { abort(); }

  void write(const DataChunk& chunk) override {
    if (segments_) {
      segments_->write(chunk);
    } else {
      stream(chunk);
    }
  }

  std::uint64_t held_bytes() const override {
    const std::uint64_t slack = 2 * std::uint64_t{plan_.memory.buffer_size};
    switch (mode_) {
      case SegmentMode::kChunks:
        return std::min(plan_.memory.part_memory(),
                        (plan_.parallel + 1) * (plan_.segment_size + slack));
      case SegmentMode::kStreamed:  // the request's queue and the segment's md5 lag a little
        return std::min(plan_.memory.part_memory(), 4 * slack);
      case SegmentMode::kFiles:
        break;
    }
    return 0;
  }

  Committed commit(std::uint64_t /*total_bytes*/, std::string_view /*md5*/) override {
    if (segments_) {
      segments_->finish();
    } else {
      if (filling_) release_filled_segment();  // the last one, shorter
      if (sending_) wait_for(*std::exchange(sending_, nullptr));
    }
    const std::string value = manifest_value(target_.container, prefix_);
    SwiftRequest manifest{
        .method = "PUT", .container = target_.container, .object = target_.object};
    manifest.headers = {{"X-Object-Manifest", value}, {"If-None-Match", "*"}};
    const auto started = std::chrono::steady_clock::now();
    // Once the manifest may be stored, our segments go only when another manifest is seen
    // there: a retried PUT whose first attempt landed is refused (412) though the image is ours,
    // and a failed HEAD tells nothing.
    manifest_sent_ = true;
    const net::Response response =
        target_.session->call(manifest, "Failed to add object to Swift: manifest");
    const bool refused = response.status == 412 || response.status == 409;
    if (response.status != 201 && !refused) {
      if (head(target_, true).status == 404) {
        manifest_sent_ = false;  // not stored: the segments are ours to remove
        throw add_error(response.status, response.body);
      }
    }
    confirm_own(
        target_, std::chrono::steady_clock::now() - started,
        [&](const net::Response& stored) {
          const std::string* stored_value = stored.header("x-object-manifest");
          const bool own = stored_value != nullptr && internal::percent_unquote(*stored_value) ==
                                                          internal::percent_unquote(value);
          if (!own) manifest_sent_ = false;  // another add's manifest: ours can go
          return own;
        },
        true);
    done_ = true;
    return {target_.location, nlohmann::json::object()};
  }

  void abort() noexcept override {
    if (done_) return;
    done_ = true;
    for (auto* segment : {&filling_, &sending_}) {
      if (*segment) (*segment)->upload->cancel();
      segment->reset();
    }
    if (segments_) segments_->wait();
    if (manifest_sent_) {
      internal::logger()->error(
          "Keeping the segments of {}/{}: its manifest may be stored (a cleanup removes them if "
          "it is not)",
          target_.container, target_.object);
      return;
    }
    const std::uint64_t started = segments_ ? segments_->parts_started() : streamed_segments_;
    for (std::uint64_t i = 0; i < started; ++i) {
      delete_quietly(*target_.session, target_.container, segment_name(prefix_, i));
    }
  }

 private:
  void put_segment(std::uint64_t index, const internal::Part& part) {
    const std::string name = segment_name(prefix_, index);
    // A spooled part is read back for its md5 (from the page cache, in pieces) before the PUT.
    const std::string md5 = to_hex(part.md5());
    SwiftRequest put{.method = "PUT", .container = target_.container, .object = name};
    put.headers.emplace_back("ETag", md5);  // Swift refuses (422) a body with another md5
    // Each attempt (a retry after a 5xx or a cut) reads the part again from its first byte.
    put.body_stream = [&part] { return net::BodySource(part.source()); };
    put.body_size = part.size();
    const net::Response response =
        target_.session->call(put, "Failed to add object to Swift: segment " + name);
    check_segment(name, response, md5);
  }

  static void check_segment(const std::string& name, const net::Response& response,
                            const std::string& md5) {
    if (response.status == 422) {
      throw Error(ErrorKind::kBackendException,
                  "Failed to add object to Swift.\nSegment " + name +
                      " arrived with other bytes than were sent (HTTP 422)");
    }
    if (response.status != 201) throw add_error(response.status, response.body);
    const std::string* etag = response.header("etag");
    if (etag == nullptr || unquote(*etag) != md5) {
      throw etag_mismatch("segment " + name, etag ? *etag : "(none)", md5);
    }
  }

  // A segment too large for the add's memory goes as its bytes arrive. Its md5 is only known at
  // its end, so Swift's ETag is checked then; it cannot be sent again, so any failure fails the
  // add (whose abort removes the segments). While Swift finishes one segment (its last byte
  // sent, its answer not in yet), the next one is already streaming.
  struct StreamedSegment {
    std::string name;
    std::uint64_t length = 0;  // bytes it gets (the segment size when the image size is unknown)
    std::uint64_t filled = 0;
    std::unique_ptr<Hasher> md5 = Hasher::create("md5");
    std::unique_ptr<internal::SerialQueue> hashing =  // after the md5 it updates
        std::make_unique<internal::SerialQueue>(internal::ThreadPool::shared());
    std::unique_ptr<net::StreamingUpload> upload;
  };

  void stream(const DataChunk& chunk) {
    const std::size_t size = chunk.bytes().size();
    for (std::size_t at = 0; at < size;) {
      if (!filling_) start_streamed_segment();
      StreamedSegment& segment = *filling_;
      const auto n = static_cast<std::size_t>(
          std::min<std::uint64_t>(size - at, segment.length - segment.filled));
      const DataChunk piece = at == 0 && n == size ? chunk : chunk.slice(at, n);
      segment.hashing->post([piece, md5 = segment.md5.get()] { md5->update(piece.bytes()); });
      if (!segment.upload->write(piece)) {         // the server answered before the body's end
        wait_for(segment);                         // throws what it said…
        throw Error(ErrorKind::kBackendException,  // …or this, if it said yes to half a body
                    "Failed to add object to Swift: a segment's PUT ended before its body");
      }
      segment.filled += n;
      at += n;
      if (segment.filled == segment.length) release_filled_segment();
    }
  }

  void start_streamed_segment() {
    const std::uint64_t offset = streamed_segments_ * plan_.segment_size;
    // A known image size gives each segment's length (sent as Content-Length); else the last
    // one's end is only known at commit (sent chunked).
    std::optional<std::uint64_t> length;
    if (plan_.image_size != 0) length = std::min(plan_.segment_size, plan_.image_size - offset);
    auto segment = std::make_unique<StreamedSegment>();
    segment->name = segment_name(prefix_, streamed_segments_);
    segment->length = length.value_or(plan_.segment_size);
    const SwiftRequest put{
        .method = "PUT", .container = target_.container, .object = segment->name};
    ++streamed_segments_;  // from here on, abort() removes it
    segment->upload = std::make_unique<net::StreamingUpload>(
        target_.session->http(), target_.session->build(put, target_.session->token()), length);
    filling_ = std::move(segment);
  }

  // Lets the filled segment's PUT end, then waits for the one before it (by now mostly done).
  void release_filled_segment() {
    filling_->upload->release();
    if (sending_) wait_for(*sending_);
    sending_ = std::move(filling_);
  }

  void wait_for(StreamedSegment& segment) {
    net::Response response;
    try {
      response = segment.upload->finish();
    } catch (const net::TransportError& e) {
      throw net::transport_error("Failed to add object to Swift: segment " + segment.name, e);
    }
    segment.hashing->wait_idle();
    if (const auto error = segment.hashing->error()) std::rethrow_exception(error);
    check_segment(segment.name, response, segment.md5->hexdigest());
  }

  UploadTarget target_;
  SegmentPlan plan_;
  std::string prefix_;  // `<object>/<token>/`: this add's segments and no other object
  SegmentMode mode_;
  bool done_ = false;
  bool manifest_sent_ = false;  // the manifest may be stored: keep the segments on failure
  // Streamed segments: how many were started, the one being filled, the one Swift finishes.
  std::uint64_t streamed_segments_ = 0;
  std::unique_ptr<StreamedSegment> filling_;
  std::unique_ptr<StreamedSegment> sending_;
  // Segments held until uploaded; last: waits for its segments before the state they use goes.
  std::unique_ptr<internal::PartUploader> segments_;
};

}  // namespace

std::unique_ptr<ImageWriter> make_object_writer(UploadTarget target, std::uint64_t size) {
  return std::make_unique<ObjectWriter>(std::move(target), size);
}

std::unique_ptr<ImageWriter> make_segmented_writer(UploadTarget target, SegmentPlan plan) {
  return std::make_unique<SegmentedWriter>(std::move(target), std::move(plan));
}

}  // namespace glance_store::swift
