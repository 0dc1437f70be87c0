// The Swift store with a real Keystone v3 (scripts/servers/keystone): password and application
// credential auth for a single-tenant store, and a multi-tenant store driven by a user's token
// and catalog, with one container per image and ACLs checked by a user of another project, and
// the Keystone trusts its long transfers run on.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/file.h>
#include <unistd.h>

#include <fstream>
#include <functional>
#include <string>
#include <utility>

#include "common/test_util.h"
#include "integration/swift/swift_server.h"

namespace glance_store::swift::testing {
namespace {

using test_common::CatchError;
using test_common::TempDir;
using test_common::TrickleStream;

std::string ks(const std::string& name) { return server_setting("keystone", name); }

// A project-scoped token of a user, and its catalog, as Glance's request context has them.
RequestContext login(const std::string& user, const std::string& password,
                     const std::string& project) {
  const net::Response response =
      keystone_password_login(ks("GS_KEYSTONE_URL"), user, password, project);
  const auto token = nlohmann::json::parse(response.body)["token"];
  RequestContext context;
  context.auth_token =
      response.header("x-subject-token") ? *response.header("x-subject-token") : "";
  context.user_id = token["user"]["id"];
  context.project_id = token["project"]["id"];
  context.service_catalog = token["catalog"];
  return context;
}

long object_status(const std::string& url, const std::string& token) {
  net::HttpClient http({});
  net::Request request;
  request.method = "GET";
  request.url = url;
  request.headers = {{"X-Auth-Token", token}};
  return http.perform(request).status;
}

// The trusts a user has made, as the admin sees them.
nlohmann::json trusts_of(const std::string& trustor_user_id) {
  static const RequestContext admin =
      login(ks("GS_KEYSTONE_ADMIN_USER"), ks("GS_KEYSTONE_ADMIN_PASSWORD"),
            ks("GS_KEYSTONE_ADMIN_PROJECT"));
  net::HttpClient http({});
  net::Request request;
  request.url = ks("GS_KEYSTONE_URL") + "/OS-TRUST/trusts?trustor_user_id=" + trustor_user_id;
  request.headers = {{"X-Auth-Token", admin.auth_token}};
  const net::Response response = http.perform(request);
  EXPECT_EQ(response.status, 200) << response.body;
  return nlohmann::json::parse(response.body).value("trusts", nlohmann::json::array());
}

// A TrickleStream that runs `midway` once, after the first `after` bytes.
class MidwayStream final : public InputStream {
 public:
  MidwayStream(std::string data, std::size_t after, std::function<void()> midway)
      : data_(std::move(data)), after_(after), midway_(std::move(midway)) {}
  std::size_t read(std::span<std::byte> out) override {
    if (given_ >= after_ && midway_) std::exchange(midway_, nullptr)();
    const std::size_t n = data_.read(out);
    given_ += n;
    return n;
  }

 private:
  TrickleStream data_;
  std::size_t given_ = 0;
  std::size_t after_;
  std::function<void()> midway_;
};

class SwiftKeystoneTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(ks("GS_KEYSTONE_URL").empty()) << "start Keystone: scripts/servers/keystone start";
    container_ = random_id("glance-ks-");
  }

  std::unique_ptr<StoreRegistry> registry(const std::string& extra) {
    std::string text = "[glance_store]\nstores = swift\ndefault_store = swift\n";
    text += "swift_store_container = " + container_ + "\n";
    text +=
        "swift_store_create_container_on_put = true\nswift_store_region = " + ks("GS_KS_REGION") +
        "\n";
    text += "swift_store_large_object_size = 2\nswift_store_large_object_chunk_size = 1\n" + extra;
    return StoreRegistry::create(ConfigFile::parse(text));
  }

  void round_trip(StoreRegistry& r, const std::string& expected_prefix) {
    for (const std::uint64_t size : {1000ULL, 2500000ULL}) {
      const std::string id = random_id("ks-");
      const std::string data = bytes_of(size, size);
      TrickleStream in(data);
      const AddResult added = r.add(id, in, size);
      EXPECT_EQ(added.location, expected_prefix + container_ + "/" + id);
      EXPECT_EQ(r.get_size(added.location), size);
      EXPECT_TRUE(read_all(*r.get(added.location).stream) == data);
      EXPECT_TRUE(read_all(*r.get(added.location, 10, 20).stream) == data.substr(10, 20));
      r.remove(added.location);
      EXPECT_EQ(CatchError([&] { r.get_size(added.location); }).kind(), ErrorKind::kNotFound);
    }
  }

  std::string container_;
};

