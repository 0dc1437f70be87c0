#include <algorithm>

#include "core/drivers.h"
#include "core/log.h"
#include "glance_store/backend.h"
#include "glance_store/error.h"

namespace glance_store {

struct StoreRegistry::Entry {
  std::string name;  // backend id (multi-store) or store type (legacy)
  std::string type;
  bool reserved = false;
  std::unique_ptr<Store> store;  // null when this build has no driver for the type
};

namespace {

constexpr std::string_view kLegacyGroup = "glance_store";
constexpr std::string_view kDefaultsGroup = "backend_defaults";

// A `stores` or `enabled_backends` entry's store type ("" when it names none).
std::string normalise_store_type(std::string_view entry) {
  const internal::DriverInfo* driver = internal::driver_named(entry);
  return driver != nullptr ? std::string(driver->type) : "";
}

Error unavailable(const std::string& name, const std::string& type) {
  return {ErrorKind::kUnsupportedBackend,
          "store '" + name + "' of type '" + type + "' is not available in this build"};
}

}  // namespace

StoreRegistry::~StoreRegistry() = default;

std::unique_ptr<Store> create_store(std::string_view type, std::shared_ptr<const ConfigFile> config,
                                    std::vector<std::string> sections, std::string backend_id) {
  const internal::DriverInfo* driver = internal::driver_named(type);
  if (driver == nullptr) {
    throw Error(ErrorKind::kUnsupportedBackend, "unknown store type '" + std::string(type) + "'");
  }
  if (driver->make == nullptr) {
    throw unavailable(backend_id.empty() ? std::string(type) : backend_id,
                      std::string(driver->type));
  }
  OptionReader reader(std::move(config), std::move(sections), std::string(driver->option_group));
  return driver->make(std::move(reader), {std::move(backend_id), "/var/lib/glance/images", false});
}

std::unique_ptr<StoreRegistry> StoreRegistry::create(const ConfigFile& config) {
  std::unique_ptr<StoreRegistry> registry(new StoreRegistry());

  // The stores read their options again whenever they are reconfigured: they share this copy.
  auto shared_config = std::make_shared<const ConfigFile>(config);
  const auto& backends = config.values("DEFAULT", "enabled_backends");
  registry->multi_store_ = !backends.empty() && !split_oslo_list(backends.back()).empty();
  auto add_entry = [&](std::string name, std::string type, bool reserved,
                       std::vector<std::string> sections, const std::string& datadir) {
    auto entry = std::make_unique<Entry>();
    entry->name = std::move(name);
    entry->type = std::move(type);
    entry->reserved = reserved;
    const internal::DriverInfo& driver = *internal::driver_of_type(entry->type);
    OptionReader reader(shared_config, std::move(sections), std::string(driver.option_group));
    if (driver.make != nullptr) {
      entry->store = driver.make(std::move(reader),
                                 {registry->multi_store_ ? entry->name : "", datadir, reserved});
    }
    if (entry->store) {
      entry->store->configure(false);
    } else {
      internal::logger()->warn("{}", unavailable(entry->name, entry->type).message());
    }
    registry->entries_.push_back(std::move(entry));
  };

  if (registry->multi_store_) {
    std::vector<std::string> seen;
    for (const auto& item : split_oslo_list(backends.back())) {
      const std::size_t colon = item.find(':');
      const auto bad = [&](const std::string& why) {
        throw InvalidOptionValue(ErrorKind::kBadStoreConfiguration,
                                 "option [DEFAULT] enabled_backends: " + why);
      };
      if (colon == std::string::npos) bad("'" + item + "' is not of the form id:type");
      std::string id(item.substr(0, colon));
      std::string type_text(item.substr(colon + 1));
      while (!id.empty() && id.back() == ' ') id.pop_back();
      type_text.erase(0, type_text.find_first_not_of(' '));
      const std::string type = normalise_store_type(type_text);
      if (id.empty()) bad("'" + item + "' has an empty backend id");
      if (type.empty()) bad("unknown store type '" + type_text + "' for backend '" + id + "'");
      if (id == kStagingStore || id == kTasksStore) bad("'" + id + "' is a reserved backend id");
      if (std::find(seen.begin(), seen.end(), id) != seen.end()) {
        bad("backend '" + id + "' is listed twice");
      }
      seen.push_back(id);
      add_entry(id, type, false, {id, std::string(kDefaultsGroup)}, "/var/lib/glance/images");
    }
    for (std::string_view reserved : {kStagingStore, kTasksStore}) {
      const std::string id(reserved);
      add_entry(id, "file", true, {id, std::string(kDefaultsGroup)}, "/var/lib/glance/" + id);
    }
    const auto& def = config.values(std::string(kLegacyGroup), "default_backend");
    registry->default_name_ = def.empty() ? "" : def.back();
  } else {
    std::vector<std::string> types;
    const auto& listed = config.values(std::string(kLegacyGroup), "stores");
    const auto entries =
        listed.empty() ? std::vector<std::string>{"file", "http"} : split_oslo_list(listed.back());
    for (const auto& item : entries) {
      const std::string type = normalise_store_type(item);
      if (type.empty()) {
        throw InvalidOptionValue(ErrorKind::kBadStoreConfiguration,
                                 "option [glance_store] stores: unknown store '" + item + "'");
      }
      if (std::find(types.begin(), types.end(), type) != types.end()) continue;
      types.push_back(type);
      add_entry(type, type, false, {std::string(kLegacyGroup)}, "/var/lib/glance/images");
    }
    const auto& def = config.values(std::string(kLegacyGroup), "default_store");
    registry->default_name_ = def.empty() || def.back().empty() ? "file" : def.back();
    // A default named explicitly must be a type of `stores` (a store type or one of its
    // schemes; cinder and vmware included, which we list but do not build): found out now.
    if (!def.empty() && !def.back().empty()) {
      std::string type = normalise_store_type(def.back());
      if (type.empty()) type = std::string(type_of_scheme(def.back()));
      if (type == "vsphere") type = "vmware";
      if (std::find(types.begin(), types.end(), type) == types.end()) {
        throw InvalidOptionValue(ErrorKind::kBadStoreConfiguration,
                                 "option [glance_store] default_store: '" + def.back() +
                                     "' names none of the configured stores");
      }
    }
  }
  // A default backend named explicitly must be one of them: found out now, not at the first add.
  const auto& named = config.values(std::string(kLegacyGroup), "default_backend");
  if (registry->multi_store_ && !named.empty() && !named.back().empty()) {
    bool unknown = false;
    try {
      registry->default_store();
    } catch (const Error& e) {
      // A backend that exists but is unavailable (unsupported, misconfigured) says so when used.
      unknown = e.is(ErrorKind::kUnknownScheme);
    }
    if (unknown) {
      throw InvalidOptionValue(ErrorKind::kBadStoreConfiguration,
                               "option [glance_store] default_backend: '" + named.back() +
                                   "' names none of the configured stores");
    }
  }
  // Every scheme of a built driver: parsed by the first configured store of its type, which
  // parses with its configuration (swift+config:// needs a Swift store's references), else by
  // the driver itself.
  const StoreRegistry* self = registry.get();
  for (const auto& driver : internal::driver_table()) {
    if (driver.parse == nullptr) continue;
    for (const auto& scheme : driver.schemes) {
      registry->all_schemes_.add(scheme, [self, &driver](std::string_view uri) {
        for (const auto& e : self->entries_) {
          if (e->store && e->type == driver.type) return e->store->parse_location(uri);
        }
        return driver.parse(uri);
      });
    }
  }
  return registry;
}

std::vector<Store*> StoreRegistry::stores() const {
  std::vector<Store*> out;
  for (const auto& e : entries_) {
    if (e->store) out.push_back(e->store.get());
  }
  return out;
}

bool StoreRegistry::is_reserved(const Store& store) const {
  for (const auto& e : entries_) {
    if (e->store.get() == &store) return e->reserved;
  }
  return false;
}

bool StoreRegistry::is_default(const Store& store) const {
  try {
    return &default_store() == &store;
  } catch (const Error&) {
    return false;
  }
}

Store& StoreRegistry::default_store() const {
  if (multi_store_) {
    if (default_name_.empty()) {
      throw Error(ErrorKind::kUnknownScheme, "'default_backend' config option is not set.");
    }
    return store_by_name(default_name_);
  }
  try {
    return store_for_scheme(default_name_);
  } catch (const Error& e) {
    if (!e.is(ErrorKind::kUnknownScheme)) throw;
    throw Error(ErrorKind::kUnknownScheme, "Store for scheme " + default_name_ + " not found");
  }
}

Store& StoreRegistry::store_by_name(std::string_view name) const {
  for (const auto& e : entries_) {
    if (e->name != name) continue;
    if (!e->store) throw unavailable(e->name, e->type);
    return *e->store;
  }
  if (!multi_store_) return store_for_scheme(name);  // legacy: a scheme names its store too
  throw Error(ErrorKind::kUnknownScheme,
              "Store for identifier " + std::string(name) + " not found");
}

Store& StoreRegistry::store_for_scheme(std::string_view scheme) const {
  const std::string_view type = type_of_scheme(scheme);
  for (const auto& e : entries_) {
    if (e->reserved || e->type != type || type.empty()) continue;
    if (!e->store) throw unavailable(e->name, e->type);
    if (multi_store_ && e->name != default_name_) {
      // Prefer the default backend when it serves the scheme.
      for (const auto& d : entries_) {
        if (d->name == default_name_ && d->type == type && d->store) return *d->store;
      }
    }
    return *e->store;
  }
  throw unknown_scheme_error(scheme);
}

Store& StoreRegistry::store_for_uri(std::string_view uri) const {
  return store_for_scheme(dispatch_scheme(uri));
}

std::vector<std::string> StoreRegistry::known_schemes() const {
  std::vector<std::string> out;
  for (const auto& e : entries_) {
    if (!e->store) continue;
    for (const auto& s : e->store->schemes()) {
      if (std::find(out.begin(), out.end(), s) == out.end()) out.push_back(s);
    }
  }
  return out;
}

std::unique_ptr<StoreLocation> StoreRegistry::parse_any(std::string_view uri) const {
  const std::string scheme = dispatch_scheme(uri);
  if (!all_schemes_.knows(scheme)) {
    const std::string_view type = type_of_scheme(scheme);
    if (!type.empty()) {
      throw Error(ErrorKind::kUnsupportedBackend,
                  "locations of scheme '" + scheme + "' are not supported by this build");
    }
  }
  return all_schemes_.parse(uri);
}

template <typename Op>
auto StoreRegistry::with_store_for(std::string_view uri, std::string_view store_name,
                                   Op&& op) const {
  if (!store_name.empty()) {
    Store& store = store_by_name(store_name);
    return op(store, *store.parse_location(uri));
  }
  if (!multi_store_) {
    Store& store = store_for_uri(uri);
    return op(store, *store.parse_location(uri));
  }
  const std::string scheme = dispatch_scheme(uri);
  const std::string_view type = type_of_scheme(scheme);
  if (type.empty()) throw unknown_scheme_error(scheme);
  // As multi_backend.get: try each operator backend of the URI's type; the default first.
  std::vector<const Entry*> candidates;
  for (const auto& e : entries_) {
    if (!e->reserved && e->type == type && e->store) {
      if (e->name == default_name_) {
        candidates.insert(candidates.begin(), e.get());
      } else {
        candidates.push_back(e.get());
      }
    }
  }
  // A location outside every datadir is Forbidden; one inside a datadir but absent, NotFound.
  std::optional<Error> forbidden;
  bool not_found = false;
  for (const Entry* e : candidates) {
    try {
      return op(*e->store, *e->store->parse_location(uri));
    } catch (const Error& err) {
      if (err.is(ErrorKind::kForbidden)) {
        forbidden = err;
      } else if (err.is(ErrorKind::kNotFound) || err.is(ErrorKind::kUnknownScheme)) {
        not_found = true;
      } else {
        throw;
      }
    }
  }
  if (forbidden && !not_found) throw *forbidden;
  throw Error(ErrorKind::kNotFound, "Image not found in any configured backend");
}

AddResult StoreRegistry::add(std::string_view image_id, InputStream& data, std::uint64_t size,
                             std::string_view hashing_algo, std::string_view store_name,
                             const Verifier* verifier, const RequestContext* context,
                             const ExpectedDigests* expected) const {
  Store& store = store_name.empty() ? default_store() : store_by_name(store_name);
  AddResult result = store.add(image_id, data, size, hashing_algo, verifier, context, expected);
  check_location_metadata(result.metadata, store.type());
  return result;
}

GetResult StoreRegistry::get(std::string_view uri, std::uint64_t offset,
                             std::optional<std::uint64_t> length, std::string_view store_name,
                             const RequestContext* context) const {
  return with_store_for(uri, store_name, [&](Store& store, const StoreLocation& loc) {
    return store.get(loc, offset, length, context);
  });
}

std::uint64_t StoreRegistry::get_size(std::string_view uri, std::string_view store_name,
                                      const RequestContext* context) const {
  return with_store_for(uri, store_name, [&](Store& store, const StoreLocation& loc) {
    return store.get_size(loc, context);
  });
}

void StoreRegistry::remove(std::string_view uri, std::string_view store_name,
                           const RequestContext* context) const {
  with_store_for(uri, store_name, [&](Store& store, const StoreLocation& loc) {
    store.remove(loc, context);
    return 0;
  });
}

void StoreRegistry::set_acls(std::string_view uri, bool is_public,
                             const std::vector<std::string>& read_tenants,
                             const std::vector<std::string>& write_tenants,
                             std::string_view store_name, const RequestContext* context) const {
  with_store_for(uri, store_name, [&](Store& store, const StoreLocation& loc) {
    store.set_acls(loc, is_public, read_tenants, write_tenants, context);
    return 0;
  });
}

}  // namespace glance_store
