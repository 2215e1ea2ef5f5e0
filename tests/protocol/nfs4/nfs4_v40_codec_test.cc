// NFSv4.0-only argument decoders (RFC 7530 §16.18, §16.33, §16.34).
#include <gtest/gtest.h>

#include <vector>

#include "protocol/nfs4/nfs4_v40.h"

namespace nasd::nfs4 {
namespace {

void u32(std::vector<std::uint8_t>& b, std::uint32_t v) {
  for (int i = 3; i >= 0; --i) b.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}
void opaque(std::vector<std::uint8_t>& b, std::string_view s) {
  u32(b, static_cast<std::uint32_t>(s.size()));
  b.insert(b.end(), s.begin(), s.end());
  while (b.size() % 4) b.push_back(0);
}

std::vector<std::uint8_t> setclientid_args() {
  std::vector<std::uint8_t> b(8, 0x5a);  // verifier
  opaque(b, "Linux NFSv4.0 host");
  u32(b, 0x40000000);  // cb_program
  opaque(b, "tcp");
  opaque(b, "10.0.0.2.3.200");
  u32(b, 7);  // callback_ident
  return b;
}

TEST(Nfs4V40CodecTest, SetclientidDecodesIdVerifierAndCallback) {
  auto b = setclientid_args();
  xdr::XdrDecoder in(b);
  SetclientidArgs a;
  ASSERT_TRUE(decode(in, a));
  EXPECT_EQ(a.verifier, (Verifier4{0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a}));
  EXPECT_EQ(std::string(a.id.begin(), a.id.end()), "Linux NFSv4.0 host");
  EXPECT_EQ(a.cb_program, 0x40000000u);
  EXPECT_EQ(a.cb_netid, "tcp");
  EXPECT_EQ(a.cb_addr, "10.0.0.2.3.200");
  EXPECT_EQ(a.callback_ident, 7u);
  EXPECT_EQ(in.remaining(), 0u);
}

TEST(Nfs4V40CodecTest, TruncatedSetclientidIsRejectedAtEveryLength) {
  const auto full = setclientid_args();
  for (std::size_t n = 0; n < full.size(); ++n) {
    std::vector<std::uint8_t> b(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(n));
    xdr::XdrDecoder in(b);
    SetclientidArgs a;
    EXPECT_FALSE(decode(in, a)) << n;
  }
}

TEST(Nfs4V40CodecTest, OverlongClientIdIsRejected) {
  std::vector<std::uint8_t> b(8, 0);
  opaque(b, std::string(kOpaqueMax + 1, 'x'));
  u32(b, 1);
  opaque(b, "tcp");
  opaque(b, "a");
  u32(b, 1);
  xdr::XdrDecoder in(b);
  SetclientidArgs a;
  EXPECT_FALSE(decode(in, a));
}

TEST(Nfs4V40CodecTest, SetclientidConfirmAndOpenConfirm) {
  std::vector<std::uint8_t> b;
  u32(b, 0x01020304);
  u32(b, 0x00000009);
  for (std::uint8_t i = 0; i < 8; ++i) b.push_back(i);
  xdr::XdrDecoder in(b);
  SetclientidConfirmArgs c;
  ASSERT_TRUE(decode(in, c));
  EXPECT_EQ(c.clientid, 0x0102030400000009ULL);
  EXPECT_EQ(c.confirm, (Verifier4{0, 1, 2, 3, 4, 5, 6, 7}));

  std::vector<std::uint8_t> o;
  u32(o, 1);  // stateid seqid
  for (std::uint8_t i = 0; i < 12; ++i) o.push_back(i);
  u32(o, 42);  // seqid
  xdr::XdrDecoder oin(o);
  OpenConfirmArgs oc;
  ASSERT_TRUE(decode(oin, oc));
  EXPECT_EQ(oc.stateid.seqid, 1u);
  EXPECT_EQ(oc.stateid.other[11], 11);
  EXPECT_EQ(oc.seqid, 42u);
  o.pop_back();
  xdr::XdrDecoder short_in(o);
  EXPECT_FALSE(decode(short_in, oc));
}

}  // namespace
}  // namespace nasd::nfs4
