#include "drivers/s3/s3_writer.h"

#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstring>
#include <mutex>
#include <thread>
#include <vector>

#include "core/hex.h"
#include "core/log.h"
#include "core/multipart_writer.h"
#include "drivers/s3/s3_answers.h"
#include "net/transfer.h"

namespace glance_store::s3 {
namespace {

using Md5 = std::array<unsigned char, 16>;

Md5 md5_of(std::span<const std::byte> data) {
  Md5 out{};
  unsigned int size = 0;
  EVP_Digest(data.data(), data.size(), out.data(), &size, EVP_md5(), nullptr);
  return out;
}

// Each attempt of a request sends the part from its first byte.
void set_body(Operation& op, const internal::Part& part) {
  op.body_stream = [&part] { return net::BodySource(part.source()); };
  op.body_size = part.size();
}

using internal::to_hex;

std::string base64(const Md5& digest) {
  unsigned char out[32];
  const int n = EVP_EncodeBlock(out, digest.data(), static_cast<int>(digest.size()));
  return {reinterpret_cast<const char*>(out), static_cast<std::size_t>(n)};
}

std::string unquote(std::string_view etag) {
  if (etag.size() >= 2 && etag.front() == '"' && etag.back() == '"') {
    etag = etag.substr(1, etag.size() - 2);
  }
  return std::string(etag);
}

std::string add_failed(const UploadTarget& t) {
  return "Failed to add image object to S3. key=" + t.key;
}

Error failure_error(const UploadTarget& t, const net::Response& response, std::string_view step) {
  return s3::failure_error(add_failed(t) + ": " + std::string(step), parse_failure(response));
}

// The server's ETag of a committed object must be the md5 of what was sent; a mismatch
// means the stored object is not our image, and it is removed.
void check_etag(const UploadTarget& t, std::string_view got, std::string_view expected) {
  if (unquote(got) == expected) return;
  // No ETag at all: Swift's s3api answers so (200) when Swift kept a newer write of the key
  // instead (its 202), and some servers leave it out of a completion. Then only the object
  // tells whose it is: confirm_stored looks next.
  if (got.empty()) return;
  // Only while the key still holds the object we were answered for: another add's may have
  // replaced it since, and must stay.
  Operation remove{.method = "DELETE", .bucket = t.bucket, .key = t.key};
  try {
    const net::Response now =
        t.client->send(t.endpoint, {.method = "HEAD", .bucket = t.bucket, .key = t.key});
    const std::string* etag = now.header("etag");
    if (now.status == 200 && etag != nullptr && unquote(*etag) == unquote(got)) {
      t.client->send(t.endpoint, remove);
    }
  } catch (const std::exception& e) {
    internal::logger()->error("Could not remove S3 object {} after a checksum mismatch: {}", t.key,
                              e.what());
  }
  throw Error(ErrorKind::kBackendException,
              add_failed(t) + ": the server's ETag " + std::string(got) +
                  " does not match the data sent (" + std::string(expected) + ")");
}

net::Response send_or_throw(const UploadTarget& t, const Operation& op, std::string_view step) {
  return t.client->call(t.endpoint, op, add_failed(t) + ": " + std::string(step));
}

Error another_add_won(const UploadTarget& t) {
  return {ErrorKind::kDuplicate,
          add_failed(t) +
              ": another add of the same image id finished first, and its data is "
              "the one stored"};
}

// S3 keeps the last object written. Adds of one id that overlap are told apart where they end:
// just before the request that makes an object visible, one finding the key taken stops (and
// leaves the other's object alone)…
void refuse_if_stored(const UploadTarget& t) {
  const net::Response head =
      send_or_throw(t, {.method = "HEAD", .bucket = t.bucket, .key = t.key}, "HEAD");
  if (head.status == 200) throw another_add_won(t);
  if (head.status != 404) throw failure_error(t, head, "HEAD");
}

// …and one whose object was replaced by another finishing in the same moment learns it here
// (now, and once more after the settle time), so that an add that succeeds has its own data
// stored.
void confirm_stored(const UploadTarget& t, std::string_view etag,
                    std::chrono::steady_clock::duration commit_latency) {
  for (int look = 0; look < 2; ++look) {
    if (look == 1) std::this_thread::sleep_for(net::settle_time(commit_latency));
    const net::Response head =
        send_or_throw(t, {.method = "HEAD", .bucket = t.bucket, .key = t.key}, "HEAD");
    const std::string* stored = head.header("etag");
    if (head.status == 404) {  // deleted meanwhile (or not yet visible): says nothing of a winner
      throw Error(ErrorKind::kBackendException,
                  add_failed(t) + ": the object was not found right after it was written");
    }
    if (head.status != 200) throw failure_error(t, head, "HEAD");
    if (stored == nullptr || unquote(*stored) != unquote(etag)) throw another_add_won(t);
  }
}

// A PUT of a part held whole (or of nothing), checked with Content-MD5 by the server and by
// ETag here.
void put_whole(const UploadTarget& t, const internal::Part* part) {
  const Md5 digest = part != nullptr ? part->md5() : md5_of(std::span<const std::byte>());
  refuse_if_stored(t);
  Operation put{.method = "PUT", .bucket = t.bucket, .key = t.key};
  put.headers.emplace_back("Content-MD5", base64(digest));
  if (part != nullptr) set_body(put, *part);
  const auto started = std::chrono::steady_clock::now();
  const net::Response response = send_or_throw(t, put, "PUT");
  if (response.status != 200) throw failure_error(t, response, "PUT");
  const std::string* etag = response.header("etag");
  check_etag(t, etag ? *etag : "", to_hex(digest));
  confirm_stored(t, to_hex(digest), std::chrono::steady_clock::now() - started);
}

class StreamingPutWriter final : public ImageWriter {
 public:
  StreamingPutWriter(UploadTarget target, std::uint64_t size)
      : target_(std::move(target)),
        upload_(
            target_.client->http(),
            target_.client->build(target_.endpoint,
                                  {.method = "PUT", .bucket = target_.bucket, .key = target_.key}),
            size) {}

