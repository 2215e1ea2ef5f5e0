// HandleCodec: the wire layout of LocalBackend file handles.
//
// Layout (at most FileHandle::kMaxSize = 64 bytes, RFC 1813 §2.5):
//   [0]        version (kVersion)
//   [1..5)     export id, big-endian
//   [5..9)     kernel handle_type (struct file_handle), big-endian
//   [9..9+n)   kernel f_handle bytes (n >= 1, n <= kMaxKernelBytes)
//   [9+n..+8)  MAC: SipHash-2-4 of bytes [0, 9+n) under the server key,
//              little-endian
// The layout is deterministic: the same object always yields the same bytes.
#pragma once

#include <cstdint>
#include <span>

#include "storage/siphash.h"
#include "storage/types.h"

namespace nasd::storage {

/// A verified, decoded handle.
struct DecodedHandle {
  std::uint32_t export_id = 0;
  std::int32_t handle_type = 0;
  std::span<const std::uint8_t> kernel_bytes;  // points into the FileHandle
};

/// Encodes and authenticates handles under a 16-byte secret key.
class HandleCodec {
 public:
  static constexpr std::uint8_t kVersion = 1;
  static constexpr std::size_t kHeaderSize = 9;
  static constexpr std::size_t kMacSize = 8;
  static constexpr std::size_t kMaxKernelBytes = FileHandle::kMaxSize - kHeaderSize - kMacSize;

  explicit HandleCodec(const SipKey& key) : key_(key) {}

  /// Builds the handle.  kNotSupp when the kernel handle is empty or longer
  /// than kMaxKernelBytes (the filesystem's handles do not fit NFSv3).
  Status encode(std::uint32_t export_id, std::int32_t handle_type,
                std::span<const std::uint8_t> kernel_bytes, FileHandle* out) const;

  /// Checks size, version and MAC.  kBadHandle when malformed or forged.
  /// `out->kernel_bytes` refers into `fh`, which must outlive it.
  Status decode(const FileHandle& fh, DecodedHandle* out) const;

  /// Keyed 64-bit hash of arbitrary bytes (for cookie verifiers etc.).
  std::uint64_t mac(std::span<const std::uint8_t> bytes) const { return siphash24(key_, bytes); }

 private:
  SipKey key_;
};

}  // namespace nasd::storage
