#include "drivers/s3/s3_writer.h"

#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <pugixml.hpp>
#include <sstream>
#include <thread>
#include <vector>

#include "core/log.h"
#include "core/thread_pool.h"

namespace glance_store::s3 {
namespace {

using Md5 = std::array<unsigned char, 16>;

Md5 md5_of(std::span<const std::byte> data) {
  Md5 out{};
  unsigned int size = 0;
  EVP_Digest(data.data(), data.size(), out.data(), &size, EVP_md5(), nullptr);
  return out;
}

std::string hex(std::span<const unsigned char> data) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (const unsigned char c : data) {
    out += kDigits[c >> 4];
    out += kDigits[c & 0xF];
  }
  return out;
}

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
  const S3Failure failure = parse_failure(response.status, response.body);
  std::string message = add_failed(t) + ": " + std::string(step) + ": " + failure.describe();
  if (failure.code == "BadDigest" || failure.code == "InvalidDigest") {
    message += " (the server received other bytes than were sent)";
  }
  if (response.status == 403) return {ErrorKind::kForbidden, message};
  return {ErrorKind::kBackendException, message};
}

// The server's ETag of a committed object must be the md5 of what was sent; a mismatch
// means the stored object is not our image, and it is removed.
void check_etag(const UploadTarget& t, std::string_view got, std::string_view expected) {
  if (unquote(got) == expected) return;
  Operation remove{.method = "DELETE", .bucket = t.bucket, .key = t.key};
  try {
    t.client->send(t.endpoint, remove);
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

// A PUT of a body in memory, checked with Content-MD5 by the server and by ETag here.
void put_whole(const UploadTarget& t, std::span<const std::byte> body) {
  const Md5 digest = md5_of(body);
  Operation put{.method = "PUT", .bucket = t.bucket, .key = t.key};
  put.headers.emplace_back("Content-MD5", base64(digest));
  put.body = body;
  const net::Response response = send_or_throw(t, put, "PUT");
  if (response.status != 200) throw failure_error(t, response, "PUT");
  const std::string* etag = response.header("etag");
  check_etag(t, etag ? *etag : "", hex(digest));
}

class StreamingPutWriter final : public ImageWriter {
 public:
  StreamingPutWriter(UploadTarget target, std::uint64_t size)
      : target_(std::move(target)), size_(size), thread_([this] { run(); }) {}

  ~StreamingPutWriter() override { abort(); }

  void write(const DataChunk& chunk) override {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return queue_.size() < kQueued || finished_; });
    if (finished_) {
      lock.unlock();
      throw_outcome();  // the PUT ended before its body did
      throw Error(ErrorKind::kBackendException, add_failed(target_) + ": the PUT ended early");
    }
    queue_.push_back(chunk);
    changed_.notify_all();
  }

  Committed commit(std::uint64_t /*total_bytes*/, std::string_view md5_hex) override {
    {
      std::lock_guard lock(mutex_);
      committed_ = true;  // releases the last byte
      changed_.notify_all();
    }
    if (thread_.joinable()) thread_.join();
    throw_outcome();
    const std::string* etag = response_.header("etag");
    check_etag(target_, etag ? *etag : "", md5_hex);
    return {target_.location, nlohmann::json::object()};
  }

  void abort() noexcept override {
    {
      std::lock_guard lock(mutex_);
      aborted_ = !committed_;
      changed_.notify_all();
    }
    if (thread_.joinable()) thread_.join();
  }

 private:
  static constexpr std::size_t kQueued = 4;

  void run() {
    try {
      Operation put{.method = "PUT", .bucket = target_.bucket, .key = target_.key};
      net::Request request = target_.client->build(target_.endpoint, put);
      request.body_source = [this](std::span<std::byte> out) { return feed(out); };
      request.body_size = size_;
      response_ = target_.client->http().perform(request);
    } catch (...) {
      error_ = std::current_exception();
    }
    std::lock_guard lock(mutex_);
    finished_ = true;
    changed_.notify_all();
  }

  // libcurl asks for body bytes: hand over queued chunks, all but the very last byte until
  // the add commits.
  std::size_t feed(std::span<std::byte> out) {
    std::unique_lock lock(mutex_);
    for (;;) {
      if (aborted_) throw Error(ErrorKind::kBackendException, "upload aborted");
      const std::uint64_t limit = committed_ ? size_ : size_ - 1;
      if (sent_ == size_) return 0;
      if (sent_ < limit && !queue_.empty()) {
        const auto bytes = queue_.front().bytes().subspan(front_offset_);
        const std::size_t n = static_cast<std::size_t>(
            std::min<std::uint64_t>({out.size(), bytes.size(), limit - sent_}));
        std::memcpy(out.data(), bytes.data(), n);
        sent_ += n;
        front_offset_ += n;
        if (front_offset_ == queue_.front().bytes().size()) {
          queue_.pop_front();
          front_offset_ = 0;
          changed_.notify_all();
        }
        return n;
      }
      changed_.wait(lock);
    }
  }

  void throw_outcome() {
    if (error_) {
      try {
        std::rethrow_exception(error_);
      } catch (const net::TransportError& e) {
        throw transport_error(add_failed(target_) + ": PUT", e);
      }
    }
    if (response_.status != 200) throw failure_error(target_, response_, "PUT");
  }

  UploadTarget target_;
  std::uint64_t size_;
  std::mutex mutex_;  // guards everything below but the thread
  std::condition_variable changed_;
  std::deque<DataChunk> queue_;
  std::size_t front_offset_ = 0;
  std::uint64_t sent_ = 0;
  bool committed_ = false;
  bool aborted_ = false;
  bool finished_ = false;
  net::Response response_;
  std::exception_ptr error_;
  std::thread thread_;  // last: started once everything it uses exists
};

