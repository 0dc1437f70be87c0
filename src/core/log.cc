#include "core/log.h"

#include <spdlog/sinks/stdout_color_sinks.h>

namespace glance_store::internal {

std::shared_ptr<spdlog::logger> logger() {
  static std::shared_ptr<spdlog::logger> instance = [] {
    if (auto existing = spdlog::get("glance_store")) return existing;
    auto created = spdlog::stderr_color_mt("glance_store");
    created->set_level(spdlog::level::warn);
    return created;
  }();
  return instance;
}

}  // namespace glance_store::internal
