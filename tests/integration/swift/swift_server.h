// The real Swift the integration tests run against (scripts/servers/swift-aio: tempauth v1;
// scripts/servers/keystone: Keystone v3 and a Swift proxy that trusts it), and a raw client to
// look behind the store.
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/server_test_util.h"
#include "glance_store/backend.h"
#include "glance_store/config.h"
#include "net/http.h"

namespace glance_store::swift::testing {

using test_common::bytes_of;
using test_common::random_id;
using test_common::server_setting;

/// A legacy registry with one Swift store on tempauth (test:tester), its images in `container`:
/// threshold 2 Swift-MB, segments of 1, 2 retries; `extra` lines are appended.
inline std::unique_ptr<StoreRegistry> tempauth_registry(const std::string& auth_url,
                                                        const std::string& container,
                                                        const std::string& extra) {
  std::string text = "[glance_store]\nstores = swift\ndefault_store = swift\n";
  text += "swift_store_auth_address = " + auth_url + "\n";
  text += "swift_store_user = test:tester\nswift_store_key = testing\n";
  text += "swift_store_auth_version = 1\nswift_store_container = " + container + "\n";
  text += "swift_store_create_container_on_put = true\n";
  text += "swift_store_large_object_size = 2\nswift_store_large_object_chunk_size = 1\n";
  text += "swift_store_max_retries = 2\n" + extra;
  return StoreRegistry::create(ConfigFile::parse(text));
}

/// Keystone v3's answer (201 expected) to a password login of `user` scoped to `project`, both
/// in the default domain: the token in X-Subject-Token, the catalog in the body.
inline net::Response keystone_password_login(const std::string& keystone_url,
                                             const std::string& user, const std::string& password,
                                             const std::string& project) {
  const nlohmann::json domain = {{"id", "default"}};
  const nlohmann::json identity = {
      {"methods", {"password"}},
      {"password", {{"user", {{"name", user}, {"domain", domain}, {"password", password}}}}}};
  const std::string body =
      nlohmann::json{{"auth",
                      {{"identity", identity},
                       {"scope", {{"project", {{"name", project}, {"domain", domain}}}}}}}}
          .dump();
  net::HttpClient http({});
  net::Request request;
  request.method = "POST";
  request.url = keystone_url + "/auth/tokens";
  request.headers = {{"Content-Type", "application/json"}};
  request.body = std::as_bytes(std::span(body));
  net::Response response = http.perform(request);
  EXPECT_EQ(response.status, 201) << response.body;
  return response;
}

/// Swift's API with a tempauth token, to check what the store left behind.
class RawSwift {
 public:
  RawSwift(const std::string& auth_url, const std::string& user, const std::string& key)
      : http_(net::HttpOptions{}) {
    net::Request auth;
    auth.url = auth_url;
    auth.headers = {{"X-Auth-User", user}, {"X-Auth-Key", key}};
    const net::Response response = http_.perform(auth);
    EXPECT_EQ(response.status / 100, 2) << "tempauth at " << auth_url;
    if (response.header("x-auth-token")) token_ = *response.header("x-auth-token");
    if (response.header("x-storage-url")) storage_url_ = *response.header("x-storage-url");
  }
  /// With a token got elsewhere (Keystone), for the account at `storage_url`.
  RawSwift(std::string storage_url, std::string token)
      : http_(net::HttpOptions{}), token_(std::move(token)), storage_url_(std::move(storage_url)) {}
  const std::string& token() const { return token_; }
  const std::string& storage_url() const { return storage_url_; }

  net::Response request(const std::string& method, const std::string& path,
                        const std::string& token_override = "") {
    net::Request r;
    r.method = method;
    r.url = storage_url_ + "/" + path;
    r.headers = {{"X-Auth-Token", token_override.empty() ? token_ : token_override}};
    return http_.perform(r);
  }
  /// PUTs `body` at `path` with `headers` besides the token; returns the status.
  long put(const std::string& path, const std::string& body, net::Headers headers = {}) {
    net::Request r;
    r.method = "PUT";
    r.url = storage_url_ + "/" + path;
    r.headers = std::move(headers);
    r.headers.emplace_back("X-Auth-Token", token_);
    r.body = std::as_bytes(std::span(body));
    return http_.perform(r).status;
  }
  /// The object names of a container (empty when it does not exist).
  std::vector<std::string> list(const std::string& container) {
    const net::Response response = request("GET", container + "?format=json");
    std::vector<std::string> names;
    if (response.status != 200) return names;
    for (const auto& entry : nlohmann::json::parse(response.body)) names.push_back(entry["name"]);
    return names;
  }

 private:
  net::HttpClient http_;
  std::string token_;
  std::string storage_url_;
};

/// The segment prefix of the DLO `container/object` (`<object>/<token>/`), from its manifest;
/// "" (and a test failure) when it is not one.
inline std::string segment_prefix(RawSwift& raw, const std::string& container,
                                  const std::string& object) {
  const net::Response head =
      raw.request("HEAD", container + "/" + object + "?multipart-manifest=get");
  const std::string* manifest = head.header("x-object-manifest");
  const std::string start = container + "/" + object + "/";
  if (manifest == nullptr || !manifest->starts_with(start) ||
      manifest->size() != start.size() + 33) {
    ADD_FAILURE() << container << "/" << object << " is not a DLO of the store's layout: "
                  << (manifest ? *manifest : "no manifest");
    return "";
  }
  return manifest->substr(container.size() + 1);
}

/// The size of container/object as a HEAD says (0 when it has none).
inline std::uint64_t object_size(RawSwift& raw, const std::string& container,
                                 const std::string& object) {
  const net::Response head = raw.request("HEAD", container + "/" + object);
  const std::string* length = head.header("content-length");
  return length ? std::stoull(*length) : 0;
}

/// Checks that `container` holds the DLO `object` of `size` bytes and nothing else, as the store
/// lays it out: the manifest, then <object>/<token>/00000001… of `segment_size` bytes each, the
/// last one shorter, none empty.
inline void expect_segment_layout(RawSwift& raw, const std::string& container,
                                  const std::string& object, std::uint64_t size,
                                  std::uint64_t segment_size) {
  const std::string prefix = segment_prefix(raw, container, object);
  const std::uint64_t segments = (size + segment_size - 1) / segment_size;
  std::vector<std::string> expected = {object};
  for (std::uint64_t i = 1; i <= segments; ++i) {
    char suffix[16];
    std::snprintf(suffix, sizeof suffix, "%08llu", static_cast<unsigned long long>(i));
    expected.push_back(prefix + suffix);
  }
  std::vector<std::string> names = raw.list(container);
  std::sort(names.begin(), names.end());
  ASSERT_EQ(names, expected);
  for (std::uint64_t i = 1; i <= segments; ++i) {
    EXPECT_EQ(object_size(raw, container, expected[i]),
              std::min(segment_size, size - (i - 1) * segment_size));
  }
}

}  // namespace glance_store::swift::testing
