// Time stamps the servers write (internal).
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace glance_store::internal {

/// An ISO 8601 time in UTC as S3 and Swift list them ("2026-12-02T05:00:00.000Z",
/// "2026-12-02T05:00:00.123456"), in seconds since the epoch; nullopt for anything else.
std::optional<std::int64_t> parse_utc_timestamp(std::string_view text);

}  // namespace glance_store::internal
