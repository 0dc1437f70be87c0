// The suite's backends: each builds its store from glance-api.conf text, as a deployment
// would, and looks behind it with the raw helpers of the per-driver integration tests.
#include <memory>
#include <string>
#include <vector>

#include "common/test_util.h"
#include "conformance/backend.h"
#include "integration/http/http_server.h"
#include "integration/s3/s3_server.h"
#include "integration/swift/swift_server.h"
#ifdef GLANCE_STORE_CONFORMANCE_RBD
#include "integration/rbd/rbd_server.h"
#endif

namespace glance_store::conformance {

constexpr std::uint64_t kMiB = 1 << 20;

std::unique_ptr<StoreRegistry> Backend::registry_via(const std::string&, const std::string&) {
  ADD_FAILURE() << "this backend has no fault proxy";
  return nullptr;
}

std::string Backend::place_via(StoreRegistry& via, const std::string&, const std::string& id,
                               const std::string& data) {
  return add_to(via, id, data, data.size()).location;
}

AddResult add_to(StoreRegistry& registry, const std::string& id, const std::string& data,
                 std::uint64_t declared) {
  test_common::TrickleStream in(data);
  return registry.add(id, in, declared, "sha256");
}

namespace {

std::unique_ptr<StoreRegistry> legacy(const std::string& type, const std::string& lines) {
  return StoreRegistry::create(ConfigFile::parse("[glance_store]\nstores = " + type +
                                                 "\ndefault_store = " + type + "\n" + lines));
}

// A store that takes adds: place() is an add, and its locations are the store's prefix and id.
class WritableBackend : public Backend {
 public:
  StoreRegistry& registry() override { return *registry_; }
  std::string place(const std::string& id, const std::string& data) override {
    return add_to(*registry_, id, data, data.size()).location;
  }
  std::string location_of(const std::string& id) override {
    return registry_->default_store().url_prefix() + "/" + id;
  }

 protected:
  std::unique_ptr<StoreRegistry> registry_;
};

// --- The filesystem: a datadir of its own; 64 KiB pipeline buffers stand in for parts.

class FsBackend final : public WritableBackend {
 public:
  FsBackend() {
    registry_ =
        legacy("file", "filesystem_store_datadir = " + dir_.path() + "\nadd_buffer_size = 65536\n");
  }
  std::uint64_t part_size() const override { return 65536; }
  // Anything in the datadir named after the id but the image itself: the add's temporary
  // (.<id>.tmp.<pid>.<random>) or a stray copy.
  std::vector<std::string> leftovers(const std::string& id) override {
    std::vector<std::string> out;
    for (const auto& name : test_common::ListDir(dir_.path())) {
      if (name != id && name.find(id) != std::string::npos) out.push_back(name);
    }
    return out;
  }

 private:
  test_common::TempDir dir_;
};

// --- S3 on Swift's s3api or on RGW: 5 MiB parts (S3's minimum) from 5 MiB on.

class S3Backend final : public WritableBackend {
 public:
  explicit S3Backend(const std::string& server_name)
      : server_(s3::testing::server_named(server_name)), raw_(server_) {
    EXPECT_FALSE(server_.endpoint.empty()) << server_name << " is not running";
    registry_ = registry_via(server_.endpoint, "");
  }
  std::uint64_t part_size() const override { return 5 * kMiB; }
  std::vector<std::string> leftovers(const std::string& id) override {
    std::vector<std::string> out;
    for (const auto& key : raw_.keys(kBucket, id)) {
      if (key != id) out.push_back("object " + key);
    }
    for (const auto& key : raw_.uploads_in_progress(kBucket)) {
      if (key.starts_with(id)) out.push_back("multipart upload of " + key);
    }
    return out;
  }
  std::string fault_upstream() const override { return server_.endpoint; }
  std::unique_ptr<StoreRegistry> registry_via(const std::string& base,
                                              const std::string& extra) override {
    return legacy(
        "s3", extra + "s3_store_host = " + base + "\ns3_store_access_key = " + server_.access_key +
                  "\ns3_store_secret_key = " + server_.secret_key +
                  "\ns3_store_region_name = " + server_.region + "\ns3_store_bucket = " + kBucket +
                  "\ns3_store_create_bucket_on_put = true\n"
                  "s3_store_large_object_size = 5\ns3_store_large_object_chunk_size = 5\n"
                  "s3_store_max_upload_parts = " +
                  server_.max_parts + "\ns3_store_max_retries = 2\n");
  }

