// XdrEncoder/XdrDecoder against libtirpc's xdrmem, byte for byte.
#include "protocol/rpc/xdr.h"

#include <rpc/rpc.h>

#include <gtest/gtest.h>

#include <array>
#include <string>
#include <vector>

namespace nasd::xdr {
namespace {

// Encodes with libtirpc through `fn` and returns the bytes.
template <class Fn>
std::vector<std::uint8_t> tirpc_encode(Fn fn) {
  std::vector<std::uint8_t> buf(512);
  XDR x;
  xdrmem_create(&x, reinterpret_cast<char*>(buf.data()), buf.size(), XDR_ENCODE);
  EXPECT_TRUE(fn(&x));
  buf.resize(xdr_getpos(&x));
  xdr_destroy(&x);
  return buf;
}

std::vector<std::uint8_t> ours(void (*fn)(XdrEncoder&)) {
  std::vector<std::uint8_t> buf(512);
  XdrEncoder e(buf);
  fn(e);
  EXPECT_TRUE(e.ok());
  buf.resize(e.position());
  return buf;
}

TEST(Xdr, IntegersMatchLibtirpc) {
  auto theirs = tirpc_encode([](XDR* x) {
    u_int a = 0xdeadbeef;
    int b = -2;
    u_quad_t c = 0x0102030405060708ull;
    bool_t d = TRUE;
    return xdr_u_int(x, &a) && xdr_int(x, &b) && xdr_u_quad_t(x, &c) && xdr_bool(x, &d);
  });
  auto mine = ours([](XdrEncoder& e) {
    e.u32(0xdeadbeef);
    e.i32(-2);
    e.u64(0x0102030405060708ull);
    e.boolean(true);
  });
  EXPECT_EQ(mine, theirs);
}

TEST(Xdr, OpaqueAndStringPaddingMatchLibtirpc) {
  auto theirs = tirpc_encode([](XDR* x) {
    char bytes[] = {1, 2, 3, 4, 5};
    char* p = bytes;
    u_int n = 5;
    char str[] = "abcdef";
    char* s = str;
    char fixed[3] = {9, 8, 7};
    return xdr_bytes(x, &p, &n, 100) && xdr_string(x, &s, 100) && xdr_opaque(x, fixed, 3);
  });
  auto mine = ours([](XdrEncoder& e) {
    const std::uint8_t bytes[] = {1, 2, 3, 4, 5};
    e.opaque(bytes);
    e.string("abcdef");
    const std::uint8_t fixed[] = {9, 8, 7};
    e.fixed_opaque(fixed);
  });
  EXPECT_EQ(mine, theirs);
}

TEST(Xdr, DecoderReadsWhatLibtirpcWrote) {
  auto bytes = tirpc_encode([](XDR* x) {
    u_int a = 7;
    char str[] = "hello";
    char* s = str;
    u_quad_t q = 1ull << 40;
    return xdr_u_int(x, &a) && xdr_string(x, &s, 100) && xdr_u_quad_t(x, &q);
  });
  XdrDecoder d(bytes);
  EXPECT_EQ(d.u32(), 7u);
  EXPECT_EQ(d.string(100), "hello");
  EXPECT_EQ(d.u64(), 1ull << 40);
  EXPECT_TRUE(d.ok());
  EXPECT_EQ(d.remaining(), 0u);
}

TEST(Xdr, DecoderLatchesFailureOnTruncation) {
  const std::uint8_t bytes[] = {0, 0, 0, 9, 'a', 'b'};
  XdrDecoder d(bytes);
  EXPECT_TRUE(d.opaque(100).empty());
  EXPECT_FALSE(d.ok());
  EXPECT_EQ(d.u32(), 0u);  // stays failed
}

TEST(Xdr, DecoderRefusesLengthsAboveTheMaximum) {
  const std::uint8_t bytes[] = {0, 0, 0, 5, 'a', 'b', 'c', 'd', 'e', 0, 0, 0};
  XdrDecoder d(bytes);
  d.string(4);
  EXPECT_FALSE(d.ok());
}

TEST(Xdr, DecoderRefusesBooleansOtherThanZeroOrOne) {
  const std::uint8_t bytes[] = {0, 0, 0, 2};
  XdrDecoder d(bytes);
  d.boolean();
  EXPECT_FALSE(d.ok());
}

TEST(Xdr, EncoderLatchesOverflowInsteadOfWritingPastTheEnd) {
  std::array<std::uint8_t, 8> buf{};
  XdrEncoder e(buf);
  e.u32(1);
  e.string("toolong");
  EXPECT_FALSE(e.ok());
  EXPECT_LE(e.position(), buf.size());
}

TEST(Xdr, ReserveAndRewindShrinkTheDataArea) {
  std::array<std::uint8_t, 64> buf{};
  XdrEncoder e(buf);
  std::size_t len_at = e.position();
  e.u32(0);
  std::size_t data_at = e.position();
  auto area = e.reserve(32);
  ASSERT_EQ(area.size(), 32u);
  area[0] = 'x';
  area[1] = 'y';
  area[2] = 'z';
  e.rewind(data_at);
  e.reserve(3);
  e.patch_u32(len_at, 3);
  XdrDecoder d(e.written());
  EXPECT_EQ(d.string(64), "xyz");
  EXPECT_EQ(e.position(), 8u);
}

}  // namespace
}  // namespace nasd::xdr
