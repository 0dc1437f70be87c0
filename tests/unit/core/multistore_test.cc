// StoreRegistry in multi-store mode: enabled_backends, default_backend, backend groups with
// [backend_defaults] (C-36..C-39) and the reserved stores (MS-01..MS-15).
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
using ::testing::ElementsAre;
using testing::get_image;
using testing::HasKind;
using ::testing::HasSubstr;
using testing::TempDir;

class MultiStoreTest : public ::testing::Test {
 protected:
  /// enabled_backends a and b (both file), reserved stores inside the temp dir, plus `extra`.
  std::string config_text(const std::string& extra = "",
                          const std::string& backends = "a:file, b:file",
                          const std::string& default_backend = "a") const {
    std::string text = "[DEFAULT]\nenabled_backends = " + backends + "\n[glance_store]\n";
    if (!default_backend.empty()) text += "default_backend = " + default_backend + "\n";
    for (const std::string& id :
         std::vector<std::string>{"a", "b", std::string(kStagingStore), std::string(kTasksStore)}) {
      text += "[" + id + "]\nfilesystem_store_datadir = " + dir_.sub(id) + "\n";
    }
    return text + extra;
  }
  std::unique_ptr<StoreRegistry> create(const std::string& extra = "",
                                        const std::string& backends = "a:file, b:file",
                                        const std::string& default_backend = "a") const {
    return StoreRegistry::create(ConfigFile::parse(config_text(extra, backends, default_backend)));
  }
  TempDir dir_;
};

TEST_F(MultiStoreTest, OperatorBackendsThenReservedStores) {
  const auto registry = create();
  EXPECT_TRUE(registry->multi_store());
  std::vector<std::string> ids;
  for (Store* s : registry->stores()) ids.push_back(s->backend_id());
  EXPECT_THAT(ids, ElementsAre("a", "b", "os_glance_staging_store", "os_glance_tasks_store"));
  EXPECT_FALSE(registry->is_reserved(registry->store_by_name("a")));
  EXPECT_FALSE(registry->is_reserved(registry->store_by_name("b")));
  EXPECT_TRUE(registry->is_reserved(registry->store_by_name(kStagingStore)));
  EXPECT_TRUE(registry->is_reserved(registry->store_by_name(kTasksStore)));
  EXPECT_EQ(&registry->default_store(), &registry->store_by_name("a"));
  EXPECT_TRUE(registry->is_default(registry->store_by_name("a")));
  EXPECT_FALSE(registry->is_default(registry->store_by_name("b")));
  for (Store* s : registry->stores()) EXPECT_TRUE(s->add_enabled()) << s->backend_id();
}

// MS-01 / Q-04: reserved stores read their own group and write inside it.
TEST_F(MultiStoreTest, ReservedStoresUseTheirOwnGroup) {
  const auto registry = create();
  Store& staging = registry->store_by_name(kStagingStore);
  EXPECT_EQ(staging.url_prefix(), "file://" + dir_.sub(std::string(kStagingStore)));
  MemoryInputStream in("staged");
  const AddResult r = registry->add("img", in, 6, "sha256", kStagingStore);
  EXPECT_EQ(r.location, "file://" + dir_.sub(std::string(kStagingStore)) + "/img");
  EXPECT_EQ(r.metadata, (nlohmann::json{{"store", "os_glance_staging_store"}}));
}

// MS-05 / MS-14 / L-03.
TEST_F(MultiStoreTest, UnknownBackendId) {
  const auto registry = create();
  const Error e = CatchError([&] { registry->store_by_name("file3"); });
  EXPECT_THAT(e, HasKind(ErrorKind::kUnknownScheme));
  EXPECT_EQ(e.message(), "Store for identifier file3 not found");
  EXPECT_THAT(CatchError([&] { registry->get("file://" + dir_.sub("a/x"), 0, {}, "file3"); }),
              HasKind(ErrorKind::kUnknownScheme));
  MemoryInputStream in("x");
  EXPECT_THAT(CatchError([&] { registry->add("img", in, 1, "sha256", "file3"); }),
              HasKind(ErrorKind::kUnknownScheme));
  // A store type is not a backend id in multi-store mode.
  EXPECT_THAT(CatchError([&] { registry->store_by_name("file"); }),
              HasKind(ErrorKind::kUnknownScheme));
}

