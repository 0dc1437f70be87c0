// StoreRegistry in legacy mode (C-01..C-13): `[glance_store] stores` and `default_store`.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "glance_store/backend.h"
#include "glance_store/config.h"
#include "glance_store/error.h"
#include "unit/core/test_support.h"

namespace glance_store {
namespace {

using testing::add_image;
using ::testing::AllOf;
using testing::CatchError;
using testing::get_image;
using testing::HasKind;
using ::testing::HasSubstr;
using ::testing::StartsWith;
using testing::TempDir;
using ::testing::UnorderedElementsAre;

class LegacyRegistryTest : public ::testing::Test {
 protected:
  std::unique_ptr<StoreRegistry> create(const std::string& extra = "") {
    return testing::legacy_registry(dir_.path(), extra);
  }
  TempDir dir_;
};

TEST_F(LegacyRegistryTest, OneFileStoreServesBothSchemes) {
  const auto registry = create();
  EXPECT_FALSE(registry->multi_store());
  ASSERT_EQ(registry->stores().size(), 1u);
  Store& store = *registry->stores().front();
  EXPECT_EQ(store.type(), "file");
  EXPECT_EQ(store.backend_id(), "");
  EXPECT_EQ(&registry->default_store(), &store);
  EXPECT_TRUE(registry->is_default(store));
  EXPECT_FALSE(registry->is_reserved(store));
  EXPECT_EQ(&registry->store_for_scheme("file"), &store);
  EXPECT_EQ(&registry->store_for_scheme("filesystem"), &store);
  EXPECT_EQ(&registry->store_for_uri("file:///x"), &store);
  EXPECT_EQ(&registry->store_by_name("file"), &store);
  EXPECT_THAT(registry->known_schemes(), UnorderedElementsAre("file", "filesystem"));
  EXPECT_NO_THROW(registry->verify_default_store());
}

// C-01: `stores` defaults to file and http; this build has the file driver at least.
TEST_F(LegacyRegistryTest, StoresDefaultToFileAndHttp) {
  const auto registry = StoreRegistry::create(
      ConfigFile::parse("[glance_store]\nfilesystem_store_datadir = " + dir_.path() + "\n"));
  EXPECT_EQ(registry->default_store().type(), "file");
  std::vector<std::string> types;
  for (Store* s : registry->stores()) types.emplace_back(s->type());
  EXPECT_THAT(types, ::testing::Contains("file"));
  EXPECT_THAT(types, ::testing::IsSubsetOf({"file", "http"}));
}

TEST_F(LegacyRegistryTest, AliasesAndDuplicatesMakeOneStore) {
  const auto registry = StoreRegistry::create(
      ConfigFile::parse("[glance_store]\nstores = file, filesystem, glance.store.filesystem.Store\n"
                        "filesystem_store_datadir = " +
                        dir_.path() + "\n"));
  EXPECT_EQ(registry->stores().size(), 1u);
}

TEST_F(LegacyRegistryTest, AddGetRemoveRoundTrip) {
  const auto registry = create();
  const std::string uri = add_image(*registry, "img1", "legacy data");
  EXPECT_EQ(uri, "file://" + dir_.sub("img1"));
  EXPECT_EQ(get_image(*registry, uri), "legacy data");
  EXPECT_EQ(registry->get_size(uri), 11u);
  registry->remove(uri);
  EXPECT_THAT(CatchError([&] { registry->get(uri); }), HasKind(ErrorKind::kNotFound));
}

TEST_F(LegacyRegistryTest, AddByScheme) {
  const auto registry = create();
  MemoryInputStream in("x");
  EXPECT_EQ(registry->add("img", in, 1, "sha256", "file").metadata, nlohmann::json::object());
}

// C-10.
// A default_store naming none of the configured stores is refused when the configuration is
// loaded, naming the option (glance finds out at startup's verify_default_store, or later).
TEST_F(LegacyRegistryTest, UnknownDefaultStore) {
  for (const std::string scheme : {"s3", "nope"}) {
    const Error e = CatchError([&] { create("default_store = " + scheme + "\n"); });
    EXPECT_THAT(e, HasKind(ErrorKind::kBadStoreConfiguration));
    EXPECT_EQ(e.message(), "option [glance_store] default_store: '" + scheme +
                               "' names none of the configured stores");
  }
}

// C-07.
TEST_F(LegacyRegistryTest, UnknownSchemes) {
  const auto registry = create();
  const Error e = CatchError([&] { registry->store_for_scheme("nope"); });
  EXPECT_THAT(e, HasKind(ErrorKind::kUnknownScheme));
  EXPECT_EQ(e.message(), "Unknown scheme 'nope' found in URI");
  EXPECT_THAT(CatchError([&] { registry->get("ftp://host/x"); }),
              HasKind(ErrorKind::kUnknownScheme));
  EXPECT_THAT(CatchError([&] { registry->store_by_name("nope"); }),
              HasKind(ErrorKind::kUnknownScheme));
}

TEST_F(LegacyRegistryTest, UnknownStoreTypeIsBadStoreConfiguration) {
  const Error e = CatchError([&] { create("stores = file, nope\n"); });
  EXPECT_THAT(e, HasKind(ErrorKind::kBadStoreConfiguration));
  EXPECT_THAT(e.message(), HasSubstr("nope"));
}

TEST_F(LegacyRegistryTest, MalformedIntegerOptionFailsCreationNamingIt) {
  const Error e = CatchError([&] { create("filesystem_store_chunk_size = 0\n"); });
  EXPECT_THAT(e, HasKind(ErrorKind::kBadStoreConfiguration));
  EXPECT_THAT(e.message(),
              AllOf(HasSubstr("[glance_store]"), HasSubstr("filesystem_store_chunk_size")));
}

// add_memory_limit below the pipeline's own buffers, or an S3 part size that cannot fit in
// it: adds are disabled, saying which option; reads work.
TEST_F(LegacyRegistryTest, AMemoryLimitThatCannotHoldTheAddDisablesAddNamingIt) {
  const auto registry =
      create("add_buffer_size = 1048576\nadd_buffer_count = 8\nadd_memory_limit = 4194304\n");
  EXPECT_FALSE(registry->default_store().add_enabled());
  EXPECT_THAT(registry->default_store().add_disabled_reason(), HasSubstr("add_memory_limit"));
}

TEST(MemoryLimitTest, AnS3PartThatDoesNotFitDisablesAddNamingBothOptions) {
  const std::string s3 =
      "[glance_store]\nstores = s3\ndefault_store = s3\ns3_store_host = http://127.0.0.1:1\n"
      "s3_store_access_key = a\ns3_store_secret_key = b\ns3_store_bucket = c\n";
  // 10 MiB parts need 12 MiB of the 16 − 8 left: no.
  auto registry = StoreRegistry::create(ConfigFile::parse(s3 + "add_memory_limit = 16777216\n"));
  EXPECT_FALSE(registry->default_store().add_enabled());
  EXPECT_THAT(registry->default_store().add_disabled_reason(),
              AllOf(HasSubstr("add_memory_limit"), HasSubstr("s3_store_large_object_chunk_size")));
  // 20 MiB: yes.
  registry = StoreRegistry::create(ConfigFile::parse(s3 + "add_memory_limit = 20971520\n"));
  EXPECT_TRUE(registry->default_store().add_enabled())
      << registry->default_store().add_disabled_reason();
}

// C-03: a failed add configuration keeps the store, without WRITE_ACCESS.
TEST_F(LegacyRegistryTest, FailedAddConfigurationDisablesAddOnly) {
  testing::write_file(dir_.sub("existing"), "old image");
  const auto registry = create("filesystem_store_file_perm = 7\n");
  Store& store = registry->default_store();
  EXPECT_FALSE(store.add_enabled());
  EXPECT_THAT(store.add_disabled_reason(), HasSubstr("filesystem_store_file_perm"));
  MemoryInputStream in("x");
  const Error e = CatchError([&] { registry->add("img", in, 1); });
  EXPECT_THAT(e, HasKind(ErrorKind::kStoreAddDisabled));
  EXPECT_THAT(e.message(),
              StartsWith("Configuration for store failed. Adding images to this store is "
                         "disabled."));
  EXPECT_THAT(e.message(), HasSubstr("filesystem_store_file_perm"));
  EXPECT_EQ(get_image(*registry, "file://" + dir_.sub("existing")), "old image");
}

}  // namespace
}  // namespace glance_store

