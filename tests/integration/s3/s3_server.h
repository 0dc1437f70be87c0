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

#include "drivers/s3/s3_client.h"
#include "glance_store/backend.h"
#include "glance_store/config.h"

namespace glance_store::s3::testing {

struct S3Server {
  std::string name;  ///< "s3api" or "rgw"
  std::string endpoint;
  std::string access_key;
  std::string secret_key;
  std::string region;
  std::string max_parts;
};

/// `export NAME=value` lines printed by a server script's `env` command.
inline std::map<std::string, std::string> script_env(const std::string& script) {
  std::map<std::string, std::string> out;
  const std::string command =
      std::string(GLANCE_STORE_SOURCE_DIR) + "/scripts/servers/" + script + " env 2>/dev/null";
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return out;
  char line[4096];
  while (std::fgets(line, sizeof line, pipe) != nullptr) {
    std::string text(line);
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
    if (text.rfind("export ", 0) == 0) text.erase(0, 7);
    const auto eq = text.find('=');
    if (eq == std::string::npos) continue;
    std::string value = text.substr(eq + 1);
    if (value.size() >= 2 && (value.front() == '\'' || value.front() == '"')) {
      value = value.substr(1, value.size() - 2);
    }
    out[text.substr(0, eq)] = value;
  }
  ::pclose(pipe);
  return out;
}

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

/// `size` pseudo-random bytes, the same for the same seed.
inline std::string bytes_of(std::uint64_t size, std::uint64_t seed) {
  std::string out(size, '\0');
  std::mt19937_64 random(seed);
  for (std::uint64_t i = 0; i < size; i += 8) {
    const std::uint64_t v = random();
    std::memcpy(out.data() + i, &v, std::min<std::uint64_t>(8, size - i));
  }
  return out;
}

inline std::string random_id(const std::string& prefix) {
  static std::mt19937_64 random(std::random_device{}());
  char text[17];
  std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(random()));
  return prefix + text;
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
    std::vector<std::string> keys;
    std::size_t at = 0;
    while ((at = response.body.find("<Key>", at)) != std::string::npos) {
      const std::size_t end = response.body.find("</Key>", at);
      keys.push_back(response.body.substr(at + 5, end - at - 5));
      at = end;
    }
    return keys;
  }
  long head_status(const std::string& bucket, const std::string& key) {
    return client_.send(endpoint_, {.method = "HEAD", .bucket = bucket, .key = key}).status;
  }

 private:
  S3Client client_;
  Endpoint endpoint_;
};

}  // namespace glance_store::s3::testing
