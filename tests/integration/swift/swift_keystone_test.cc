// The Swift store with a real Keystone v3 (scripts/servers/keystone): password and application
// credential auth for a single-tenant store, and a multi-tenant store driven by a user's token
// and catalog, with one container per image and ACLs checked by a user of another project.
#include <gtest/gtest.h>

#include <fstream>
#include <string>

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
  net::HttpClient http({});
  const std::string body =
      nlohmann::json{
          {"auth",
           {{"identity",
             {{"methods", {"password"}},
              {"password",
               {{"user",
                 {{"name", user}, {"domain", {{"id", "default"}}}, {"password", password}}}}}}},
            {"scope", {{"project", {{"name", project}, {"domain", {{"id", "default"}}}}}}}}}}
          .dump();
  net::Request request;
  request.method = "POST";
  request.url = ks("GS_KEYSTONE_URL") + "/auth/tokens";
  request.headers = {{"Content-Type", "application/json"}};
  request.body = std::as_bytes(std::span(body));
  const net::Response response = http.perform(request);
  EXPECT_EQ(response.status, 201) << response.body;
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

}  // namespace
}  // namespace glance_store::swift::testing
