// Lowercase hex of bytes, and random tokens (internal).
#pragma once

#include <span>
#include <string>

namespace glance_store::internal {

/// Lowercase hex, two digits per byte: digests as glance_store prints them.
std::string to_hex(std::span<const unsigned char> bytes);

/// 128 random bits from OpenSSL's generator, as 32 hex digits: what keeps one add's temporary
/// objects apart from every other add's. Throws BackendException when no random bytes come.
std::string random_token();

}  // namespace glance_store::internal
