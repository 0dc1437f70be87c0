// The real S3 servers the integration tests run against, started by the project's scripts
// (scripts/servers/swift-aio, scripts/servers/ceph-rgw), and a raw client to look behind the
// store (leftover uploads, objects).
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "common/server_test_util.h"
#include "drivers/s3/s3_client.h"
#include "glance_store/backend.h"
#include "glance_store/config.h"

namespace glance_store::s3::testing {

using test_common::bytes_of;
using test_common::random_id;
using test_common::script_env;

struct S3Server {
  std::string name;  ///< "s3api" or "rgw"
  std::string endpoint;
  std::string access_key;
  std::string secret_key;
  std::string region;
  std::string max_parts;
};

/// The server's settings, from the environment or else from its script.
inline S3Server server_named(const std::string& name) {
  const bool s3api = name == "s3api";
  const std::string prefix = s3api ? "GS_S3API_" : "GS_RGW_";
  std::map<std::string, std::string> env;
  const auto get = [&](const std::string& key) -> std::string {
    if (const char* v = std::getenv((prefix + key).c_str())) return v;
    if (env.empty()) env = script_env(s3api ? "swift-aio" : "ceph-rgw");
    return env[prefix + key];
  };
  return {name,          get("ENDPOINT"), get("ACCESS_KEY"), get("SECRET_KEY"),
          get("REGION"), get("MAX_PARTS")};
}

/// Looks behind the store: lists uploads in progress, heads objects.
class RawS3 {
 public:
  explicit RawS3(const S3Server& server)
      : client_(std::make_shared<net::HttpClient>(net::HttpOptions{}), 2) {
    endpoint_.base_url = server.endpoint;
    endpoint_.key = {server.access_key, server.secret_key,
                     server.region.empty() ? "us-east-1" : server.region, "s3"};
  }
  /// Keys with a multipart upload in progress in `bucket`.
  std::vector<std::string> uploads_in_progress(const std::string& bucket) {
    Operation op{.method = "GET", .bucket = bucket};
    op.query = {{"uploads", ""}};
    const net::Response response = client_.send(endpoint_, op);
    EXPECT_EQ(response.status, 200) << response.body;
    return keys_in(response.body);
  }
  /// The keys of `bucket` that start with `prefix` (one page: the tests keep them few).
  std::vector<std::string> keys(const std::string& bucket, const std::string& prefix) {
    Operation op{.method = "GET", .bucket = bucket};
    op.query = {{"prefix", prefix}};
    const net::Response response = client_.send(endpoint_, op);
    EXPECT_EQ(response.status, 200) << response.body;
    std::vector<std::string> keys = keys_in(response.body);
    std::sort(keys.begin(), keys.end());
    return keys;
  }
  long head_status(const std::string& bucket, const std::string& key) {
    return client_.send(endpoint_, {.method = "HEAD", .bucket = bucket, .key = key}).status;
  }

 private:
  // Every <Key> of a listing.
  static std::vector<std::string> keys_in(const std::string& body) {
    std::vector<std::string> keys;
    std::size_t at = 0;
    while ((at = body.find("<Key>", at)) != std::string::npos) {
      const std::size_t end = body.find("</Key>", at);
      keys.push_back(body.substr(at + 5, end - at - 5));
      at = end;
    }
    return keys;
  }

  S3Client client_;
  Endpoint endpoint_;
};

}  // namespace glance_store::s3::testing
