#include "drivers/swift/swift_writer.h"

#include <openssl/evp.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <memory>
#include <optional>
#include <span>
#include <thread>

#include "core/hex.h"
#include "core/log.h"
#include "core/part_uploader.h"
#include "core/url.h"
#include "net/transfer.h"

namespace glance_store::swift {
namespace {

using internal::to_hex;

// A spooled part is read back for its md5 (from the page cache, in pieces) before the PUT.
std::string md5_hex(const internal::Part& part) {
  std::array<unsigned char, 16> digest{};
  unsigned int size = 0;
  const std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(),
                                                                    &EVP_MD_CTX_free);
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_md5(), nullptr) != 1) {
    throw Error(ErrorKind::kBackendException, "Failed to add object to Swift: md5 unavailable");
  }
  part.for_each_piece([&](std::span<const std::byte> piece) {
    EVP_DigestUpdate(ctx.get(), piece.data(), piece.size());
  });
  EVP_DigestFinal_ex(ctx.get(), digest.data(), &size);
  return to_hex(digest);
}

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

class SegmentedWriter final : public ImageWriter {
 public:
  SegmentedWriter(UploadTarget target, std::uint64_t segment_size, std::size_t parallel,
                  const std::optional<std::string>& spool_dir)
      : target_(std::move(target)),
        prefix_(target_.object + "/" + internal::random_token() + "/"),
        segments_(
            parallel, [segment_size](std::uint64_t) { return segment_size; }, [](std::uint64_t) {},
            [this](std::uint64_t index, const internal::Part& part) { put_segment(index, part); },
            spool_dir ? internal::file_parts(*spool_dir) : internal::memory_parts()) {}

  ~SegmentedWriter() override { abort(); }

  void write(const DataChunk& chunk) override { segments_.write(chunk.bytes()); }

  Committed commit(std::uint64_t /*total_bytes*/, std::string_view /*md5*/) override {
    segments_.finish();
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
    if (manifest_sent_) {
      segments_.wait();
      internal::logger()->error(
          "Keeping the segments of {}/{}: its manifest may be stored (a cleanup removes them if "
          "it is not)",
          target_.container, target_.object);
      return;
    }
    segments_.wait();
    for (std::uint64_t i = 0; i < segments_.parts_started(); ++i) {
      delete_quietly(*target_.session, target_.container, segment_name(prefix_, i));
    }
  }

 private:
  void put_segment(std::uint64_t index, const internal::Part& part) {
    const std::string name = segment_name(prefix_, index);
    const std::string md5 = md5_hex(part);
    SwiftRequest put{.method = "PUT", .container = target_.container, .object = name};
    put.headers.emplace_back("ETag", md5);  // Swift refuses (422) a body with another md5
    if (const auto bytes = part.memory()) {
      put.body = *bytes;
    } else {
      // Each attempt (a retry after a 5xx or a cut) reads the file again from its first byte.
      put.body_stream = [&part] { return net::BodySource(part.source()); };
      put.body_size = part.size();
    }
    const net::Response response =
        target_.session->call(put, "Failed to add object to Swift: segment " + name);
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

  UploadTarget target_;
  std::string prefix_;  // `<object>/<token>/`: this add's segments and no other object
  bool done_ = false;
  bool manifest_sent_ = false;       // the manifest may be stored: keep the segments on failure
  internal::PartUploader segments_;  // last: waits for its segments before the state they use
};

}  // namespace

Error add_error(long status, std::string_view body) {
  if (status == 412 || status == 409) {  // 409: a newer PUT of the object already landed
    return {ErrorKind::kDuplicate, "Swift already has an image at this location"};
  }
  if (status == 413) return {ErrorKind::kStorageFull, describe_failure(status, body)};
  const std::string message =
      "Failed to add object to Swift.\nGot error from Swift: " + describe_failure(status, body) +
      ".";
  if (status == 401 || status == 403) return {ErrorKind::kForbidden, message};
  return {ErrorKind::kBackendException, message};
}

std::unique_ptr<ImageWriter> make_object_writer(UploadTarget target, std::uint64_t size) {
  return std::make_unique<ObjectWriter>(std::move(target), size);
}

std::unique_ptr<ImageWriter> make_segmented_writer(UploadTarget target, std::uint64_t segment_size,
                                                   std::size_t parallel,
                                                   std::optional<std::string> spool_dir) {
  return std::make_unique<SegmentedWriter>(std::move(target), segment_size, parallel, spool_dir);
}

}  // namespace glance_store::swift