 private:
  static constexpr const char* kBucket = "glance-conformance";
  s3::testing::S3Server server_;
  s3::testing::RawS3 raw_;
};

// --- Swift: a container per test; segments of one Swift MB (1,024,000 bytes) from 1 MB on.

constexpr std::uint64_t kSwiftMB = 1024000;
constexpr const char* kSwiftSizes =
    "swift_store_large_object_size = 1\nswift_store_large_object_chunk_size = 1\n"
    "swift_store_create_container_on_put = true\nswift_store_max_retries = 2\n";

class SwiftBackend : public WritableBackend {
 public:
  ~SwiftBackend() override {
    if (!raw_) return;
    for (const auto& name : raw_->list(container_))
      raw_->request("DELETE", container_ + "/" + name);
    raw_->request("DELETE", container_);
  }
  std::uint64_t part_size() const override { return kSwiftMB; }
  // The container's objects named after the id, but the image's manifest (or single object)
  // and the segments its manifest names.
  std::vector<std::string> leftovers(const std::string& id) override {
    const net::Response head =
        raw_->request("HEAD", container_ + "/" + id + "?multipart-manifest=get");
    std::string segments;  // "<id>/<token>/" of the committed image, if it is segmented
    if (const std::string* manifest = head.header("x-object-manifest")) {
      segments = manifest->substr(manifest->find('/') + 1);
    }
    std::vector<std::string> out;
    for (const auto& name : raw_->list(container_)) {
      if (!name.starts_with(id) || name == id) continue;
      if (!segments.empty() && name.starts_with(segments)) continue;
      out.push_back(name);
    }
    return out;
  }

 protected:
  std::string container_ = test_common::random_id("glance-conf-");
  std::unique_ptr<swift::testing::RawSwift> raw_;
};

class SwiftTempauthBackend final : public SwiftBackend {
 public:
  SwiftTempauthBackend() : url_(test_common::server_setting("swift-aio", "GS_SWIFT_URL")) {
    EXPECT_FALSE(url_.empty()) << "start Swift: scripts/servers/swift-aio start";
    raw_ =
        std::make_unique<swift::testing::RawSwift>(url_ + "/auth/v1.0", "test:tester", "testing");
    registry_ = swift::testing::tempauth_registry(url_ + "/auth/v1.0", container_, kSwiftSizes);
  }
  std::string fault_upstream() const override { return url_; }
  // Auth and storage both through `base`.
  std::unique_ptr<StoreRegistry> registry_via(const std::string& base,
                                              const std::string& extra) override {
    return swift::testing::tempauth_registry(
        base + "/auth/v1.0", container_,
        std::string(kSwiftSizes) + extra + "swift_store_endpoint = " + base + "/v1/AUTH_test\n");
  }

 private:
  std::string url_;
};

std::string ks(const std::string& name) { return test_common::server_setting("keystone", name); }

// A project-scoped token of the test user, to list the container as the store's user.
std::string keystone_token() {
  const net::Response response = swift::testing::keystone_password_login(
      ks("GS_KEYSTONE_URL"), ks("GS_KS_USER"), ks("GS_KS_PASSWORD"), ks("GS_KS_PROJECT"));
  const std::string* token = response.header("x-subject-token");
  return token ? *token : "";
}

class SwiftKeystoneBackend final : public SwiftBackend {
 public:
  SwiftKeystoneBackend() {
    EXPECT_FALSE(ks("GS_KEYSTONE_URL").empty()) << "start Keystone: scripts/servers/keystone start";
    raw_ = std::make_unique<swift::testing::RawSwift>(
        ks("GS_SWIFT_KEYSTONE_URL") + "/v1/AUTH_" + ks("GS_KS_PROJECT_ID"), keystone_token());
    registry_ = legacy(
        "swift", std::string(kSwiftSizes) + "swift_store_container = " + container_ +
                     "\nswift_store_region = " + ks("GS_KS_REGION") +
                     "\nswift_store_auth_address = " + ks("GS_KEYSTONE_URL") +
                     "\nswift_store_auth_version = 3\nswift_store_user = " + ks("GS_KS_PROJECT") +
                     ":" + ks("GS_KS_USER") + "\nswift_store_key = " + ks("GS_KS_PASSWORD") + "\n");
  }
};

// --- HTTP (read-only): files the fixture writes into nginx's document root, read through its
// plain route; 64 KiB stands in for a part (the sizes only matter to the ranges).

class HttpBackend final : public Backend {
 public:
  HttpBackend()
      : url_(http::testing::origin_setting("GS_HTTP_URL")),
        root_(http::testing::origin_setting("GS_HTTP_ROOT")),
        registry_(http::testing::http_registry()) {
    EXPECT_FALSE(url_.empty() || root_.empty()) << "start it: scripts/servers/http-origin start";
  }
  StoreRegistry& registry() override { return *registry_; }
  std::uint64_t part_size() const override { return 65536; }
  std::string place(const std::string& id, const std::string& data) override {
    files_.push_back(std::make_unique<http::testing::OriginFile>(root_, id, data));
    return location_of(id);
  }
  std::string location_of(const std::string& id) override { return url_ + "/images/" + id; }
  std::vector<std::string> leftovers(const std::string&) override { return {}; }
  std::string fault_upstream() const override { return url_; }
  std::unique_ptr<StoreRegistry> registry_via(const std::string&,
                                              const std::string& extra) override {
    return http::testing::http_registry(extra);  // the location names the proxy
  }
  std::string place_via(StoreRegistry&, const std::string& base, const std::string& id,
                        const std::string& data) override {
    place(id, data);
    return base + "/images/" + id;
  }

