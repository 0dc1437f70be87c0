// The Swift store against a real Swift (tempauth, auth v1): the layout of single objects and
// segmented large objects, segments of other adds, large objects Glance does not write,
// references, containers, the tool.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "common/test_util.h"
#include "glance_store/hashing.h"
#include "integration/swift/swift_server.h"

namespace glance_store::swift::testing {
namespace {

using test_common::CatchError;
using test_common::TempDir;
using test_common::TrickleStream;
constexpr std::uint64_t kSwiftMB = 1024000;

std::string md5(std::string_view data) {
  auto hasher = Hasher::create("md5");
  hasher->update(std::as_bytes(std::span(data)));
  return hasher->hexdigest();
}

std::string read_all(GetResult result) {
  std::string out;
  char buffer[65536];
  for (;;) {
    const std::size_t n = result.stream->read(std::as_writable_bytes(std::span(buffer)));
    if (n == 0) return out;
    out.append(buffer, n);
  }
}

class SwiftStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auth_ = server_setting("swift-aio", "GS_SWIFT_AUTH");
    ASSERT_FALSE(auth_.empty()) << "start Swift: scripts/servers/swift-aio start";
    raw_ = std::make_unique<RawSwift>(auth_, "test:tester", "testing");
    container_ = random_id("glance-it-");
  }
  void TearDown() override {
    if (!raw_) return;
    for (const auto& name : raw_->list(container_))
      raw_->request("DELETE", container_ + "/" + name);
    raw_->request("DELETE", container_);
  }

  // A legacy registry with a Swift store on tempauth: threshold 2 MB, 1 MB segments.
  std::unique_ptr<StoreRegistry> registry(const std::string& extra = "") {
    return tempauth_registry(auth_, container_, extra);
  }

  AddResult add(StoreRegistry& r, const std::string& id, const std::string& data,
                std::uint64_t declared) {
    TrickleStream in(data);
    return r.add(id, in, declared, "sha256");
  }

  std::string auth_;
  std::string container_;
  std::unique_ptr<RawSwift> raw_;
};

// (Round trips, Duplicate, NotFound and wrong sizes are the conformance suite's:
// tests/conformance/.) What is Swift's own: the location, and an image that is one object below
// the threshold and a manifest and its segments from it on (and for an unknown size).
TEST_F(SwiftStoreTest, AnImageIsOneObjectOrAManifestAndItsSegments) {
  auto r = registry();
  struct Case {
    std::uint64_t size;
    bool declare;
    std::size_t objects;  // in the container after the add
  };
  for (const Case c :
       {Case{0, true, 1}, Case{1500000, true, 1}, Case{2 * kSwiftMB, true, 3},
        Case{3500000, true, 5}, Case{3 * kSwiftMB, false, 4}, Case{1000, false, 2}}) {
    SCOPED_TRACE("size " + std::to_string(c.size) + (c.declare ? " declared" : " unknown"));
    const std::string id = random_id("img-");
    const std::string data = bytes_of(c.size, c.size + 7);
    const AddResult result = add(*r, id, data, c.declare ? c.size : 0);
    EXPECT_EQ(result.checksum, md5(data));
    EXPECT_EQ(result.location, "swift+http://test%3Atester:testing@" + auth_.substr(7) + "/" +
                                   container_ + "/" + id);
    EXPECT_EQ(raw_->list(container_).size(), c.objects);
    EXPECT_EQ(read_all(r->get(result.location)), data);
    r->remove(result.location);
    EXPECT_TRUE(raw_->list(container_).empty()) << "segments left behind";
  }
}

// An add killed midway leaves segments and no manifest. A later add of the same id writes
// segments of its own (another token), so it never joins them — and it does not remove them
// either: they may belong to an add still running. (Segments named as glance_store names
// them, `<id>-00001`, are no part of our images either.)
TEST_F(SwiftStoreTest, SegmentsLeftByAnInterruptedAddAreNotJoined) {
  auto r = registry();
  const std::string id = random_id("stale-");
  raw_->request("PUT", container_);
  const std::vector<std::string> stale = {
      // in listing order
      id + "-00001", id + "-00002", id + "/0123456789abcdef0123456789abcdef/00000002",
      id + "/0123456789abcdef0123456789abcdef/00000003"};
  for (const auto& name : stale) {
    ASSERT_EQ(raw_->put(container_ + "/" + name, bytes_of(500000, 99)), 201);
  }
  for (const std::uint64_t size : {2 * kSwiftMB + 10, kSwiftMB}) {  // three segments, then one
    SCOPED_TRACE(size);
    const std::string data = bytes_of(size, size);
    const AddResult added = add(*r, id, data, 0);
    EXPECT_EQ(r->get_size(added.location), data.size());
    EXPECT_EQ(read_all(r->get(added.location)), data);
    r->remove(added.location);
    std::vector<std::string> left = raw_->list(container_);
    std::sort(left.begin(), left.end());
    EXPECT_EQ(left, stale) << "the add or its delete touched objects that were not its own";
  }
}