  void write(const DataChunk& chunk) override {
    if (upload_.write(chunk)) return;
    check(finish());  // the PUT ended before its body did
    throw Error(ErrorKind::kBackendException, add_failed(target_) + ": the PUT ended early");
  }

  Committed commit(std::uint64_t /*total_bytes*/, std::string_view md5_hex) override {
    refuse_if_stored(target_);  // our last byte is still held back: nothing is visible yet
    const auto started = std::chrono::steady_clock::now();
    const net::Response response = finish();
    check(response);
    const std::string* etag = response.header("etag");
    check_etag(target_, etag ? *etag : "", md5_hex);
    confirm_stored(target_, md5_hex, std::chrono::steady_clock::now() - started);
    return {target_.location, nlohmann::json::object()};
  }

  void abort() noexcept override { upload_.cancel(); }

 private:
  net::Response finish() {
    try {
      return upload_.finish();
    } catch (const net::TransportError& e) {
      throw transport_error(add_failed(target_) + ": PUT", e);
    }
  }

  void check(const net::Response& response) const {
    if (response.status != 200) throw failure_error(target_, response, "PUT");
  }

  UploadTarget target_;
  net::StreamingUpload upload_;
};

struct UploadedPart {
  std::string etag;  // as the server sent it (quoted)
  Md5 md5{};
};

// A multipart upload: begun with the first part, parts sent with their Content-MD5, completed
// with the parts' ETags, aborted on any failure. An image smaller than one part is one PUT.
class S3Multipart final : public internal::MultipartUpload {
 public:
  S3Multipart(UploadTarget target, std::uint64_t max_parts)
      : target_(std::move(target)), max_parts_(max_parts) {}

  void begin_part(std::uint64_t index) override {
    if (index + 1 > max_parts_) {
      throw Error(ErrorKind::kInvalid,
                  add_failed(target_) + ": the image needs more than " +
                      std::to_string(max_parts_) +
                      " parts, the server's limit (s3_store_max_upload_parts)");
    }
    if (upload_id_.empty()) start_upload();
    std::lock_guard lock(mutex_);
    if (uploaded_.size() <= index) uploaded_.resize(index + 1);
  }

