#include "drivers/s3/sigv4.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <array>
#include <ctime>

#include "core/hex.h"

namespace glance_store::s3 {
namespace {

using Mac = std::array<unsigned char, 32>;

Mac hmac(std::string_view key, std::string_view data) {
  Mac out{};
  unsigned int size = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out.data(), &size);
  return out;
}

std::string_view view(const Mac& mac) {
  return {reinterpret_cast<const char*>(mac.data()), mac.size()};
}

// Header values are trimmed and inner runs of spaces folded to one.
std::string canonical_value(std::string_view value) {
  std::string out;
  bool space = false;
  for (const char c : value) {
    if (c == ' ' || c == '\t') {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

struct CanonicalHeaders {
  std::string text;          // "name:value\n" lines
  std::string signed_names;  // "a;b;c"
};

CanonicalHeaders canonical_headers(const net::Headers& headers) {
  std::vector<std::pair<std::string, std::string>> lowered;
  for (const auto& [name, value] : headers) {
    std::string n = name;
    std::transform(n.begin(), n.end(), n.begin(),
                   [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; });
    auto it = std::find_if(lowered.begin(), lowered.end(), [&](auto& p) { return p.first == n; });
    if (it != lowered.end()) {
      it->second.append(",").append(canonical_value(value));
    } else {
      lowered.emplace_back(std::move(n), canonical_value(value));
    }
  }
  std::sort(lowered.begin(), lowered.end());
  CanonicalHeaders out;
  for (const auto& [name, value] : lowered) {
    out.text.append(name).append(":").append(value).append("\n");
    if (!out.signed_names.empty()) out.signed_names += ';';
    out.signed_names += name;
  }
  return out;
}

}  // namespace

std::string sha256_hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_Digest(data.data(), data.size(), digest, &size, EVP_sha256(), nullptr);
  return internal::to_hex({digest, size});
}

std::string canonical_query(const std::vector<std::pair<std::string, std::string>>& query) {
  std::vector<std::pair<std::string, std::string>> encoded;
  encoded.reserve(query.size());
  for (const auto& [name, value] : query) {
    encoded.emplace_back(net::uri_encode(name, false), net::uri_encode(value, false));
  }
  std::sort(encoded.begin(), encoded.end());
  std::string out;
  for (const auto& [name, value] : encoded) {
    if (!out.empty()) out += '&';
    out.append(name).append("=").append(value);
  }
  return out;
}

std::string canonical_request_text(const CanonicalRequest& request) {
  const CanonicalHeaders headers = canonical_headers(request.headers);
  std::string out;
  out.append(request.method).append("\n");
  out.append(request.path.empty() ? "/" : request.path).append("\n");
  out.append(canonical_query(request.query)).append("\n");
  out.append(headers.text).append("\n");
  out.append(headers.signed_names).append("\n");
  out.append(request.payload_hash);
  return out;
}

std::string authorization(const SigningKey& key, const CanonicalRequest& request,
                          std::string_view amz_date) {
  const std::string_view day = amz_date.substr(0, 8);
  const std::string scope =
      std::string(day) + "/" + key.region + "/" + key.service + "/aws4_request";
  const std::string string_to_sign = "AWS4-HMAC-SHA256\n" + std::string(amz_date) + "\n" + scope +
                                     "\n" + sha256_hex(canonical_request_text(request));
  const Mac date_key = hmac("AWS4" + key.secret_key, day);
  const Mac region_key = hmac(view(date_key), key.region);
  const Mac service_key = hmac(view(region_key), key.service);
  const Mac signing_key = hmac(view(service_key), "aws4_request");
  const Mac signature = hmac(view(signing_key), string_to_sign);
  return "AWS4-HMAC-SHA256 Credential=" + key.access_key + "/" + scope +
         ", SignedHeaders=" + canonical_headers(request.headers).signed_names +
         ", Signature=" + internal::to_hex(signature);
}

std::string amz_date_now() {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char text[17];
  std::strftime(text, sizeof text, "%Y%m%dT%H%M%SZ", &utc);
  return text;
}

}  // namespace glance_store::s3
