// The set of configured stores: glance_store's backend (legacy) and multi_backend APIs.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "glance_store/config.h"
#include "glance_store/location.h"
#include "glance_store/store.h"

namespace glance_store {

/// Backend ids of the stores a consuming service reserves for itself (multi-store mode only).
inline constexpr std::string_view kStagingStore = "os_glance_staging_store";
inline constexpr std::string_view kTasksStore = "os_glance_tasks_store";

/// The stores built from one configuration.
///
/// Legacy mode (no `[DEFAULT] enabled_backends`): `[glance_store] stores` lists store types,
/// `default_store` names the scheme adds use, options live in `[glance_store]`.
/// Multi-store mode: `enabled_backends = id:type, …`, `[glance_store] default_backend`, options
/// in `[<id>]` with `[backend_defaults]` as fallback, and the reserved filesystem stores.
class StoreRegistry {
 public:
  /// Creates and configures the stores. A store whose add configuration fails stays registered
  /// without WRITE_ACCESS; a malformed option value throws BadStoreConfiguration.
  static std::unique_ptr<StoreRegistry> create(const ConfigFile& config);
  ~StoreRegistry();

  bool multi_store() const { return multi_store_; }
  /// Every store, in configuration order (reserved ones last).
  std::vector<Store*> stores() const;
  bool is_reserved(const Store& store) const;
  /// Whether `store` is the one add() uses when no backend is named.
  bool is_default(const Store& store) const;

  /// The store adds use by default. Throws UnknownScheme (legacy: "Store for scheme <s> not
  /// found"; multi-store: default_backend unset or unknown).
  Store& default_store() const;
  /// glance_store's verify_default_store / verify_store: throws when default_store() would.
  void verify_default_store() const { (void)default_store(); }
  /// Multi-store: the store of a backend id (reserved ids included). Legacy: the store of a
  /// type name (file, s3, swift, http). Throws UnknownScheme.
  Store& store_by_name(std::string_view name) const;
  /// The store serving a scheme. Throws UnknownScheme.
  Store& store_for_scheme(std::string_view scheme) const;
  /// The store serving a URI's scheme. Throws UnknownScheme.
  Store& store_for_uri(std::string_view uri) const;
  /// Schemes of every registered store.
  std::vector<std::string> known_schemes() const;

  /// Parses a URI with any known scheme, whether or not a store of its type is configured
  /// (for `parse-uri`). Throws UnknownScheme or BadStoreUri.
  std::unique_ptr<StoreLocation> parse_any(std::string_view uri) const;

  /// add_to_backend / store_add_to_backend_with_multihash: adds to the named store (backend id
  /// or, in legacy mode, scheme/type) or the default one, then checks the returned metadata.
  AddResult add(std::string_view image_id, InputStream& data, std::uint64_t size,
                std::string_view hashing_algo = "sha512", std::string_view store_name = "",
                const Verifier* verifier = nullptr, const RequestContext* context = nullptr,
                const ExpectedDigests* expected = nullptr) const;
  /// get_from_backend. With `store_name` the named store is used; without it, the stores of
  /// the URI's type are tried in turn (multi-store), skipping those that do not hold it.
  GetResult get(std::string_view uri, std::uint64_t offset = 0,
                std::optional<std::uint64_t> length = std::nullopt,
                std::string_view store_name = "", const RequestContext* context = nullptr) const;
  std::uint64_t get_size(std::string_view uri, std::string_view store_name = "",
                         const RequestContext* context = nullptr) const;
  void remove(std::string_view uri, std::string_view store_name = "",
              const RequestContext* context = nullptr) const;
  void set_acls(std::string_view uri, bool is_public, const std::vector<std::string>& read_tenants,
                const std::vector<std::string>& write_tenants, std::string_view store_name = "",
                const RequestContext* context = nullptr) const;

 private:
  StoreRegistry() = default;
  template <typename Op>
  auto with_store_for(std::string_view uri, std::string_view store_name, Op&& op) const;

  struct Entry;
  std::vector<std::unique_ptr<Entry>> entries_;
  bool multi_store_ = false;
  std::string default_name_;  // default_store scheme (legacy) or default_backend id
  SchemeRegistry all_schemes_;
};

/// Builds one store of `type` (a store type or one of glance's aliases, as `enabled_backends`
/// names it) reading its options from `sections` of `config`, first hit wins; `backend_id` is
/// its multi-store id (empty in legacy mode). For embedders that resolve the options themselves,
/// such as the Python drivers. The store is not configured yet: call configure(). Throws
/// UnsupportedBackend for a type this build has no driver for, BadStoreConfiguration for a
/// malformed value.
std::unique_ptr<Store> create_store(std::string_view type, std::shared_ptr<const ConfigFile> config,
                                    std::vector<std::string> sections, std::string backend_id = "");

}  // namespace glance_store
