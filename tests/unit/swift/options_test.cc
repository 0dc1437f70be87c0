// Swift options, account references and catalog lookups.
#include <gtest/gtest.h>

#include <fstream>

#include "common/test_util.h"
#include "drivers/swift/swift_options.h"
#include "drivers/swift/swift_references.h"
#include "drivers/swift/swift_session.h"

namespace glance_store::swift {
namespace {

using test_common::CatchError;
using test_common::TempDir;
const std::string kImage = "fdae39a1-bac5-4238-aba4-69bcc726e848";

// glance_store: the first `seed` characters of the lower-cased id, plus one for each dash
// among them — characters, not bytes.
TEST(SwiftOptions, ContainerSeedTakesTheIdsFirstCharactersAndOneMorePerDash) {
  EXPECT_EQ(container_for_image("default_container", kImage, 3), "default_container_fda");
  EXPECT_EQ(container_for_image("default_container", kImage, 32), "default_container_" + kImage);
  EXPECT_EQ(container_for_image("default_container", kImage, 10), "default_container_fdae39a1-ba");
  EXPECT_EQ(container_for_image("default_container", kImage, 1), "default_container_f");
  EXPECT_EQ(container_for_image("default_container", kImage, 0), "default_container");
  EXPECT_EQ(container_for_image("c", "ABC", 2), "c_ab");
  EXPECT_EQ(container_for_image("c", "a--b-c", 2), "c_a--");  // "a-" has one dash: 3 characters
  EXPECT_EQ(container_for_image("c",
                                "a\xc3\xa9"
                                "bc",
                                2),
            "c_a\xc3\xa9");  // "aé", whole
  EXPECT_EQ(container_for_image("c", "ab", 5), "c_ab");
}

OptionReader reader_of(const std::string& text) {
  return {ConfigFile::parse("[glance_store]\n" + text), {"glance_store"}, "swift"};
}

TEST(SwiftOptions, SeedOutsideZeroToThirtyTwoIsRejected) {
  for (const char* seed : {"-1", "33"}) {
    EXPECT_EQ(CatchError([&] {
                SwiftOptions::read(
                    reader_of(std::string("swift_store_multiple_containers_seed = ") + seed));
              }).kind(),
              ErrorKind::kBadStoreConfiguration)
        << seed;
  }
}

TEST(SwiftOptions, DefaultsAreGlanceStoresAndSizesAreInSwiftMegabytes) {
  const SwiftOptions o = SwiftOptions::read(reader_of(""));
  EXPECT_EQ(o.container, "glance");
  EXPECT_EQ(o.large_object_bytes(), 5120ULL * 1024000);
  EXPECT_EQ(o.segment_bytes(), 200ULL * 1024000);
  EXPECT_EQ(o.endpoint_type, "publicURL");
  EXPECT_EQ(o.service_type, "object-store");
  EXPECT_EQ(o.default_reference, "ref1");
  EXPECT_EQ(o.upload_concurrency, 4);
  EXPECT_EQ(o.retry_get_count, 0);
  EXPECT_EQ(
      CatchError([] { SwiftOptions::read(reader_of("swift_store_endpoint_type = x")); }).kind(),
      ErrorKind::kBadStoreConfiguration);
}

TEST(SwiftReferences, QuotesAreRemovedOnlyWhenClosed) {
  EXPECT_EQ(strip_reference_quotes("user"), "user");
  EXPECT_EQ(strip_reference_quotes("\"user\""), "user");
  EXPECT_EQ(strip_reference_quotes("'user'"), "user");
  EXPECT_EQ(strip_reference_quotes("user'"), "user'");
  EXPECT_EQ(strip_reference_quotes("user\""), "user\"");
  for (const char* bad : {"'user\"", "\"user'", "'user", "\"user", "\"", "'"}) {
    EXPECT_EQ(CatchError([&] { strip_reference_quotes(bad); }).kind(),
              ErrorKind::kBadStoreConfiguration)
        << bad;
  }
}

TEST(SwiftReferences, FileSectionsWithDomainsAndApplicationCredentials) {
  TempDir dir;
  const std::string path = dir.sub("glance-swift.conf");
  std::ofstream(path) << "[ref1]\nuser = tenant:user1\nkey = key1\nauth_address = example.com\n"
                         "[ref2]\nuser = user2\nkey = key2\nauth_address = http://example.com\n"
                         "[ref3]\nuser = \"user3\"\nkey = \"key3\"\nauth_address = "
                         "\"http://example.com\"\n"
                         "[ref4]\nuser = u\nkey = k\nauth_address = a\nuser_domain_id = "
                         "userdomainid\nproject_domain_id = projdomainid\n"
                         "[ref5]\nuser = u\nkey = k\nauth_address = a\nuser_domain_name = "
                         "userdomain\nproject_domain_name = projdomain\n"
                         "[ref6]\nauth_address = https://example.com\napplication_credential_id = "
                         "app-cred-id-123\napplication_credential_secret = app-cred-secret-456\n"
                         "[ref8]\nauth_address = https://example.com\napplication_credential_id = "
                         "only-the-id\n"
                         "[ref9]\nauth_address = https://example.com\nauth_version = 1\n";
  const SwiftReferences refs = load_reference_file(path);
  EXPECT_EQ(refs.at("ref1").user, "tenant:user1");
  EXPECT_EQ(refs.at("ref1").key, "key1");
  EXPECT_EQ(refs.at("ref1").auth_address, "example.com");
  EXPECT_EQ(refs.at("ref1").user_domain_id, "default");
  EXPECT_EQ(refs.at("ref1").project_domain_id, "default");
  EXPECT_FALSE(refs.at("ref1").user_domain_name.has_value());
  EXPECT_EQ(refs.at("ref2").auth_address, "http://example.com");
  EXPECT_EQ(refs.at("ref3").user, "user3");
  EXPECT_EQ(refs.at("ref3").auth_address, "http://example.com");
  EXPECT_EQ(refs.at("ref4").user_domain_id, "userdomainid");
  EXPECT_EQ(refs.at("ref4").project_domain_id, "projdomainid");
  EXPECT_EQ(refs.at("ref5").user_domain_name, "userdomain");
  EXPECT_FALSE(refs.at("ref5").user_domain_id.has_value());
  EXPECT_TRUE(refs.at("ref6").uses_application_credential());
  EXPECT_FALSE(refs.at("ref6").user.has_value());
  EXPECT_EQ(refs.count("ref8"), 0U);  // incomplete: skipped
  EXPECT_EQ(refs.count("ref9"), 0U);
  EXPECT_EQ(CatchError([&] { load_reference_file(dir.sub("missing.conf")); }).kind(),
            ErrorKind::kBadStoreConfiguration);
}

// glance's parser of the file (configparser, then one pair of matching quotes removed), and
// swiftclient's auth versions; a malformed file fails the configuration, naming where.
TEST(SwiftReferences, FileValuesAreUnquotedOnceAndVersionsAreSwiftclients) {
  TempDir dir;
  const std::string path = dir.sub("swift.conf");
  std::ofstream(path) << "[v1]\nauth_address = a\nuser = \"'u'\"\nkey = k\nauth_version = 1.0\n"
                         "[v2]\nauth_address = a\nuser = u\nkey = k\nauth_version = 2\n"
                         "[v3]\nauth_address = a\nuser = u\nkey = k\nauth_version = 3.0\n";
  const SwiftReferences refs = load_reference_file(path);
  EXPECT_EQ(refs.at("v1").user, "'u'");
  EXPECT_TRUE(refs.at("v1").is_v1());
  EXPECT_EQ(refs.at("v2").auth_version, "2");
  EXPECT_EQ(refs.at("v3").auth_version, "3");
  for (const std::string bad :
       {"[r]\nauth_address = a\nuser = u\nkey = k\nauth_version = 4\n",
        "[r]\nauth_address = a\nuser = u\nkey = \"\n",
        "[r]\nauth_address = a\nuser = 'u\"\nkey = k\n", "[r]\nnothing\n"}) {
    std::ofstream(path) << bad;
    EXPECT_THROW(load_reference_file(path), InvalidOptionValue) << bad;
    EXPECT_NE(CatchError([&] { load_reference_file(path); }).message().find(path),
              std::string::npos)
        << bad;
  }
}

TEST(SwiftReferences, WithoutAFileTheOptionsMakeTheDefaultReference) {
  const SwiftReferences refs = read_references(
      reader_of("default_swift_reference = ref_default\nswift_store_user = user_default\n"
                "swift_store_key = key_default\nswift_store_auth_address = auth@default.com\n"));
  ASSERT_EQ(refs.size(), 1U);
  EXPECT_EQ(refs.at("ref_default").user, "user_default");
  EXPECT_EQ(refs.at("ref_default").auth_address, "auth@default.com");
  EXPECT_TRUE(read_references(reader_of("swift_store_user = u\n")).empty());
}

TEST(SwiftCatalog, EndpointByTypeInterfaceAndRegionInBothCatalogForms) {
  const auto v3 = nlohmann::json::parse(R"([
    {"type": "identity", "endpoints": [{"interface": "public", "url": "http://ks"}]},
    {"type": "object-store", "endpoints": [
      {"interface": "public", "region": "RegionOne", "url": "https://one"},
      {"interface": "internal", "region": "RegionOne", "url": "https://one-internal"},
      {"interface": "public", "region": "WestCarolina", "url": "https://west"}]}])");
  EXPECT_EQ(find_endpoint(v3, {}), "https://one");
  EXPECT_EQ(find_endpoint(v3, {.interface = "internalURL"}), "https://one-internal");
  EXPECT_EQ(find_endpoint(v3, {.region = "WestCarolina"}), "https://west");
  EXPECT_FALSE(find_endpoint(v3, {.service_type = "toy-store"}).has_value());
  const auto v2 = nlohmann::json::parse(R"([{"type": "object-store", "endpoints": [
      {"publicURL": "https://some_endpoint", "internalURL": "https://some_internal_endpoint",
       "adminURL": "https://some_admin_endpoint", "region": "RegionOne"}]}])");
  EXPECT_EQ(find_endpoint(v2, {.interface = "adminURL"}), "https://some_admin_endpoint");
}

TEST(SwiftCatalog, KeystoneTokenUrl) {
  EXPECT_EQ(keystone_tokens_url("http://ks:5000/v3"), "http://ks:5000/v3/auth/tokens");
  EXPECT_EQ(keystone_tokens_url("http://ks:5000/v3/"), "http://ks:5000/v3/auth/tokens");
  EXPECT_EQ(keystone_tokens_url("http://ks:5000/v2.0"), "http://ks:5000/v3/auth/tokens");
  EXPECT_EQ(keystone_tokens_url("http://ks:5000"), "http://ks:5000/v3/auth/tokens");
}

}  // namespace
}  // namespace glance_store::swift
