// SipHash-2-4 (Aumasson & Bernstein, "SipHash: a fast short-input PRF", 2012):
// a keyed 64-bit MAC used to authenticate file handles and derive cookie
// verifiers.  Written from the paper's description.
#pragma once

#include <array>
#include <cstdint>
#include <span>

namespace nasd::storage {

/// 128-bit SipHash key (k0 = first 8 bytes little-endian, k1 = next 8).
using SipKey = std::array<std::uint8_t, 16>;

/// SipHash-2-4 of `msg` under `key`; the 64-bit result as the paper defines
/// it (its little-endian byte encoding is the reference "out" bytes).
std::uint64_t siphash24(const SipKey& key, std::span<const std::uint8_t> msg);

}  // namespace nasd::storage
