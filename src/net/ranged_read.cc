#include "net/ranged_read.h"

#include <algorithm>
#include <cctype>
#include <utility>
#include <vector>

#include "core/log.h"
#include "glance_store/error.h"
#include "net/transfer.h"

namespace glance_store::net {
namespace {

std::string range_header(std::uint64_t first, std::optional<std::uint64_t> last) {
  return "bytes=" + std::to_string(first) + "-" + (last ? std::to_string(*last) : "");
}

// Reads and drops `count` bytes (the start of a body whose server ignored the Range). Returns
// false when the connection broke: the read then resumes from the offset.
bool discard(ResponseStream& stream, std::uint64_t count) {
  std::vector<std::byte> sink(std::min<std::uint64_t>(count, 1 << 20));
  try {
    while (count > 0) {
      const std::size_t n =
          stream.read(std::span(sink).first(std::min<std::uint64_t>(count, sink.size())));
      if (n == 0) return false;
      count -= n;
    }
  } catch (const TransportError&) {
    return false;
  }
  return true;
}

// The rest of the object from byte `from` up to `last`, from the object the validator names.
ResumingReader::Reopen resume(ObjectRead object, std::uint64_t last) {
  return [object = std::move(object), last](std::uint64_t from) {
    if (object.validator.empty() && !object.resume_unvalidated) {
      throw Error(ErrorKind::kBackendException,
                  "The connection to " + object.what +
                      " broke, and its server gives no ETag or Last-Modified to resume it safely");
    }
    Headers headers = {{"Range", range_header(from, last)}};
    if (!object.validator.empty())
      headers.emplace_back(object.validator.header, object.validator.value);
    auto again = object.open(headers);
    const long status = again->status();
    if (status == 206 && starts_at(*again, from)) return again;
    if (status == 206) {
      throw Error(ErrorKind::kBackendException, "Resuming the read of " + object.what +
                                                    " from byte " + std::to_string(from) +
                                                    ": the server sent other bytes");
    }
    if (status == 412) {
      throw Error(ErrorKind::kBackendException, object.what + " changed while it was read");
    }
    const std::string body = again->read_rest();
    if (status >= 500) {  // the server's trouble, maybe passing: another resume may work
      throw TransportError(object.describe(status, body), true, false);
    }
    throw Error(ErrorKind::kBackendException, "Resuming the read of " + object.what +
                                                  " failed: " + object.describe(status, body));
  };
}

// The whole object's size: a 200's Content-Length, or the total a 206's Content-Range names
// ("bytes 0-99/1000"); 0 when it does not say.
std::uint64_t object_size(const ResponseStream& answer, long status, std::uint64_t content_length) {
  if (status != 206) return content_length;
  const std::string* range = answer.header("content-range");
  const std::size_t slash = range == nullptr ? std::string::npos : range->rfind('/');
  if (slash == std::string::npos) return 0;
  const std::string total = range->substr(slash + 1);
  return parse_u64(&total).value_or(0);
}

}  // namespace

Validator Validator::of(const ResponseStream& answer, bool last_modified) {
  if (const std::string* etag = answer.header("etag");
      etag != nullptr && !etag->empty() && !etag->starts_with("W/")) {
    return {"If-Match", *etag};
  }
  if (const std::string* modified = answer.header("last-modified");
      last_modified && modified != nullptr && !modified->empty()) {
    return {"If-Unmodified-Since", *modified};
  }
  return {};
}

std::string etag_md5(std::string_view etag) {
  if (etag.size() == 34 && etag.front() == '"' && etag.back() == '"') etag = etag.substr(1, 32);
  if (etag.size() != 32) return "";
  std::string out;
  for (const char c : etag) {
    if (!std::isxdigit(static_cast<unsigned char>(c))) return "";
    out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

Headers range_headers(std::uint64_t offset, std::optional<std::uint64_t> length) {
  if (offset == 0 && !length) return {};
  return {
      {"Range", range_header(offset, length ? std::optional(offset + *length - 1) : std::nullopt)}};
}

bool starts_at(const ResponseStream& answer, std::uint64_t first) {
  const std::string* range = answer.header("content-range");
  return range != nullptr && range->starts_with("bytes " + std::to_string(first) + "-");
}

std::unique_ptr<ResumingReader> read_object(ObjectRead object,
                                            std::unique_ptr<ResponseStream> first,
                                            std::uint64_t offset,
                                            std::optional<std::uint64_t> length, int max_resumes) {
  const long status = first->status();
  if (status == 416) return nullptr;  // the offset is at or past the end
  if (status == 206 && !starts_at(*first, offset)) {
    throw Error(ErrorKind::kBackendException, object.what + ": asked for the bytes from " +
                                                  std::to_string(offset) +
                                                  ", the server sent others");
  }
  const auto content_length = parse_u64(first->header("content-length"));
  if (!content_length) {
    throw Error(ErrorKind::kBackendException, object.what + ": the answer has no Content-Length");
  }
  // A server that ignored the Range sends the whole object: the bytes asked for come later.
  const std::uint64_t skip = status == 206 ? 0 : offset;
  const std::uint64_t available = *content_length > skip ? *content_length - skip : 0;
  const std::uint64_t size = std::min(length.value_or(available), available);
  if (size == 0) return nullptr;
  // Only a read of every byte can be checked against the object's md5.
  std::string md5 =
      offset == 0 && size == object_size(*first, status, *content_length) ? object.md5 : "";
  if (skip > 0 && !discard(*first, skip)) first.reset();  // the reader asks again from offset
  std::string what = object.what;
  auto reader =
      std::make_unique<ResumingReader>(std::move(first), offset, size, max_resumes, std::move(what),
                                       resume(std::move(object), offset + size - 1));
  if (!md5.empty()) reader->verify_md5(std::move(md5));
  return reader;
}

GetResult get_result(std::unique_ptr<ResumingReader> reader) {
  GetResult result;
  if (!reader) {
    result.stream = std::make_unique<MemoryInputStream>("");
    return result;
  }
  result.size = reader->length();
  result.stream = std::move(reader);
  return result;
}

ResumingReader::ResumingReader(std::unique_ptr<ResponseStream> first, std::uint64_t offset,
                               std::uint64_t length, int max_resumes, std::string what,
                               Reopen reopen)
    : reopen_(std::move(reopen)),
      stream_(std::move(first)),
      offset_(offset),
      length_(length),
      max_resumes_(max_resumes),
      what_(std::move(what)) {}

void ResumingReader::verify_md5(std::string md5) {
  expected_md5_ = std::move(md5);
  md5_ = Hasher::create("md5");
}

std::size_t ResumingReader::read(std::span<std::byte> out) {
  // Once found corrupt, the read never ends cleanly.
  if (!corrupt_.empty()) throw Error(ErrorKind::kBackendException, corrupt_);
  if (delivered_ == length_ || out.empty()) return 0;
  out = out.first(std::min<std::uint64_t>(out.size(), length_ - delivered_));
  for (;;) {
    std::string why;
    try {
      if (!stream_) stream_ = reopen_(offset_ + delivered_);
      const std::size_t n = stream_->read(out);
      if (n > 0) {
        delivered_ += n;
        if (md5_) {
          md5_->update(out.first(n));
          if (delivered_ == length_ && md5_->hexdigest() != expected_md5_) {
            corrupt_ = "Reading " + what_ + ": the bytes received do not match its md5 " +
                       expected_md5_ + " (corrupted on the way)";
          }
        }
        if (!corrupt_.empty()) throw Error(ErrorKind::kBackendException, corrupt_);
        return n;
      }
      why = "the server closed the response early";
    } catch (const TransportError& e) {
      why = e.what();
    }
    // Never short data: resume, or fail loudly.
    stream_.reset();
    if (++resumes_ > max_resumes_) {
      throw Error(ErrorKind::kBackendException,
                  "Reading " + what_ + " failed at byte " + std::to_string(offset_ + delivered_) +
                      " of the requested " + std::to_string(length_) + " bytes after " +
                      std::to_string(resumes_ - 1) + " resumes: " + why);
    }
    internal::logger()->warn("Reading {} broke at byte {} ({}); resuming", what_,
                             offset_ + delivered_, why);
    backoff(resumes_);
  }
}

}  // namespace glance_store::net