// MS-04.
TEST_F(MultiStoreTest, DefaultBackendUnsetOrUnknown) {
  const auto unset = create("", "a:file, b:file", "");
  const Error e = CatchError([&] { unset->default_store(); });
  EXPECT_THAT(e, HasKind(ErrorKind::kUnknownScheme));
  EXPECT_EQ(e.message(), "'default_backend' config option is not set.");
  MemoryInputStream in("x");
  EXPECT_THAT(CatchError([&] { unset->add("img", in, 1); }), HasKind(ErrorKind::kUnknownScheme));

  // Naming no backend is refused when the configuration is loaded.
  const Error e2 = CatchError([&] { create("", "a:file, b:file", "zzz"); });
  EXPECT_THAT(e2, HasKind(ErrorKind::kBadStoreConfiguration));
  EXPECT_EQ(e2.message(),
            "option [glance_store] default_backend: 'zzz' names none of the configured stores");
}

// MS-07 / MS-08.
TEST_F(MultiStoreTest, AddRecordsTheBackendIdInTheMetadata) {
  const auto registry = create();
  MemoryInputStream in_a("to a");
  const AddResult a = registry->add("img", in_a, 4);
  EXPECT_EQ(a.location, "file://" + dir_.sub("a") + "/img");
  EXPECT_EQ(a.metadata, (nlohmann::json{{"store", "a"}}));
  MemoryInputStream in_b("to b");
  const AddResult b = registry->add("img2", in_b, 4, "sha256", "b");
  EXPECT_EQ(b.location, "file://" + dir_.sub("b") + "/img2");
  EXPECT_EQ(b.metadata, (nlohmann::json{{"store", "b"}}));
}

// MS-09: without a backend, every operator backend of the URI's type is tried.
TEST_F(MultiStoreTest, GetWithoutBackendFindsTheImageInTheSecondBackend) {
  const auto registry = create();
  const std::string uri = add_image(*registry, "img", "in b", "b");
  EXPECT_EQ(get_image(*registry, uri), "in b");
  EXPECT_EQ(get_image(*registry, uri, "b"), "in b");
  EXPECT_EQ(registry->get_size(uri), 4u);
  EXPECT_THAT(CatchError([&] { registry->get(uri, 0, {}, "a"); }), HasKind(ErrorKind::kForbidden));
  registry->remove(uri);
  EXPECT_FALSE(std::filesystem::exists(dir_.sub("b/img")));
}

TEST_F(MultiStoreTest, PathOutsideEveryDatadirIsForbidden) {
  const auto registry = create();
  testing::write_file(dir_.sub("elsewhere/img"), "secret");
  const std::string uri = "file://" + dir_.sub("elsewhere/img");
  for (const std::string backend : {"", "a", "b"}) {
    EXPECT_THAT(CatchError([&] { registry->get(uri, 0, {}, backend); }),
                HasKind(ErrorKind::kForbidden))
        << backend;
    EXPECT_THAT(CatchError([&] { registry->remove(uri, backend); }), HasKind(ErrorKind::kForbidden))
        << backend;
  }
  EXPECT_TRUE(std::filesystem::exists(dir_.sub("elsewhere/img")));
}

TEST_F(MultiStoreTest, MissingImageInsideADatadirIsNotFound) {
  const auto registry = create();
  const std::string uri = "file://" + dir_.sub("a") + "/missing";
  const Error e = CatchError([&] { registry->get(uri); });
  EXPECT_THAT(e, HasKind(ErrorKind::kNotFound));
  EXPECT_EQ(e.message(), "Image not found in any configured backend");
  EXPECT_THAT(CatchError([&] { registry->get(uri, 0, {}, "a"); }), HasKind(ErrorKind::kNotFound));
  EXPECT_THAT(CatchError([&] { registry->remove(uri); }), HasKind(ErrorKind::kNotFound));
  EXPECT_THAT(CatchError([&] { registry->get_size(uri); }), HasKind(ErrorKind::kNotFound));
}