TEST_F(SwiftKeystoneTest, PasswordAuthWithProjectColonUser) {
  const std::string auth = ks("GS_KEYSTONE_URL");
  auto r =
      registry("swift_store_auth_address = " + auth +
               "\nswift_store_user = " + ks("GS_KS_PROJECT") + ":" + ks("GS_KS_USER") +
               "\nswift_store_key = " + ks("GS_KS_PASSWORD") + "\nswift_store_auth_version = 3\n");
  round_trip(*r, "swift+http://" + ks("GS_KS_PROJECT") + "%3A" + ks("GS_KS_USER") + ":" +
                     ks("GS_KS_PASSWORD") + "@" + auth.substr(7) + "/");
  // A user without the project:user form cannot be used with Keystone.
  const Error e = CatchError(
      [&] { r->get_size("swift+http://nouser:key@" + auth.substr(7) + "/" + container_ + "/x"); });
  EXPECT_EQ(e.kind(), ErrorKind::kBadStoreUri) << e.message();
  const Error wrong = CatchError([&] {
    r->get_size("swift+http://" + ks("GS_KS_PROJECT") + "%3A" + ks("GS_KS_USER") +
                ":not-the-password@" + auth.substr(7) + "/" + container_ + "/x");
  });
  EXPECT_EQ(wrong.kind(), ErrorKind::kAuthorizationFailure) << wrong.message();
  EXPECT_EQ(wrong.message().find("not-the-password"), std::string::npos);
}

TEST_F(SwiftKeystoneTest, ApplicationCredentialReference) {
  TempDir dir;
  const std::string refs = dir.sub("glance-swift.conf");
  std::ofstream(refs) << "[appcred]\nauth_address = " << ks("GS_KEYSTONE_URL")
                      << "\napplication_credential_id = " << ks("GS_KS_APP_CRED_ID")
                      << "\napplication_credential_secret = " << ks("GS_KS_APP_CRED_SECRET")
                      << "\n";
  auto r = registry("swift_store_config_file = " + refs + "\ndefault_swift_reference = appcred\n");
  round_trip(*r, "swift+config://appcred/");
}

TEST_F(SwiftKeystoneTest, MultiTenantContainerPerImageAclsAndDelete) {
  const RequestContext owner = login(ks("GS_KS_USER"), ks("GS_KS_PASSWORD"), ks("GS_KS_PROJECT"));
  const RequestContext other =
      login(ks("GS_KS_USER2"), ks("GS_KS_PASSWORD2"), ks("GS_KS_PROJECT2"));
  auto r = registry("swift_store_multi_tenant = true\n");
  const std::string id = random_id("mt-");
  const std::string data = bytes_of(2500000, 3);  // segmented, in the image's own container
  TrickleStream in(data);
  const AddResult added = r->add(id, in, data.size(), "sha512", "", nullptr, &owner);
  const std::string storage = ks("GS_SWIFT_KEYSTONE_URL") + "/v1/AUTH_" + owner.project_id;
  EXPECT_EQ(added.location,
            "swift+http://" + storage.substr(7) + "/" + container_ + "_" + id + "/" + id);
  EXPECT_TRUE(read_all(*r->get(added.location, 0, std::nullopt, "", &owner).stream) == data);
  // Without a context there is no token to use.
  EXPECT_EQ(CatchError([&] { r->get(added.location); }).kind(), ErrorKind::kBadStoreConfiguration);

  const std::string object_url = storage + "/" + container_ + "_" + id + "/" + id;
  EXPECT_EQ(object_status(object_url, other.auth_token), 403);
  r->set_acls(added.location, false, {other.project_id}, {}, "", &owner);
  EXPECT_EQ(object_status(object_url, other.auth_token), 200);
  r->set_acls(added.location, false, {}, {}, "", &owner);
  EXPECT_EQ(object_status(object_url, other.auth_token), 403);

  r->remove(added.location, "", &owner);
  EXPECT_EQ(object_status(storage + "/" + container_ + "_" + id, owner.auth_token), 404)
      << "the image's container is gone with it";
}

// Multi-tenant stores whose default reference (gsuser2 of gsproject2) is the trustee of the
// trusts made for long transfers of gsuser's images.
// The tests count the trusts of one Keystone user: ctest runs them in parallel processes, so
// each holds a lock for its whole run.
class SwiftTrustTest : public SwiftKeystoneTest {
 protected:
  void SetUp() override {
    lock_ = ::open("/tmp/glance-store-trust-tests.lock", O_CREAT | O_RDWR | O_CLOEXEC, 0600);
    ASSERT_GE(lock_, 0);
    ASSERT_EQ(::flock(lock_, LOCK_EX), 0);
    SwiftKeystoneTest::SetUp();
  }
  void TearDown() override {
    if (lock_ >= 0) ::close(lock_);
  }

