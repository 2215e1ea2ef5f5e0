// Byte helpers shared by the NFSv4 state files (nfs4_state.cc,
// state_v40.cc): opaque bytes as map keys and big-endian 32-bit fields
// inside stateid "other" / clientid / session id values.
#pragma once

#include <cstdint>
#include <span>
#include <string>

namespace nasd::server::nfs4_bytes {

/// The bytes as a std::string (a map key).
inline std::string to_string(std::span<const std::uint8_t> b) {
  return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}

/// Big-endian 32-bit value at p[0..3].
inline std::uint32_t be32(const std::uint8_t* p) {
  return std::uint32_t{p[0]} << 24 | std::uint32_t{p[1]} << 16 | std::uint32_t{p[2]} << 8 | p[3];
}

/// Stores `v` big-endian at p[0..3].
inline void put_be32(std::uint8_t* p, std::uint32_t v) {
  p[0] = static_cast<std::uint8_t>(v >> 24);
  p[1] = static_cast<std::uint8_t>(v >> 16);
  p[2] = static_cast<std::uint8_t>(v >> 8);
  p[3] = static_cast<std::uint8_t>(v);
}

}  // namespace nasd::server::nfs4_bytes
