// SigV4 against the signatures AWS publishes for its own examples.
#include "drivers/s3/sigv4.h"

#include <gtest/gtest.h>

namespace glance_store::s3 {
namespace {

const SigningKey kS3Example{"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                            "us-east-1", "s3"};
constexpr std::string_view kEmptySha =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

std::string signature_of(const std::string& authorization) {
  return authorization.substr(authorization.rfind("Signature=") + 10);
}

TEST(SigV4, Sha256OfTheExampleBody) {
  EXPECT_EQ(sha256_hex("Welcome to Amazon S3."),
            "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
  EXPECT_EQ(sha256_hex(""), kEmptySha);
}

TEST(SigV4, GetObjectWithRange) {
  CanonicalRequest request{.method = "GET",
                           .path = "/test.txt",
                           .headers = {{"Host", "examplebucket.s3.amazonaws.com"},
                                       {"Range", "bytes=0-9"},
                                       {"x-amz-content-sha256", std::string(kEmptySha)},
                                       {"x-amz-date", "20130524T000000Z"}},
                           .payload_hash = kEmptySha};
  const std::string auth = authorization(kS3Example, request, "20130524T000000Z");
  EXPECT_EQ(auth,
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
            "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
            "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
}

TEST(SigV4, PutObjectEncodesThePathAndSignsEveryHeader) {
  const std::string body_sha = sha256_hex("Welcome to Amazon S3.");
  const std::string path = "/" + net::uri_encode("test$file.text", true);
  EXPECT_EQ(path, "/test%24file.text");
  CanonicalRequest request{.method = "PUT",
                           .path = path,
                           .headers = {{"Host", "examplebucket.s3.amazonaws.com"},
                                       {"Date", "Fri, 24 May 2013 00:00:00 GMT"},
                                       {"x-amz-date", "20130524T000000Z"},
                                       {"x-amz-storage-class", "REDUCED_REDUNDANCY"},
                                       {"x-amz-content-sha256", body_sha}},
                           .payload_hash = body_sha};
  const std::string auth = authorization(kS3Example, request, "20130524T000000Z");
  EXPECT_NE(
      auth.find("SignedHeaders=date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class"),
      std::string::npos);
  EXPECT_EQ(signature_of(auth), "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd");
}

TEST(SigV4, SubresourceWithoutValue) {
  CanonicalRequest request{.method = "GET",
                           .path = "/",
                           .query = {{"lifecycle", ""}},
                           .headers = {{"Host", "examplebucket.s3.amazonaws.com"},
                                       {"x-amz-date", "20130524T000000Z"},
                                       {"x-amz-content-sha256", std::string(kEmptySha)}},
                           .payload_hash = kEmptySha};
  EXPECT_EQ(signature_of(authorization(kS3Example, request, "20130524T000000Z")),
            "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543");
}

TEST(SigV4, QueryParametersAreSorted) {
  CanonicalRequest request{.method = "GET",
                           .path = "/",
                           .query = {{"prefix", "J"}, {"max-keys", "2"}},
                           .headers = {{"Host", "examplebucket.s3.amazonaws.com"},
                                       {"x-amz-date", "20130524T000000Z"},
                                       {"x-amz-content-sha256", std::string(kEmptySha)}},
                           .payload_hash = kEmptySha};
  EXPECT_EQ(canonical_query(request.query), "max-keys=2&prefix=J");
  EXPECT_EQ(signature_of(authorization(kS3Example, request, "20130524T000000Z")),
            "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");
}

TEST(SigV4, GenericVanillaVector) {
  const SigningKey key{"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "us-east-1",
                       "service"};
  CanonicalRequest request{
      .method = "GET",
      .path = "/",
      .headers = {{"Host", "example.amazonaws.com"}, {"X-Amz-Date", "20150830T123600Z"}},
      .payload_hash = kEmptySha};
  EXPECT_EQ(authorization(key, request, "20150830T123600Z"),
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
            "SignedHeaders=host;x-amz-date, "
            "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
}

TEST(SigV4, CanonicalHeadersFoldSpacesAndRepeatedNames) {
  CanonicalRequest request{.method = "GET",
                           .path = "/",
                           .headers = {{"My-Header1", "  a   b  c "}, {"my-header1", "d"}},
                           .payload_hash = "x"};
  EXPECT_EQ(canonical_request_text(request), "GET\n/\n\nmy-header1:a b c,d\n\nmy-header1\nx");
}

TEST(SigV4, AccessKeyWithAColonIsUsedAsIs) {
  const SigningKey key{"test:tester", "testing", "us-east-1", "s3"};
  CanonicalRequest request{
      .method = "HEAD", .path = "/b", .headers = {{"Host", "h"}}, .payload_hash = kUnsignedPayload};
  EXPECT_EQ(authorization(key, request, "20260101T000000Z")
                .rfind("AWS4-HMAC-SHA256 Credential=test:tester/20260101/us-east-1/s3/", 0),
            0u);
}

TEST(UriEncode, KeepsUnreservedAndOptionallySlash) {
  EXPECT_EQ(net::uri_encode("a-b_c.d~e/f g+h=", true), "a-b_c.d~e/f%20g%2Bh%3D");
  EXPECT_EQ(net::uri_encode("a/b", false), "a%2Fb");
  EXPECT_EQ(net::uri_encode("\xc3\xa9", false), "%C3%A9");
}

}  // namespace
}  // namespace glance_store::s3