// MS-09: reserved stores are not searched without a backend id.
TEST_F(MultiStoreTest, ReservedStoresAreNotSearched) {
  const auto registry = create();
  const std::string uri = add_image(*registry, "img", "staged", std::string(kStagingStore));
  EXPECT_THAT(CatchError([&] { registry->get(uri); }), HasKind(ErrorKind::kForbidden));
  EXPECT_EQ(get_image(*registry, uri, std::string(kStagingStore)), "staged");
}

// C-36..C-38 / MS-11 / MS-15: [backend] > [backend_defaults] > default.
TEST_F(MultiStoreTest, BackendDefaultsFillWhatABackendDoesNotSet) {
  const auto registry = create(
      "[backend_defaults]\nweight = 5\nstore_description = shared\n"
      "[a]\nweight = 7\nstore_description = fast disks\n");
  EXPECT_EQ(registry->store_by_name("a").weight(), 7);
  EXPECT_EQ(registry->store_by_name("a").description(), "fast disks");
  EXPECT_EQ(registry->store_by_name("b").weight(), 5);
  EXPECT_EQ(registry->store_by_name("b").description(), "shared");
  // Reserved stores follow the same chain (decisions.md Q-03); only their datadir does not.
  EXPECT_EQ(registry->store_by_name(kStagingStore).weight(), 5);
  EXPECT_EQ(registry->store_by_name(kStagingStore).description(), "shared");
}

TEST_F(MultiStoreTest, DatadirFromBackendDefaults) {
  // Only [b] gets its datadir from [backend_defaults]: a sets its own.
  const std::string text =
      "[DEFAULT]\nenabled_backends = a:file, b:file\n[glance_store]\ndefault_backend = a\n"
      "[backend_defaults]\nfilesystem_store_datadir = " +
      dir_.sub("shared") + "\n[a]\nfilesystem_store_datadir = " + dir_.sub("a") + "\n[" +
      std::string(kStagingStore) + "]\nfilesystem_store_datadir = " + dir_.sub("staging") + "\n[" +
      std::string(kTasksStore) + "]\nfilesystem_store_datadir = " + dir_.sub("tasks") + "\n";
  const auto registry = StoreRegistry::create(ConfigFile::parse(text));
  EXPECT_EQ(registry->store_by_name("a").url_prefix(), "file://" + dir_.sub("a"));
  EXPECT_EQ(registry->store_by_name("b").url_prefix(), "file://" + dir_.sub("shared"));
  EXPECT_EQ(registry->store_by_name(kStagingStore).url_prefix(), "file://" + dir_.sub("staging"));
}

// C-03 / CAP-13 in multi-store mode: the other backends are unaffected.
TEST_F(MultiStoreTest, FailedAddConfigurationDisablesAddButNotGet) {
  const auto registry = create("[b]\nfilesystem_store_file_perm = 7\n");
  Store& b = registry->store_by_name("b");
  EXPECT_FALSE(b.add_enabled());
  EXPECT_TRUE(registry->store_by_name("a").add_enabled());
  MemoryInputStream in("x");
  const Error e = CatchError([&] { registry->add("img", in, 1, "sha256", "b"); });
  EXPECT_THAT(e, HasKind(ErrorKind::kStoreAddDisabled));

  testing::write_file(dir_.sub("b/old"), "old image");
  const std::string uri = "file://" + dir_.sub("b/old");
  EXPECT_EQ(get_image(*registry, uri, "b"), "old image");
  EXPECT_EQ(get_image(*registry, uri), "old image");
  EXPECT_THAT(CatchError([&] { registry->remove(uri, "b"); }),
              HasKind(ErrorKind::kStoreDeleteNotSupported));
}

