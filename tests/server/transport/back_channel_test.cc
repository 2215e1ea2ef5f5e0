// RpcBackChannel (calls to the client over its own connection) and
// Nfs4Callbacks (the NFSv4.1 back-channel probe and SEQUENCE's
// CB_PATH_DOWN flags), with a recording transport instead of a socket.
#include "server/transport/back_channel.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <prometheus/registry.h>

#include "protocol/nfs4/nfs4_cb.h"
#include "server/nfs4/callback.h"

namespace nasd::server {
namespace {

using Outcome = RpcBackChannel::Outcome;

/// Records every CALL the channel sends.
struct Wire {
  std::vector<std::vector<std::uint8_t>> sent;
  bool refuse = false;
  RpcBackChannel::Send sender() {
    return [this](std::span<const std::uint8_t> r) {
      if (refuse) return false;
      sent.emplace_back(r.begin(), r.end());
      return true;
    };
  }
  std::uint32_t xid(std::size_t i) const {
    xdr::XdrDecoder in(sent.at(i));
    return in.u32();
  }
  /// The procedure and the arguments of call `i`.
  std::pair<std::uint32_t, std::vector<std::uint8_t>> call(std::size_t i) const {
    xdr::XdrDecoder in(sent.at(i));
    rpc::CallHeader h;
    EXPECT_EQ(rpc::decode_call(in, h), rpc::HeaderResult::kOk);
    auto rest = in.rest();
    return {h.proc, {rest.begin(), rest.end()}};
  }
};

/// An accepted reply record for `xid` with `stat` and `body`.
std::vector<std::uint8_t> reply(std::uint32_t xid, rpc::AcceptStat stat,
                                std::span<const std::uint8_t> body = {}) {
  std::vector<std::uint8_t> buf(64 + body.size());
  xdr::XdrEncoder out(buf);
  rpc::encode_accepted(out, xid, stat);
  out.fixed_opaque(body);
  buf.resize(out.position());
  return buf;
}

struct Seen {
  std::optional<Outcome> outcome;
  std::vector<std::uint8_t> result;
  int calls = 0;
  RpcBackChannel::Done done() {
    return [this](Outcome o, std::span<const std::uint8_t> r) {
      outcome = o;
      result.assign(r.begin(), r.end());
      ++calls;
    };
  }
};

class RpcBackChannelTest : public ::testing::Test {
 protected:
  boost::asio::io_context io_;  // never run: deadlines do not fire here
  Wire wire_;
  std::shared_ptr<RpcBackChannel> chan_ =
      std::make_shared<RpcBackChannel>(io_.get_executor(), wire_.sender(), 2);
  bool call(Seen& s) {
    return chan_->call(0x40000000, 1, 0, {}, {}, std::chrono::seconds(30), s.done());
  }
};

TEST_F(RpcBackChannelTest, ReplyWithKnownXidCompletesTheCall) {
  Seen s;
  ASSERT_TRUE(call(s));
  ASSERT_EQ(wire_.sent.size(), 1u);
  const std::uint8_t body[] = {0, 0, 0, 5};
  EXPECT_TRUE(chan_->on_reply(reply(wire_.xid(0), rpc::AcceptStat::kSuccess, body)));
  ASSERT_EQ(s.calls, 1);
  EXPECT_EQ(s.outcome, Outcome::kOk);
  EXPECT_EQ(s.result, std::vector<std::uint8_t>(std::begin(body), std::end(body)));
  EXPECT_EQ(chan_->pending(), 0u);
  // A second reply with the same xid matches nothing.
  EXPECT_FALSE(chan_->on_reply(reply(wire_.xid(0), rpc::AcceptStat::kSuccess)));
  EXPECT_EQ(s.calls, 1);
}

TEST_F(RpcBackChannelTest, UnknownXidIsDroppedAndTheCallStaysPending) {
  Seen s;
  ASSERT_TRUE(call(s));
  EXPECT_FALSE(chan_->on_reply(reply(wire_.xid(0) + 1, rpc::AcceptStat::kSuccess)));
  EXPECT_EQ(s.calls, 0);
  EXPECT_EQ(chan_->pending(), 1u);
}

TEST_F(RpcBackChannelTest, RpcErrorReplyFailsTheCall) {
  Seen s;
  ASSERT_TRUE(call(s));
  EXPECT_TRUE(chan_->on_reply(reply(wire_.xid(0), rpc::AcceptStat::kProgUnavail)));
  EXPECT_EQ(s.outcome, Outcome::kError);
}

TEST_F(RpcBackChannelTest, CloseFailsEveryPendingCallAndRefusesNewOnes) {
  Seen a, b;
  ASSERT_TRUE(call(a));
  ASSERT_TRUE(call(b));
  EXPECT_NE(wire_.xid(0), wire_.xid(1));
  chan_->close();
  EXPECT_EQ(a.outcome, Outcome::kError);
  EXPECT_EQ(b.outcome, Outcome::kError);
  EXPECT_TRUE(chan_->closed());
  Seen c;
  EXPECT_FALSE(call(c));
  EXPECT_EQ(c.calls, 0);
}

TEST_F(RpcBackChannelTest, RefusesBeyondMaxPendingAndWhenSendFails) {
  Seen a, b, c;
  ASSERT_TRUE(call(a));
  ASSERT_TRUE(call(b));
  EXPECT_FALSE(call(c));  // max_pending 2
  chan_->on_reply(reply(wire_.xid(0), rpc::AcceptStat::kSuccess));
  wire_.refuse = true;
  EXPECT_FALSE(call(c));
  EXPECT_EQ(c.calls, 0);
  EXPECT_EQ(chan_->pending(), 1u);
}

// ------------------------------------------------------------ Nfs4Callbacks

class Nfs4CallbacksTest : public RpcBackChannelTest {
 protected:
  Nfs4CallbacksTest() { sid_.fill(7); }
  /// Answers the last sent call SUCCESS with `body`.
  void answer(std::span<const std::uint8_t> body = {}) {
    chan_->on_reply(reply(wire_.xid(wire_.sent.size() - 1), rpc::AcceptStat::kSuccess, body));
  }
  /// A CB_COMPOUND reply with CB_SEQUENCE OK for `seqid`, or failed with `status`.
  std::vector<std::uint8_t> cb_sequence_ok(std::uint32_t seqid, std::uint32_t status = 0) {
    std::vector<std::uint8_t> b(128);
    xdr::XdrEncoder out(b);
    out.u32(status);
    out.string("");
    out.u32(1);
    out.u32(nfs4::kOpCbSequence);
    out.u32(status);
    if (status != 0) {
      b.resize(out.position());
      return b;
    }
    out.fixed_opaque(sid_);
    for (std::uint32_t v : {seqid, 0u, 0u, 0u}) out.u32(v);
    b.resize(out.position());
    return b;
  }
  /// csa_sequenceid of the CB_COMPOUND sent as call `i`.
  std::uint32_t cb_seqid(std::size_t i) const {
    auto args = wire_.call(i).second;
    xdr::XdrDecoder in(args);
    in.opaque(64);                           // tag
    for (int k = 0; k < 4; ++k) in.u32();    // minor, ident, count, op
    in.fixed_opaque(16);
    return in.u32();
  }
  std::uint32_t created(std::shared_ptr<RpcBackChannel> conn) {
    return cb_.session_created(sid_, 1, 1, nfs4::kCreateSessionConnBackChan, 0x40000000,
                               nfs4::CallbackSec{}, std::move(conn), {});
  }
  double count(const std::string& proc, const std::string& result) {
    for (const auto& f : registry_.Collect()) {
      for (const auto& m : f.metric) {
        if (m.label.size() == 2 && m.label[0].value == proc && m.label[1].value == result) {
          return m.counter.value;
        }
      }
    }
    return -1;
  }

