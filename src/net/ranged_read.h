// Reads of one remote object by offset and length that never return short data (internal): the
// Range asked, the answer checked against it, and a broken connection resumed where it stopped
// with a validator, so the rest comes from the same object. S3, Swift and HTTP all read this way;
// each says only how it sends a GET and how it words an unexpected answer.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "glance_store/hashing.h"
#include "glance_store/stream.h"
#include "net/http.h"

namespace glance_store::net {

/// What a resumed read sends so that its bytes come from the object the first answer was from.
struct Validator {
  std::string header;  ///< "If-Match", "If-Unmodified-Since", or "" for none
  std::string value;
  bool empty() const { return header.empty(); }
  /// The answer's strong ETag (a weak one does not pin the bytes); else, when `last_modified`
  /// is allowed, its Last-Modified; else none.
  static Validator of(const ResponseStream& answer, bool last_modified = false);
};

/// Sends one GET of the object with `headers` added (a Range, a validator), retrying what the
/// driver counts as transient, and returns the answer whatever its status. Throws
/// TransportError, or Error for what the driver refuses itself.
using OpenGet = std::function<std::unique_ptr<ResponseStream>(const Headers& headers)>;

/// How one object is read.
struct ObjectRead {
  std::string what;  ///< "S3 object <key>", for messages
  OpenGet open;
  /// The driver's words for an answer it did not expect to a resume: the status and the start
  /// of the body ("NoSuchKey (HTTP 404): …").
  std::function<std::string(long status, std::string_view body)> describe;
  /// Sent with every resume.
  Validator validator = {};
  /// Without a validator a resume could splice in another object's bytes, so it is refused,
  /// unless this is set: a large object joined by the server, whose ETag is not its content's.
  bool resume_unvalidated = false;
  /// The object's md5 (hex) where the store vouches for one (an ETag that is the content's md5):
  /// a read of the whole object is checked against it as it streams.
  std::string md5 = {};
};

/// `etag` as an md5 when it is one: 32 hex digits, quoted or not (a multipart or large object's
/// ETag has a '-' or is not its content's md5 at all); "" otherwise. Lower-cased.
std::string etag_md5(std::string_view etag);

/// The request headers of a read of `length` bytes (to the end when nullopt) from `offset`: a
/// Range, or none for the whole object.
Headers range_headers(std::uint64_t offset, std::optional<std::uint64_t> length);

/// Whether a 206's Content-Range starts at byte `first`.
bool starts_at(const ResponseStream& answer, std::uint64_t first);

/// Delivers `length` bytes from `offset` of an object: the first answer, then, when its
/// connection breaks or ends early, a new request from where it stopped, at most `max_resumes`
/// times. Never returns short data: when it cannot resume it throws Error(kBackendException)
/// saying what was read.
class ResumingReader final : public InputStream {
 public:
  /// Opens the rest from absolute byte `from`: a stream positioned there, or throws Error (not
  /// resumable) or TransportError (worth another resume).
  using Reopen = std::function<std::unique_ptr<ResponseStream>(std::uint64_t from)>;

  ResumingReader(std::unique_ptr<ResponseStream> first, std::uint64_t offset, std::uint64_t length,
                 int max_resumes, std::string what, Reopen reopen);
  std::size_t read(std::span<std::byte> out) override;
  std::uint64_t length() const { return length_; }
  /// Checks the bytes against `md5` (hex) as they pass: the read that would deliver the last
  /// byte throws Error(kBackendException) instead when they do not match.
  void verify_md5(std::string md5);
  /// Resumes made so far.
  int resumes() const { return resumes_; }

 private:
  // Before the stream: what reopen_ holds may own the client the stream borrows.
  Reopen reopen_;
  std::unique_ptr<ResponseStream> stream_;
  std::uint64_t offset_;
  std::uint64_t length_;
  int max_resumes_;
  std::string what_;
  std::uint64_t delivered_ = 0;
  int resumes_ = 0;
  std::string expected_md5_;
  std::unique_ptr<Hasher> md5_;
  std::string corrupt_;  // why the bytes read are not the object's, once known
};

/// Goes on from the first answer (200, 206 or 416) to a GET with range_headers(offset, length)
/// of `object`: checks that it holds those bytes (a 206's Content-Range; a 200 from a server
/// that ignored the Range is read past the offset) and returns the reader of them, resuming with
/// `object.validator`, and checking a read of the whole object against `object.md5`. nullptr
/// when there is nothing to read (a 416, an offset at or past the
/// end). Throws Error(kBackendException) for an answer without a Content-Length or with other
/// bytes than asked.
std::unique_ptr<ResumingReader> read_object(ObjectRead object,
                                            std::unique_ptr<ResponseStream> first,
                                            std::uint64_t offset,
                                            std::optional<std::uint64_t> length, int max_resumes);

/// A GetResult of the reader, an empty one for nullptr.
GetResult get_result(std::unique_ptr<ResumingReader> reader);

}  // namespace glance_store::net