struct BadBackendsCase {
  const char* name;
  const char* enabled_backends;
  const char* in_message;
};

class BadEnabledBackendsTest : public MultiStoreTest,
                               public ::testing::WithParamInterface<BadBackendsCase> {};

TEST_P(BadEnabledBackendsTest, IsBadStoreConfiguration) {
  const Error e = CatchError([&] { create("", GetParam().enabled_backends); });
  EXPECT_THAT(e, HasKind(ErrorKind::kBadStoreConfiguration));
  EXPECT_THAT(e.message(), AllOf(HasSubstr("enabled_backends"), HasSubstr(GetParam().in_message)));
}

INSTANTIATE_TEST_SUITE_P(
    Entries, BadEnabledBackendsTest,
    ::testing::Values(BadBackendsCase{"NoColon", "a:file, b", "b"},
                      BadBackendsCase{"EmptyId", "a:file, :file", ":file"},
                      BadBackendsCase{"UnknownType", "a:file, b:nope", "nope"},
                      BadBackendsCase{"ReservedId", "a:file, os_glance_staging_store:file",
                                      "os_glance_staging_store"},
                      BadBackendsCase{"ReservedTasksId", "os_glance_tasks_store:file",
                                      "os_glance_tasks_store"},
                      BadBackendsCase{"Twice", "a:file, b:file, a:file", "a"}),
    [](const auto& info) { return std::string(info.param.name); });

TEST_F(MultiStoreTest, TypeAliasesAreAccepted) {
  const auto registry = create("", "a:filesystem, b:glance.store.filesystem.Store");
  EXPECT_EQ(registry->store_by_name("a").type(), "file");
  EXPECT_EQ(registry->store_by_name("b").type(), "file");
}

struct BadOptionCase {
  const char* name;
  const char* extra;
  const char* option;
  const char* section;
};

class MalformedOptionTest : public MultiStoreTest,
                            public ::testing::WithParamInterface<BadOptionCase> {};

TEST_P(MalformedOptionTest, FailsCreationNamingTheOption) {
  const Error e = CatchError([&] { create(GetParam().extra); });
  EXPECT_THAT(e, HasKind(ErrorKind::kBadStoreConfiguration));
  EXPECT_THAT(e.message(), AllOf(HasSubstr(GetParam().option), HasSubstr(GetParam().section)));
}

INSTANTIATE_TEST_SUITE_P(
    Options, MalformedOptionTest,
    ::testing::Values(BadOptionCase{"ChunkSizeNotANumber",
                                    "[a]\nfilesystem_store_chunk_size = abc\n",
                                    "filesystem_store_chunk_size", "[a]"},
                      BadOptionCase{"WeightNotANumber", "[b]\nweight = heavy\n", "weight", "[b]"},
                      BadOptionCase{"DefaultsChunkSizeTooSmall",
                                    "[backend_defaults]\nfilesystem_store_chunk_size = 0\n",
                                    "filesystem_store_chunk_size", "[backend_defaults]"},
                      BadOptionCase{"ThinProvisioningNotABool",
                                    "[a]\nfilesystem_thin_provisioning = perhaps\n",
                                    "filesystem_thin_provisioning", "[a]"},
                      BadOptionCase{"ReservedStoreBadTimeout",
                                    "[os_glance_tasks_store]\nfilesystem_store_timeout = -1\n",
                                    "filesystem_store_timeout", "[os_glance_tasks_store]"}),
    [](const auto& info) { return std::string(info.param.name); });

TEST_F(MultiStoreTest, EmptyEnabledBackendsMeansLegacyMode) {
  const auto registry = StoreRegistry::create(
      ConfigFile::parse("[DEFAULT]\nenabled_backends =\n[glance_store]\nstores = file\n"
                        "filesystem_store_datadir = " +
                        dir_.path() + "\n"));
  EXPECT_FALSE(registry->multi_store());
  EXPECT_EQ(registry->stores().size(), 1u);
}

}  // namespace
}  // namespace glance_store
