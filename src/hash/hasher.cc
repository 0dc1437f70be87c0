#include <openssl/evp.h>

#include <array>
#include <cctype>
#include <memory>

#include "core/hex.h"
#include "glance_store/error.h"
#include "glance_store/hashing.h"

namespace glance_store {
namespace {

struct Algorithm {
  std::string_view name;
  std::string_view openssl_name;
};

// hashlib's names and the OpenSSL digests behind them (blake2b/2s are hashlib's default sizes).
constexpr std::array<Algorithm, 12> kAlgorithms = {{
    {"md5", "MD5"},
    {"sha1", "SHA1"},
    {"sha224", "SHA224"},
    {"sha256", "SHA256"},
    {"sha384", "SHA384"},
    {"sha512", "SHA512"},
    {"sha3_224", "SHA3-224"},
    {"sha3_256", "SHA3-256"},
    {"sha3_384", "SHA3-384"},
    {"sha3_512", "SHA3-512"},
    {"blake2b", "BLAKE2B-512"},
    {"blake2s", "BLAKE2S-256"},
}};

struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};
struct MdDeleter {
  void operator()(EVP_MD* md) const { EVP_MD_free(md); }
};

class EvpHasher final : public Hasher {
 public:
  EvpHasher(std::string_view name, EVP_MD* md) : name_(name), md_(md), ctx_(EVP_MD_CTX_new()) {
    // md5 is used as a checksum, not for security: allow it where a FIPS provider would refuse.
    if (!ctx_ || EVP_DigestInit_ex2(ctx_.get(), md_.get(), nullptr) != 1) {
      throw Error(ErrorKind::kBackendException,
                  "cannot initialise the " + std::string(name) + " digest");
    }
  }

  void update(std::span<const std::byte> data) override {
    if (EVP_DigestUpdate(ctx_.get(), data.data(), data.size()) != 1) {
      throw Error(ErrorKind::kBackendException, "digest update failed");
    }
  }

  std::string hexdigest() override {
    std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
    unsigned int len = 0;
    if (EVP_DigestFinal_ex(ctx_.get(), digest.data(), &len) != 1) {
      throw Error(ErrorKind::kBackendException, "digest finalisation failed");
    }
    return internal::to_hex({digest.data(), len});
  }

  std::string_view algorithm() const override { return name_; }

 private:
  std::string_view name_;
  std::unique_ptr<EVP_MD, MdDeleter> md_;
  std::unique_ptr<EVP_MD_CTX, MdCtxDeleter> ctx_;
};

}  // namespace

const std::vector<std::string_view>& known_hash_algorithms() {
  static const std::vector<std::string_view> kNames = [] {
    std::vector<std::string_view> names;
    names.reserve(kAlgorithms.size());
    for (const auto& a : kAlgorithms) names.push_back(a.name);
    return names;
  }();
  return kNames;
}

bool is_known_hash_algorithm(std::string_view name) {
  for (const auto& a : kAlgorithms) {
    if (a.name == name) return true;
  }
  return false;
}

std::unique_ptr<Hasher> Hasher::create(std::string_view algorithm) {
  for (const auto& a : kAlgorithms) {
    if (a.name != algorithm) continue;
    const char* props = a.name == "md5" ? "-fips" : nullptr;
    EVP_MD* md = EVP_MD_fetch(nullptr, std::string(a.openssl_name).c_str(), props);
    if (md == nullptr) md = EVP_MD_fetch(nullptr, std::string(a.openssl_name).c_str(), nullptr);
    if (md == nullptr) break;
    return std::make_unique<EvpHasher>(a.name, md);
  }
  throw Error(ErrorKind::kUnknownHashingAlgo,
              Error::format(default_message(ErrorKind::kUnknownHashingAlgo),
                            {{"algo", std::string(algorithm)}}));
}

bool same_digest(std::string_view expected, std::string_view actual) {
  if (expected.size() != actual.size()) return false;
  for (std::size_t i = 0; i < expected.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(expected[i])) != actual[i]) return false;
  }
  return true;
}

std::string hex_digest(std::string_view algorithm, std::string_view data) {
  auto h = Hasher::create(algorithm);
  h->update(std::as_bytes(std::span(data.data(), data.size())));
  return h->hexdigest();
}

}  // namespace glance_store
