// Swift locations parsed and written as glance_store does (behaviours L-19…L-33).
#include <gtest/gtest.h>

#include "common/test_util.h"
#include "drivers/swift/swift_location.h"

namespace glance_store::swift {
namespace {

using test_common::CatchError;
const std::string kId = "71c675ab-d94f-49cd-a114-e12490b328d9";

SwiftReferences references() {
  SwiftReference ref1;
  ref1.auth_address = "http://ref1.example.com:8080/auth/v1.0";
  ref1.user = "acct1:user1";
  ref1.key = "key1";
  ref1.auth_version = "1";
  SwiftReference ref2;
  ref2.auth_address = "https://keystone.example.com:5000/v3";
  ref2.user = "proj2:user2";
  ref2.key = "k/e@y:2";
  return {{"ref1", ref1}, {"ref2", ref2}};
}

TEST(SwiftLocation, UserIsEverythingBeforeTheLastColon) {
  const auto loc = SwiftLocation::parse("swift://tenant:user1:key@auth_address/glance/" + kId, {});
  EXPECT_EQ(loc->user(), "tenant:user1");
  EXPECT_EQ(loc->key(), "key");
  EXPECT_EQ(loc->container(), "glance");
  EXPECT_EQ(loc->object(), kId);
  EXPECT_EQ(loc->swift_url(), "https://auth_address");
}

TEST(SwiftLocation, EncodedCredentialsAreDecodedAndWrittenBackEncoded) {
  const std::string uri = "swift+https://tenant%3Auser1:k%40ey@localhost:8080/glance/" + kId;
  const auto loc = SwiftLocation::parse(uri, {});
  EXPECT_EQ(loc->user(), "tenant:user1");
  EXPECT_EQ(loc->key(), "k@ey");
  EXPECT_EQ(loc->uri(), uri);
  EXPECT_EQ(loc->uri(true), "swift+https://tenant%3Auser1:***@localhost:8080/glance/" + kId);
}

TEST(SwiftLocation, AuthUrlKeepsItsPathAndSchemeFollowsTheUriScheme) {
  const auto https = SwiftLocation::parse("swift://u:k@auth.example.com/v3/glance/" + kId, {});
  EXPECT_EQ(https->swift_url(), "https://auth.example.com/v3");
  const auto http = SwiftLocation::parse("swift+http://u:k@127.0.0.1:18080/auth/v1.0/c/o", {});
  EXPECT_EQ(http->swift_url(), "http://127.0.0.1:18080/auth/v1.0");
}

TEST(SwiftLocation, StorageUrlWithoutCredentials) {
  const auto loc = SwiftLocation::parse("swift+http://storeurl/glance/" + kId, {});
  EXPECT_FALSE(loc->user().has_value());
  EXPECT_EQ(loc->swift_url(), "http://storeurl");
}

TEST(SwiftLocation, MalformedUrisAreBadStoreUri) {
  for (const std::string uri :
       {"swift://user:pass@http://authurl.com/v1/container/obj", "swift://bad_creds@uri/cont/obj",
        "swift://user:key@uri/cont", "swift:///c/o", "swift://us@er:key@auth.com/c/o",
        "SWIFT://u:k@auth.com/c/o", "swift+config://ref1/c",
        "swift://@//@/x/c/o"}) {  // found by the fuzzer: no host, then a path
    EXPECT_EQ(CatchError([&] { SwiftLocation::parse(uri, references()); }).kind(),
              ErrorKind::kBadStoreUri)
        << uri;
  }
  EXPECT_NE(CatchError([] { SwiftLocation::parse("swift://bad_creds@uri/cont/obj", {}); })
                .message()
                .find("Badly formed credentials"),
            std::string::npos);
}

TEST(SwiftLocation, ConfigReferenceTakesItsCredentialsAndStaysAReference) {
  const auto loc = SwiftLocation::parse("swift+config://ref1/glance/" + kId, references());
  EXPECT_EQ(loc->user(), "acct1:user1");
  EXPECT_EQ(loc->key(), "key1");
  EXPECT_EQ(loc->swift_url(), "http://ref1.example.com:8080/auth/v1.0");
  EXPECT_EQ(loc->uri(), "swift+config://ref1/glance/" + kId);  // never the credentials
  ASSERT_NE(loc->reference(), nullptr);
  EXPECT_TRUE(loc->reference()->is_v1());
  const auto https = SwiftLocation::parse("swift+config://ref2/glance/" + kId, references());
  EXPECT_EQ(https->swift_url(), "https://keystone.example.com:5000/v3");
  const Error unknown =
      CatchError([&] { SwiftLocation::parse("swift+config://nosuchref/glance/x", references()); });
  EXPECT_NE(unknown.message().find("Credentials not found for account reference"),
            std::string::npos);
}

TEST(SwiftLocation, NewImageLocationsEncodeConfiguredCredentialsSoTheyParseBack) {
  const SwiftReference ref = references().at("ref2");
  const auto loc = SwiftLocation::for_new_image("ref2", ref, false, "glance", kId);
  EXPECT_EQ(loc->scheme(), "swift+https");
  const auto back = SwiftLocation::parse(loc->uri(), {});
  EXPECT_EQ(back->user(), "proj2:user2");
  EXPECT_EQ(back->key(), "k/e@y:2");
  EXPECT_EQ(back->swift_url(), "https://keystone.example.com:5000/v3");
  EXPECT_EQ(SwiftLocation::for_new_image("ref2", ref, true, "glance", kId)->uri(),
            "swift+config://ref2/glance/" + kId);
}

TEST(SwiftLocation, MultiTenantLocationsCarryTheStorageUrl) {
  const auto loc =
      SwiftLocation::for_storage_url("http://127.0.0.1:18087/v1/AUTH_p", "glance_" + kId, kId);
  EXPECT_EQ(loc->uri(), "swift+http://127.0.0.1:18087/v1/AUTH_p/glance_" + kId + "/" + kId);
  EXPECT_EQ(SwiftLocation::parse(loc->uri(), {})->swift_url(), "http://127.0.0.1:18087/v1/AUTH_p");
}

}  // namespace
}  // namespace glance_store::swift
