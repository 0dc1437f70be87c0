// Entry point of the read-only HTTP driver (internal; the registry calls it explicitly).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "glance_store/store.h"

namespace glance_store::http {

/// A read-only store of images on web servers, reading its options through `options`.
std::unique_ptr<Store> make_http_store(OptionReader options, std::string backend_id);
/// Parses http:// and https:// URIs.
std::unique_ptr<StoreLocation> parse_http_location(std::string_view uri);

}  // namespace glance_store::http
