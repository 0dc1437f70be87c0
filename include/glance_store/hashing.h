// Hashing by hashlib's algorithm names (OpenSSL EVP underneath).
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace glance_store {

/// The algorithm names accepted for the multihash: md5, sha1, sha224, sha256, sha384, sha512,
/// sha3_224, sha3_256, sha3_384, sha3_512, blake2b (64-byte digest), blake2s (32-byte digest).
const std::vector<std::string_view>& known_hash_algorithms();
bool is_known_hash_algorithm(std::string_view name);

/// An incremental hash. Not thread-safe; the add pipeline gives each its own serial queue.
class Hasher {
 public:
  /// Throws Error(kUnknownHashingAlgo, "Unknown hashing algorithm identifier: <name>").
  static std::unique_ptr<Hasher> create(std::string_view algorithm);
  virtual ~Hasher() = default;
  virtual void update(std::span<const std::byte> data) = 0;
  /// The lowercase hex digest; call once, after the last update.
  virtual std::string hexdigest() = 0;
  virtual std::string_view algorithm() const = 0;
};

/// Whether an expected hex digest (either case) is `actual` (lowercase, as hexdigest() gives).
bool same_digest(std::string_view expected, std::string_view actual);

/// One-shot helper: hex digest of `data`.
std::string hex_digest(std::string_view algorithm, std::string_view data);

}  // namespace glance_store
