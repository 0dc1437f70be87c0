// Entry point of the filesystem driver (internal; the registry calls it explicitly).
#pragma once

#include <memory>
#include <string>

#include "glance_store/store.h"

namespace glance_store::filesystem {

/// A filesystem store reading its options through `options`; `default_datadir` applies when
/// filesystem_store_datadir is not set (for a `reserved` store: not set in its own section).
std::unique_ptr<Store> make_filesystem_store(OptionReader options, std::string backend_id,
                                             std::string default_datadir, bool reserved = false);
/// Parses file:// and filesystem:// URIs.
std::unique_ptr<StoreLocation> parse_file_location(std::string_view uri);

}  // namespace glance_store::filesystem
