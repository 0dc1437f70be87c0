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
// option, and a refused configuration creates nothing.
TEST(MalformedValueTest, IsBadStoreConfigurationNamingTheOptionAndCreatesNothing) {
  testing::TempDir dir;
  const std::string long_component(256, 'x');
  struct Case {
    std::string text;
    std::string option;
  };
  const std::vector<Case> cases = {
      {"stores = file\nfilesystem_store_datadir = " + dir.path() + "/" + long_component + "/img\n",
       "[glance_store] filesystem_store_datadir"},
      {"stores = file\nfilesystem_store_datadirs = " + dir.path() + "/" + long_component + ":1\n",
       "[glance_store] filesystem_store_datadirs"},
      {"stores = s3\ndefault_store = s3\ns3_store_host = http://127.0.0.1:1\n"
       "s3_store_access_key = a\ns3_store_secret_key = b\ns3_store_bucket = c\n"
       "s3_store_bucket_url_format = sideways\n",
       "[glance_store] s3_store_bucket_url_format"},
      {"stores = file\ndefault_store = swift\nfilesystem_store_datadir = " + dir.path() + "/d\n",
       "[glance_store] default_store"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.text);
    const Error e =
        CatchError([&] { StoreRegistry::create(ConfigFile::parse("[glance_store]\n" + c.text)); });
    EXPECT_THAT(e, HasKind(ErrorKind::kBadStoreConfiguration));
    EXPECT_THAT(e.message(), HasSubstr(c.option));
    EXPECT_TRUE(std::filesystem::is_empty(dir.path())) << "a refused configuration created files";
  }
}

}  // namespace
}  // namespace glance_store

namespace glance_store {
namespace {

// A legacy default naming a listed store we do not build (rbd, the most common one) still
// loads: the other stores stay usable, and only adds to the default fail, when tried.
TEST(LegacyDefaultTest, AListedStoreWeDoNotBuildIsAValidDefault) {
  testing::TempDir dir;
  const auto registry = StoreRegistry::create(
      ConfigFile::parse("[glance_store]\nstores = rbd, file\ndefault_store = rbd\n"
                        "filesystem_store_datadir = " +
                        dir.path() + "/images\n"));
  MemoryInputStream in("abc");
  const AddResult added = registry->add("img", in, 3, "sha256", "file");
  EXPECT_EQ(registry->get_size(added.location), 3U);
}

}  // namespace
}  // namespace glance_store
