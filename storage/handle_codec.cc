// HandleCodec, see storage/handle_codec.h.
#include "storage/handle_codec.h"

#include <cstring>

namespace nasd::storage {
namespace {

void put_be32(std::uint8_t* p, std::uint32_t v) {
  p[0] = static_cast<std::uint8_t>(v >> 24);
  p[1] = static_cast<std::uint8_t>(v >> 16);
  p[2] = static_cast<std::uint8_t>(v >> 8);
  p[3] = static_cast<std::uint8_t>(v);
}

std::uint32_t get_be32(const std::uint8_t* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
         std::uint32_t{p[3]};
}

}  // namespace

Status HandleCodec::encode(std::uint32_t export_id, std::int32_t handle_type,
                           std::span<const std::uint8_t> kernel_bytes, FileHandle* out) const {
  if (kernel_bytes.empty() || kernel_bytes.size() > kMaxKernelBytes) return Status::kNotSupp;
  std::array<std::uint8_t, FileHandle::kMaxSize> buf{};
  buf[0] = kVersion;
  put_be32(&buf[1], export_id);
  put_be32(&buf[5], static_cast<std::uint32_t>(handle_type));
  std::memcpy(&buf[kHeaderSize], kernel_bytes.data(), kernel_bytes.size());
  const std::size_t body = kHeaderSize + kernel_bytes.size();
  std::uint64_t m = siphash24(key_, {buf.data(), body});
  for (std::size_t i = 0; i < kMacSize; ++i) buf[body + i] = static_cast<std::uint8_t>(m >> (8 * i));
  out->assign({buf.data(), body + kMacSize});
  return Status::kOk;
}

Status HandleCodec::decode(const FileHandle& fh, DecodedHandle* out) const {
  if (fh.size < kHeaderSize + 1 + kMacSize || fh.size > FileHandle::kMaxSize) return Status::kBadHandle;
  if (fh.data[0] != kVersion) return Status::kBadHandle;
  const std::size_t body = fh.size - kMacSize;
  const std::uint64_t m = siphash24(key_, {fh.data.data(), body});
  std::uint8_t diff = 0;  // compare without an early exit
  for (std::size_t i = 0; i < kMacSize; ++i) diff |= fh.data[body + i] ^ static_cast<std::uint8_t>(m >> (8 * i));
  if (diff != 0) return Status::kBadHandle;
  out->export_id = get_be32(&fh.data[1]);
  out->handle_type = static_cast<std::int32_t>(get_be32(&fh.data[5]));
  out->kernel_bytes = {fh.data.data() + kHeaderSize, body - kHeaderSize};
  return Status::kOk;
}

}  // namespace nasd::storage
