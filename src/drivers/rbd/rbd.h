// Entry point of the RBD driver (internal; the registry calls it explicitly).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "glance_store/store.h"

namespace glance_store::rbd {

/// A store of images as Ceph RBD images, reading its options through `options`.
std::unique_ptr<Store> make_rbd_store(OptionReader options, std::string backend_id);
/// Parses rbd:// URIs.
std::unique_ptr<StoreLocation> parse_rbd_location(std::string_view uri);

}  // namespace glance_store::rbd