  prometheus::Registry registry_;
  Nfs4Callbacks cb_{&registry_, nullptr, {}};
  nfs4::SessionId sid_{};
  static constexpr std::uint32_t kDown =
      nfs4::kSeq4StatusCbPathDown | nfs4::kSeq4StatusCbPathDownSession;
};

TEST_F(Nfs4CallbacksTest, ProbeSendsCbNullThenCbSequenceAndPathComesUp) {
  EXPECT_EQ(created(chan_), nfs4::kCreateSessionConnBackChan);
  EXPECT_TRUE(wire_.sent.empty());  // nothing before the client knows the session
  EXPECT_EQ(cb_.sequence_flags(sid_), 0u);
  ASSERT_EQ(wire_.sent.size(), 1u);
  EXPECT_EQ(wire_.call(0).first, nfs4::kCbProcNull);
  EXPECT_EQ(cb_.sequence_flags(sid_), 0u);  // probing: one probe at a time
  EXPECT_EQ(wire_.sent.size(), 1u);
  answer();
  ASSERT_EQ(wire_.sent.size(), 2u);
  auto [proc, args] = wire_.call(1);
  EXPECT_EQ(proc, nfs4::kCbProcCompound);
  xdr::XdrDecoder in(args);
  in.opaque(64);
  EXPECT_EQ(in.u32(), 1u);  // the session's minor version
  EXPECT_EQ(cb_seqid(1), 1u);  // first csa_sequenceid of the slot (§20.9.3)
  answer(cb_sequence_ok(1));
  EXPECT_EQ(cb_.path(sid_), Nfs4Callbacks::Path::kUp);
  EXPECT_EQ(cb_.sequence_flags(sid_), 0u);
  EXPECT_EQ(count("CB_NULL", "ok"), 1);
  EXPECT_EQ(count("CB_SEQUENCE", "ok"), 1);
}

TEST_F(Nfs4CallbacksTest, SlotSequenceIdAdvancesOnlyAfterASuccessfulCbSequence) {
  created(chan_);
  cb_.sequence_flags(sid_);
  answer();
  answer(cb_sequence_ok(1));
  // Rebinding (same connection) probes again with the next sequence id.
  EXPECT_EQ(cb_.bind_conn(sid_, nfs4::kCdfc4BackOrBoth, chan_), nfs4::kCdfs4Both);
  cb_.sequence_flags(sid_);
  answer();
  EXPECT_EQ(cb_seqid(3), 2u);
  // A CB_SEQUENCE error does not consume the slot: the retry reuses 2.
  answer(cb_sequence_ok(2, 10052));  // NFS4ERR_BADSESSION
  EXPECT_EQ(cb_.sequence_flags(sid_), kDown);
  EXPECT_EQ(count("CB_SEQUENCE", "error"), 1);
  cb_.bind_conn(sid_, nfs4::kCdfc4Back, chan_);
  cb_.sequence_flags(sid_);
  answer();
  EXPECT_EQ(cb_seqid(5), 2u);
}

TEST_F(Nfs4CallbacksTest, FailedCbNullReportsPathDown) {
  created(chan_);
  cb_.sequence_flags(sid_);
  chan_->on_reply(reply(wire_.xid(0), rpc::AcceptStat::kProgUnavail));
  EXPECT_EQ(cb_.path(sid_), Nfs4Callbacks::Path::kDown);
  EXPECT_EQ(cb_.sequence_flags(sid_), kDown);
  EXPECT_EQ(count("CB_NULL", "error"), 1);
}

TEST_F(Nfs4CallbacksTest, ClosedConnectionIsPathDownAtOnceAndFailsThePendingProbe) {
  created(chan_);
  cb_.sequence_flags(sid_);
  chan_->close();
  EXPECT_EQ(cb_.sequence_flags(sid_), kDown);
  EXPECT_EQ(count("CB_NULL", "error"), 1);
}

TEST_F(Nfs4CallbacksTest, NoBackChannelRequestedMeansNoFlagAndNoProbe) {
  EXPECT_EQ(cb_.session_created(sid_, 1, 1, 0, 0x40000000, nfs4::CallbackSec{}, chan_, {}), 0u);
  EXPECT_EQ(cb_.sequence_flags(sid_), 0u);
  EXPECT_TRUE(wire_.sent.empty());
  EXPECT_EQ(cb_.path(sid_), Nfs4Callbacks::Path::kNone);
}

TEST_F(Nfs4CallbacksTest, AskedWithoutAConnectionIsNotGranted) {
  EXPECT_EQ(created(nullptr), 0u);
  EXPECT_EQ(cb_.sequence_flags(sid_), 0u);
  EXPECT_EQ(cb_.bind_conn(sid_, nfs4::kCdfc4ForeOrBoth, nullptr), nfs4::kCdfs4Fore);
}

TEST_F(Nfs4CallbacksTest, ClientWideFlagOnlyWhenNoSessionOfTheClientIsUp) {
  created(chan_);
  cb_.sequence_flags(sid_);
  answer();
  answer(cb_sequence_ok(1));
  nfs4::SessionId other{};
  other.fill(9);
  Wire wire2;
  auto chan2 = std::make_shared<RpcBackChannel>(io_.get_executor(), wire2.sender());
  cb_.session_created(other, 1, 1, nfs4::kCreateSessionConnBackChan, 0x40000000,
                      nfs4::CallbackSec{}, chan2, {});
  cb_.sequence_flags(other);
  chan2->on_reply(reply(wire2.xid(0), rpc::AcceptStat::kProgUnavail));
  // `other` is down, but the client's first session still has a path.
  EXPECT_EQ(cb_.sequence_flags(other), nfs4::kSeq4StatusCbPathDownSession);
  chan_->close();
  EXPECT_EQ(cb_.sequence_flags(other), kDown);
}

TEST_F(Nfs4CallbacksTest, DestroyedSessionIsForgotten) {
  created(chan_);
  cb_.session_destroyed(sid_);
  EXPECT_EQ(cb_.sequence_flags(sid_), 0u);
  EXPECT_EQ(cb_.path(sid_), Nfs4Callbacks::Path::kNone);
}

TEST(Nfs4CallbacksUaddr, ParsesTcpAndTcp6UniversalAddresses) {
  boost::asio::ip::address host;
  std::uint16_t port = 0;
  ASSERT_TRUE(Nfs4Callbacks::parse_uaddr("tcp", "10.0.2.15.3.232", &host, &port));
  EXPECT_EQ(host.to_string(), "10.0.2.15");
  EXPECT_EQ(port, 1000);
  ASSERT_TRUE(Nfs4Callbacks::parse_uaddr("tcp6", "fe80::1.0.80", &host, &port));
  EXPECT_EQ(port, 80);
  EXPECT_FALSE(Nfs4Callbacks::parse_uaddr("udp", "10.0.2.15.3.232", &host, &port));
  EXPECT_FALSE(Nfs4Callbacks::parse_uaddr("tcp", "10.0.2.15.3", &host, &port));
  EXPECT_FALSE(Nfs4Callbacks::parse_uaddr("tcp", "10.0.2.15.3.256", &host, &port));
  EXPECT_FALSE(Nfs4Callbacks::parse_uaddr("tcp6", "10.0.2.15.3.1", &host, &port));
  EXPECT_FALSE(Nfs4Callbacks::parse_uaddr("tcp", "....", &host, &port));
}

}  // namespace
}  // namespace nasd::server
