#include "drivers/s3/s3_client.h"

#include <algorithm>

#include "core/log.h"
#include "net/retry.h"
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

namespace {

std::string describe(const Operation& operation) {
  return "S3 " + operation.method + " " +
         (operation.key.empty() ? operation.bucket : operation.key);
}

}  // namespace

net::Response S3Client::send(const Endpoint& endpoint, const Operation& operation) {
  return net::with_retries(
      max_retries_, describe(operation), [&] { return http_->perform(build(endpoint, operation)); },
      [](const net::Response& r) { return s3::transient(r); });
}

std::unique_ptr<net::ResponseStream> S3Client::open(const Endpoint& endpoint,
                                                    const Operation& operation) {
  return net::with_retries(
      max_retries_, describe(operation), [&] { return http_->open(build(endpoint, operation)); },
      [](const std::unique_ptr<net::ResponseStream>& r) { return s3::transient(*r); });
}

net::Response S3Client::call(const Endpoint& endpoint, const Operation& operation,
                             std::string_view what) {
  try {
    return send(endpoint, operation);
  } catch (const net::TransportError& e) {
    throw transport_error(what, e);
  }
}

}  // namespace glance_store::s3