namespace glance_store {
namespace {

// Malformed values are refused when the configuration is loaded, naming the section and the
// option, and a refused configuration creates nothing. One case per option the drivers read
// (and per kind of malformation: syntax, range, choice, impossible path).
struct MalformedCase {
  std::string text;    // the whole configuration
  std::string option;  // "[section] name" the message must name
};

// `[glance_store]` of a legacy configuration of `stores`, then `lines`.
std::string legacy(const std::string& stores, const std::string& lines) {
  return "[glance_store]\nstores = " + stores +
         "\ndefault_store = " + stores.substr(0, stores.find(',')) + "\n" + lines;
}

// A multi-store configuration with the file backend b1, then `lines`.
std::string multi(const std::string& lines) {
  return "[DEFAULT]\nenabled_backends = b1:file\n[glance_store]\ndefault_backend = b1\n" + lines;
}

std::vector<MalformedCase> malformed_cases(const std::string& dir, const std::string& refs) {
  const std::string long_component(256, 'x');
  std::string long_path;  // 4096 bytes of 100-byte components
  while (long_path.size() < 4096) long_path += "/" + std::string(99, 'p');
  const std::string fs = "filesystem_store_datadir = " + dir + "/d\n";
  const auto file = [&](const std::string& lines) { return legacy("file", fs + lines); };
  const auto s3 = [&](const std::string& lines) { return legacy("s3", lines); };
  const auto swift = [&](const std::string& lines) { return legacy("swift", lines); };
  const auto http = [&](const std::string& lines) { return legacy("http", lines); };
  const auto ref_file = [&](const std::string& name, const std::string& text) {
    testing::write_file(refs + "/" + name, text);
    return swift("swift_store_config_file = " + refs + "/" + name + "\n");
  };
  const std::string gs = "[glance_store] ";
  return {
      // The registry's own options.
      {legacy("file, nope", fs), gs + "stores"},
      {legacy("file", fs) + "default_store = swift\n", gs + "default_store"},
      {"[DEFAULT]\nenabled_backends = b1\n", "[DEFAULT] enabled_backends"},
      {"[DEFAULT]\nenabled_backends = b1:tape\n", "[DEFAULT] enabled_backends"},
      {multi("default_backend = b2\n[b1]\n" + fs), gs + "default_backend"},
      // Every store's: core/store.cc.
      {multi("[b1]\n" + fs + "weight = heavy\n"), "[b1] weight"},
      {multi("[b1]\n" + fs + "weight = 99999999999999999999\n"), "[b1] weight"},
      {file("add_buffer_size = 1M\n"), gs + "add_buffer_size"},
      {file("add_buffer_size = 4095\n"), gs + "add_buffer_size"},
      {file("add_buffer_size = 268435457\n"), gs + "add_buffer_size"},
      {file("add_buffer_count = 1\n"), gs + "add_buffer_count"},
      {file("add_buffer_count = 1025\n"), gs + "add_buffer_count"},
      {file("add_memory_limit = 1048575\n"), gs + "add_memory_limit"},
      {multi("[backend_defaults]\nadd_buffer_count = eight\n[b1]\n" + fs),
       "[backend_defaults] add_buffer_count"},
      // Filesystem.
      {legacy("file", "filesystem_store_datadir = " + dir + "/" + long_component + "/img\n"),
       gs + "filesystem_store_datadir"},
      {legacy("file", "filesystem_store_datadir = " + long_path + "\n"),
       gs + "filesystem_store_datadir"},
      {legacy("file", "filesystem_store_datadir = " + dir + std::string("/a\0b", 4) + "\n"),
       gs + "filesystem_store_datadir"},
      {legacy("file", "filesystem_store_datadir =\nfilesystem_store_datadirs = " + dir + "/" +
                          long_component + ":1\n"),
       gs + "filesystem_store_datadirs"},
      {legacy("file",
              "filesystem_store_datadir =\nfilesystem_store_datadirs = " + dir + "/a:high\n"),
       gs + "filesystem_store_datadirs"},
      {legacy("file", "filesystem_store_datadir =\nfilesystem_store_datadirs = :5\n"),
       gs + "filesystem_store_datadirs"},
      {file("filesystem_store_metadata_file = /" + long_component + "\n"),
       gs + "filesystem_store_metadata_file"},
      {file("filesystem_store_file_perm = rw-r--r--\n"), gs + "filesystem_store_file_perm"},
      {file("filesystem_store_file_perm = 648\n"), gs + "filesystem_store_file_perm"},
      {file("filesystem_store_file_perm = 17777\n"), gs + "filesystem_store_file_perm"},
      {file("filesystem_store_chunk_size = 0\n"), gs + "filesystem_store_chunk_size"},
      {file("filesystem_store_chunk_size = 64k\n"), gs + "filesystem_store_chunk_size"},
      {file("filesystem_thin_provisioning = maybe\n"), gs + "filesystem_thin_provisioning"},
      {file("filesystem_store_direct_io = sometimes\n"), gs + "filesystem_store_direct_io"},
      {file("filesystem_store_timeout = -1\n"), gs + "filesystem_store_timeout"},
      {file("filesystem_store_timeout = 10000000000\n"), gs + "filesystem_store_timeout"},
      {file("filesystem_store_thread_pool_size = 0\n"), gs + "filesystem_store_thread_pool_size"},
      {file("filesystem_store_thread_pool_size = 1025\n"),
       gs + "filesystem_store_thread_pool_size"},
      {file("filesystem_store_threadpool_threshold = 101\n"),
       gs + "filesystem_store_threadpool_threshold"},
      // S3.
      {s3("s3_store_create_bucket_on_put = perhaps\n"), gs + "s3_store_create_bucket_on_put"},
      {s3("s3_store_bucket_url_format = sideways\n"), gs + "s3_store_bucket_url_format"},
      {s3("s3_store_large_object_size = -1\n"), gs + "s3_store_large_object_size"},
      {s3("s3_store_large_object_size = 8796093022208\n"), gs + "s3_store_large_object_size"},
      {s3("s3_store_large_object_chunk_size = ten\n"), gs + "s3_store_large_object_chunk_size"},
      {s3("s3_store_large_object_chunk_size = 8796093022208\n"),
       gs + "s3_store_large_object_chunk_size"},
      {s3("s3_store_thread_pools = many\n"), gs + "s3_store_thread_pools"},
      {s3("s3_store_cacert = /etc/" + long_component + "\n"), gs + "s3_store_cacert"},
      {s3("s3_store_enable_data_integrity_protection = maybe\n"),
       gs + "s3_store_enable_data_integrity_protection"},
      {s3("s3_store_request_checksum_calculation = always\n"),
       gs + "s3_store_request_checksum_calculation"},
      {s3("s3_store_request_checksum_calculation =\n"),
       gs + "s3_store_request_checksum_calculation"},
      {s3("s3_store_response_checksum_validation = WHEN_REQUIRED\n"),
       gs + "s3_store_response_checksum_validation"},
      {s3("s3_store_max_upload_parts = 10001\n"), gs + "s3_store_max_upload_parts"},
      {s3("s3_store_max_retries = 101\n"), gs + "s3_store_max_retries"},
      {s3("s3_store_timeout = 0\n"), gs + "s3_store_timeout"},
      // Swift.
      {swift("swift_store_auth_insecure = maybe\n"), gs + "swift_store_auth_insecure"},
      {swift("swift_store_cacert = /" + long_component + "\n"), gs + "swift_store_cacert"},
      {swift("swift_store_endpoint_type = publicurl\n"), gs + "swift_store_endpoint_type"},
      {swift("swift_store_endpoint_type =\n"), gs + "swift_store_endpoint_type"},
      {swift("swift_store_container = a/b\n"), gs + "swift_store_container"},
      {swift("swift_store_large_object_size = 0\n"), gs + "swift_store_large_object_size"},
      {swift("swift_store_large_object_size = 9007199254741\n"),
       gs + "swift_store_large_object_size"},
      {swift("swift_store_large_object_chunk_size = 0\n"),
       gs + "swift_store_large_object_chunk_size"},
      {swift("swift_store_create_container_on_put = maybe\n"),
       gs + "swift_store_create_container_on_put"},
      {swift("swift_store_multi_tenant = maybe\n"), gs + "swift_store_multi_tenant"},
      {swift("swift_store_multiple_containers_seed = 33\n"),
       gs + "swift_store_multiple_containers_seed"},
      {swift("swift_store_ssl_compression = maybe\n"), gs + "swift_store_ssl_compression"},
      {swift("swift_store_retry_get_count = -1\n"), gs + "swift_store_retry_get_count"},
      {swift("swift_store_retry_get_count = 4294967296\n"), gs + "swift_store_retry_get_count"},
      {swift("swift_store_expire_soon_interval = -1\n"), gs + "swift_store_expire_soon_interval"},
      {swift("swift_store_expire_soon_interval = 10000000000\n"),
       gs + "swift_store_expire_soon_interval"},
      {swift("swift_store_use_trusts = maybe\n"), gs + "swift_store_use_trusts"},
      {swift("swift_buffer_on_upload = maybe\n"), gs + "swift_buffer_on_upload"},
      {swift("swift_upload_buffer_dir = /" + long_component + "\n"),
       gs + "swift_upload_buffer_dir"},
      {swift("swift_store_config_file = /" + long_component + "\n"),
       gs + "swift_store_config_file"},
      {swift("swift_store_auth_version = 4\n"), gs + "swift_store_auth_version"},
      {swift("swift_store_auth_version =\n"), gs + "swift_store_auth_version"},
      {swift("swift_store_upload_concurrency = 65\n"), gs + "swift_store_upload_concurrency"},
      {swift("swift_store_max_retries = -1\n"), gs + "swift_store_max_retries"},
      {swift("swift_store_timeout = 0\n"), gs + "swift_store_timeout"},
      // The reference file of swift_store_config_file: its values, and its syntax.
      {ref_file("version.conf", "[ref1]\nauth_address = a\nuser = u\nkey = k\nauth_version = 4\n"),
       gs + "swift_store_config_file"},
      {ref_file("quote.conf", "[ref1]\nauth_address = a\nuser = u\nkey = \"k\n"),
       gs + "swift_store_config_file"},
      {ref_file("syntax.conf", "[ref1]\nauth_address\n"), gs + "swift_store_config_file"},
      // HTTP.
      {http("https_insecure = maybe\n"), gs + "https_insecure"},
      {http("http_store_timeout = 0\n"), gs + "http_store_timeout"},
      {http("https_ca_certificates_file = /" + long_component + "\n"),
       gs + "https_ca_certificates_file"},
      {http("http_proxy_information = http\n"), gs + "http_proxy_information"},
      {http("http_proxy_information = :10.0.0.1:3128\n"), gs + "http_proxy_information"},
      {http("http_proxy_information = http:a:1, http:b:2\n"), gs + "http_proxy_information"},
  };
}

TEST(MalformedValueTest, IsBadStoreConfigurationNamingTheOptionAndCreatesNothing) {
  testing::TempDir dir;
  testing::TempDir refs;
  for (const MalformedCase& c : malformed_cases(dir.path(), refs.path())) {
    SCOPED_TRACE(c.text);
    try {
      StoreRegistry::create(ConfigFile::parse(c.text));
      ADD_FAILURE() << "accepted";
    } catch (const InvalidOptionValue& e) {
      EXPECT_THAT(e, HasKind(ErrorKind::kBadStoreConfiguration));
      EXPECT_THAT(e.message(), HasSubstr("option " + c.option + ": ")) << e.message();
    } catch (const Error& e) {
      ADD_FAILURE() << "not an InvalidOptionValue: " << e.message();
    }
    EXPECT_TRUE(std::filesystem::is_empty(dir.path())) << "a refused configuration created files";
  }
}

// The same options with well-formed values that the checks above must not refuse: oslo.config's
// forms (underscores in integers, boolean words in any case), the bounds themselves, Swift's
// ".0" versions.
TEST(MalformedValueTest, WellFormedValuesAreAccepted) {
  testing::TempDir dir;
  testing::TempDir refs;
  testing::write_file(refs.sub("swift.conf"),
                      "[ref1]\nauth_address = a\nuser = u\nkey = 'k'\nauth_version = 1.0\n");
  const std::string fs = "filesystem_store_datadir = " + dir.path() + "/d\n";
  const std::vector<std::string> texts = {
      legacy("file", fs + "add_buffer_size = 1_048_576\nadd_buffer_count = +2\n"
                          "filesystem_store_file_perm = 7777\nfilesystem_store_timeout = "
                          "2147483647\nfilesystem_thin_provisioning = YES\n"),
      legacy("file", "filesystem_store_datadir =\nfilesystem_store_datadirs = " + dir.path() +
                         "/a : 7\nfilesystem_store_datadirs = " + dir.path() + "/b:\n"),
      multi("[b1]\n" + fs + "weight = -5\n"),
      legacy("s3",
             "s3_store_large_object_size = 0\ns3_store_large_object_chunk_size = "
             "8796093022207\ns3_store_request_checksum_calculation = when_supported\n"
             "s3_store_response_checksum_validation = when_required\n"),
      legacy("swift",
             "swift_store_endpoint_type = internalURL\nswift_store_auth_version = 3.0\n"
             "swift_store_expire_soon_interval = 2147483647\n"
             "swift_store_large_object_size = 9007199254740\n"),
      legacy("swift", "swift_store_config_file = " + refs.sub("swift.conf") + "\n"),
      legacy("http",
             "http_proxy_information = http:10.0.0.1:3128, https : 10.0.0.1:1080\n"
             "https_insecure = Off\n"),
  };
  for (const std::string& text : texts) {
    SCOPED_TRACE(text);
    EXPECT_NO_THROW(StoreRegistry::create(ConfigFile::parse(text)));
  }
}

}  // namespace
}  // namespace glance_store

namespace glance_store {
namespace {

// A legacy default naming a listed store we do not build (cinder) still loads: the other
// stores stay usable, and only adds to the default fail, when tried.
TEST(LegacyDefaultTest, AListedStoreWeDoNotBuildIsAValidDefault) {
  testing::TempDir dir;
  const auto registry = StoreRegistry::create(
      ConfigFile::parse("[glance_store]\nstores = cinder, file\ndefault_store = cinder\n"
                        "filesystem_store_datadir = " +
                        dir.path() + "/images\n"));
  MemoryInputStream in("abc");
  const AddResult added = registry->add("img", in, 3, "sha256", "file");
  EXPECT_EQ(registry->get_size(added.location), 3U);
}

}  // namespace
}  // namespace glance_store