  void send_part(std::uint64_t index, const internal::Part& part) override {
    const Md5 digest = part.md5();
    Operation put{.method = "PUT", .bucket = target_.bucket, .key = target_.key};
    put.query = {{"partNumber", std::to_string(index + 1)}, {"uploadId", upload_id_}};
    put.headers.emplace_back("Content-MD5", base64(digest));
    set_body(put, part);
    const std::string step = "part " + std::to_string(index + 1);
    const net::Response response = send_or_throw(target_, put, step);
    if (response.status != 200) throw failure_error(target_, response, step);
    const std::string* etag = response.header("etag");
    if (etag == nullptr) {
      throw Error(ErrorKind::kBackendException,
                  add_failed(target_) + ": " + step + ": the server returned no ETag");
    }
    const std::string plain = unquote(*etag);
    if (plain.size() == 32 && plain != to_hex(digest)) {
      throw Error(ErrorKind::kBackendException, add_failed(target_) + ": " + step +
                                                    ": the server's ETag does not match the md5 "
                                                    "of the data sent");
    }
    std::lock_guard lock(mutex_);
    uploaded_[index] = {*etag, digest};
  }

  // Smaller than one part: a multipart upload would be one undersized part.
  std::optional<ImageWriter::Committed> complete_unsplit(const internal::Part* pending) override {
    put_whole(target_, pending);
    return ImageWriter::Committed{target_.location, nlohmann::json::object()};
  }

  // The multipart ETag is checked against the parts' md5s, not against the image's md5.
  ImageWriter::Committed complete(std::uint64_t /*parts*/, std::string_view /*md5_hex*/) override {
    refuse_if_stored(target_);
    std::string xml = "<CompleteMultipartUpload>";
    std::vector<unsigned char> all_md5s;
    for (std::size_t i = 0; i < uploaded_.size(); ++i) {
      xml += "<Part><PartNumber>" + std::to_string(i + 1) + "</PartNumber><ETag>" +
             uploaded_[i].etag + "</ETag></Part>";
      all_md5s.insert(all_md5s.end(), uploaded_[i].md5.begin(), uploaded_[i].md5.end());
    }
    xml += "</CompleteMultipartUpload>";
    Operation finish{.method = "POST", .bucket = target_.bucket, .key = target_.key};
    finish.query = {{"uploadId", upload_id_}};
    finish.headers.emplace_back("Content-Type", "application/xml");
    finish.body = std::as_bytes(std::span(xml));
    finish.sign_body = true;
    const auto started = std::chrono::steady_clock::now();
    const net::Response response = send_or_throw(target_, finish, "completing the upload");
    const std::string expected =
        to_hex(md5_of(std::as_bytes(std::span(all_md5s)))) + "-" + std::to_string(uploaded_.size());
    // A Complete can fail after its 200 status line: the error is then in the body. A retried
    // Complete whose first attempt went through finds no upload any more: the object decides.
    const S3Failure failure = parse_failure(response);
    const bool maybe_completed = failure.no_such_upload();
    if (!maybe_completed && (response.status != 200 || !failure.code.empty())) {
      throw failure_error(target_, response, "completing the upload");
    }
    const std::string etag = parse_completed_etag(response.body);
    upload_id_.clear();  // complete: nothing to abort any more
    // Some servers (RGW 16.2) leave the ETag out of the response: then only the object tells,
    // and one with another ETag there is another add's (confirm_stored), not ours corrupted.
    check_etag(target_, etag, expected);
    confirm_stored(target_, expected, std::chrono::steady_clock::now() - started);
    return {target_.location, nlohmann::json::object()};
  }

