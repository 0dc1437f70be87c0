// Hashing by hashlib's names: test vectors computed with Python's hashlib.
#include "glance_store/hashing.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstddef>
#include <span>
#include <string>

#include "glance_store/error.h"
#include "unit/core/test_support.h"

namespace glance_store {
namespace {

using testing::CatchError;
using ::testing::ElementsAre;
using testing::HasKind;

struct Vector {
  const char* algorithm;
  const char* abc;  // hashlib.new(algorithm, b"abc").hexdigest()
};

const Vector kVectors[] = {
    {"md5", "900150983cd24fb0d6963f7d28e17f72"},
    {"sha1", "a9993e364706816aba3e25717850c26c9cd0d89d"},
    {"sha224", "23097d223405d8228642a477bda255b32aadbce4bda0b3f7e36c9da7"},
    {"sha256", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
    {"sha384",
     "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c8"
     "25a7"},
    {"sha512",
     "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3fe"
     "ebbd454d4423643ce80e2a9ac94fa54ca49f"},
    {"sha3_224", "e642824c3f8cf24ad09234ee7d3c766fc9a3a5168d0c94ad73b46fdf"},
    {"sha3_256", "3a985da74fe225b2045c172d6bd390bd855f086e3e9d525b46bfe24511431532"},
    {"sha3_384",
     "ec01498288516fc926459f58e2c6ad8df9b473cb0fc08c2596da7cf0e49be4b298d88cea927ac7f539f1edf22837"
     "6d25"},
    {"sha3_512",
     "b751850b1a57168a5693cd924b6b096e08f621827444f70d884f5d0240d2712e10e116e9192af3c91a7ec57647e3"
     "934057340b4cf408d5a56592f8274eec53f0"},
    {"blake2b",
     "ba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2d17d87c5392aab792dc252d5de4533"
     "cc9518d38aa8dbf1925ab92386edd4009923"},
    {"blake2s", "508c5e8c327c14e2e1a72ba34eeb452f37458b209ed63a294d999b4c86675982"},
};

std::span<const std::byte> bytes_of(std::string_view s) {
  return std::as_bytes(std::span(s.data(), s.size()));
}

TEST(HashAlgorithmsTest, ListsHashlibNamesInOrder) {
  EXPECT_THAT(known_hash_algorithms(),
              ElementsAre("md5", "sha1", "sha224", "sha256", "sha384", "sha512", "sha3_224",
                          "sha3_256", "sha3_384", "sha3_512", "blake2b", "blake2s"));
  ASSERT_EQ(known_hash_algorithms().size(), std::size(kVectors));
  for (std::size_t i = 0; i < std::size(kVectors); ++i) {
    EXPECT_EQ(known_hash_algorithms()[i], kVectors[i].algorithm);
  }
}

class HashVectorTest : public ::testing::TestWithParam<Vector> {};

TEST_P(HashVectorTest, OneShotDigestOfAbc) {
  EXPECT_EQ(hex_digest(GetParam().algorithm, "abc"), GetParam().abc);
}

TEST_P(HashVectorTest, IncrementalUpdatesGiveTheSameDigest) {
  auto hasher = Hasher::create(GetParam().algorithm);
  EXPECT_EQ(hasher->algorithm(), GetParam().algorithm);
  hasher->update(bytes_of("a"));
  hasher->update(bytes_of(""));
  hasher->update(bytes_of("bc"));
  EXPECT_EQ(hasher->hexdigest(), GetParam().abc);
}

TEST_P(HashVectorTest, IsKnown) { EXPECT_TRUE(is_known_hash_algorithm(GetParam().algorithm)); }

INSTANTIATE_TEST_SUITE_P(Hashlib, HashVectorTest, ::testing::ValuesIn(kVectors),
                         [](const auto& info) { return std::string(info.param.algorithm); });

TEST(HasherTest, DigestsOfEmptyInput) {
  EXPECT_EQ(hex_digest("md5", ""), "d41d8cd98f00b204e9800998ecf8427e");
  EXPECT_EQ(hex_digest("sha256", ""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(HasherTest, LargeInputInUnevenPieces) {
  // 1 MiB + 7 of a repeating pattern, fed in pieces of 4093 bytes.
  std::string data(1048583, '\0');
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 31 % 251);
  auto hasher = Hasher::create("sha256");
  for (std::size_t pos = 0; pos < data.size(); pos += 4093) {
    hasher->update(bytes_of(std::string_view(data).substr(pos, 4093)));
  }
  EXPECT_EQ(hasher->hexdigest(), hex_digest("sha256", data));
}

class UnknownHashTest : public ::testing::TestWithParam<const char*> {};

TEST_P(UnknownHashTest, IsUnknownHashingAlgoNamingIt) {
  const std::string algo = GetParam();
  EXPECT_FALSE(is_known_hash_algorithm(algo));
  const Error e = CatchError([&] { Hasher::create(algo); });
  EXPECT_THAT(e, HasKind(ErrorKind::kUnknownHashingAlgo));
  EXPECT_EQ(e.message(), "Unknown hashing algorithm identifier: " + algo);
  const Error one_shot = CatchError([&] { hex_digest(algo, "abc"); });
  EXPECT_THAT(one_shot, HasKind(ErrorKind::kUnknownHashingAlgo));
}

INSTANTIATE_TEST_SUITE_P(Names, UnknownHashTest,
                         ::testing::Values("sha3-256", "sha257", "md4x", "", "blake2", "crc32",
                                           "sha256 "));

}  // namespace
}  // namespace glance_store
