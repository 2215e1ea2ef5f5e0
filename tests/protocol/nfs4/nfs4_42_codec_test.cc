// Decoders of the NFSv4.2 (RFC 7862) and xattr (RFC 8276) operation
// arguments, the xattr_support attribute and the nfsstat4 names.
#include <gtest/gtest.h>

#include <string>

#include "protocol/nfs4/nfs4.h"
#include "tests/protocol/nfs3/nfs3_test_util.h"

namespace nasd::nfs4 {
namespace {

using testutil::Wire;

void stateid(xdr::XdrEncoder& e, std::uint32_t seqid, std::uint8_t fill) {
  e.u32(seqid);
  std::array<std::uint8_t, 12> o;
  o.fill(fill);
  e.fixed_opaque(o);
}

TEST(Nfs4Codec42, SeekDecodesStateidOffsetAndWhatAndRefusesUnknownWhat) {
  Wire w;
  stateid(w.enc, 3, 0x11);
  w.enc.u64(1ull << 40);
  w.enc.u32(kContentHole);
  auto in = w.decoder();
  SeekArgs a;
  ASSERT_TRUE(decode(in, a));
  EXPECT_EQ(a.stateid.seqid, 3u);
  EXPECT_EQ(a.stateid.other[11], 0x11);
  EXPECT_EQ(a.offset, 1ull << 40);
  EXPECT_EQ(a.what, kContentHole);
  Wire bad;
  stateid(bad.enc, 0, 0);
  bad.enc.u64(0);
  bad.enc.u32(2);
  auto in2 = bad.decoder();
  EXPECT_FALSE(decode(in2, a));
}

TEST(Nfs4Codec42, CopyReadsBothStateidsRangeFlagsAndSkipsSourceServers) {
  Wire w;
  stateid(w.enc, 1, 0xaa);
  stateid(w.enc, 2, 0xbb);
  w.enc.u64(10);
  w.enc.u64(20);
  w.enc.u64(30);
  w.enc.boolean(false);
  w.enc.boolean(true);
  w.enc.u32(2);
  w.enc.u32(3);  // NL4_NETADDR
  w.enc.string("tcp");
  w.enc.string("10.0.0.1.8.1");
  w.enc.u32(2);  // NL4_URL
  w.enc.string("nfs://x/");
  w.enc.u32(0xfeed);  // the next operation
  auto in = w.decoder();
  CopyArgs a;
  ASSERT_TRUE(decode(in, a));
  EXPECT_EQ(a.src_stateid.other[0], 0xaa);
  EXPECT_EQ(a.dst_stateid.seqid, 2u);
  EXPECT_EQ(a.src_offset, 10u);
  EXPECT_EQ(a.dst_offset, 20u);
  EXPECT_EQ(a.count, 30u);
  EXPECT_FALSE(a.consecutive);
  EXPECT_TRUE(a.synchronous);
  EXPECT_EQ(a.source_servers, 2u);
  EXPECT_EQ(in.u32(), 0xfeedu);  // left exactly at the next operation
}

TEST(Nfs4Codec42, CopyWithAnUnknownNetlocTypeIsMalformed) {
  Wire w;
  stateid(w.enc, 0, 0);
  stateid(w.enc, 0, 0);
  for (int i = 0; i < 3; ++i) w.enc.u64(0);
  w.enc.boolean(true);
  w.enc.boolean(true);
  w.enc.u32(1);
  w.enc.u32(9);
  auto in = w.decoder();
  CopyArgs a;
  EXPECT_FALSE(decode(in, a));
}

TEST(Nfs4Codec42, CloneAndAllocateDecodeTheirRanges) {
  Wire w;
  stateid(w.enc, 0, 1);
  stateid(w.enc, 0, 2);
  w.enc.u64(4096);
  w.enc.u64(8192);
  w.enc.u64(0);
  stateid(w.enc, 5, 3);
  w.enc.u64(7);
  w.enc.u64(9);
  auto in = w.decoder();
  CloneArgs c;
  ASSERT_TRUE(decode(in, c));
  EXPECT_EQ(c.src_offset, 4096u);
  EXPECT_EQ(c.dst_offset, 8192u);
  EXPECT_EQ(c.count, 0u);
  AllocateArgs a;
  ASSERT_TRUE(decode(in, a));
  EXPECT_EQ(a.stateid.seqid, 5u);
  EXPECT_EQ(a.offset, 7u);
  EXPECT_EQ(a.length, 9u);
}

TEST(Nfs4Codec42, SetxattrChecksOptionAndValueLength) {
  Wire w(1 << 18);
  w.enc.u32(2);
  w.enc.string("name");
  w.enc.string("value");
  auto in = w.decoder();
  SetxattrArgs a;
  ASSERT_TRUE(decode(in, a));
  EXPECT_EQ(a.option, 2u);
  EXPECT_EQ(a.name, "name");
  EXPECT_EQ(std::string(a.value.begin(), a.value.end()), "value");
  Wire bad;
  bad.enc.u32(3);
  bad.enc.string("n");
  bad.enc.string("v");
  auto in2 = bad.decoder();
  EXPECT_FALSE(decode(in2, a));
  Wire big(1 << 18);
  big.enc.u32(0);
  big.enc.string("n");
  big.enc.string(std::string(kXattrValueMax + 1, 'x'));
  auto in3 = big.decoder();
  EXPECT_FALSE(decode(in3, a));
}

TEST(Nfs4Codec42, ListxattrsAndGetxattrDecode) {
  Wire w;
  w.enc.u64(5);
  w.enc.u32(4096);
  w.enc.string("k");
  auto in = w.decoder();
  ListxattrsArgs l;
  ASSERT_TRUE(decode(in, l));
  EXPECT_EQ(l.cookie, 5u);
  EXPECT_EQ(l.maxcount, 4096u);
  GetxattrArgs g;
  ASSERT_TRUE(decode(in, g));
  EXPECT_EQ(g.name, "k");
  auto in2 = w.decoder();
  in2.u64();
  in2.u32();
  in2.u32();  // truncated name
  GetxattrArgs g2;
  EXPECT_FALSE(decode(in2, g2));
}

TEST(Nfs4Codec42, XattrSupportIsAnAttributeOfMinorVersionTwoOnly) {
  EXPECT_TRUE(supported_attrs(2).test(kXattrSupport));
  EXPECT_FALSE(supported_attrs(1).test(kXattrSupport));
  Bitmap4 req;
  req.set(kXattrSupport);
  AttrValues v;
  v.minor = 2;
  v.xattr_support = true;
  Wire w;
  ASSERT_TRUE(encode_fattr(w.enc, req, v));
  auto in = w.decoder();
  Bitmap4 got;
  ASSERT_TRUE(decode_bitmap(in, got));
  EXPECT_TRUE(got.test(kXattrSupport));
  EXPECT_EQ(in.u32(), 4u);   // attrlist4 length
  EXPECT_TRUE(in.boolean());
}

TEST(Nfs4Codec42, StatusNamesDropThePrefix) {
  EXPECT_STREQ(status_name(Nfsstat4::kOk), "OK");
  EXPECT_STREQ(status_name(Nfsstat4::kNoXattr), "NOXATTR");
  EXPECT_STREQ(status_name(Nfsstat4::kRepTooBig), "REP_TOO_BIG");
  EXPECT_STREQ(status_name(static_cast<Nfsstat4>(4242)), "UNKNOWN");
}

}  // namespace
}  // namespace nasd::nfs4