  void abandon(std::uint64_t /*parts*/) noexcept override {
    if (upload_id_.empty()) return;  // never begun, or completed
    Operation abort_upload{.method = "DELETE", .bucket = target_.bucket, .key = target_.key};
    abort_upload.query = {{"uploadId", upload_id_}};
    try {
      const net::Response response = target_.client->send(target_.endpoint, abort_upload);
      if (response.status != 204 && response.status != 200 && response.status != 404) {
        internal::logger()->error("Could not abort the S3 multipart upload of {}: {}", target_.key,
                                  parse_failure(response.status, response.body).describe());
      }
    } catch (const std::exception& e) {
      internal::logger()->error("Could not abort the S3 multipart upload of {}: {}", target_.key,
                                e.what());
    }
  }

 private:
  void start_upload() {
    Operation initiate{.method = "POST", .bucket = target_.bucket, .key = target_.key};
    initiate.query = {{"uploads", ""}};
    const net::Response response = send_or_throw(target_, initiate, "starting a multipart upload");
    if (response.status != 200) {
      throw failure_error(target_, response, "starting a multipart upload");
    }
    upload_id_ = parse_upload_id(response.body);
    if (upload_id_.empty()) {
      throw Error(ErrorKind::kBackendException,
                  add_failed(target_) + ": the server returned no UploadId");
    }
  }

  UploadTarget target_;
  std::uint64_t max_parts_;
  std::string upload_id_;
  std::mutex mutex_;  // guards uploaded_
  std::vector<UploadedPart> uploaded_;
};

// Parts are held whole (their Content-MD5 goes before the body): the plan makes them fit.
internal::MultipartLayout layout_of(const MultipartPlan& plan) {
  return {
      .part_size = [plan](std::uint64_t index) { return part_size_at(plan, index); },
      .largest_part = plan.grows ? std::max(plan.part_size, plan.max_part_size) : plan.part_size,
      .parallel = plan.parallel,
      .memory = plan.memory};
}

}  // namespace

std::unique_ptr<ImageWriter> make_streaming_put_writer(UploadTarget target, std::uint64_t size) {
  return std::make_unique<StreamingPutWriter>(std::move(target), size);
}

MultipartPlan plan_multipart(std::uint64_t size, std::uint64_t chunk_size, std::uint64_t max_parts,
                             std::size_t parallel, const PipelineOptions& memory) {
  constexpr std::uint64_t kMaxPart = std::uint64_t{5} << 30;  // S3's largest part
  MultipartPlan plan;
  plan.max_parts = max_parts;
  plan.parallel = std::max<std::size_t>(1, parallel);
  // Parts are held whole (their Content-MD5 goes before the body) in the add's memory.
  const std::uint64_t slack = 2 * std::uint64_t{memory.buffer_size};
  const std::uint64_t room = memory.part_memory();
  plan.max_part_size = std::min(kMaxPart, room > slack ? room - slack : 0);
  if (size != 0) {
    plan.part_size = std::max(chunk_size, (size + max_parts - 1) / max_parts);
  } else {
    plan.part_size = chunk_size;
    plan.grows = true;
    plan.parts_per_step = std::max<std::uint64_t>(1, max_parts / 10);
  }
  if (plan.part_size > plan.max_part_size) {
    throw Error(ErrorKind::kInvalid,
                "The image needs S3 parts of " + std::to_string(plan.part_size) +
                    " bytes, more than add_memory_limit leaves for them (" +
                    std::to_string(plan.max_part_size) +
                    " bytes): raise add_memory_limit or s3_store_max_upload_parts");
  }
  plan.memory = memory;
  plan.held_bytes = internal::held_bytes_for(layout_of(plan));
  return plan;
}

std::uint64_t part_size_at(const MultipartPlan& plan, std::uint64_t index) {
  if (!plan.grows) return plan.part_size;
  const std::uint64_t doublings = std::min<std::uint64_t>(index / plan.parts_per_step, 40);
  std::uint64_t size = plan.part_size;
  for (std::uint64_t i = 0; i < doublings && size < plan.max_part_size; ++i) size *= 2;
  return std::min(size, std::max(plan.max_part_size, plan.part_size));
}

std::unique_ptr<ImageWriter> make_multipart_writer(UploadTarget target, MultipartPlan plan) {
  return internal::make_multipart_writer(
      std::make_unique<S3Multipart>(std::move(target), plan.max_parts), layout_of(plan));
}

}  // namespace glance_store::s3
