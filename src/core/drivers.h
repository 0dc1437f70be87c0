// The table of store drivers: the one place that lists them (internal). The registry, the
// location parser and the drivers themselves read it; adding a driver is its folder plus one
// entry in drivers.cc.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "glance_store/config.h"
#include "glance_store/location.h"
#include "glance_store/store.h"

namespace glance_store::internal {

/// What a store is built with besides its options.
struct StoreArgs {
  std::string backend_id;       ///< multi-store backend id; empty in legacy mode
  std::string default_datadir;  ///< a filesystem store's datadir when none is configured
  bool reserved = false;        ///< glance's staging and tasks stores
};

struct DriverInfo {
  std::string_view type;          ///< "file", "s3", …: what stores and locations are typed by
  std::string_view option_group;  ///< the store name in BadStoreConfiguration messages
  /// What `stores` and `enabled_backends` may name it: the type first, then glance's aliases.
  std::vector<std::string_view> names;
  /// The schemes of its locations, the one it writes first.
  std::vector<std::string> schemes;
  /// Builds a store; null for a type glance knows that this build has no driver for.
  std::unique_ptr<Store> (*make)(OptionReader options, const StoreArgs& args) = nullptr;
  /// Parses a location without a configured store (a configured one parses with its
  /// configuration, e.g. Swift's references); null when make is.
  std::unique_ptr<StoreLocation> (*parse)(std::string_view uri) = nullptr;
};

/// Every store type glance_store knows, in the order glance lists them.
const std::vector<DriverInfo>& driver_table();
/// The driver a `stores` or `enabled_backends` entry names (a type or an alias), or nullptr.
const DriverInfo* driver_named(std::string_view name);
/// The driver of a store type, or nullptr.
const DriverInfo* driver_of_type(std::string_view type);

}  // namespace glance_store::internal
