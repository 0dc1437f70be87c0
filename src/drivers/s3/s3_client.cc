#include "drivers/s3/s3_client.h"

#include <algorithm>
#include <pugixml.hpp>

#include "core/log.h"
#include "net/transfer.h"

namespace glance_store::s3 {
namespace {

struct UrlParts {
  std::string scheme;     // "http"
  std::string authority;  // "host:port"
  std::string prefix;     // "/path" or ""
};

UrlParts split_base(std::string_view url) {
  UrlParts parts;
  const auto sep = url.find("://");
  parts.scheme = std::string(url.substr(0, sep));
  url.remove_prefix(sep == std::string_view::npos ? url.size() : sep + 3);
  const auto slash = url.find('/');
  parts.authority = std::string(url.substr(0, slash));
  if (slash != std::string_view::npos) {
    std::string_view prefix = url.substr(slash);
    while (prefix.ends_with('/')) prefix.remove_suffix(1);
    parts.prefix = std::string(prefix);
  }
  return parts;
}

// The query as the URL carries it: sorted like the canonical form, "name" alone when empty.
std::string url_query(const Query& query) {
  std::vector<std::pair<std::string, std::string>> encoded;
  for (const auto& [name, value] : query) {
    encoded.emplace_back(net::uri_encode(name, false), net::uri_encode(value, false));
  }
  std::sort(encoded.begin(), encoded.end());
  std::string out;
  for (const auto& [name, value] : encoded) {
    out += out.empty() ? "?" : "&";
    out += name;
    if (!value.empty()) out += "=" + value;
  }
  return out;
}

}  // namespace

std::string S3Failure::describe() const {
  std::string out = code.empty() ? "HTTP " + std::to_string(status)
                                 : code + " (HTTP " + std::to_string(status) + ")";
  if (!message.empty()) out += ": " + message;
  return out;
}

ErrorKind S3Failure::refused_kind() const {
  return code == "SignatureDoesNotMatch" || code == "InvalidAccessKeyId"
             ? ErrorKind::kBadStoreConfiguration
             : ErrorKind::kForbidden;
}

S3Failure parse_failure(long status, std::string_view body) {
  S3Failure failure;
  failure.status = status;
  pugi::xml_document doc;
  if (!body.empty() && doc.load_buffer(body.data(), body.size())) {
    const auto error = doc.child("Error");
    failure.code = error.child_value("Code");
    failure.message = error.child_value("Message");
  }
  return failure;
}

S3Client::S3Client(std::shared_ptr<net::HttpClient> http, int max_retries)
    : http_(std::move(http)), max_retries_(max_retries) {}

net::Request S3Client::build(const Endpoint& endpoint, const Operation& operation) const {
  const UrlParts base = split_base(endpoint.base_url);
  std::string authority = base.authority;
  std::string path = base.prefix;
  if (endpoint.virtual_host && !operation.bucket.empty()) {
    authority = operation.bucket + "." + authority;
  } else if (!operation.bucket.empty()) {
    path += "/" + net::uri_encode(operation.bucket, false);
  }
  if (!operation.key.empty()) path += "/" + net::uri_encode(operation.key, true);
  if (path.empty()) path = "/";

  const std::string date = amz_date_now();
  const std::string payload_hash =
      operation.sign_body ? sha256_hex({reinterpret_cast<const char*>(operation.body.data()),
                                        operation.body.size()})
                          : std::string(kUnsignedPayload);
  net::Request request;
  request.method = operation.method;
  request.url = base.scheme + "://" + authority + path + url_query(operation.query);
  request.body = operation.body;
  if (operation.body_stream) {
    request.body_source = operation.body_stream();
    request.body_size = operation.body_size;
  }
  request.headers = {
      {"Host", authority}, {"x-amz-date", date}, {"x-amz-content-sha256", payload_hash}};
  for (const auto& header : operation.headers) request.headers.push_back(header);
  CanonicalRequest canonical{.method = operation.method,
                             .path = path,
                             .query = operation.query,
                             .headers = request.headers,
                             .payload_hash = payload_hash};
  request.headers.emplace_back("Authorization", authorization(endpoint.key, canonical, date));
  return request;
}

bool S3Client::is_transient(const net::Response& response) {
  if (response.status >= 500 || response.status == 429) return true;
  if (response.status == 400) {
    const S3Failure failure = parse_failure(response.status, response.body);
    return failure.code == "RequestTimeout" || failure.code == "SlowDown";
  }
  return false;
}

net::Response S3Client::send(const Endpoint& endpoint, const Operation& operation) {
  for (int attempt = 0;; ++attempt) {
    try {
      net::Response response = http_->perform(build(endpoint, operation));
      if (!is_transient(response) || attempt >= max_retries_) return response;
      internal::logger()->warn("S3 {} {} answered {}; retrying", operation.method,
                               operation.key.empty() ? operation.bucket : operation.key,
                               parse_failure(response.status, response.body).describe());
    } catch (const net::TransportError& e) {
      if (!e.retryable() || attempt >= max_retries_) throw;
      internal::logger()->warn("S3 {} {} failed ({}); retrying", operation.method,
                               operation.key.empty() ? operation.bucket : operation.key, e.what());
    }
    net::backoff(attempt + 1);
  }
}

net::Response S3Client::call(const Endpoint& endpoint, const Operation& operation,
                             std::string_view what) {
  try {
    return send(endpoint, operation);
  } catch (const net::TransportError& e) {
    throw transport_error(what, e);
  }
}

GetResult S3Client::get_object(const Endpoint& endpoint, const std::string& bucket,
                               const std::string& key, std::uint64_t offset,
                               std::optional<std::uint64_t> length) {
  Operation op{.method = "GET", .bucket = bucket, .key = key};
  if (offset != 0 || length) {
    op.headers.emplace_back(
        "Range",
        net::range_header(offset, length ? std::optional(offset + *length - 1) : std::nullopt));
  }
  for (int attempt = 0;; ++attempt) {
    std::unique_ptr<net::ResponseStream> stream;
    try {
      stream = http_->open(build(endpoint, op));
    } catch (const net::TransportError& e) {
      if (!e.retryable() || attempt >= max_retries_) {
        throw transport_error("S3 GET of " + key + " failed", e);
      }
      net::backoff(attempt + 1);
      continue;
    }
    const long status = stream->status();
    if (status == 200 || status == 206) {
      const auto content_length = net::parse_u64(stream->header("content-length"));
      if (!content_length) {
        throw Error(ErrorKind::kBackendException,
                    "S3 GET of " + key + " returned no Content-Length");
      }
      const std::string etag = stream->header("etag") ? *stream->header("etag") : "";
      GetResult result;
      result.size = *content_length;
      // A broken read resumes where it stopped, only while the object is the same one.
      auto reopen = [this, endpoint, bucket, key, etag,
                     last = offset + *content_length - 1](std::uint64_t from) {
        Operation resume{.method = "GET", .bucket = bucket, .key = key};
        resume.headers.emplace_back("Range", net::range_header(from, last));
        if (!etag.empty()) resume.headers.emplace_back("If-Match", etag);
        auto again = http_->open(build(endpoint, resume));
        if (again->status() == 206) return again;
        const S3Failure failure = parse_failure(again->status(), again->read_rest());
        if (again->status() == 412) {
          throw Error(ErrorKind::kBackendException,
                      "S3 object " + key + " changed while it was read; not resuming");
        }
        if (again->status() >= 500) throw net::TransportError(failure.describe(), true, false);
        throw Error(ErrorKind::kBackendException,
                    "Resuming the read of S3 object " + key + " failed: " + failure.describe());
      };
      result.stream = std::make_unique<net::ResumingReader>(std::move(stream), offset,
                                                            *content_length, max_retries_,
                                                            "S3 object " + key, std::move(reopen));
      return result;
    }
    const S3Failure failure = parse_failure(status, stream->read_rest());
    if (status == 404) throw not_found_error(key);
    if (status == 416) {
      // A range that starts at or past the end: nothing to deliver.
      GetResult empty;
      empty.stream = std::make_unique<MemoryInputStream>("");
      return empty;
    }
    if ((status >= 500 || status == 429 || failure.code == "SlowDown") && attempt < max_retries_) {
      net::backoff(attempt + 1);
      continue;
    }
    if (failure.refused()) {
      throw Error(failure.refused_kind(), "S3 refused to read " + key + ": " + failure.describe());
    }
    throw Error(ErrorKind::kBackendException,
                "S3 GET of " + key + " failed: " + failure.describe());
  }
}

}  // namespace glance_store::s3
