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
#include "core/multipart_writer.h"
#include "core/url.h"
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
  std::snprintf(number, sizeof number, "%08llu", static_cast<unsigned long long>(index) + 1);
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

// A segmented add: segments `<object>/<token>/00000001`, … each sent with its md5 (Swift
// checks it), then the DLO manifest; on failure, the segments this add wrote go.
class Segments final : public internal::MultipartUpload {
 public:
  explicit Segments(UploadTarget target)
      : target_(std::move(target)),
        prefix_(target_.object + "/" + internal::random_token() + "/") {}

  void begin_part(std::uint64_t /*index*/) override {}

  void send_part(std::uint64_t index, const internal::Part& part) override {
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

  // A segment too large for the add's memory goes as its bytes arrive, with Content-Length
  // when its length is known, else chunked. Its md5 is only known at its end, so Swift's ETag
  // is checked then.
  std::unique_ptr<internal::StreamedPart> stream_part(
      std::uint64_t index, std::optional<std::uint64_t> length) override {
    std::string name = segment_name(prefix_, index);
    const SwiftRequest put{.method = "PUT", .container = target_.container, .object = name};
    return std::make_unique<StreamedSegment>(
        std::move(name), std::make_unique<net::StreamingUpload>(
                             target_.session->http(),
                             target_.session->build(put, target_.session->token()), length));
  }

  ImageWriter::Committed complete(std::uint64_t /*parts*/, std::string_view /*md5*/) override {
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
    return {target_.location, nlohmann::json::object()};
  }

  void abandon(std::uint64_t parts) noexcept override {
    if (manifest_sent_) {
      internal::logger()->error(
          "Keeping the segments of {}/{}: its manifest may be stored (a cleanup removes them if "
          "it is not)",
          target_.container, target_.object);
      return;
    }
    for (std::uint64_t i = 0; i < parts; ++i) {
      delete_quietly(*target_.session, target_.container, segment_name(prefix_, i));
    }
  }

 private:
  static void check_segment(const std::string& name, const net::Response& response,
                            std::string_view md5) {
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

  class StreamedSegment final : public internal::StreamedPart {
   public:
    StreamedSegment(std::string name, std::unique_ptr<net::StreamingUpload> upload)
        : name_(std::move(name)), upload_(std::move(upload)) {}
    bool write(const DataChunk& bytes) override { return upload_->write(bytes); }
    void release() override { upload_->release(); }
    void finish(std::string_view md5_hex) override {
      net::Response response;
      try {
        response = upload_->finish();
      } catch (const net::TransportError& e) {
        throw net::transport_error("Failed to add object to Swift: segment " + name_, e);
      }
      check_segment(name_, response, md5_hex);
    }
    void cancel() noexcept override { upload_->cancel(); }

   private:
    std::string name_;
    std::unique_ptr<net::StreamingUpload> upload_;
  };

  UploadTarget target_;
  std::string prefix_;          // `<object>/<token>/`: this add's segments and no other object
  bool manifest_sent_ = false;  // the manifest may be stored: keep the segments on failure
};

}  // namespace

std::unique_ptr<ImageWriter> make_object_writer(UploadTarget target, std::uint64_t size) {
  return std::make_unique<ObjectWriter>(std::move(target), size);
}

std::unique_ptr<ImageWriter> make_segmented_writer(UploadTarget target, SegmentPlan plan) {
  internal::MultipartLayout layout{
      .part_size = [size = plan.segment_size](std::uint64_t) { return size; },
      .largest_part = plan.segment_size,
      .image_size = plan.image_size,
      .parallel = plan.parallel,
      .spool_dir = std::move(plan.spool_dir),
      .memory = plan.memory};
  return internal::make_multipart_writer(std::make_unique<Segments>(std::move(target)),
                                         std::move(layout));
}

}  // namespace glance_store::swift
