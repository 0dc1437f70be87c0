// Location URIs (L-01..L-08): the file cases of the URI corpus recorded from glance_store 4.1,
// dispatch by scheme, redaction, and the urlsplit / quote helpers underneath.
#include "glance_store/location.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/url.h"
#include "glance_store/backend.h"
#include "glance_store/config.h"
#include "glance_store/error.h"
#include "unit/core/test_support.h"

namespace glance_store {
namespace {

using testing::CatchError;
using ::testing::ElementsAre;
using testing::HasKind;
using testing::TempDir;

using FieldMap = std::map<std::string, std::optional<std::string>>;

struct CorpusCase {
  std::size_t index = 0;
  nlohmann::json json;

  std::string uri() const { return json.at("uri").get<std::string>(); }
};

void PrintTo(const CorpusCase& c, std::ostream* os) { *os << c.json.dump(); }

const nlohmann::json& corpus() {
  static const nlohmann::json kCorpus = [] {
    std::ifstream in(std::string(GLANCE_STORE_TESTDATA) + "/uri_corpus.json");
    return nlohmann::json::parse(in);
  }();
  return kCorpus;
}

/// The cases of one scheme group that glance_store gets right (no "quirk" key).
std::vector<CorpusCase> corpus_cases(const std::string& group) {
  std::vector<CorpusCase> out;
  for (std::size_t i = 0; i < corpus().size(); ++i) {
    const auto& c = corpus()[i];
    if (c.at("scheme_group") == group && !c.contains("quirk")) out.push_back({i, c});
  }
  return out;
}

std::string case_name(const ::testing::TestParamInfo<CorpusCase>& info) {
  std::string name = "case" + std::to_string(info.param.index) + "_";
  for (char c : info.param.json.value("note", std::string())) {
    name += std::isalnum(static_cast<unsigned char>(c)) != 0 ? c : '_';
  }
  return name.substr(0, 60);
}

FieldMap field_map(const StoreLocation& location) {
  FieldMap out;
  for (const auto& f : location.fields()) out[f.name] = f.value;
  return out;
}

FieldMap expected_fields(const nlohmann::json& fields, const nlohmann::json& unset) {
  FieldMap out;
  for (const auto& [name, value] : fields.items()) out[name] = value.get<std::string>();
  for (const auto& name : unset) out[name.get<std::string>()] = std::nullopt;
  return out;
}

ErrorKind kind_of_class(const std::string& error_class) {
  for (ErrorKind kind : kAllErrorKinds) {
    if (kind_name(kind) == error_class) return kind;
  }
  ADD_FAILURE() << "unknown error class " << error_class;
  return ErrorKind::kDriverLoadFailure;
}

// A legacy registry with a filesystem store, shared by every case.
class CorpusTest : public ::testing::TestWithParam<CorpusCase> {
 protected:
  static void SetUpTestSuite() {
    datadir_ = new TempDir();
    registry_ = testing::legacy_registry(datadir_->path()).release();
  }
  static void TearDownTestSuite() {
    delete registry_;
    delete datadir_;
  }
  static TempDir* datadir_;
  static StoreRegistry* registry_;
};
TempDir* CorpusTest::datadir_ = nullptr;
StoreRegistry* CorpusTest::registry_ = nullptr;

class FileCorpusTest : public CorpusTest {};

TEST_P(FileCorpusTest, ParsesAsGlanceStore41) {
  const auto& c = GetParam().json;
  if (c.at("ok").get<bool>()) {
    std::unique_ptr<StoreLocation> location;
    ASSERT_NO_THROW(location = registry_->parse_any(GetParam().uri()));
    const FieldMap expected = expected_fields(c.at("fields"), c.at("unset_fields"));
    EXPECT_EQ(field_map(*location), expected);
    EXPECT_EQ(location->scheme(), c.at("fields").at("scheme").get<std::string>());
    EXPECT_EQ(location->uri(), c.at("roundtrip_uri").get<std::string>());
    EXPECT_EQ(location->uri(true), location->uri());  // nothing secret in a file location
    if (c.value("reparse_fields_equal", false)) {
      std::unique_ptr<StoreLocation> again;
      ASSERT_NO_THROW(again = registry_->parse_any(location->uri()));
      EXPECT_EQ(field_map(*again), expected);
    }
  } else {
    const Error e = CatchError([&] { registry_->parse_any(GetParam().uri()); });
    EXPECT_THAT(e, HasKind(kind_of_class(c.at("error_class").get<std::string>())));
    EXPECT_EQ(e.message(), c.at("error_message").get<std::string>());
  }
}

TEST_P(FileCorpusTest, TheConfiguredStoreParsesLikeTheRegistry) {
  const auto& c = GetParam().json;
  Store& store = registry_->store_by_name("file");
  if (c.at("ok").get<bool>()) {
    std::unique_ptr<StoreLocation> location;
    ASSERT_NO_THROW(location = store.parse_location(GetParam().uri()));
    EXPECT_EQ(location->uri(), c.at("roundtrip_uri").get<std::string>());
  } else if (c.at("error_class") == "BadStoreUri") {
    EXPECT_THAT(CatchError([&] { store.parse_location(GetParam().uri()); }),
                HasKind(ErrorKind::kBadStoreUri));
  }
}

INSTANTIATE_TEST_SUITE_P(UriCorpus, FileCorpusTest, ::testing::ValuesIn(corpus_cases("file")),
                         case_name);

// "other" cases whose scheme is not one of glance_store's: UnknownScheme.
std::vector<CorpusCase> foreign_scheme_cases() {
  std::vector<CorpusCase> out;
  for (auto& c : corpus_cases("other")) {
    if (type_of_scheme(dispatch_scheme(c.uri())).empty()) out.push_back(std::move(c));
  }
  return out;
}

class ForeignSchemeCorpusTest : public CorpusTest {};

TEST_P(ForeignSchemeCorpusTest, IsUnknownScheme) {
  const auto& c = GetParam().json;
  ASSERT_EQ(c.at("error_class"), "UnknownScheme");
  const Error e = CatchError([&] { registry_->parse_any(GetParam().uri()); });
  EXPECT_THAT(e, HasKind(ErrorKind::kUnknownScheme));
  EXPECT_EQ(e.message(), c.at("error_message").get<std::string>());
  EXPECT_THAT(CatchError([&] { registry_->store_for_uri(GetParam().uri()); }),
              HasKind(ErrorKind::kUnknownScheme));
}

INSTANTIATE_TEST_SUITE_P(UriCorpus, ForeignSchemeCorpusTest,
                         ::testing::ValuesIn(foreign_scheme_cases()), case_name);

TEST(UriCorpusTest, HasTheExpectedCases) {
  EXPECT_EQ(corpus_cases("file").size(), 25u);
  // The corpus's rbd case was written where glance had no rbd driver: it is ours now.
  EXPECT_EQ(foreign_scheme_cases().size(), 5u);
}

TEST(DispatchSchemeTest, FollowsUrlsplit) {
  const std::pair<const char*, const char*> cases[] = {
      {"file:///x", "file"},
      {"FILE:///x", "file"},
      {"s3+https://x", "s3+https"},
      {"swift+config://ref/c/o", "swift+config"},
      {"a-b.c+d://x", "a-b.c+d"},
      {"  file:///x", "file"},
      {"\x01 file:///x", "file"},
      {"s3:", "s3"},
      {"c:\\foo", "c"},
      {"not a uri", ""},
      {"1abc://x", ""},
      {"-ab://x", ""},
      {"://x", ""},
      {"//host/x", ""},
      {"", ""},
  };
  for (const auto& [uri, scheme] : cases) EXPECT_EQ(dispatch_scheme(uri), scheme) << uri;
}

TEST(RedactUriTest, ReplacesTheSecretOnly) {
  EXPECT_EQ(redact_uri("s3://AK:SK@host/bucket/key"), "s3://AK:***@host/bucket/key");
  EXPECT_EQ(redact_uri("s3+https://AK:S/K@host/b/k"), "s3+https://AK:***@host/b/k");
  EXPECT_EQ(redact_uri("swift://tenant:user1:key@auth/glance/obj"),
            "swift://tenant:user1:***@auth/glance/obj");
  EXPECT_EQ(redact_uri("http://user:@host/x"), "http://user:***@host/x");
  // Every piece of a password holding '@' or ':' is hidden.
  EXPECT_EQ(redact_uri("http://us@er:secret@example.com/x"), "http://us@er:***@example.com/x");
  EXPECT_EQ(redact_uri("http://user:secret@word@example.com/x"), "http://user:***@example.com/x");
  EXPECT_EQ(redact_uri("https://gsuser:gs:pass@word@host:81/x"), "https://gsuser:***@host:81/x");
  EXPECT_EQ(redact_uri("s3://AK:S:K@host/b/k"), "s3://AK:***@host/b/k");
  EXPECT_EQ(redact_uri("http://u:a/b@c@host/img"), "http://u:***@host/img");
}

TEST(RedactUriTest, LeavesUrisWithoutSecretsAlone) {
  for (const char* uri :
       {"file:///var/lib/glance/images/x", "http://host/a@b", "http://user@host/x",
        "swift+config://ref1/glance/obj", "not a uri", "s3:"}) {
    EXPECT_EQ(redact_uri(uri), uri);
  }
}

TEST(SchemeRegistryTest, DispatchesOnTheScheme) {
  SchemeRegistry registry;
  std::vector<std::string> seen;
  registry.add("fake", [&](std::string_view uri) -> std::unique_ptr<StoreLocation> {
    seen.emplace_back(uri);
    return nullptr;
  });
  EXPECT_TRUE(registry.knows("fake"));
  EXPECT_FALSE(registry.knows("file"));
  EXPECT_THAT(registry.schemes(), ElementsAre("fake"));
  registry.parse("FAKE://x");
  EXPECT_THAT(seen, ElementsAre("FAKE://x"));
  const Error e = CatchError([&] { registry.parse("file:///x"); });
  EXPECT_THAT(e, HasKind(ErrorKind::kUnknownScheme));
  EXPECT_EQ(e.message(), "Unknown scheme 'file' found in URI");
}

TEST(SchemeTypesTest, SchemesOfEachType) {
  EXPECT_THAT(schemes_of_type("file"), ElementsAre("file", "filesystem"));
  EXPECT_THAT(schemes_of_type("http"), ElementsAre("http", "https"));
  EXPECT_THAT(schemes_of_type("s3"), ElementsAre("s3", "s3+http", "s3+https"));
  EXPECT_THAT(schemes_of_type("swift"),
              ElementsAre("swift+https", "swift", "swift+http", "swift+config"));
  EXPECT_THAT(schemes_of_type("rbd"), ElementsAre("rbd"));
  EXPECT_TRUE(schemes_of_type("cinder").empty());
  EXPECT_EQ(type_of_scheme("filesystem"), "file");
  EXPECT_EQ(type_of_scheme("swift+config"), "swift");
  EXPECT_EQ(type_of_scheme("s3+http"), "s3");
  EXPECT_EQ(type_of_scheme("ftp"), "");
}

// internal::split_url reproduces Python 3.11's urlsplit.
struct SplitCase {
  const char* uri;
  const char* scheme;
  const char* netloc;
  const char* path;
  const char* query;
  const char* fragment;
  bool has_netloc;
};

class SplitUrlTest : public ::testing::TestWithParam<SplitCase> {};

TEST_P(SplitUrlTest, SplitsAsUrlsplit) {
  const auto& c = GetParam();
  const internal::SplitUrl parts = internal::split_url(c.uri);
  EXPECT_EQ(parts.scheme, c.scheme);
  EXPECT_EQ(parts.netloc, c.netloc);
  EXPECT_EQ(parts.path, c.path);
  EXPECT_EQ(parts.query, c.query);
  EXPECT_EQ(parts.fragment, c.fragment);
  EXPECT_EQ(parts.has_netloc, c.has_netloc);
}

INSTANTIATE_TEST_SUITE_P(
    Urlsplit, SplitUrlTest,
    ::testing::Values(SplitCase{"file:///a?b#c", "file", "", "/a", "b", "c", true},
                      SplitCase{"file:///a#b?c", "file", "", "/a", "", "b?c", true},
                      SplitCase{"HTTP://Host/X", "http", "Host", "/X", "", "", true},
                      SplitCase{"fi\tle:///a\nb", "file", "", "/ab", "", "", true},
                      SplitCase{"//host/x", "", "host", "/x", "", "", true},
                      SplitCase{"1http://x", "", "", "1http://x", "", "", false},
                      SplitCase{"file:x", "file", "", "x", "", "", false},
                      SplitCase{"s3:", "s3", "", "", "", "", false},
                      SplitCase{"http://[::1]:80/x", "http", "[::1]:80", "/x", "", "", true},
                      SplitCase{"http://u:p@[::1]/x", "http", "u:p@[::1]", "/x", "", "", true},
                      SplitCase{"http://[fe80::1%25eth0]/x", "http", "[fe80::1%25eth0]", "/x", "",
                                "", true},
                      SplitCase{"http://[v1.fe]/x", "http", "[v1.fe]", "/x", "", "", true},
                      SplitCase{"file://host:8080/x", "file", "host:8080", "/x", "", "", true}));

class InvalidIpv6Test : public ::testing::TestWithParam<const char*> {};

TEST_P(InvalidIpv6Test, IsBadStoreUri) {
  const Error e = CatchError([] { internal::split_url(GetParam()); });
  EXPECT_THAT(e, HasKind(ErrorKind::kBadStoreUri));
  EXPECT_THAT(e.message(), ::testing::HasSubstr("Invalid IPv6 URL"));
}

INSTANTIATE_TEST_SUITE_P(Brackets, InvalidIpv6Test,
                         ::testing::Values("http://[::1/x", "http://::1]/x", "http://[zzz]/x",
                                           "http://[vz.1]/x", "http://[1.2.3.4]/x",
                                           "s3://AK:SK@[::1/b/k", "file://[/x"));

TEST(SplitUrlTest, BracketsOutsideTheNetlocAreNotChecked) {
  EXPECT_EQ(internal::split_url("file:///a[b/c").path, "/a[b/c");
  EXPECT_EQ(internal::split_url("http://h/x?q=[").query, "q=[");
}

TEST(StripPyWhitespaceTest, StripsUnicodeWhitespace) {
  EXPECT_EQ(internal::strip_py_whitespace(" \t\n\v\f\r x y \x1c\x1f"), "x y");
  EXPECT_EQ(internal::strip_py_whitespace("\xc2\xa0x\xe2\x80\x83"), "x");  // NBSP, EM SPACE
  EXPECT_EQ(internal::strip_py_whitespace("\xe3\x80\x80x\xc2\x85"), "x");  // IDEOGRAPHIC, NEL
  EXPECT_EQ(internal::strip_py_whitespace("\xc3\xa9"), "\xc3\xa9");        // é is not space
  EXPECT_EQ(internal::strip_py_whitespace("   "), "");
}

TEST(PercentQuoteTest, QuotesAsUrllib) {
  EXPECT_EQ(internal::percent_quote("a b/c", "/"), "a%20b/c");
  EXPECT_EQ(internal::percent_quote("a b/c", ""), "a%20b%2Fc");
  EXPECT_EQ(internal::percent_quote("tenant:user", ""), "tenant%3Auser");
  EXPECT_EQ(internal::percent_quote("~_.-AZaz09", ""), "~_.-AZaz09");
  EXPECT_EQ(internal::percent_quote("a@b#c?d%e", ""), "a%40b%23c%3Fd%25e");
  EXPECT_EQ(internal::percent_quote("\xc3\xa9", ""), "%C3%A9");
  EXPECT_EQ(internal::percent_quote("", "/"), "");
}

TEST(PercentUnquoteTest, DecodesValidEscapesOnly) {
  EXPECT_EQ(internal::percent_unquote("a%20b%3a%3A"), "a b::");
  EXPECT_EQ(internal::percent_unquote("%zz%4"), "%zz%4");
  EXPECT_EQ(internal::percent_unquote("%"), "%");
  EXPECT_EQ(internal::percent_unquote("100%"), "100%");
  EXPECT_EQ(internal::percent_unquote("%41"), "A");
  EXPECT_EQ(internal::percent_unquote("%2541"), "%41");  // one level only
  EXPECT_EQ(internal::percent_unquote("%C3%A9"), "\xc3\xa9");
}

TEST(PercentQuoteTest, RoundTrips) {
  const std::string raw = "tenant:user/with spaces@and#odd?chars%";
  EXPECT_EQ(internal::percent_unquote(internal::percent_quote(raw, "")), raw);
}

}  // namespace
}  // namespace glance_store