struct PartBuffer {
  std::unique_ptr<std::byte[]> data;
  std::uint64_t capacity = 0;
  std::uint64_t filled = 0;
};

struct UploadedPart {
  std::string etag;  // as the server sent it (quoted)
  Md5 md5{};
};

class MultipartWriter final : public ImageWriter {
 public:
  MultipartWriter(UploadTarget target, MultipartPlan plan)
      : target_(std::move(target)), plan_(plan) {}

  ~MultipartWriter() override { abort(); }

  void write(const DataChunk& chunk) override {
    auto bytes = chunk.bytes();
    while (!bytes.empty()) {
      if (!current_.data) current_ = take_buffer(part_size_at(plan_, next_part_));
      const auto n = static_cast<std::size_t>(
          std::min<std::uint64_t>(bytes.size(), current_.capacity - current_.filled));
      std::memcpy(current_.data.get() + current_.filled, bytes.data(), n);
      current_.filled += n;
      bytes = bytes.subspan(n);
      if (current_.filled == current_.capacity) submit();
    }
  }

  Committed commit(std::uint64_t /*total_bytes*/, std::string_view md5_hex) override {
    if (upload_id_.empty()) {
      // Smaller than one part: a multipart upload would be one undersized part.
      put_whole(target_, {current_.data.get(), static_cast<std::size_t>(current_.filled)});
      return {target_.location, nlohmann::json::object()};
    }
    if (current_.filled > 0) submit();
    wait_for_parts(0);
    rethrow_part_error();
    complete();
    (void)md5_hex;  // the multipart ETag is checked against the parts' md5s instead
    done_ = true;
    return {target_.location, nlohmann::json::object()};
  }

