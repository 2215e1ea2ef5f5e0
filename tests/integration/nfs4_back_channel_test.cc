// The NFSv4.1 back channel against the real process (RFC 8881 §2.10.3.1,
// §18.33, §18.34, §18.36, §20): a raw client creates a session with
// CREATE_SESSION4_FLAG_CONN_BACK_CHAN, receives the server's CB_NULL and
// CB_COMPOUND(CB_SEQUENCE) on the same socket, answers them (or not) and
// checks SEQUENCE's sr_status_flags.  Also the NFSv4.0 CB_NULL probe of the
// SETCLIENTID callback address (RFC 7530 §16.33).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <deque>
#include <thread>

#include "tests/integration/integration_fixture.h"
#include "tests/integration/nfs4_raw.h"

namespace nasd::integration {
namespace {

constexpr std::uint32_t OP_SETCLIENTID = 35, OP_SETCLIENTID_CONFIRM = 36, OP_BACKCHANNEL_CTL = 40,
                        OP_BIND_CONN_TO_SESSION = 41, OP_EXCHANGE_ID = 42,
                        OP_CREATE_SESSION = 43, OP_SEQUENCE = 53;
constexpr std::uint32_t kCbProgram = 0x40000000, kConnBackChan = 0x2;
constexpr std::uint32_t kPathDown = 0x1, kPathDownSession = 0x200;

/// A raw 4.1 client whose socket also carries the server's callbacks.
class BackChannelClient {
 public:
  explicit BackChannelClient(std::uint16_t port) : conn_(std::make_unique<RawConnection>(port)) {}

  RawConnection& conn() { return *conn_; }
  void reconnect(std::uint16_t port) {
    conn_ = std::make_unique<RawConnection>(port);
    calls_.clear();
  }

  /// Sends COMPOUND(minor 1) and returns its reply body at the first result;
  /// callbacks that arrive meanwhile are queued.
  Result compound(const std::string& ops, std::uint32_t nops) {
    const std::uint32_t xid = ++xid_;
    std::string rec = nfs4_call_header(xid);
    put_opaque(rec, "t");
    put_u32(rec, 1);
    put_u32(rec, nops);
    rec += ops;
    EXPECT_TRUE(conn_->send_record(rec));
    Result res;
    for (;;) {
      auto r = conn_->recv_record();
      if (!r) {
        ADD_FAILURE() << "no reply";
        return res;
      }
      if (get_u32(*r, 4) == 0) {  // a CALL from the server
        calls_.push_back(*r);
        continue;
      }
      EXPECT_EQ(get_u32(*r, 0), xid);
      EXPECT_EQ(get_u32(*r, 20), 0u) << "accept_stat";
      res.raw = r->substr(24);
      res.status = res.u32();
      res.opaque();
      res.numres = res.u32();
      return res;
    }
  }

  /// The next callback CALL from the server (queued or received within 5 s).
  std::optional<std::string> next_call() {
    if (!calls_.empty()) {
      auto c = calls_.front();
      calls_.pop_front();
      return c;
    }
    auto r = conn_->recv_record();
    if (!r) return std::nullopt;
    EXPECT_EQ(get_u32(*r, 4), 0u) << "expected a CALL";
    return r;
  }

  /// EXCHANGE_ID + CREATE_SESSION with `flags`; returns the granted flags.
  std::uint32_t create_session(std::uint32_t flags, const std::string& owner) {
    std::string ops;
    put_u32(ops, OP_EXCHANGE_ID);
    ops.append(8, '\x22');
    put_opaque(ops, owner);
    put_u32(ops, 0);
    put_u32(ops, 0);
    put_u32(ops, 0);
    Result e = compound(ops, 1);
    EXPECT_EQ(e.next(OP_EXCHANGE_ID), 0u);
    const std::uint64_t clientid = e.u64();
    const std::uint32_t seq = e.u32();
    ops.clear();
    put_u32(ops, OP_CREATE_SESSION);
    put_u64(ops, clientid);
    put_u32(ops, seq);
    put_u32(ops, flags);
    for (int ch = 0; ch < 2; ++ch) {
      for (std::uint32_t v : {0u, 1u << 20, 1u << 20, 4096u, 16u, 8u, 0u}) put_u32(ops, v);
    }
    put_u32(ops, kCbProgram);
    put_u32(ops, 1);   // one callback_sec_parms4: AUTH_SYS uid 0
    put_u32(ops, 1);
    put_u32(ops, 0);
    put_opaque(ops, "client");
    put_u32(ops, 0);
    put_u32(ops, 0);
    put_u32(ops, 0);
    Result c = compound(ops, 1);
    EXPECT_EQ(c.next(OP_CREATE_SESSION), 0u);
    sid_ = c.fixed(16);
    c.u32();          // csr_sequence
    return c.u32();   // csr_flags
  }

