// The NFSv4.1 callback codec (RFC 8881 §20) and the RPC call / reply
// headers nasd uses as a client (RFC 5531 §9).
#include "protocol/nfs4/nfs4_cb.h"

#include <gtest/gtest.h>

#include <vector>

#include "protocol/rpc/rpc.h"

namespace nasd::nfs4 {
namespace {

SessionId test_session() {
  SessionId s{};
  for (std::size_t i = 0; i < s.size(); ++i) s[i] = static_cast<std::uint8_t>(i + 1);
  return s;
}

TEST(Nfs4CbCodec, EncodesCbCompoundWithOneCbSequence) {
  std::vector<std::uint8_t> buf(256);
  xdr::XdrEncoder out(buf);
  CbSequenceArgs a;
  a.sessionid = test_session();
  a.sequenceid = 7;
  a.slotid = 0;
  a.highest_slotid = 0;
  encode_cb_sequence_compound(out, 2, 0, a);
  ASSERT_TRUE(out.ok());
  xdr::XdrDecoder in(out.written());
  EXPECT_EQ(in.opaque(64).size(), 0u);  // tag
  EXPECT_EQ(in.u32(), 2u);              // minorversion
  EXPECT_EQ(in.u32(), 0u);              // callback_ident
  EXPECT_EQ(in.u32(), 1u);              // one op
  EXPECT_EQ(in.u32(), kOpCbSequence);
  auto sid = in.fixed_opaque(16);
  EXPECT_TRUE(std::equal(sid.begin(), sid.end(), a.sessionid.begin()));
  EXPECT_EQ(in.u32(), 7u);
  EXPECT_EQ(in.u32(), 0u);
  EXPECT_EQ(in.u32(), 0u);
  EXPECT_FALSE(in.boolean());
  EXPECT_EQ(in.u32(), 0u);  // no referring call lists
  EXPECT_TRUE(in.ok());
  EXPECT_EQ(in.remaining(), 0u);
}

std::vector<std::uint8_t> reply_body(std::uint32_t status, std::uint32_t nres, std::uint32_t op,
                                     std::uint32_t op_status, std::uint32_t seqid) {
  std::vector<std::uint8_t> buf(256);
  xdr::XdrEncoder out(buf);
  out.u32(status);
  out.string("tag");
  out.u32(nres);
  if (nres) {
    out.u32(op);
    out.u32(op_status);
    if (op_status == 0) {
      out.fixed_opaque(test_session());
      for (std::uint32_t v : {seqid, 0u, 3u, 3u}) out.u32(v);
    }
  }
  buf.resize(out.position());
  return buf;
}

TEST(Nfs4CbCodec, DecodesCbSequenceReply) {
  auto body = reply_body(0, 1, kOpCbSequence, 0, 9);
  xdr::XdrDecoder in(body);
  CbSequenceReply r;
  ASSERT_TRUE(decode_cb_sequence_reply(in, r));
  EXPECT_EQ(r.compound_status, Nfsstat4::kOk);
  EXPECT_EQ(r.status, Nfsstat4::kOk);
  EXPECT_EQ(r.sessionid, test_session());
  EXPECT_EQ(r.sequenceid, 9u);
  EXPECT_EQ(r.highest_slotid, 3u);
}

TEST(Nfs4CbCodec, DecodesCbSequenceError) {
  auto body = reply_body(10052, 1, kOpCbSequence, 10052, 0);  // BADSESSION
  xdr::XdrDecoder in(body);
  CbSequenceReply r;
  ASSERT_TRUE(decode_cb_sequence_reply(in, r));
  EXPECT_EQ(static_cast<std::uint32_t>(r.status), 10052u);
}

TEST(Nfs4CbCodec, ReplyWithoutResultsCarriesCompoundStatus) {
  auto body = reply_body(10021, 0, 0, 0, 0);  // MINOR_VERS_MISMATCH
  xdr::XdrDecoder in(body);
  CbSequenceReply r;
  ASSERT_TRUE(decode_cb_sequence_reply(in, r));
  EXPECT_EQ(static_cast<std::uint32_t>(r.status), 10021u);
}

TEST(Nfs4CbCodec, RejectsOtherFirstOperationAndTruncation) {
  auto other = reply_body(0, 1, kOpCbIllegal, 10044, 0);
  xdr::XdrDecoder in(other);
  CbSequenceReply r;
  EXPECT_FALSE(decode_cb_sequence_reply(in, r));
  auto body = reply_body(0, 1, kOpCbSequence, 0, 1);
  body.resize(body.size() - 8);
  xdr::XdrDecoder cut(body);
  EXPECT_FALSE(decode_cb_sequence_reply(cut, r));
}

TEST(RpcClientHeaders, CallHeaderWithAuthSysRoundTripsThroughTheServerDecoder) {
  std::vector<std::uint8_t> buf(256);
  xdr::XdrEncoder out(buf);
  const std::uint32_t gids[] = {5, 6};
  rpc::CallCredential cred{rpc::AuthFlavor::kSys, 11, 1000, 100, "client", gids};
  rpc::encode_call(out, 42, 0x40000000, 1, 1, cred);
  ASSERT_TRUE(out.ok());
  xdr::XdrDecoder in(out.written());
  rpc::CallHeader h;
  ASSERT_EQ(rpc::decode_call(in, h), rpc::HeaderResult::kOk);
  EXPECT_EQ(h.xid, 42u);
  EXPECT_EQ(h.prog, 0x40000000u);
  EXPECT_EQ(h.proc, 1u);
  EXPECT_EQ(h.flavor, rpc::AuthFlavor::kSys);
  EXPECT_EQ(h.sys.uid, 1000u);
  ASSERT_EQ(h.sys.ngroups, 2);
  EXPECT_EQ(h.sys.groups[1], 6u);
  EXPECT_EQ(in.remaining(), 0u);
}

TEST(RpcClientHeaders, DecodesAcceptedDeniedAndCallMessages) {
  std::vector<std::uint8_t> buf(64);
  xdr::XdrEncoder out(buf);
  rpc::encode_accepted(out, 9, rpc::AcceptStat::kProgUnavail);
  xdr::XdrDecoder in(out.written());
  rpc::ReplyHeader h;
  ASSERT_EQ(rpc::decode_reply(in, h), rpc::ReplyResult::kOk);
  EXPECT_EQ(h.xid, 9u);
  EXPECT_TRUE(h.accepted);
  EXPECT_EQ(h.stat, rpc::AcceptStat::kProgUnavail);

  xdr::XdrEncoder denied(buf);
  rpc::encode_auth_error(denied, 10, rpc::AuthStat::kTooWeak);
  xdr::XdrDecoder din(denied.written());
  ASSERT_EQ(rpc::decode_reply(din, h), rpc::ReplyResult::kOk);
  EXPECT_FALSE(h.accepted);

  xdr::XdrEncoder call(buf);
  rpc::encode_call(call, 11, 1, 1, 0, {});
  xdr::XdrDecoder cin(call.written());
  EXPECT_EQ(rpc::decode_reply(cin, h), rpc::ReplyResult::kNotReply);

  const std::uint8_t short_rec[] = {0, 0, 0, 1};
  xdr::XdrDecoder sin(short_rec);
  EXPECT_EQ(rpc::decode_reply(sin, h), rpc::ReplyResult::kGarbage);
}

}  // namespace
}  // namespace nasd::nfs4