  void abort() noexcept override {
    if (done_) return;
    done_ = true;
    wait_for_parts(0);
    if (upload_id_.empty()) return;
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
  PartBuffer take_buffer(std::uint64_t capacity) {
    std::lock_guard lock(mutex_);
    for (auto it = free_.begin(); it != free_.end(); ++it) {
      if (it->capacity == capacity) {
        PartBuffer buffer = std::move(*it);
        free_.erase(it);
        buffer.filled = 0;
        return buffer;
      }
    }
    free_.clear();  // the part size grew: the smaller buffers are of no more use
    return {std::make_unique_for_overwrite<std::byte[]>(capacity), capacity, 0};
  }

  void start_upload() {
    Operation initiate{.method = "POST", .bucket = target_.bucket, .key = target_.key};
    initiate.query = {{"uploads", ""}};
    const net::Response response = send_or_throw(target_, initiate, "starting a multipart upload");
    if (response.status != 200) {
      throw failure_error(target_, response, "starting a multipart upload");
    }
    pugi::xml_document doc;
    doc.load_buffer(response.body.data(), response.body.size());
    upload_id_ = doc.child("InitiateMultipartUploadResult").child_value("UploadId");
    if (upload_id_.empty()) {
      throw Error(ErrorKind::kBackendException,
                  add_failed(target_) + ": the server returned no UploadId");
    }
  }

  void submit() {
    rethrow_part_error();
    if (upload_id_.empty()) start_upload();
    const std::uint64_t index = next_part_;
    if (index + 1 > plan_.max_parts) {
      throw Error(ErrorKind::kInvalid,
                  add_failed(target_) + ": the image needs more than " +
                      std::to_string(plan_.max_parts) +
                      " parts, the server's limit (s3_store_max_upload_parts)");
    }
    ++next_part_;
    wait_for_parts(plan_.parallel - 1);
    rethrow_part_error();
    if (!pool_) pool_ = std::make_unique<internal::ThreadPool>(plan_.parallel);
    {
      std::lock_guard lock(mutex_);
      ++in_flight_;
      if (parts_.size() <= index) parts_.resize(index + 1);
    }
    auto buffer = std::make_shared<PartBuffer>(std::move(current_));
    current_ = {};
    pool_->post([this, index, buffer] {
      upload_part(index, *buffer);
      release(std::move(*buffer));
    });
  }

  void upload_part(std::uint64_t index, const PartBuffer& buffer) {
    try {
      const std::span<const std::byte> body(buffer.data.get(), buffer.filled);
      const Md5 digest = md5_of(body);
      Operation put{.method = "PUT", .bucket = target_.bucket, .key = target_.key};
      put.query = {{"partNumber", std::to_string(index + 1)}, {"uploadId", upload_id_}};
      put.headers.emplace_back("Content-MD5", base64(digest));
      put.body = body;
      const std::string step = "part " + std::to_string(index + 1);
      const net::Response response = send_or_throw(target_, put, step);
      if (response.status != 200) throw failure_error(target_, response, step);
      const std::string* etag = response.header("etag");
      if (etag == nullptr) {
        throw Error(ErrorKind::kBackendException,
                    add_failed(target_) + ": " + step + ": the server returned no ETag");
      }
      const std::string plain = unquote(*etag);
      if (plain.size() == 32 && plain != hex(digest)) {
        throw Error(ErrorKind::kBackendException, add_failed(target_) + ": " + step +
                                                      ": the server's ETag does not match the md5 "
                                                      "of the data sent");
      }
      std::lock_guard lock(mutex_);
      parts_[index] = {*etag, digest};
    } catch (...) {
      std::lock_guard lock(mutex_);
      if (!part_error_) part_error_ = std::current_exception();
    }
  }

  void release(PartBuffer buffer) {
    std::lock_guard lock(mutex_);
    free_.push_back(std::move(buffer));
    --in_flight_;
    parts_done_.notify_all();
  }

  void wait_for_parts(std::size_t at_most) {
    std::unique_lock lock(mutex_);
    parts_done_.wait(lock, [&] { return in_flight_ <= at_most; });
  }

  void rethrow_part_error() {
    std::lock_guard lock(mutex_);
    if (part_error_) std::rethrow_exception(part_error_);
  }

  void complete() {
    std::string xml = "<CompleteMultipartUpload>";
    std::vector<unsigned char> all_md5s;
    for (std::size_t i = 0; i < parts_.size(); ++i) {
      xml += "<Part><PartNumber>" + std::to_string(i + 1) + "</PartNumber><ETag>" + parts_[i].etag +
             "</ETag></Part>";
      all_md5s.insert(all_md5s.end(), parts_[i].md5.begin(), parts_[i].md5.end());
    }
    xml += "</CompleteMultipartUpload>";
    Operation finish{.method = "POST", .bucket = target_.bucket, .key = target_.key};
    finish.query = {{"uploadId", upload_id_}};
    finish.headers.emplace_back("Content-Type", "application/xml");
    finish.body = std::as_bytes(std::span(xml));
    finish.sign_body = true;
    const net::Response response = send_or_throw(target_, finish, "completing the upload");
    const std::string expected =
        hex(md5_of(std::as_bytes(std::span(all_md5s)))) + "-" + std::to_string(parts_.size());
    // A Complete can fail after its 200 status line: the error is then in the body. A retried
    // Complete whose first attempt went through finds no upload any more: the object decides.
    const S3Failure failure = parse_failure(response.status, response.body);
    const bool maybe_completed = failure.code == "NoSuchUpload";
    if (!maybe_completed && (response.status != 200 || !failure.code.empty())) {
      throw failure_error(target_, response, "completing the upload");
    }
    pugi::xml_document doc;
    doc.load_buffer(response.body.data(), response.body.size());
    std::string etag = doc.child("CompleteMultipartUploadResult").child_value("ETag");
    if (etag.empty()) {
      // Some servers (RGW 16.2) leave it out of the response: ask the object.
      Operation head{.method = "HEAD", .bucket = target_.bucket, .key = target_.key};
      const net::Response object = send_or_throw(target_, head, "checking the object");
      const std::string* header = object.header("etag");
      etag = header ? *header : "";
    }
    upload_id_.clear();  // complete: nothing to abort any more
    check_etag(target_, etag, expected);
  }

  UploadTarget target_;
  MultipartPlan plan_;
  std::string upload_id_;
  PartBuffer current_;
  std::uint64_t next_part_ = 0;
  bool done_ = false;
  std::mutex mutex_;  // guards the members below
  std::condition_variable parts_done_;
  std::vector<PartBuffer> free_;
  std::vector<UploadedPart> parts_;
  std::size_t in_flight_ = 0;
  std::exception_ptr part_error_;
  std::unique_ptr<internal::ThreadPool> pool_;  // last: joined before the state it uses goes
};

}  // namespace