  /// SEQUENCE alone; returns sr_status_flags.
  std::uint32_t sequence() {
    std::string ops;
    put_u32(ops, OP_SEQUENCE);
    ops += sid_;
    put_u32(ops, ++slot_seq_);
    put_u32(ops, 0);
    put_u32(ops, 0);
    put_u32(ops, 0);
    Result r = compound(ops, 1);
    EXPECT_EQ(r.next(OP_SEQUENCE), 0u);
    r.fixed(16);
    for (int i = 0; i < 4; ++i) r.u32();
    return r.u32();
  }

  /// Answers `call` with an accepted reply: `accept_stat` and `body`.
  void reply(const std::string& call, std::uint32_t accept_stat, const std::string& body = {}) {
    std::string rec;
    put_u32(rec, get_u32(call, 0));
    put_u32(rec, 1);  // REPLY
    put_u32(rec, 0);  // MSG_ACCEPTED
    put_u32(rec, 0);  // AUTH_NONE verifier
    put_u32(rec, 0);
    put_u32(rec, accept_stat);
    rec += body;
    EXPECT_TRUE(conn_->send_record(rec));
  }

  /// Expects CB_NULL, then CB_COMPOUND(CB_SEQUENCE slot 0, `seqid`) for the
  /// session, and answers both successfully.
  void answer_probe(std::uint32_t seqid) {
    auto null_call = next_call();
    ASSERT_TRUE(null_call);
    EXPECT_EQ(get_u32(*null_call, 12), kCbProgram);
    EXPECT_EQ(get_u32(*null_call, 16), 1u);  // version
    EXPECT_EQ(get_u32(*null_call, 20), 0u);  // CB_NULL
    EXPECT_EQ(get_u32(*null_call, 24), 1u);  // AUTH_SYS, as asked
    reply(*null_call, 0);
    auto cb = next_call();
    ASSERT_TRUE(cb);
    EXPECT_EQ(get_u32(*cb, 20), 1u);  // CB_COMPOUND
    Result a;  // the arguments after the AUTH_SYS credential and verifier
    a.raw = *cb;
    a.pos = 28;
    a.opaque();  // credential body
    a.u32();     // verifier
    a.opaque();
    a.opaque();  // tag
    EXPECT_EQ(a.u32(), 1u);   // minorversion
    a.u32();                  // callback_ident
    EXPECT_EQ(a.u32(), 1u);   // one operation
    EXPECT_EQ(a.u32(), 11u);  // CB_SEQUENCE
    EXPECT_EQ(a.fixed(16), sid_);
    EXPECT_EQ(a.u32(), seqid);
    EXPECT_EQ(a.u32(), 0u);   // slot
    std::string body;
    put_u32(body, 0);   // NFS4_OK
    put_opaque(body, "");
    put_u32(body, 1);
    put_u32(body, 11);
    put_u32(body, 0);
    body += sid_;
    for (std::uint32_t v : {seqid, 0u, 0u, 0u}) put_u32(body, v);
    reply(*cb, 0, body);
  }

  /// BIND_CONN_TO_SESSION of this connection in `dir`; returns the granted one.
  std::uint32_t bind_conn(std::uint32_t dir) {
    std::string ops;
    put_u32(ops, OP_BIND_CONN_TO_SESSION);
    ops += sid_;
    put_u32(ops, dir);
    put_u32(ops, 0);
    Result r = compound(ops, 1);
    EXPECT_EQ(r.next(OP_BIND_CONN_TO_SESSION), 0u);
    EXPECT_EQ(r.fixed(16), sid_);
    return r.u32();
  }

  const std::string& sid() const { return sid_; }
  std::uint32_t next_slot_seq() { return ++slot_seq_; }

