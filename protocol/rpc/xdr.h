// XDR (RFC 4506) primitives over a caller-owned byte span.
//
// XdrDecoder reads big-endian 4-byte units from a span without copying; every
// read is bounds-checked and a failed read latches `ok() == false` (the caller
// answers GARBAGE_ARGS).  XdrEncoder writes into a span it does not own (a
// pooled buffer) and latches `ok() == false` on overflow instead of growing.
// Byte-for-byte equality with libtirpc's xdrmem is asserted in
// tests/protocol/xdr_test.cc.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>

namespace nasd::xdr {

/// Bytes of padding that follow `n` bytes of opaque data (RFC 4506 §4.10).
constexpr std::size_t pad(std::size_t n) { return (4 - (n & 3)) & 3; }

/// Bytes `n` opaque bytes take on the wire, length word excluded.
constexpr std::size_t padded(std::size_t n) { return n + pad(n); }

/// Reads XDR items from a byte span.  Never allocates; views returned by
/// opaque()/string() point into the span and live as long as it does.
class XdrDecoder {
 public:
  explicit XdrDecoder(std::span<const std::uint8_t> in) : in_(in) {}

  /// Unsigned 32-bit integer (RFC 4506 §4.2).  0 and !ok() on underflow.
  std::uint32_t u32() {
    if (!need(4)) return 0;
    const std::uint8_t* p = in_.data() + pos_;
    pos_ += 4;
    return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) |
           (std::uint32_t{p[2]} << 8) | std::uint32_t{p[3]};
  }
  std::int32_t i32() { return static_cast<std::int32_t>(u32()); }
  /// Unsigned hyper (RFC 4506 §4.5).
  std::uint64_t u64() {
    std::uint64_t hi = u32();
    return (hi << 32) | u32();
  }
  /// XDR bool: 0 or 1; any other value latches !ok().
  bool boolean() {
    std::uint32_t v = u32();
    if (v > 1) ok_ = false;
    return v == 1;
  }
  /// Fixed-length opaque of `n` bytes plus padding (RFC 4506 §4.9).
  std::span<const std::uint8_t> fixed_opaque(std::size_t n) {
    if (!need(padded(n))) return {};
    auto out = in_.subspan(pos_, n);
    pos_ += padded(n);
    return out;
  }
  /// Variable-length opaque, at most `max` bytes (RFC 4506 §4.10).
  std::span<const std::uint8_t> opaque(std::size_t max) {
    std::uint32_t n = u32();
    if (!ok_ || n > max) {
      ok_ = false;
      return {};
    }
    return fixed_opaque(n);
  }
  /// String, at most `max` bytes (RFC 4506 §4.11).  Not NUL-terminated.
  std::string_view string(std::size_t max) {
    auto b = opaque(max);
    return {reinterpret_cast<const char*>(b.data()), b.size()};
  }

  bool ok() const { return ok_; }
  /// Marks the stream bad (a decoder found a semantic violation).
  void fail() { ok_ = false; }
  /// Bytes consumed so far.
  std::size_t position() const { return pos_; }
  std::size_t remaining() const { return in_.size() - pos_; }
  /// The unread tail of the input.
  std::span<const std::uint8_t> rest() const { return in_.subspan(pos_); }

 private:
  bool need(std::size_t n) {
    if (!ok_ || in_.size() - pos_ < n) {
      ok_ = false;
      return false;
    }
    return true;
  }
  std::span<const std::uint8_t> in_;
  std::size_t pos_ = 0;
  bool ok_ = true;
};

/// Writes XDR items into a fixed span.  Overflow latches !ok() and further
/// writes are dropped; the caller then answers with a smaller reply or
/// SYSTEM_ERR instead of growing the buffer.
class XdrEncoder {
 public:
  explicit XdrEncoder(std::span<std::uint8_t> out) : out_(out) {}

  void u32(std::uint32_t v) {
    if (!need(4)) return;
    std::uint8_t* p = out_.data() + pos_;
    p[0] = static_cast<std::uint8_t>(v >> 24);
    p[1] = static_cast<std::uint8_t>(v >> 16);
    p[2] = static_cast<std::uint8_t>(v >> 8);
    p[3] = static_cast<std::uint8_t>(v);
    pos_ += 4;
  }
  void i32(std::int32_t v) { u32(static_cast<std::uint32_t>(v)); }
  void u64(std::uint64_t v) {
    u32(static_cast<std::uint32_t>(v >> 32));
    u32(static_cast<std::uint32_t>(v));
  }
  void boolean(bool v) { u32(v ? 1 : 0); }
  /// Fixed-length opaque plus zero padding.
  void fixed_opaque(std::span<const std::uint8_t> b) {
    if (!need(padded(b.size()))) return;
    if (!b.empty()) std::memcpy(out_.data() + pos_, b.data(), b.size());
    std::memset(out_.data() + pos_ + b.size(), 0, pad(b.size()));
    pos_ += padded(b.size());
  }
  /// Length word, bytes, padding.
  void opaque(std::span<const std::uint8_t> b) {
    u32(static_cast<std::uint32_t>(b.size()));
    fixed_opaque(b);
  }
  void string(std::string_view s) {
    opaque({reinterpret_cast<const std::uint8_t*>(s.data()), s.size()});
  }
  /// Reserves `n` bytes (plus padding) to be filled in place later, e.g.
  /// READ data written by the storage layer directly into the reply buffer.
  /// Returns an empty span and latches !ok() on overflow.
  std::span<std::uint8_t> reserve(std::size_t n) {
    if (!need(padded(n))) return {};
    auto out = out_.subspan(pos_, n);
    std::memset(out_.data() + pos_ + n, 0, pad(n));
    pos_ += padded(n);
    return out;
  }
  /// Moves the write position back to `pos` (<= position()); used to shrink a
  /// reserved region once the real length is known.
  void rewind(std::size_t pos) {
    if (pos <= pos_) pos_ = pos;
  }
  /// Overwrites the 4-byte word at `pos` (already written).
  void patch_u32(std::size_t pos, std::uint32_t v) {
    if (pos + 4 > pos_) return;
    std::uint8_t* p = out_.data() + pos;
    p[0] = static_cast<std::uint8_t>(v >> 24);
    p[1] = static_cast<std::uint8_t>(v >> 16);
    p[2] = static_cast<std::uint8_t>(v >> 8);
    p[3] = static_cast<std::uint8_t>(v);
  }

  bool ok() const { return ok_; }
  std::size_t position() const { return pos_; }
  std::size_t remaining() const { return out_.size() - pos_; }
  std::span<std::uint8_t> written() const { return out_.first(pos_); }

 private:
  bool need(std::size_t n) {
    if (!ok_ || out_.size() - pos_ < n) {
      ok_ = false;
      return false;
    }
    return true;
  }
  std::span<std::uint8_t> out_;
  std::size_t pos_ = 0;
  bool ok_ = true;
};

}  // namespace nasd::xdr
