// Entry point of the Swift driver (internal; the registry calls it explicitly).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "glance_store/store.h"

namespace glance_store::swift {

/// A Swift store (single- or multi-tenant, as swift_store_multi_tenant says) reading its
/// options through `options`.
std::unique_ptr<Store> make_swift_store(OptionReader options, std::string backend_id);
/// Parses swift:// URIs without a store's references: swift+config:// ones then fail with
/// BadStoreUri (no reference is known).
std::unique_ptr<StoreLocation> parse_swift_location(std::string_view uri);

}  // namespace glance_store::swift