 private:
  std::unique_ptr<RawConnection> conn_;
  std::deque<std::string> calls_;
  std::uint32_t xid_ = 0;
  std::uint32_t slot_seq_ = 0;
  std::string sid_;
};

class Nfs4BackChannelTest : public NasdTest {
 protected:
  /// A session whose back channel on `c`'s connection is probed and up.
  static void bring_up(BackChannelClient& c, const std::string& owner) {
    EXPECT_EQ(c.create_session(kConnBackChan, owner) & kConnBackChan, kConnBackChan);
    EXPECT_EQ(c.sequence(), 0u);  // probe started, not known down
    c.answer_probe(1);
    EXPECT_EQ(c.sequence(), 0u);
  }
  double callbacks(const char* proc, const char* result) {
    return nasd_->metric(std::string("nasd_nfs4_callbacks_total{procedure=\"") + proc +
                         "\",result=\"" + result + "\"}")
        .value_or(-1);
  }
};

TEST_F(Nfs4BackChannelTest, AnsweredProbeGivesNoPathDownFlag) {
  BackChannelClient c(nasd_->nfs_port());
  bring_up(c, "bc answered");
  EXPECT_EQ(callbacks("CB_NULL", "ok"), 1);
  EXPECT_EQ(callbacks("CB_SEQUENCE", "ok"), 1);
  // A REPLY with an xid nobody waits for is dropped, not taken as a call.
  c.reply(std::string(4, '\x7f'), 0);
  EXPECT_EQ(c.sequence(), 0u);
}

TEST_F(Nfs4BackChannelTest, RejectedProbeReportsPathDown) {
  BackChannelClient c(nasd_->nfs_port());
  c.create_session(kConnBackChan, "bc rejected");
  EXPECT_EQ(c.sequence(), 0u);
  auto call = c.next_call();
  ASSERT_TRUE(call);
  c.reply(*call, 1);  // PROG_UNAVAIL
  EXPECT_EQ(c.sequence(), kPathDown | kPathDownSession);
  EXPECT_EQ(callbacks("CB_NULL", "error"), 1);
}

TEST_F(Nfs4BackChannelTest, UnansweredProbeTimesOutAndReportsPathDown) {
  BackChannelClient c(nasd_->nfs_port());
  c.create_session(kConnBackChan, "bc silent");
  EXPECT_EQ(c.sequence(), 0u);
  ASSERT_TRUE(c.next_call());  // CB_NULL, never answered
  std::this_thread::sleep_for(std::chrono::milliseconds(3500));  // the 3 s callback timeout
  EXPECT_EQ(c.sequence(), kPathDown | kPathDownSession);
  EXPECT_EQ(callbacks("CB_NULL", "timeout"), 1);
}

TEST_F(Nfs4BackChannelTest, NoBackChannelAskedNoFlagNoCallback) {
  BackChannelClient c(nasd_->nfs_port());
  EXPECT_EQ(c.create_session(0, "bc none") & kConnBackChan, 0u);
  EXPECT_EQ(c.sequence(), 0u);
  EXPECT_FALSE(c.conn().recv_record(std::chrono::milliseconds(300)));
  EXPECT_EQ(callbacks("CB_NULL", "ok"), 0);
}

TEST_F(Nfs4BackChannelTest, ClosedConnectionDropsBindingUntilRebound) {
  BackChannelClient c(nasd_->nfs_port());
  bring_up(c, "bc rebind");
  c.reconnect(nasd_->nfs_port());  // the back channel's connection is gone
  // The session's slot sequence goes on over the new connection.
  std::uint32_t flags = 0;
  for (int i = 0; i < 50 && flags == 0; ++i) {  // the server sees the close asynchronously
    flags = c.sequence();
    if (flags == 0) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(flags, kPathDown | kPathDownSession);
  EXPECT_EQ(c.bind_conn(7), 3u);  // CDFC4_BACK_OR_BOTH -> CDFS4_BOTH
  EXPECT_EQ(c.sequence(), 0u);
  c.answer_probe(2);              // the back-channel slot's next sequence id
  EXPECT_EQ(c.sequence(), 0u);
  EXPECT_EQ(callbacks("CB_SEQUENCE", "ok"), 2);
}

TEST_F(Nfs4BackChannelTest, BackchannelCtlChangesProgramOfNextProbe) {
  BackChannelClient c(nasd_->nfs_port());
  bring_up(c, "bc ctl");
  std::string ops;
  put_u32(ops, OP_SEQUENCE);
  ops += c.sid();
  put_u32(ops, c.next_slot_seq());
  for (int i = 0; i < 3; ++i) put_u32(ops, 0);
  put_u32(ops, OP_BACKCHANNEL_CTL);
  put_u32(ops, 0x40000123);
  put_u32(ops, 1);
  put_u32(ops, 0);  // AUTH_NONE
  Result r = c.compound(ops, 2);
  EXPECT_EQ(r.status, 0u);
  EXPECT_EQ(c.sequence(), 0u);
  auto call = c.next_call();
  ASSERT_TRUE(call);
  EXPECT_EQ(get_u32(*call, 12), 0x40000123u);
  EXPECT_EQ(get_u32(*call, 24), 0u);  // AUTH_NONE now
}

/// A TCP listener on 127.0.0.1 standing in for a 4.0 client's callback service.
class CallbackListener {
 public:
  CallbackListener() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    EXPECT_EQ(::listen(fd_, 4), 0);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
  }
  ~CallbackListener() { ::close(fd_); }
  std::uint16_t port() const { return port_; }
  /// Accepts one connection within 5 s, reads one CALL and answers SUCCESS;
  /// returns the call.
  std::optional<std::string> serve_one() {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, 5000) != 1) return std::nullopt;
    int c = ::accept(fd_, nullptr, nullptr);
    if (c < 0) return std::nullopt;
    std::string rec;
    char mark[4];
    bool ok = ::recv(c, mark, 4, MSG_WAITALL) == 4;
    if (ok) {
      std::string m(mark, 4);
      rec.resize(get_u32(m, 0) & 0x7fffffffu);
      ok = ::recv(c, rec.data(), rec.size(), MSG_WAITALL) == static_cast<ssize_t>(rec.size());
    }
    if (ok) {
      std::string out;
      put_u32(out, 0x80000000u | 24);
      for (std::uint32_t v : {get_u32(rec, 0), 1u, 0u, 0u, 0u, 0u}) put_u32(out, v);
      ok = ::send(c, out.data(), out.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(out.size());
    }
    ::close(c);
    if (!ok) return std::nullopt;
    return rec;
  }

