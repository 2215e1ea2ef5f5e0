// Port mapper, NLM v4 and NSM codecs: wire layout and round trips.
#include <gtest/gtest.h>

#include <vector>

#include "protocol/locking/nlm4.h"
#include "protocol/locking/nsm.h"
#include "protocol/portmap/portmap.h"

namespace nasd {
namespace {

std::vector<std::uint8_t> bytes(std::initializer_list<std::uint32_t> words) {
  std::vector<std::uint8_t> out;
  for (std::uint32_t w : words) {
    for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<std::uint8_t>(w >> s));
  }
  return out;
}

TEST(PortmapXdr, MappingIsFourWords) {
  std::vector<std::uint8_t> buf(16);
  xdr::XdrEncoder out(buf);
  portmap::encode(out, portmap::Mapping{100021, 4, portmap::kIpprotoTcp, 2049});
  EXPECT_EQ(bytes({100021, 4, 6, 2049}), buf);
  xdr::XdrDecoder in(buf);
  portmap::Mapping m;
  ASSERT_TRUE(portmap::decode(in, m));
  EXPECT_EQ((portmap::Mapping{100021, 4, 6, 2049}), m);
}

TEST(PortmapXdr, TruncatedMappingFails) {
  auto b = bytes({100021, 4, 6});
  xdr::XdrDecoder in(b);
  portmap::Mapping m;
  EXPECT_FALSE(portmap::decode(in, m));
}

TEST(PortmapXdr, RpcbListRoundTripsAndSizeIsExact) {
  std::vector<portmap::Rpcb> list = {{100003, 3, "tcp", "10.0.0.1.8.1", "nasd"},
                                     {100024, 1, "udp", "10.0.0.1.8.1", "x"}};
  std::vector<std::uint8_t> buf(portmap::rpcblist_size(list));
  xdr::XdrEncoder out(buf);
  portmap::encode_rpcblist(out, list);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(buf.size(), out.position());
  xdr::XdrDecoder in(buf);
  std::vector<portmap::Rpcb> back;
  ASSERT_TRUE(portmap::decode_rpcblist(in, back));
  EXPECT_EQ(list, back);
}

TEST(PortmapXdr, PmapListRoundTrips) {
  std::vector<portmap::Mapping> list = {{100000, 2, 6, 111}, {100005, 3, 6, 20048}};
  std::vector<std::uint8_t> buf(portmap::pmaplist_size(list));
  xdr::XdrEncoder out(buf);
  portmap::encode_pmaplist(out, list);
  EXPECT_EQ(buf.size(), out.position());
  xdr::XdrDecoder in(buf);
  std::vector<portmap::Mapping> back;
  ASSERT_TRUE(portmap::decode_pmaplist(in, back));
  EXPECT_EQ(list, back);
}

TEST(PortmapXdr, UniversalAddressCarriesThePortInTheLastTwoFields) {
  EXPECT_EQ("10.1.2.3.8.1",
            portmap::universal_address(boost::asio::ip::make_address("10.1.2.3"), 2049));
  EXPECT_EQ("::1.0.111", portmap::universal_address(boost::asio::ip::make_address("::1"), 111));
  EXPECT_EQ(2049, portmap::universal_address_port("10.1.2.3.8.1").value_or(0));
  EXPECT_EQ(111, portmap::universal_address_port("::1.0.111").value_or(0));
  EXPECT_FALSE(portmap::universal_address_port("10.1.2.3.256.1").has_value());
  EXPECT_FALSE(portmap::universal_address_port("nonsense").has_value());
  EXPECT_FALSE(portmap::universal_address_port("1.2.3.4..1").has_value());
}

TEST(Nlm4Xdr, LockArgsRoundTrip) {
  const std::uint8_t cookie[] = {1, 2, 3};
  const std::uint8_t fh[] = {9, 9, 9, 9, 9};
  const std::string oh = "42@client";
  nlm4::LockArgs a;
  a.cookie = cookie;
  a.block = true;
  a.exclusive = true;
  a.lock.caller_name = "client";
  a.lock.fh = fh;
  a.lock.oh = {reinterpret_cast<const std::uint8_t*>(oh.data()), oh.size()};
  a.lock.svid = 42;
  a.lock.l_offset = 1ull << 40;
  a.lock.l_len = 0;
  a.reclaim = true;
  a.state = 7;
  std::vector<std::uint8_t> buf(512);
  xdr::XdrEncoder out(buf);
  nlm4::encode(out, a);
  buf.resize(out.position());
  // cookie(4+4) block excl caller(4+8) fh(4+8) oh(4+12) svid off(8) len(8) reclaim state
  EXPECT_EQ(8u + 4 + 4 + 12 + 12 + 16 + 4 + 8 + 8 + 4 + 4, buf.size());
  xdr::XdrDecoder in(buf);
  nlm4::LockArgs b;
  ASSERT_TRUE(nlm4::decode(in, b));
  EXPECT_TRUE(b.block && b.exclusive && b.reclaim);
  EXPECT_EQ("client", b.lock.caller_name);
  EXPECT_EQ(42u, b.lock.svid);
  EXPECT_EQ(1ull << 40, b.lock.l_offset);
  EXPECT_EQ(7, b.state);
  EXPECT_EQ(5u, b.lock.fh.size());
  EXPECT_EQ(0u, in.remaining());
}

TEST(Nlm4Xdr, OversizedCookieIsRejected) {
  std::vector<std::uint8_t> buf(4 + 2048);
  xdr::XdrEncoder out(buf);
  out.u32(2000);
  xdr::XdrDecoder in(buf);
  nlm4::UnlockArgs a;
  EXPECT_FALSE(nlm4::decode(in, a));
}

TEST(Nlm4Xdr, TestResDeniedCarriesTheHolder) {
  nlm4::TestRes r;
  r.stat = nlm4::Stat::kDenied;
  r.holder.exclusive = true;
  r.holder.svid = 5;
  r.holder.l_offset = 10;
  r.holder.l_len = 20;
  std::vector<std::uint8_t> buf(128);
  xdr::XdrEncoder out(buf);
  nlm4::encode(out, r);
  buf.resize(out.position());
  xdr::XdrDecoder in(buf);
  nlm4::TestRes b;
  ASSERT_TRUE(nlm4::decode(in, b));
  EXPECT_EQ(nlm4::Stat::kDenied, b.stat);
  EXPECT_TRUE(b.holder.exclusive);
  EXPECT_EQ(5u, b.holder.svid);
  EXPECT_EQ(20u, b.holder.l_len);
  // GRANTED has no holder arm.
  nlm4::TestRes g;
  std::vector<std::uint8_t> gb(16);
  xdr::XdrEncoder go(gb);
  nlm4::encode(go, g);
  EXPECT_EQ(8u, go.position());
}

TEST(NsmXdr, MonAndStatChgeRoundTrip) {
  nsm::Mon m;
  m.mon_id.mon_name = "server";
  m.mon_id.my_id = {"localhost", 100021, 4, 16};
  m.priv[0] = 0xab;
  std::vector<std::uint8_t> buf(256);
  xdr::XdrEncoder out(buf);
  nsm::encode(out, m);
  buf.resize(out.position());
  EXPECT_EQ(4u + 8 + 4 + 12 + 12 + 16, buf.size());
  xdr::XdrDecoder in(buf);
  nsm::Mon b;
  ASSERT_TRUE(nsm::decode(in, b));
  EXPECT_EQ("server", b.mon_id.mon_name);
  EXPECT_EQ(16u, b.mon_id.my_id.my_proc);
  EXPECT_EQ(0xab, b.priv[0]);

  std::vector<std::uint8_t> c(64);
  xdr::XdrEncoder co(c);
  nsm::encode(co, nsm::StatChge{"10.0.0.1", 3});
  c.resize(co.position());
  EXPECT_EQ(bytes({8, 0x31302e30, 0x2e302e31, 3}), c);
}

}  // namespace
}  // namespace nasd
