// The library's logger (internal). Messages never carry secrets.
#pragma once

#include <spdlog/spdlog.h>

#include <memory>

namespace glance_store::internal {

/// The "glance_store" spdlog logger; created on first use (stderr, warnings and above) unless
/// the application registered its own under that name.
std::shared_ptr<spdlog::logger> logger();

}  // namespace glance_store::internal
