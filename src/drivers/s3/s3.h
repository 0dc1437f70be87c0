// Entry point of the S3 driver (internal; the registry calls it explicitly).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "glance_store/store.h"

namespace glance_store::s3 {

/// An S3 store reading its options through `options`.
std::unique_ptr<Store> make_s3_store(OptionReader options, std::string backend_id);
/// Parses s3://, s3+http:// and s3+https:// URIs.
std::unique_ptr<StoreLocation> parse_s3_location(std::string_view uri);

}  // namespace glance_store::s3