// A segmented image is read from its segments, each checked against the listing taken when the
// read began: a segment replaced or deleted meanwhile fails the read instead of mixing images.
TEST_F(SwiftStoreTest, ASegmentChangedOrGoneDuringAReadFailsIt) {
  auto r = registry();
  const std::string data = bytes_of(3 * kSwiftMB, 6);  // three segments
  const AddResult added = add(*r, random_id("seg-"), data, data.size());
  const std::string object = added.location.substr(added.location.rfind('/') + 1);
  const std::string second =
      container_ + "/" + segment_prefix(*raw_, container_, object) + "00000002";
  for (const bool replace : {true, false}) {
    SCOPED_TRACE(replace ? "replaced" : "deleted");
    GetResult result = r->get(added.location);
    std::string start(100000, '\0');
    std::size_t got = 0;
    while (got < start.size()) {
      const std::size_t n = result.stream->read(
          std::as_writable_bytes(std::span(start.data() + got, start.size() - got)));
      ASSERT_GT(n, 0U);
      got += n;
    }
    EXPECT_EQ(start, data.substr(0, start.size()));
    if (replace) {
      ASSERT_EQ(raw_->put(second, bytes_of(kSwiftMB, 7)), 201);
    } else {
      ASSERT_EQ(raw_->request("DELETE", second).status, 204);
    }
    const Error e = CatchError([&] { read_all(std::move(result)); });
    EXPECT_EQ(e.kind(), ErrorKind::kBackendException);
    EXPECT_NE(e.message().find(replace ? "changed" : "gone"), std::string::npos) << e.message();
  }
  r->remove(added.location);
}

// Large objects Glance does not write: an SLO, and a DLO whose segments are in another container
// under a prefix with a '/' (percent-encoded in its X-Object-Manifest) with an empty one among
// them, read whole and by range; a DLO whose segment container is gone is NotFound.
TEST_F(SwiftStoreTest, StaticLargeObjectsAndSegmentsElsewhereAreReadWhole) {
  auto r = registry();
  const std::string segments = container_ + "-segments";
  ASSERT_EQ(raw_->request("PUT", container_).status / 100, 2);
  ASSERT_EQ(raw_->request("PUT", segments).status / 100, 2);
  const std::string a = bytes_of(700000, 1);
  const std::string b = bytes_of(600000, 2);
  const std::string whole = a + b;
  ASSERT_EQ(raw_->put(segments + "/parts/1", a), 201);
  ASSERT_EQ(raw_->put(segments + "/parts/15", ""), 201);  // between the two in listing order
  ASSERT_EQ(raw_->put(segments + "/parts/2", b), 201);
  ASSERT_EQ(raw_->put(container_ + "/orphan", "", {{"X-Object-Manifest", segments + "-gone/p"}}),
            201);
  ASSERT_EQ(raw_->put(container_ + "/dlo", "", {{"X-Object-Manifest", segments + "/parts%2F"}}),
            201);
  const nlohmann::json slo = {
      {{"path", "/" + segments + "/parts/1"}, {"etag", md5(a)}, {"size_bytes", a.size()}},
      {{"path", "/" + segments + "/parts/2"}, {"etag", md5(b)}, {"size_bytes", b.size()}}};
  ASSERT_EQ(raw_->put(container_ + "/slo?multipart-manifest=put", slo.dump()), 201);
  for (const std::string name : {"dlo", "slo"}) {
    SCOPED_TRACE(name);
    const std::string uri =
        "swift+http://test%3Atester:testing@" + auth_.substr(7) + "/" + container_ + "/" + name;
    EXPECT_EQ(r->get_size(uri), whole.size());
    EXPECT_TRUE(read_all(r->get(uri)) == whole);
    EXPECT_TRUE(read_all(r->get(uri, 650000, 100000)) == whole.substr(650000, 100000));
    EXPECT_TRUE(read_all(r->get(uri, 1299990)) == whole.substr(1299990));
    EXPECT_EQ(read_all(r->get(uri, whole.size())), "");
  }
  const std::string orphan =
      "swift+http://test%3Atester:testing@" + auth_.substr(7) + "/" + container_ + "/orphan";
  EXPECT_EQ(CatchError([&] { r->get(orphan); }).kind(), ErrorKind::kNotFound);
  // The manifests go (leaving their segments, which TearDown does not see), then the segments.
  raw_->request("DELETE", container_ + "/dlo");
  raw_->request("DELETE", container_ + "/slo");
  for (const auto& name : raw_->list(segments)) raw_->request("DELETE", segments + "/" + name);
  raw_->request("DELETE", segments);
}

