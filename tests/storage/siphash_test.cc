// SipHash-2-4 against the reference vectors of the SipHash paper / reference
// implementation (key 00..0f, message 00..len-1, output bytes little-endian).
#include "storage/siphash.h"

#include <gtest/gtest.h>

#include <vector>

namespace nasd::storage {
namespace {

SipKey reference_key() {
  SipKey k{};
  for (std::size_t i = 0; i < k.size(); ++i) k[i] = static_cast<std::uint8_t>(i);
  return k;
}

std::uint64_t hash_of_prefix(std::size_t len) {
  std::vector<std::uint8_t> msg(len);
  for (std::size_t i = 0; i < len; ++i) msg[i] = static_cast<std::uint8_t>(i);
  return siphash24(reference_key(), msg);
}

TEST(SipHash, PaperAppendixExampleFifteenBytes) {
  EXPECT_EQ(hash_of_prefix(15), 0xa129ca6149be45e5ULL);
}

TEST(SipHash, ReferenceVectorsLengthZeroToNine) {
  const std::uint64_t want[] = {
      0x726fdb47dd0e0e31ULL, 0x74f839c593dc67fdULL, 0x0d6c8009d9a94f5aULL, 0x85676696d7fb7e2dULL,
      0xcf2794e0277187b7ULL, 0x18765564cd99a68dULL, 0xcbc9466e58fee3ceULL, 0xab0200f58b01d137ULL,
      0x93f5f5799a932462ULL, 0x9e0082df0ba9e4b0ULL,
  };
  for (std::size_t len = 0; len < std::size(want); ++len) {
    EXPECT_EQ(hash_of_prefix(len), want[len]) << "length " << len;
  }
}

TEST(SipHash, DifferentKeyGivesDifferentHash) {
  SipKey other = reference_key();
  other[0] ^= 1;
  std::vector<std::uint8_t> msg = {1, 2, 3};
  EXPECT_NE(siphash24(reference_key(), msg), siphash24(other, msg));
}

}  // namespace
}  // namespace nasd::storage
