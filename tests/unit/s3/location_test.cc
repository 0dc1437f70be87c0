// s3 locations: glance_store's parsing, our write-back and credential handling.
#include <gtest/gtest.h>

#include "drivers/s3/s3_location.h"
#include "glance_store/error.h"

namespace glance_store::s3 {
namespace {

ErrorKind kind_of(std::string_view uri) {
  try {
    S3Location::parse(uri);
  } catch (const Error& e) {
    return e.kind();
  }
  ADD_FAILURE() << "accepted: " << uri;
  return ErrorKind::kNotFound;
}

TEST(S3Location, ParsesTheGlanceForm) {
  auto loc = S3Location::parse("s3://user:key@auth_address/glance/71c675ab");
  EXPECT_EQ(loc->scheme(), "s3");
  EXPECT_EQ(loc->access_key(), "user");
  EXPECT_EQ(loc->secret_key(), "key");
  EXPECT_EQ(loc->service_url(), "auth_address");
  EXPECT_EQ(loc->bucket(), "glance");
  EXPECT_EQ(loc->key(), "71c675ab");
  EXPECT_EQ(loc->endpoint(), "http://auth_address");
  EXPECT_EQ(loc->uri(), "s3://user:key@auth_address/glance/71c675ab");
}

TEST(S3Location, HttpsSchemeGivesAnHttpsEndpoint) {
  auto loc = S3Location::parse("s3+https://a:b@host:8443/sub/bucket/key");
  EXPECT_EQ(loc->endpoint(), "https://host:8443/sub");
  EXPECT_EQ(loc->bucket(), "bucket");
}

TEST(S3Location, SecretWithSlashes) {
  auto loc = S3Location::parse("s3://AK:se/cr/et@host/b/k");
  EXPECT_EQ(loc->secret_key(), "se/cr/et");
  EXPECT_EQ(loc->uri(), "s3://AK:se/cr/et@host/b/k");
}

TEST(S3Location, CredentialsAreWrittenBackAsWrittenAndDecodedForSigning) {
  auto loc = S3Location::parse("s3://test%3Atester:p%2Fss@127.0.0.1:8080/b/k");
  EXPECT_EQ(loc->access_key(), "test:tester");
  EXPECT_EQ(loc->secret_key(), "p/ss");
  EXPECT_EQ(loc->uri(), "s3://test%3Atester:p%2Fss@127.0.0.1:8080/b/k");
}

TEST(S3Location, ConfiguredCredentialsAreEncodedSoTheyReadBack) {
  auto loc = S3Location::for_new_image("http://127.0.0.1:8080", "test:tester", "a@b#c?d%e/f",
                                       "glance", "id");
  EXPECT_EQ(loc->uri(), "s3://test%3Atester:a%40b%23c%3Fd%25e/f@127.0.0.1:8080/glance/id");
  auto back = S3Location::parse(loc->uri());
  EXPECT_EQ(back->access_key(), "test:tester");
  EXPECT_EQ(back->secret_key(), "a@b#c?d%e/f");
  EXPECT_EQ(back->service_url(), "127.0.0.1:8080");
}

TEST(S3Location, NewImageSchemeFollowsTheHost) {
  EXPECT_EQ(S3Location::for_new_image("https://s3-region1.com", "u", "k", "g", "i")->uri(),
            "s3+https://u:k@s3-region1.com/g/i");
  EXPECT_EQ(S3Location::for_new_image("http://s3-region2.com/", "u", "k", "g", "i")->uri(),
            "s3://u:k@s3-region2.com/g/i");
  EXPECT_EQ(S3Location::for_new_image("localhost", "u", "k", "g", "i")->uri(),
            "s3://u:k@localhost/g/i");
}

TEST(S3Location, RedactsTheSecret) {
  auto loc = S3Location::parse("s3://AK:topsecret@host/b/k");
  EXPECT_EQ(loc->uri(true), "s3://AK:***@host/b/k");
}

TEST(S3Location, WithoutCredentials) {
  auto loc = S3Location::parse("s3://s3.amazonaws.com/glance/id");
  EXPECT_FALSE(loc->has_credentials());
  EXPECT_EQ(loc->uri(), "s3://s3.amazonaws.com/glance/id");
}

TEST(S3Location, Rejections) {
  EXPECT_EQ(kind_of("s3://ak:sk@https://s3.amazonaws.com/bucket/key"), ErrorKind::kBadStoreUri);
  EXPECT_EQ(kind_of("s3://AK:SK@host/b/"), ErrorKind::kBadStoreUri);
  EXPECT_EQ(kind_of("s3://host/b/k@x"), ErrorKind::kBadStoreUri);
  EXPECT_EQ(kind_of("s3://AK:s@k@host/b/k"), ErrorKind::kBadStoreUri);
  EXPECT_EQ(kind_of("S3://AK:SK@host/b/k"), ErrorKind::kBadStoreUri);
  EXPECT_EQ(kind_of("s3://AK:SK@[::1/b/k"), ErrorKind::kBadStoreUri);
}

TEST(S3Location, RejectionMessagesHideTheSecret) {
  try {
    S3Location::parse("s3://AK:hunter2@host/b/");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()).find("hunter2"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace glance_store::s3
