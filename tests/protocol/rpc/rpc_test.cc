// Call header decoding and reply encoding against libtirpc's RPC codecs.
#include "protocol/rpc/rpc.h"

#include <rpc/rpc.h>

#include <gtest/gtest.h>

#include <vector>

namespace nasd::rpc {
namespace {

std::vector<std::uint8_t> tirpc_call(std::uint32_t rpcvers, AUTH* auth) {
  std::vector<std::uint8_t> buf(1024);
  XDR x;
  xdrmem_create(&x, reinterpret_cast<char*>(buf.data()), buf.size(), XDR_ENCODE);
  rpc_msg msg{};
  msg.rm_xid = 0x1234;
  msg.rm_direction = CALL;
  msg.rm_call.cb_rpcvers = rpcvers;
  msg.rm_call.cb_prog = 100003;
  msg.rm_call.cb_vers = 3;
  msg.rm_call.cb_proc = 1;
  msg.rm_call.cb_cred = auth->ah_cred;
  msg.rm_call.cb_verf = auth->ah_verf;
  EXPECT_TRUE(xdr_callmsg(&x, &msg));
  buf.resize(xdr_getpos(&x));
  xdr_destroy(&x);
  return buf;
}

TEST(RpcCall, DecodesAuthSysCredentialsBuiltByLibtirpc) {
  gid_t groups[] = {10, 20, 30};
  AUTH* auth = authunix_create(const_cast<char*>("client.example"), 1000, 100, 3, groups);
  auto bytes = tirpc_call(2, auth);
  auth_destroy(auth);
  xdr::XdrDecoder in(bytes);
  CallHeader h;
  ASSERT_EQ(decode_call(in, h), HeaderResult::kOk);
  EXPECT_EQ(h.xid, 0x1234u);
  EXPECT_EQ(h.prog, 100003u);
  EXPECT_EQ(h.vers, 3u);
  EXPECT_EQ(h.proc, 1u);
  EXPECT_EQ(h.flavor, AuthFlavor::kSys);
  EXPECT_EQ(h.sys.uid, 1000u);
  EXPECT_EQ(h.sys.gid, 100u);
  ASSERT_EQ(h.sys.ngroups, 3);
  EXPECT_EQ(h.sys.groups[2], 30u);
  EXPECT_EQ(in.remaining(), 0u);
}

TEST(RpcCall, DecodesAuthNone) {
  AUTH* auth = authnone_create();
  auto bytes = tirpc_call(2, auth);
  xdr::XdrDecoder in(bytes);
  CallHeader h;
  ASSERT_EQ(decode_call(in, h), HeaderResult::kOk);
  EXPECT_EQ(h.flavor, AuthFlavor::kNone);
}

TEST(RpcCall, ReportsRpcVersionMismatch) {
  std::vector<std::uint8_t> bytes(64);
  xdr::XdrEncoder e(bytes);
  for (std::uint32_t v : {0x1234u, 0u, 3u /* rpcvers */, 100003u, 3u, 0u, 0u, 0u, 0u, 0u}) e.u32(v);
  xdr::XdrDecoder in(e.written());
  CallHeader h;
  EXPECT_EQ(decode_call(in, h), HeaderResult::kRpcMismatch);
  EXPECT_EQ(h.xid, 0x1234u);
}

TEST(RpcCall, RejectsUnknownFlavorAsTooWeak) {
  std::vector<std::uint8_t> buf(64);
  xdr::XdrEncoder e(buf);
  for (std::uint32_t v : {7u, 0u, 2u, 100003u, 3u, 0u, 6u /* AUTH_GSS */, 0u, 0u, 0u}) e.u32(v);
  xdr::XdrDecoder in(e.written());
  CallHeader h;
  EXPECT_EQ(decode_call(in, h), HeaderResult::kTooWeak);
}

TEST(RpcCall, RejectsAuthSysWithTooManyGroups) {
  std::vector<std::uint8_t> cred(256);
  xdr::XdrEncoder c(cred);
  c.u32(0);
  c.string("h");
  c.u32(0);
  c.u32(0);
  c.u32(17);
  for (int i = 0; i < 17; ++i) c.u32(i);
  std::vector<std::uint8_t> buf(512);
  xdr::XdrEncoder e(buf);
  for (std::uint32_t v : {7u, 0u, 2u, 100003u, 3u, 0u, 1u}) e.u32(v);
  e.opaque(c.written());
  e.u32(0);
  e.u32(0);
  xdr::XdrDecoder in(e.written());
  CallHeader h;
  EXPECT_EQ(decode_call(in, h), HeaderResult::kBadCred);
}

TEST(RpcCall, TruncatedHeaderIsGarbage) {
  const std::uint8_t bytes[] = {0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 1};
  xdr::XdrDecoder in(bytes);
  CallHeader h;
  EXPECT_EQ(decode_call(in, h), HeaderResult::kGarbage);
}

TEST(RpcCall, ReplyMessageIsNotACall) {
  const std::uint8_t bytes[] = {0, 0, 0, 1, 0, 0, 0, 1};
  xdr::XdrDecoder in(bytes);
  CallHeader h;
  EXPECT_EQ(decode_call(in, h), HeaderResult::kNotCall);
}

// Decodes our reply bytes with libtirpc's xdr_replymsg.
rpc_msg tirpc_reply(const std::vector<std::uint8_t>& bytes, std::size_t len) {
  XDR x;
  xdrmem_create(&x, reinterpret_cast<char*>(const_cast<std::uint8_t*>(bytes.data())), len, XDR_DECODE);
  rpc_msg msg{};
  msg.acpted_rply.ar_results.proc = reinterpret_cast<xdrproc_t>(reinterpret_cast<void (*)()>(xdr_void));
  msg.acpted_rply.ar_results.where = nullptr;
  EXPECT_TRUE(xdr_replymsg(&x, &msg));
  xdr_destroy(&x);
  return msg;
}

TEST(RpcReply, ProgMismatchCarriesTheVersionRange) {
  std::vector<std::uint8_t> buf(64);
  xdr::XdrEncoder e(buf);
  encode_accepted(e, 99, AcceptStat::kProgMismatch, 3, 4);
  rpc_msg m = tirpc_reply(buf, e.position());
  EXPECT_EQ(m.rm_xid, 99u);
  EXPECT_EQ(m.rm_reply.rp_stat, MSG_ACCEPTED);
  EXPECT_EQ(m.acpted_rply.ar_stat, PROG_MISMATCH);
  EXPECT_EQ(m.acpted_rply.ar_vers.low, 3u);
  EXPECT_EQ(m.acpted_rply.ar_vers.high, 4u);
}

TEST(RpcReply, AcceptedErrorsAreReadableByLibtirpc) {
  for (auto stat : {AcceptStat::kProgUnavail, AcceptStat::kProcUnavail, AcceptStat::kGarbageArgs,
                    AcceptStat::kSystemErr}) {
    std::vector<std::uint8_t> buf(64);
    xdr::XdrEncoder e(buf);
    encode_accepted(e, 5, stat);
    rpc_msg m = tirpc_reply(buf, e.position());
    EXPECT_EQ(m.acpted_rply.ar_stat, static_cast<accept_stat>(stat));
  }
}

TEST(RpcReply, DeniedRepliesAreReadableByLibtirpc) {
  std::vector<std::uint8_t> buf(64);
  xdr::XdrEncoder e(buf);
  encode_rpc_mismatch(e, 8);
  rpc_msg m = tirpc_reply(buf, e.position());
  EXPECT_EQ(m.rm_reply.rp_stat, MSG_DENIED);
  EXPECT_EQ(m.rjcted_rply.rj_stat, RPC_MISMATCH);
  EXPECT_EQ(m.rjcted_rply.rj_vers.low, 2u);

  xdr::XdrEncoder e2(buf);
  encode_auth_error(e2, 9, AuthStat::kTooWeak);
  m = tirpc_reply(buf, e2.position());
  EXPECT_EQ(m.rjcted_rply.rj_stat, AUTH_ERROR);
  EXPECT_EQ(m.rjcted_rply.rj_why, AUTH_TOOWEAK);
}

}  // namespace
}  // namespace nasd::rpc
