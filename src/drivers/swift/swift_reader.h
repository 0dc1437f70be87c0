// Reading an image from Swift (internal): a plain object as one response that resumes where it
// broke; a Dynamic Large Object straight from its segments, as the proxy's DLO middleware would
// join them, at about half the proxy's CPU per byte.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "drivers/swift/swift_session.h"
#include "glance_store/stream.h"

namespace glance_store::swift {

/// Where a DLO manifest's segments are: every object of `container` whose name starts with
/// `prefix`, in listing order.
struct ManifestTarget {
  std::string container;
  std::string prefix;
};

/// An `X-Object-Manifest` value (`container/prefix`, percent-encoded or not, as Swift takes it),
/// or nullopt when it has no '/'.
std::optional<ManifestTarget> parse_object_manifest(std::string_view value);

/// Opens `length` bytes (to the end when nullopt) from `offset` of container/object. Throws
/// NotFound when there is no such object, Forbidden when refused, BackendException for other
/// failures. A range starting at or past the end gives an empty stream. The stream never returns
/// short data: a broken response is resumed (up to `max_resumes` times in all) with If-Match on
/// what it reads, so an object replaced meanwhile fails the read instead of mixing two images.
GetResult open_object(const std::shared_ptr<Session>& session, const std::string& container,
                      const std::string& object, std::uint64_t offset,
                      std::optional<std::uint64_t> length, int max_resumes);

}  // namespace glance_store::swift
