#include "core/drivers.h"

#include "drivers/filesystem/filesystem.h"
#include "drivers/http/http.h"
#include "drivers/s3/s3.h"
#include "drivers/swift/swift.h"
#ifdef GLANCE_STORE_WITH_RBD
#include "drivers/rbd/rbd.h"
#endif

namespace glance_store::internal {
namespace {

std::unique_ptr<Store> make_file(OptionReader options, const StoreArgs& args) {
  return filesystem::make_filesystem_store(std::move(options), args.backend_id,
                                           args.default_datadir, args.reserved);
}

// The drivers whose stores need nothing but their options and backend id.
template <std::unique_ptr<Store> (*Make)(OptionReader, std::string)>
std::unique_ptr<Store> make_plain(OptionReader options, const StoreArgs& args) {
  return Make(std::move(options), args.backend_id);
}

std::vector<DriverInfo> make_table() {
  std::vector<DriverInfo> table;
  table.push_back({"file",
                   "filesystem",
                   {"file", "filesystem", "glance.store.filesystem.Store"},
                   {"file", "filesystem"},
                   make_file,
                   filesystem::parse_file_location});
  table.push_back({"http",
                   "http",
                   {"http", "glance.store.http.Store"},
                   {"http", "https"},
                   make_plain<http::make_http_store>,
                   http::parse_http_location});
  table.push_back({"swift",
                   "swift",
                   {"swift", "glance.store.swift.Store"},
                   {"swift+https", "swift", "swift+http", "swift+config"},
                   make_plain<swift::make_swift_store>,
                   swift::parse_swift_location});
  table.push_back({"rbd",
                   "rbd",
                   {"rbd", "glance.store.rbd.Store"},
                   {"rbd"},
#ifdef GLANCE_STORE_WITH_RBD
                   make_plain<rbd::make_rbd_store>,
                   rbd::parse_rbd_location
#else
                   nullptr,
                   nullptr
#endif
  });
  // cinder and vmware: known to glance, not built here; their locations stay unknown schemes.
  table.push_back({"cinder", "cinder", {"cinder", "glance.store.cinder.Store"}, {}});
  table.push_back({"vmware", "vmware", {"vmware", "glance.store.vmware_datastore.Store"}, {}});
  table.push_back({"s3",
                   "s3",
                   {"s3", "glance.store.s3.Store"},
                   {"s3", "s3+http", "s3+https"},
                   make_plain<s3::make_s3_store>,
                   s3::parse_s3_location});
  return table;
}

}  // namespace

const std::vector<DriverInfo>& driver_table() {
  static const std::vector<DriverInfo> kTable = make_table();
  return kTable;
}

const DriverInfo* driver_named(std::string_view name) {
  for (const auto& driver : driver_table()) {
    for (const auto alias : driver.names) {
      if (alias == name) return &driver;
    }
  }
  return nullptr;
}

const DriverInfo* driver_of_type(std::string_view type) {
  for (const auto& driver : driver_table()) {
    if (driver.type == type) return &driver;
  }
  return nullptr;
}

}  // namespace glance_store::internal