std::unique_ptr<ImageWriter> make_streaming_put_writer(UploadTarget target, std::uint64_t size) {
  return std::make_unique<StreamingPutWriter>(std::move(target), size);
}

MultipartPlan plan_multipart(std::uint64_t size, std::uint64_t chunk_size, std::uint64_t max_parts,
                             std::size_t parallel) {
  MultipartPlan plan;
  plan.max_parts = max_parts;
  plan.parallel = std::max<std::size_t>(1, parallel);
  if (size != 0) {
    plan.part_size = std::max(chunk_size, (size + max_parts - 1) / max_parts);
  } else {
    plan.part_size = chunk_size;
    plan.grows = true;
    plan.parts_per_step = std::max<std::uint64_t>(1, max_parts / 10);
  }
  return plan;
}

std::uint64_t part_size_at(const MultipartPlan& plan, std::uint64_t index) {
  constexpr std::uint64_t kMaxPart = std::uint64_t{5} << 30;  // S3's largest part
  if (!plan.grows) return plan.part_size;
  const std::uint64_t doublings = std::min<std::uint64_t>(index / plan.parts_per_step, 40);
  std::uint64_t size = plan.part_size;
  for (std::uint64_t i = 0; i < doublings && size < kMaxPart; ++i) size *= 2;
  return std::min(size, std::max(kMaxPart, plan.part_size));
}

std::unique_ptr<ImageWriter> make_multipart_writer(UploadTarget target, MultipartPlan plan) {
  return std::make_unique<MultipartWriter>(std::move(target), plan);
}

}  // namespace glance_store::s3
