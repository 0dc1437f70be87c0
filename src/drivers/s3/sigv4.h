// AWS Signature Version 4 for S3 requests (internal).
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "net/http.h"

namespace glance_store::s3 {

/// The payload hash that tells the server the body is not signed.
inline constexpr std::string_view kUnsignedPayload = "UNSIGNED-PAYLOAD";

struct SigningKey {
  std::string access_key;  ///< decoded (a colon is allowed: Swift's s3api uses "account:user")
  std::string secret_key;
  std::string region;
  std::string service = "s3";
};

/// What a signature covers.
struct CanonicalRequest {
  std::string_view method = {};
  std::string_view path = {};  ///< already URI-encoded, as sent
  /// Decoded name/value pairs; a name alone has an empty value.
  std::vector<std::pair<std::string, std::string>> query = {};
  /// Every header that is signed (Host included).
  net::Headers headers = {};
  std::string_view payload_hash = {};
};

/// The canonical request text (AWS's CanonicalRequest), for tests and debugging.
std::string canonical_request_text(const CanonicalRequest& request);
/// The Authorization header's value for `request` at `amz_date` (YYYYMMDD'T'HHMMSS'Z').
std::string authorization(const SigningKey& key, const CanonicalRequest& request,
                          std::string_view amz_date);
/// The canonical query string, which is also what the URL carries.
std::string canonical_query(const std::vector<std::pair<std::string, std::string>>& query);
/// Lower-case hex of sha256(data).
std::string sha256_hex(std::string_view data);
/// The current UTC time as an x-amz-date.
std::string amz_date_now();

}  // namespace glance_store::s3