  std::unique_ptr<StoreRegistry> trusting_registry(const std::string& extra,
                                                   const std::string& password = "") {
    return registry(
        "swift_store_multi_tenant = true\nswift_store_auth_version = 3\n"
        "swift_store_auth_address = " +
        ks("GS_KEYSTONE_URL") + "\nswift_store_user = " + ks("GS_KS_PROJECT2") + ":" +
        ks("GS_KS_USER2") + "\nswift_store_key = " +
        (password.empty() ? ks("GS_KS_PASSWORD2") : password) + "\n" + extra);
  }

  // Adds a segmented image (unknown size) and returns the trusts gsuser had half-way through.
  nlohmann::json add_segmented(StoreRegistry& r, const std::string& data, AddResult& added) {
    nlohmann::json during;
    MidwayStream in(data, data.size() / 2, [&] { during = trusts_of(owner_.user_id); });
    added = r.add(random_id("trust-"), in, 0, "sha512", "", nullptr, &owner_);
    return during;
  }

  const RequestContext owner_ = login(ks("GS_KS_USER"), ks("GS_KS_PASSWORD"), ks("GS_KS_PROJECT"));
  int lock_ = -1;
};

TEST_F(SwiftTrustTest, ASegmentedAddRunsOnATrustThatIsDeletedAfterwards) {
  // Every request renews its token (the window is longer than a token lives): the whole
  // upload is done with tokens of the trust, none with the user's.
  auto r = trusting_registry("swift_store_expire_soon_interval = 100000\n");
  const std::string data = bytes_of(2500000, 41);
  AddResult added;
  const nlohmann::json during = add_segmented(*r, data, added);
  ASSERT_EQ(during.size(), 1U) << during.dump();
  EXPECT_EQ(during[0]["trustee_user_id"], ks("GS_KS_USER2_ID"));
  EXPECT_EQ(during[0]["trustor_user_id"], owner_.user_id);
  EXPECT_EQ(during[0]["project_id"], owner_.project_id);
  EXPECT_EQ(during[0]["impersonation"], true);
  EXPECT_TRUE(trusts_of(owner_.user_id).empty()) << "the trust is deleted with the add";

  const std::string storage = ks("GS_SWIFT_KEYSTONE_URL") + "/v1/AUTH_" + owner_.project_id;
  EXPECT_NE(added.location.find(storage.substr(7)), std::string::npos) << added.location;
  EXPECT_TRUE(read_all(*r->get(added.location, 0, std::nullopt, "", &owner_).stream) == data);
  r->remove(added.location, "", &owner_);
}

TEST_F(SwiftTrustTest, AResumableReadHoldsItsTrustUntilTheStreamGoes) {
  auto r = trusting_registry("swift_store_retry_get_count = 2\n");
  const std::string data = bytes_of(1500000, 42);
  AddResult added;
  add_segmented(*r, data, added);
  {
    GetResult got = r->get(added.location, 0, std::nullopt, "", &owner_);
    EXPECT_EQ(trusts_of(owner_.user_id).size(), 1U);
    EXPECT_TRUE(read_all(*got.stream) == data);
  }
  EXPECT_TRUE(trusts_of(owner_.user_id).empty());
  // A small object's add and a read that does not resume use the user's token alone.
  const std::string small = bytes_of(1000, 43);
  TrickleStream in(small);
  const AddResult one =
      r->add(random_id("trust-"), in, small.size(), "sha512", "", nullptr, &owner_);
  r->remove(one.location, "", &owner_);
  r->remove(added.location, "", &owner_);
  EXPECT_TRUE(trusts_of(owner_.user_id).empty());
}

TEST_F(SwiftTrustTest, WithoutTrustsOrWhenKeystoneRefusesTheUsersTokenIsUsed) {
  const std::string data = bytes_of(2500000, 44);
  for (const auto& [extra, password] :
       {std::pair<std::string, std::string>{"swift_store_use_trusts = false\n", ""},
        std::pair<std::string, std::string>{"", "not-the-trustees-password"}}) {
    SCOPED_TRACE(extra + password);
    auto r = trusting_registry(extra, password);
    AddResult added;
    EXPECT_TRUE(add_segmented(*r, data, added).empty()) << "no trust";
    EXPECT_TRUE(read_all(*r->get(added.location, 0, std::nullopt, "", &owner_).stream) == data);
    r->remove(added.location, "", &owner_);
  }
}

}  // namespace
}  // namespace glance_store::swift::testing
