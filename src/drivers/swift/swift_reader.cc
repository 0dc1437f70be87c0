#include "drivers/swift/swift_reader.h"

#include <algorithm>
#include <cctype>
#include <exception>

#include "core/url.h"
#include "glance_store/error.h"
#include "net/ranged_read.h"
#include "net/transfer.h"

namespace glance_store::swift {
namespace {

// Asks for a large object's manifest instead of its joined content: a DLO's manifest is an
// empty object, so the reply costs nothing; a plain object answers with its content as usual.
constexpr std::string_view kManifestItself = "multipart-manifest=get";

bool is_true(const std::string* header) {
  if (header == nullptr) return false;
  std::string value = *header;
  std::transform(value.begin(), value.end(), value.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return value == "true";
}

// An ETag as If-Match wants it: quoted (a container listing gives them bare).
std::string quoted(const std::string& etag) {
  return etag.empty() || etag.front() == '"' ? etag : "\"" + etag + "\"";
}

// How `get` (with headers added) is read by ranges and resumed on the same session.
net::ObjectRead object_read(const std::shared_ptr<Session>& session, SwiftRequest get,
                            std::string what) {
  return {.what = what,
          .open =
              [session, get = std::move(get), what](const net::Headers& headers) {
                SwiftRequest request = get;
                request.headers.insert(request.headers.end(), headers.begin(), headers.end());
                return session->open(request, "GET of " + what);
              },
          .describe = describe_failure};
}

GetResult empty_result() {
  GetResult empty;
  empty.stream = std::make_unique<MemoryInputStream>("");
  return empty;
}

// A DLO's bytes, segment after segment, each GET checked against the listing (If-Match on its
// ETag, its length) so a segment replaced or removed while the image is read fails the read.
// The resumes allowed are shared by the whole read. Once a read fails, every later one fails the
// same way (the position is not to be trusted any more).
class SegmentedReader final : public InputStream {
 public:
  SegmentedReader(std::shared_ptr<Session> session, std::string container,
                  std::vector<ObjectEntry> segments, std::uint64_t offset, std::uint64_t length,
                  int max_resumes)
      : session_(std::move(session)),
        container_(std::move(container)),
        segments_(std::move(segments)),
        skip_(offset),
        remaining_(length),
        resumes_left_(max_resumes) {}

  std::size_t read(std::span<std::byte> out) override {
    if (failure_) std::rethrow_exception(failure_);
    try {
      while (remaining_ > 0 && !out.empty()) {
        if (!current_) open_next();
        const std::size_t n = current_->read(
            out.first(static_cast<std::size_t>(std::min<std::uint64_t>(out.size(), remaining_))));
        if (n > 0) {
          remaining_ -= n;
          return n;
        }
        resumes_left_ -= current_->resumes();
        current_.reset();
      }
      return 0;
    } catch (...) {
      failure_ = std::current_exception();
      throw;
    }
  }

 private:
  void open_next() {
    while (next_ < segments_.size() && skip_ >= segments_[next_].bytes) {
      skip_ -= segments_[next_++].bytes;
    }
    if (next_ == segments_.size()) {
      // The lengths were summed from this listing, so this would be a bug of ours.
      throw Error(ErrorKind::kBackendException,
                  "Swift large object in " + container_ + " ended before its listed length");
    }
    const ObjectEntry& segment = segments_[next_++];
    const std::uint64_t first = skip_;
    const std::uint64_t take = std::min(segment.bytes - first, remaining_);
    skip_ = 0;
    const std::string what = "Swift object " + container_ + "/" + segment.name;
    // As Swift reads segments: one that is itself a manifest is read as it is stored.
    const SwiftRequest get{.method = "GET",
                           .container = container_,
                           .object = segment.name,
                           .query = std::string(kManifestItself)};
    net::ObjectRead object = object_read(session_, get, what);
    net::Headers headers = net::range_headers(first, take);
    if (!segment.hash.empty()) {
      object.validator = {"If-Match", quoted(segment.hash)};
      object.md5 = net::etag_md5(segment.hash);  // a segment read whole is checked against it
      headers.emplace_back(object.validator.header, object.validator.value);
    }
    auto stream = object.open(headers);
    const long status = stream->status();
    if (status == 404 || status == 412) {
      throw Error(ErrorKind::kBackendException,
                  what + (status == 404 ? " (a segment) is gone" : " (a segment) changed") +
                      " since its large object's listing was read");
    }
    if (status != 200 && status != 206) throw read_error(what, status, stream->read_rest());
    current_ = net::read_object(std::move(object), std::move(stream), first, take, resumes_left_);
    if (!current_ || current_->length() != take) {
      throw Error(ErrorKind::kBackendException, what + ": asked for " + std::to_string(take) +
                                                    " bytes from byte " + std::to_string(first) +
                                                    ", the reply holds fewer");
    }
  }

  std::shared_ptr<Session> session_;
  std::string container_;
  std::vector<ObjectEntry> segments_;
  std::size_t next_ = 0;     // the next segment to open
  std::uint64_t skip_;       // bytes of the segments from next_ on not to deliver
  std::uint64_t remaining_;  // bytes still to deliver
  int resumes_left_;
  std::unique_ptr<net::ResumingReader> current_;
  std::exception_ptr failure_;
};

GetResult open_segments(const std::shared_ptr<Session>& session, const ManifestTarget& target,
                        std::uint64_t offset, std::optional<std::uint64_t> length, int max_resumes,
                        const std::string& object) {
  auto listed = list_entries(*session, target.container, target.prefix);
  if (!listed) {  // as the proxy answers for a manifest whose segment container is gone
    throw Error(ErrorKind::kNotFound, "Swift could not find object " + object + ".");
  }
  std::vector<ObjectEntry> segments = std::move(*listed);
  std::uint64_t total = 0;
  for (const ObjectEntry& segment : segments) total += segment.bytes;
  if (offset >= total) return empty_result();  // as the 416 of a range past the end
  const std::uint64_t size = std::min(total - offset, length.value_or(total - offset));
  GetResult result;
  result.size = size;
  result.stream = std::make_unique<SegmentedReader>(session, target.container, std::move(segments),
                                                    offset, size, max_resumes);
  return result;
}

}  // namespace

std::optional<ManifestTarget> parse_object_manifest(std::string_view value) {
  const std::string decoded = internal::percent_unquote(value);
  const auto slash = decoded.find('/');
  if (slash == std::string::npos || slash == 0) return std::nullopt;
  return ManifestTarget{decoded.substr(0, slash), decoded.substr(slash + 1)};
}

GetResult open_object(const std::shared_ptr<Session>& session, const std::string& container,
                      const std::string& object, std::uint64_t offset,
                      std::optional<std::uint64_t> length, int max_resumes) {
  const std::string what = "Swift object " + container + "/" + object;
  // Reading segments takes several requests, so only with a token that can be renewed; with a
  // fixed one (a user's, multi-tenant) the proxy joins them under the one GET it authorized.
  const bool by_segments = session->renewable();
  SwiftRequest get{.method = "GET",
                   .container = container,
                   .object = object,
                   .query = by_segments ? std::string(kManifestItself) : ""};
  const net::Headers range = net::range_headers(offset, length);
  net::ObjectRead read = object_read(session, get, what);
  auto stream = read.open(range);
  const auto not_found = [&object] {
    return Error(ErrorKind::kNotFound, "Swift could not find object " + object + ".");
  };
  if (stream->status() == 404) throw not_found();
  if (const std::string* manifest = stream->header("x-object-manifest");
      by_segments && manifest != nullptr &&
      (stream->status() == 200 || stream->status() == 206 || stream->status() == 416)) {
    const auto target = parse_object_manifest(*manifest);
    if (!target) {
      throw Error(ErrorKind::kBackendException,
                  what + " is a large object manifest without a container: " + *manifest);
    }
    // Its own (empty) body; or, from a server that ignored the query, the joined image, which
    // closing the connection here does not read.
    stream.reset();
    return open_segments(session, *target, offset, length, max_resumes, object);
  }
  if (by_segments && is_true(stream->header("x-static-large-object"))) {
    // That was an SLO's JSON manifest: read the object as Swift joins it.
    stream.reset();
    get.query.clear();
    read = object_read(session, get, what);
    stream = read.open(range);
    if (stream->status() == 404) throw not_found();
  }
  const long status = stream->status();
  if (status != 200 && status != 206 && status != 416) {
    throw read_error(what, status, stream->read_rest());
  }
  // A plain object must still be the same one when a broken read resumes; a large object joined
  // by the proxy (an SLO, or a DLO on a fixed token) has an ETag that is not its content's, so
  // it resumes without one.
  const bool joined = stream->header("x-object-manifest") != nullptr ||
                      is_true(stream->header("x-static-large-object"));
  if (!joined) {
    read.validator = net::Validator::of(*stream);
    // A plain object's ETag is its md5 (a joined one's is not).
    if (const std::string* etag = stream->header("etag")) read.md5 = net::etag_md5(*etag);
  }
  read.resume_unvalidated = joined;
  return net::get_result(
      net::read_object(std::move(read), std::move(stream), offset, length, max_resumes));
}

}  // namespace glance_store::swift