 private:
  int fd_ = -1;
  std::uint16_t port_ = 0;
};

TEST_F(Nfs4BackChannelTest, V40ConfirmProbesCallbackAddressWithCbNull) {
  CallbackListener listener;
  RawConnection conn(nasd_->nfs_port());
  std::string ops;
  put_u32(ops, OP_SETCLIENTID);
  ops.append(8, '\x33');
  put_opaque(ops, "v40 callback client");
  put_u32(ops, 0x40000077);
  put_opaque(ops, "tcp");
  put_opaque(ops, "127.0.0.1." + std::to_string(listener.port() >> 8) + "." +
                      std::to_string(listener.port() & 0xff));
  put_u32(ops, 1);  // callback_ident
  Result r = nfs4_compound(conn, 1, ops, 1, 0);
  ASSERT_EQ(r.next(OP_SETCLIENTID), 0u);
  const std::uint64_t clientid = r.u64();
  const std::string confirm = r.fixed(8);
  ops.clear();
  put_u32(ops, OP_SETCLIENTID_CONFIRM);
  put_u64(ops, clientid);
  ops += confirm;
  Result c = nfs4_compound(conn, 2, ops, 1, 0);
  ASSERT_EQ(c.next(OP_SETCLIENTID_CONFIRM), 0u);
  auto call = listener.serve_one();
  ASSERT_TRUE(call);
  EXPECT_EQ(get_u32(*call, 12), 0x40000077u);
  EXPECT_EQ(get_u32(*call, 16), 1u);
  EXPECT_EQ(get_u32(*call, 20), 0u);  // CB_NULL
  double ok = 0;
  for (int i = 0; i < 100 && ok < 1; ++i) {  // the result is recorded after the reply
    ok = callbacks("CB_NULL", "ok");
    if (ok < 1) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(ok, 1);
}

}  // namespace
}  // namespace nasd::integration
