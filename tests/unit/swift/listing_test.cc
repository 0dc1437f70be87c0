// What a Swift proxy or Keystone answers is parsed without trusting its shape: a container
// listing page with entries of the wrong kind is a BackendException, and a catalog whose members
// have other JSON types than expected has no endpoint (json::value() would throw a type_error).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "common/test_util.h"
#include "drivers/swift/swift_session.h"

namespace glance_store::swift {
namespace {

using test_common::CatchError;

TEST(ListingTest, EntriesKeepTheirNameSizeHashAndTime) {
  const auto page =
      parse_listing(R"([{"name":"a/1","bytes":5,"hash":"x","last_modified":"2026-12-02T05:00:00"},)"
                    R"({"name":"a/2","bytes":0}])",
                    "Listing c/a*");
  ASSERT_EQ(page.size(), 2U);
  EXPECT_EQ(page[0].name, "a/1");
  EXPECT_EQ(page[0].bytes, 5U);
  EXPECT_EQ(page[0].hash, "x");
  EXPECT_EQ(page[0].last_modified, "2026-12-02T05:00:00");
  EXPECT_EQ(page[1].hash, "");
  EXPECT_TRUE(parse_listing("[]", "Listing c/a*").empty());
}

TEST(ListingTest, MalformedPagesAreBackendExceptions) {
  for (const char* body : {"", "{}", "[1]", R"([{"bytes":1}])", R"([{"name":"","bytes":1}])",
                           R"([{"name":"a","bytes":-1}])", R"([{"name":"a","bytes":"1"}])",
                           R"([{"name":7,"bytes":1}])", "[{\"name\":\"a\""}) {
    SCOPED_TRACE(body);
    const Error e = CatchError([&] { parse_listing(body, "Listing c/a*"); });
    EXPECT_EQ(e.kind(), ErrorKind::kBackendException);
    EXPECT_NE(e.message().find("Listing c/a*"), std::string::npos) << e.message();
  }
}

TEST(ListingTest, CatalogMembersOfOtherTypesAreNoEndpoint) {
  for (const char* catalog :
       {R"([{"type":7,"endpoints":[]}])",
        R"([{"type":"object-store","endpoints":[{"publicURL":7}]}])",
        R"([{"type":"object-store","endpoints":[{"interface":"public","url":[1]}]}])",
        R"([{"type":"object-store","endpoints":[{"interface":1,"url":"http://x"}]}])",
        R"([{"type":"object-store","endpoints":[{"region_id":5,"publicURL":"http://x"}]}])",
        R"([{"type":"object-store","endpoints":7}])"}) {
    SCOPED_TRACE(catalog);
    EXPECT_NO_THROW({
      EndpointChoice choice;
      choice.region = "RegionOne";
      EXPECT_EQ(find_endpoint(nlohmann::json::parse(catalog), choice), std::nullopt);
    });
  }
  // A well-formed endpoint next to malformed ones is still found.
  EXPECT_EQ(
      find_endpoint(nlohmann::json::parse(R"([{"type":"object-store","endpoints":[{"publicURL":7},)"
                                          R"({"interface":"public","url":"http://ok"}]}])"),
                    {}),
      "http://ok");
}

}  // namespace
}  // namespace glance_store::swift

namespace glance_store::swift {
namespace {

TEST(KeystoneAnswerTest, TokenExpiryUserAndCatalogComeFromTheBody) {
  const auto answer = parse_keystone_answer(
      "tok", R"({"token":{"expires_at":"2026-12-01T12:00:00.000000Z","user":{"id":"u1"},)"
             R"("catalog":[{"type":"object-store","endpoints":[]}]}})");
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->token.value, "tok");
  ASSERT_TRUE(answer->token.expires_at);
  EXPECT_EQ(std::chrono::system_clock::to_time_t(*answer->token.expires_at), 1796126400);
  EXPECT_EQ(answer->token.user_id, "u1");
  EXPECT_EQ(answer->catalog.size(), 1U);
}

TEST(KeystoneAnswerTest, MembersOfOtherTypesAreLeftOutAndABodyWithoutATokenIsRefused) {
  const auto answer = parse_keystone_answer("tok", R"({"token":{"expires_at":5,"user":"u1"}})");
  ASSERT_TRUE(answer);
  EXPECT_FALSE(answer->token.expires_at);
  EXPECT_EQ(answer->token.user_id, "");
  EXPECT_TRUE(answer->catalog.empty());
  // Years no clock holds (the fuzzer's find: a year 1013 overflowed the conversion).
  for (const char* year : {"1013", "9999", "0000"}) {
    const auto far = parse_keystone_answer(
        "tok", std::string(R"({"token":{"expires_at":")") + year + R"(-12-01T12:00:00Z"}})");
    ASSERT_TRUE(far);
    EXPECT_FALSE(far->token.expires_at) << year;
  }
  for (const char* body : {"", "[]", "{}", R"({"token":[]})", R"({"token":"x"})", "{\"token\":"}) {
    EXPECT_FALSE(parse_keystone_answer("tok", body)) << body;
  }
}

}  // namespace
}  // namespace glance_store::swift