 private:
  std::string url_;
  std::string root_;
  std::unique_ptr<StoreRegistry> registry_;
  std::vector<std::unique_ptr<http::testing::OriginFile>> files_;
};

#ifdef GLANCE_STORE_CONFORMANCE_RBD
// --- RBD on the project's Ceph: 1 MiB objects (rbd_store_chunk_size = 1).

class RbdBackend final : public WritableBackend {
 public:
  RbdBackend() {
    registry_ =
        legacy("rbd", "add_buffer_size = 262144\n" + rbd::testing::rbd_store_lines(server_));
  }
  std::uint64_t part_size() const override { return kMiB; }
  std::string location_of(const std::string& id) override {
    return "rbd://" + admin_.fsid() + "/" + server_.pool + "/" + id + "/snap";
  }
  // Images named after the id but the image itself (a loser's or a failed add's).
  std::vector<std::string> leftovers(const std::string& id) override {
    std::vector<std::string> out;
    for (const auto& name : admin_.images(id)) {
      if (name != id) out.push_back(name);
    }
    return out;
  }

 private:
  rbd::testing::RbdServer server_ = rbd::testing::rbd_server();
  rbd::testing::CephAdmin admin_{server_};
};
#endif

template <typename B, typename... Args>
BackendKind kind(std::string name, Args... args) {
  return {std::move(name), [=] { return std::unique_ptr<Backend>(new B(args...)); }};
}

}  // namespace

std::vector<BackendKind> writable_backends() {
  std::vector<BackendKind> out = {
      kind<FsBackend>("fs"), kind<S3Backend>("s3api", std::string("s3api")),
      kind<S3Backend>("rgw", std::string("rgw")), kind<SwiftTempauthBackend>("swift_tempauth"),
      kind<SwiftKeystoneBackend>("swift_keystone")};
#ifdef GLANCE_STORE_CONFORMANCE_RBD
  out.push_back(kind<RbdBackend>("rbd"));
#endif
  return out;
}

std::vector<BackendKind> all_backends() {
  std::vector<BackendKind> out = writable_backends();
  out.push_back(kind<HttpBackend>("http"));
  return out;
}

std::vector<BackendKind> fault_backends() {
  return {kind<S3Backend>("s3api", std::string("s3api")),
          kind<S3Backend>("rgw", std::string("rgw")), kind<SwiftTempauthBackend>("swift_tempauth"),
          kind<HttpBackend>("http")};
}

std::vector<BackendKind> writable_fault_backends() {
  std::vector<BackendKind> out = fault_backends();
  out.pop_back();  // http
  return out;
}

// --- The fixture.

void ConformanceTest::SetUp() { backend_ = GetParam().make(); }

void ConformanceTest::TearDown() {
  for (const auto& id : ids_) {
    try {
      registry().remove(backend_->location_of(id));
    } catch (const Error&) {
      // already gone (the test deleted it), or never added
    }
  }
  backend_.reset();
}

std::string ConformanceTest::new_id(const std::string& what) {
  ids_.push_back(test_common::random_id("conf-" + what + "-"));
  return ids_.back();
}

std::string ConformanceTest::place(const std::string& what, const std::string& data) {
  return backend_->place(new_id(what), data);
}

std::string ConformanceTest::read(const std::string& location, std::uint64_t offset,
                                  std::optional<std::uint64_t> length) {
  GetResult got = registry().get(location, offset, length);
  std::string data = read_all(*got.stream);
  EXPECT_EQ(got.size, data.size()) << "the size a get announced is not what it gave";
  return data;
}

}  // namespace glance_store::conformance