TEST_F(SwiftStoreTest, MissingContainerWithAndWithoutCreateOnPut) {
  auto strict = registry("swift_store_create_container_on_put = false\n");
  const Error e = CatchError([&] { add(*strict, random_id("x-"), "data", 4); });
  EXPECT_EQ(e.kind(), ErrorKind::kBackendException);
  EXPECT_NE(e.message().find("container " + container_ + " does not exist in Swift"),
            std::string::npos)
      << e.message();
  EXPECT_EQ(raw_->request("HEAD", container_).status, 404);

  auto seeded = registry("swift_store_multiple_containers_seed = 2\n");
  const AddResult result = add(*seeded, "ABcdef-1", "data", 4);
  EXPECT_NE(result.location.find("/" + container_ + "_ab/ABcdef-1"), std::string::npos);
  seeded->remove(result.location);
  raw_->request("DELETE", container_ + "_ab");
}

TEST_F(SwiftStoreTest, ConfigReferencesKeepCredentialsOutOfLocations) {
  TempDir dir;
  const std::string refs = dir.sub("glance-swift.conf");
  std::ofstream(refs) << "[store_1]\nauth_address = " << auth_
                      << "\nuser = test:tester\nkey = testing\nauth_version = 1\n"
                      << "[store_2]\nauth_address = " << auth_
                      << "\nuser = test2:tester2\nkey = \"testing2\"\nauth_version = 1\n";
  auto r = registry("swift_store_config_file = " + refs + "\ndefault_swift_reference = store_2\n");
  const std::string id = random_id("ref-");
  const AddResult result = add(*r, id, "referenced", 10);
  EXPECT_EQ(result.location, "swift+config://store_2/" + container_ + "/" + id);
  EXPECT_EQ(read_all(r->get(result.location)), "referenced");
  // It went to test2's account, not test's.
  EXPECT_TRUE(raw_->list(container_).empty());
  RawSwift other(auth_, "test2:tester2", "testing2");
  EXPECT_EQ(other.list(container_).size(), 1U);
  r->remove(result.location);
  other.request("DELETE", container_);
  EXPECT_EQ(CatchError([&] { r->get("swift+config://nosuch/" + container_ + "/" + id); }).kind(),
            ErrorKind::kBadStoreUri);
}

TEST_F(SwiftStoreTest, WrongKeyIsAnAuthorizationFailureWithoutTheKey) {
  auto r = registry();
  const AddResult result = add(*r, random_id("auth-"), "data", 4);
  std::string uri = result.location;
  uri.replace(uri.find(":testing@"), 9, ":wrong-secret-key@");
  const Error e = CatchError([&] { r->get(uri); });
  EXPECT_EQ(e.kind(), ErrorKind::kAuthorizationFailure) << e.message();
  EXPECT_EQ(e.message().find("wrong-secret-key"), std::string::npos) << e.message();
  EXPECT_NE(e.message().find("test:tester"), std::string::npos) << e.message();
  r->remove(result.location);
}

TEST_F(SwiftStoreTest, ToolCommandsOnSwiftUris) {
  TempDir dir;
  const std::string conf = dir.sub("glance-api.conf");
  std::ofstream(conf) << "[glance_store]\nstores = swift\ndefault_store = swift\n"
                      << "swift_store_auth_address = " << auth_
                      << "\nswift_store_user = test:tester\nswift_store_key = testing\n"
                      << "swift_store_auth_version = 1\nswift_store_container = " << container_
                      << "\nswift_store_create_container_on_put = true\n"
                      << "swift_store_large_object_size = 1\nswift_store_large_object_chunk_size = "
                         "1\n";
  const std::string image = dir.sub("image");
  const std::string data = bytes_of(2500000, 9);
  std::ofstream(image, std::ios::binary) << data;
  const std::string tool = std::string(GLANCE_STORE_BINARY) + " --config " + conf + " ";
  const auto run = [](const std::string& command) {
    std::string out;
    FILE* pipe = ::popen(command.c_str(), "r");
    char buffer[65536];
    std::size_t n;
    while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) out.append(buffer, n);
    const int status = ::pclose(pipe);
    return std::make_pair(WEXITSTATUS(status), out);
  };
  const auto [add_rc, add_out] = run(tool + "add --image-id tool-1 " + image);
  ASSERT_EQ(add_rc, 0) << add_out;
  const auto json = nlohmann::json::parse(add_out);
  const std::string masked = json["location"];
  EXPECT_NE(masked.find(":***@"), std::string::npos) << masked;  // the key is not printed
  EXPECT_EQ(json["checksum"], md5(data));
  const std::string uri =
      "swift+http://test%3Atester:testing@" + auth_.substr(7) + "/" + container_ + "/tool-1";
  EXPECT_EQ(run(tool + "size '" + uri + "'").second, "2500000\n");
  EXPECT_EQ(run(tool + "get '" + uri + "'").second, data);
  EXPECT_EQ(run(tool + "get --offset 1000000 --length 5 '" + uri + "'").second,
            data.substr(1000000, 5));
  EXPECT_EQ(run(tool + "delete '" + uri + "'").first, 0);
  EXPECT_EQ(run(tool + "size '" + uri + "' 2>/dev/null").first, 10);  // NotFound
  EXPECT_TRUE(raw_->list(container_).empty());
}

}  // namespace
}  // namespace glance_store::swift::testing
