// check_location_metadata (C-18..C-28): a dict of strings, lists and dicts, recursively.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "glance_store/error.h"
#include "glance_store/store.h"
#include "unit/core/test_support.h"

namespace glance_store {
namespace {

using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::StartsWith;
using json = nlohmann::json;
using testing::CatchError;
using testing::HasKind;

struct MetadataCase {
  const char* name;
  const char* json_text;
};

class AcceptedMetadataTest : public ::testing::TestWithParam<MetadataCase> {};

TEST_P(AcceptedMetadataTest, IsAccepted) {
  EXPECT_NO_THROW(check_location_metadata(json::parse(GetParam().json_text), "file"));
}

INSTANTIATE_TEST_SUITE_P(
    Backend, AcceptedMetadataTest,
    ::testing::Values(
        MetadataCase{"Empty", "{}"},                                                        // C-18
        MetadataCase{"String", R"({"key": "somevalue"})"},                                  // C-19
        MetadataCase{"List", R"({"key": ["somevalue", "2"]})"},                             // C-20
        MetadataCase{"Dict", R"({"topkey": {"key1": "somevalue", "key2": "somevalue"}})"},  // C-21
        MetadataCase{"DictAndList",
                     R"({"topkey": {"key1": "somevalue", "key2": "somevalue"},
                         "list": ["somevalue", "2"], "u": "2"})"},  // C-22
        MetadataCase{"NestedDicts",
                     R"({"topkey": {"key1": {"key2": {"key3": "somevalue"}}}})"},  // C-23
        MetadataCase{"EmptyListAndDict", R"({"a": [], "b": {}})"},
        MetadataCase{"ListOfDicts", R"({"a": [{"id": "x", "mountpoint": "/m"}, ["y"]]})"},
        MetadataCase{"Null", "null"}),  // C-28: skipped
    [](const auto& info) { return std::string(info.param.name); });

struct RejectedCase {
  const char* name;
  const char* json_text;
  const char* key;  // as the message names it
  bool not_a_dict;  // C-26 rather than C-27
};

class RejectedMetadataTest : public ::testing::TestWithParam<RejectedCase> {};

TEST_P(RejectedMetadataTest, IsABackendExceptionNamingTheKey) {
  const json metadata = json::parse(GetParam().json_text);
  const Error e = CatchError([&] { check_location_metadata(metadata, "file"); });
  EXPECT_THAT(e, HasKind(ErrorKind::kBackendException));
  if (GetParam().not_a_dict) {
    EXPECT_EQ(e.message(), "The storage driver file returned invalid  metadata " + metadata.dump() +
                               ". This must be a dictionary type");
  } else {
    EXPECT_THAT(e.message(),
                StartsWith("A bad metadata structure was returned from the file storage driver: " +
                           metadata.dump() + ".  The image metadata key " + GetParam().key +
                           " has an invalid type of "));
  }
}

INSTANTIATE_TEST_SUITE_P(
    Backend, RejectedMetadataTest,
    ::testing::Values(
        RejectedCase{"NumberAtTop", R"({"key": 1})", "key", false},                       // C-24
        RejectedCase{"ListWithNonString", R"({"k3": [1, {"x": "y"}]})", "k3[0]", false},  // C-25
        RejectedCase{"LaterListElement", R"({"k3": ["a", "b", true]})", "k3[2]", false},
        RejectedCase{"NullValue", R"({"key": null})", "key", false},
        RejectedCase{"BoolInNestedDict", R"({"top": {"inner": false}})", "inner", false},
        RejectedCase{"NestedList", R"({"k": [["ok", 2.5]]})", "k[0][1]", false},
        RejectedCase{"List", "[]", "", true},  // C-26
        RejectedCase{"String", R"("text")", "", true}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(MetadataMessageTest, NamesTheDriver) {
  const Error e = CatchError([] { check_location_metadata(json::parse("[]"), "s3"); });
  EXPECT_EQ(e.message(),
            "The storage driver s3 returned invalid  metadata []. This must be a dictionary type");
}

// C-27 gives glance_store's full text, whose two sentences end in "..".
TEST(MetadataMessageTest, EndsAsGlanceStoreMessage) {
  const Error e =
      CatchError([] { check_location_metadata(json::parse(R"({"k3": [1]})"), "file"); });
  EXPECT_THAT(e.message(), HasSubstr("The image metadata key k3[0] has an invalid type of "));
  EXPECT_THAT(e.message(), EndsWith(". Only dict, list, and unicode are supported.."));
}

}  // namespace
}  // namespace glance_store
