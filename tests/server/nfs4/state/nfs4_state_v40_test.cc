// NFSv4.0 state: SETCLIENTID / SETCLIENTID_CONFIRM (every case of RFC 7530
// §16.33.5 and §16.34.5), RENEW and lease expiry (§16.29, §9.5), open-owner
// seqid and replay (§9.1.7, §9.1.8), OPEN_CONFIRM (§16.18) and the 4.0
// stateid rules (§9.1.3, §9.1.4).
#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "server/nfs4/state/state.h"

namespace nasd::server {
namespace {

using nfs4::Nfsstat4;

storage::FileHandle fh(std::uint8_t b) {
  storage::FileHandle f;
  f.size = 4;
  f.data.fill(b);
  return f;
}

std::span<const std::uint8_t> bytes(const std::string& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

nfs4::Verifier4 verf(std::uint8_t b) {
  nfs4::Verifier4 v;
  v.fill(b);
  return v;
}

struct Nfs4StateV40Test : ::testing::Test {
  Nfs4State::Clock::time_point now{std::chrono::seconds(1000)};
  static Nfs4State::Config config(std::uint32_t boot = 0x01020304) {
    Nfs4State::Config c;
    c.lease = std::chrono::seconds(90);
    c.boot = boot;
    return c;
  }
  Nfs4State state{config(), [this] { return now; }};
  const std::string id_a = "Linux NFSv4.0 client-a";
  const Nfs4Principal root{1, 0};  // AUTH_SYS uid 0

  /// SETCLIENTID + SETCLIENTID_CONFIRM; returns the clientid.
  std::uint64_t client(const std::string& id, std::uint8_t v = 1,
                       const Nfs4Principal& principal = Nfs4Principal{1, 0}) {
    Nfs4State::SetclientidResult r;
    EXPECT_EQ(state.setclientid(bytes(id), verf(v), principal, &r), Nfsstat4::kOk);
    EXPECT_EQ(state.setclientid_confirm(r.clientid, r.confirm, principal), Nfsstat4::kOk);
    return r.clientid;
  }

  /// A 4.0 OPEN as the program runs it: seqid check, share reservation,
  /// confirm flag, replay record.  Returns the status; *sid / *confirm out.
  Nfsstat4 open(std::uint64_t clientid, const std::string& owner, std::uint32_t seqid,
                std::uint8_t file, nfs4::Stateid4* sid, bool* confirm = nullptr,
                std::uint32_t access = 3, std::uint32_t deny = 0) {
    Nfs4State::OwnerOp op;
    Nfsstat4 st = state.begin_open_owner(clientid, bytes(owner), seqid, &op);
    if (st != Nfsstat4::kOk) return st;
    if (op.replay) {
      if (op.body.size() >= 16) {
        sid->seqid = static_cast<std::uint32_t>(op.body[0]) << 24 | op.body[1] << 16 |
                     op.body[2] << 8 | op.body[3];
        std::memcpy(sid->other.data(), op.body.data() + 4, 12);
      }
      return op.status;
    }
    st = state.open(clientid, bytes(owner), fh(file), access, deny, sid);
    bool c = false;
    std::vector<std::uint8_t> body;
    if (st == Nfsstat4::kOk) {
      c = state.open_needs_confirm(clientid, bytes(owner), *sid);
      body = {static_cast<std::uint8_t>(sid->seqid >> 24), static_cast<std::uint8_t>(sid->seqid >> 16),
              static_cast<std::uint8_t>(sid->seqid >> 8), static_cast<std::uint8_t>(sid->seqid)};
      body.insert(body.end(), sid->other.begin(), sid->other.end());
    }
    if (confirm) *confirm = c;
    state.end_owner_op(op, seqid, st, body, fh(file));
    return st;
  }
  /// OPEN_CONFIRM as the program runs it.
  Nfsstat4 open_confirm(const nfs4::Stateid4& s, std::uint32_t seqid, std::uint8_t file,
                        nfs4::Stateid4* out) {
    Nfs4State::OwnerOp op;
    Nfsstat4 st = state.begin_stateid_owner(s, seqid, &op);
    if (st != Nfsstat4::kOk) return st;
    if (op.replay) return op.status;
    st = state.open_confirm(s, fh(file), out);
    state.end_owner_op(op, seqid, st, {}, fh(file));
    return st;
  }
  /// CLOSE as the program runs it; *replayed tells whether it was a replay.
  Nfsstat4 close(const nfs4::Stateid4& s, std::uint32_t seqid, std::uint8_t file,
                 bool* replayed = nullptr) {
    Nfs4State::OwnerOp op;
    Nfsstat4 st = state.begin_stateid_owner(s, seqid, &op);
    if (replayed) *replayed = op.replay;
    if (st != Nfsstat4::kOk) return st;
    if (op.replay) return op.status;
    st = state.close(s, fh(file), 0);
    state.end_owner_op(op, seqid, st, {}, fh(file));
    return st;
  }
  /// A confirmed open of `owner` (OPEN seqid 1 + OPEN_CONFIRM seqid 2).
  nfs4::Stateid4 confirmed_open(std::uint64_t clientid, const std::string& owner,
                                std::uint8_t file) {
    nfs4::Stateid4 s, c;
    bool confirm = false;
    EXPECT_EQ(open(clientid, owner, 1, file, &s, &confirm), Nfsstat4::kOk);
    EXPECT_TRUE(confirm);
    EXPECT_EQ(open_confirm(s, 2, file, &c), Nfsstat4::kOk);
    return c;
  }
};

// ---------------------------------------------------- SETCLIENTID (§16.33.5)

TEST_F(Nfs4StateV40Test, NewClientGetsUnconfirmedClientidThatConfirmMakesUsable) {
  Nfs4State::SetclientidResult r;
  ASSERT_EQ(state.setclientid(bytes(id_a), verf(1), root, &r), Nfsstat4::kOk);
  EXPECT_EQ(static_cast<std::uint32_t>(r.clientid >> 32), 0x01020304u);
  EXPECT_EQ(state.renew(r.clientid), Nfsstat4::kStaleClientid) << "unconfirmed";
  ASSERT_EQ(state.setclientid_confirm(r.clientid, r.confirm, root), Nfsstat4::kOk);
  EXPECT_EQ(state.renew(r.clientid), Nfsstat4::kOk);
  EXPECT_EQ(state.client_count(), 1u);
}

TEST_F(Nfs4StateV40Test, SameVerifierAgainIsCallbackUpdateKeepingTheClientid) {
  const std::uint64_t id = client(id_a, 1);
  nfs4::Stateid4 s = confirmed_open(id, "owner", 1);
  Nfs4State::SetclientidResult r;
  ASSERT_EQ(state.setclientid(bytes(id_a), verf(1), root, &r), Nfsstat4::kOk);
  EXPECT_EQ(r.clientid, id);
  ASSERT_EQ(state.setclientid_confirm(id, r.confirm, root), Nfsstat4::kOk);
  EXPECT_EQ(state.check_stateid(s, fh(1), true, 0), Nfsstat4::kOk) << "state survives";
  EXPECT_EQ(state.client_count(), 1u);
}

TEST_F(Nfs4StateV40Test, NewVerifierIsRebootAndConfirmDropsTheOldClientAndItsState) {
  const std::uint64_t old_id = client(id_a, 1);
  nfs4::Stateid4 s = confirmed_open(old_id, "owner", 1);
  Nfs4State::SetclientidResult r;
  ASSERT_EQ(state.setclientid(bytes(id_a), verf(2), root, &r), Nfsstat4::kOk);
  EXPECT_NE(r.clientid, old_id);
  // Until the confirm, the old incarnation's state stays.
  EXPECT_EQ(state.check_stateid(s, fh(1), true, 0), Nfsstat4::kOk);
  ASSERT_EQ(state.setclientid_confirm(r.clientid, r.confirm, root), Nfsstat4::kOk);
  EXPECT_EQ(state.check_stateid(s, fh(1), true, 0), Nfsstat4::kBadStateid);
  EXPECT_EQ(state.renew(old_id), Nfsstat4::kStaleClientid);
  EXPECT_EQ(state.renew(r.clientid), Nfsstat4::kOk);
  EXPECT_EQ(state.client_count(), 1u);
  EXPECT_EQ(state.open_count(), 0u);
}

TEST_F(Nfs4StateV40Test, SecondUnconfirmedSetclientidReplacesTheFirst) {
  Nfs4State::SetclientidResult r1, r2;
  ASSERT_EQ(state.setclientid(bytes(id_a), verf(1), root, &r1), Nfsstat4::kOk);
  ASSERT_EQ(state.setclientid(bytes(id_a), verf(2), root, &r2), Nfsstat4::kOk);
  EXPECT_NE(r1.clientid, r2.clientid);
  EXPECT_EQ(state.setclientid_confirm(r1.clientid, r1.confirm, root), Nfsstat4::kStaleClientid);
  EXPECT_EQ(state.setclientid_confirm(r2.clientid, r2.confirm, root), Nfsstat4::kOk);
  EXPECT_EQ(state.client_count(), 1u);
}

TEST_F(Nfs4StateV40Test, OtherPrincipalIsClidInuseWhileTheClientHoldsState) {
  const std::uint64_t id = client(id_a, 1, Nfs4Principal{1, 0});
  confirmed_open(id, "owner", 1);
  Nfs4State::SetclientidResult r;
  EXPECT_EQ(state.setclientid(bytes(id_a), verf(1), Nfs4Principal{1, 1000}, &r), Nfsstat4::kClidInuse);
  EXPECT_EQ(state.setclientid(bytes(id_a), verf(9), Nfs4Principal{1, 1000}, &r), Nfsstat4::kClidInuse);
}

TEST_F(Nfs4StateV40Test, OtherPrincipalMayTakeOverAnIdWithoutState) {
  const std::uint64_t id = client(id_a, 1, Nfs4Principal{1, 0});
  Nfs4State::SetclientidResult r;
  ASSERT_EQ(state.setclientid(bytes(id_a), verf(1), Nfs4Principal{1, 1000}, &r), Nfsstat4::kOk);
  EXPECT_NE(r.clientid, id);
  ASSERT_EQ(state.setclientid_confirm(r.clientid, r.confirm, Nfs4Principal{1, 1000}), Nfsstat4::kOk);
  EXPECT_EQ(state.renew(id), Nfsstat4::kStaleClientid);
}

TEST_F(Nfs4StateV40Test, ClientsWithDifferentIdsAreIndependent) {
  const std::uint64_t a = client(id_a, 1);
  const std::uint64_t b = client("client-b", 1);
  EXPECT_NE(a, b);
  EXPECT_EQ(state.renew(a), Nfsstat4::kOk);
  EXPECT_EQ(state.renew(b), Nfsstat4::kOk);
}

TEST_F(Nfs4StateV40Test, SetclientidRefusedWhenTheClientTableIsFull) {
  Nfs4State::Config c = config();
  c.max_clients = 1;
  Nfs4State small(c, [this] { return now; });
  Nfs4State::SetclientidResult r;
  ASSERT_EQ(small.setclientid(bytes(id_a), verf(1), root, &r), Nfsstat4::kOk);
  EXPECT_EQ(small.setclientid(bytes("other"), verf(1), root, &r), Nfsstat4::kResource);
}

// ------------------------------------------- SETCLIENTID_CONFIRM (§16.34.5)

TEST_F(Nfs4StateV40Test, RetransmittedConfirmSucceedsAgain) {
  Nfs4State::SetclientidResult r;
  ASSERT_EQ(state.setclientid(bytes(id_a), verf(1), root, &r), Nfsstat4::kOk);
  ASSERT_EQ(state.setclientid_confirm(r.clientid, r.confirm, root), Nfsstat4::kOk);
  EXPECT_EQ(state.setclientid_confirm(r.clientid, r.confirm, root), Nfsstat4::kOk);
}

TEST_F(Nfs4StateV40Test, ConfirmWithWrongVerifierIsStaleClientid) {
  Nfs4State::SetclientidResult r;
  ASSERT_EQ(state.setclientid(bytes(id_a), verf(1), root, &r), Nfsstat4::kOk);
  nfs4::Verifier4 wrong = r.confirm;
  wrong[7] ^= 0xff;
  EXPECT_EQ(state.setclientid_confirm(r.clientid, wrong, root), Nfsstat4::kStaleClientid);
  ASSERT_EQ(state.setclientid_confirm(r.clientid, r.confirm, root), Nfsstat4::kOk);
  EXPECT_EQ(state.setclientid_confirm(r.clientid, wrong, root), Nfsstat4::kStaleClientid)
      << "confirmed record, other verifier: not a retransmission";
}

TEST_F(Nfs4StateV40Test, ConfirmFromAnotherPrincipalIsClidInuse) {
  Nfs4State::SetclientidResult r;
  ASSERT_EQ(state.setclientid(bytes(id_a), verf(1), root, &r), Nfsstat4::kOk);
  EXPECT_EQ(state.setclientid_confirm(r.clientid, r.confirm, Nfs4Principal{1, 1000}), Nfsstat4::kClidInuse);
  EXPECT_EQ(state.setclientid_confirm(r.clientid, r.confirm, root), Nfsstat4::kOk);
}

TEST_F(Nfs4StateV40Test, ConfirmOfUnknownOrPreviousInstanceClientidIsStale) {
  EXPECT_EQ(state.setclientid_confirm(0x0102030400000063ULL, verf(0), root),
            Nfsstat4::kStaleClientid);
  // A clientid handed out by another server instance (boot 7).
  Nfs4State before(config(7), [this] { return now; });
  Nfs4State::SetclientidResult r;
  ASSERT_EQ(before.setclientid(bytes(id_a), verf(1), root, &r), Nfsstat4::kOk);
  ASSERT_EQ(before.setclientid_confirm(r.clientid, r.confirm, root), Nfsstat4::kOk);
  EXPECT_EQ(state.setclientid_confirm(r.clientid, r.confirm, root), Nfsstat4::kStaleClientid);
  EXPECT_EQ(state.renew(r.clientid), Nfsstat4::kStaleClientid);
}

TEST_F(Nfs4StateV40Test, CallbackUpdateConfirmWithOldVerifierIsStale) {
  const std::uint64_t id = client(id_a, 1);
  Nfs4State::SetclientidResult upd;
  ASSERT_EQ(state.setclientid(bytes(id_a), verf(1), root, &upd), Nfsstat4::kOk);
  nfs4::Verifier4 bogus = upd.confirm;
  bogus[3] ^= 0x55;
  EXPECT_EQ(state.setclientid_confirm(id, bogus, root), Nfsstat4::kStaleClientid);
  EXPECT_EQ(state.setclientid_confirm(id, upd.confirm, root), Nfsstat4::kOk);
  EXPECT_EQ(state.setclientid_confirm(id, upd.confirm, root), Nfsstat4::kOk) << "retransmission";
}

TEST_F(Nfs4StateV40Test, FourOneOnlyClientidIsStaleForFourZeroOps) {
  nfs4::ExchangeIdArgs e;
  e.verifier.fill(1);
  e.ownerid = bytes(id_a);
  Nfs4State::ExchangeIdResult r;
  ASSERT_EQ(state.exchange_id(e, &r), Nfsstat4::kOk);
  EXPECT_EQ(state.renew(r.clientid), Nfsstat4::kStaleClientid);
  EXPECT_EQ(state.setclientid_confirm(r.clientid, verf(0), root), Nfsstat4::kStaleClientid);
}

// ------------------------------------------------------- RENEW and leases

TEST_F(Nfs4StateV40Test, RenewKeepsTheLeaseAndExpiryGivesExpired) {
  const std::uint64_t id = client(id_a);
  now += std::chrono::seconds(80);
  ASSERT_EQ(state.renew(id), Nfsstat4::kOk);
  now += std::chrono::seconds(80);  // 160 s after the start, 80 s after RENEW
  EXPECT_EQ(state.renew(id), Nfsstat4::kOk);
  now += std::chrono::seconds(91);
  EXPECT_EQ(state.renew(id), Nfsstat4::kExpired);
  EXPECT_EQ(state.client_count(), 0u);
}

TEST_F(Nfs4StateV40Test, UsingAStateidRenewsTheLease) {
  const std::uint64_t id = client(id_a);
  nfs4::Stateid4 s = confirmed_open(id, "owner", 1);
  for (int i = 0; i < 4; ++i) {
    now += std::chrono::seconds(60);
    ASSERT_EQ(state.check_stateid(s, fh(1), false, 0), Nfsstat4::kOk);
  }
  EXPECT_EQ(state.renew(id), Nfsstat4::kOk);
}

TEST_F(Nfs4StateV40Test, OpenRenewsTheLease) {
  const std::uint64_t id = client(id_a);
  nfs4::Stateid4 s;
  for (std::uint32_t i = 1; i <= 3; ++i) {
    now += std::chrono::seconds(60);
    ASSERT_EQ(open(id, "owner-" + std::to_string(i), 1, static_cast<std::uint8_t>(i), &s),
              Nfsstat4::kOk);
  }
  EXPECT_EQ(state.renew(id), Nfsstat4::kOk);
}

TEST_F(Nfs4StateV40Test, ExpiredClientsOpenIsExpiredAndItsSharesAreFreed) {
  const std::uint64_t id = client(id_a);
  nfs4::Stateid4 s;
  ASSERT_EQ(open(id, "owner", 1, 1, &s, nullptr, 3, 3), Nfsstat4::kOk);
  now += std::chrono::seconds(200);
  EXPECT_EQ(open(id, "owner", 2, 1, &s), Nfsstat4::kExpired);
  const std::uint64_t other = client("client-b");
  EXPECT_EQ(open(other, "owner", 1, 1, &s), Nfsstat4::kOk) << "deny reservation is gone";
}

// ---------------------------------------------------------- open-owners

TEST_F(Nfs4StateV40Test, OpenOfNewOwnerNeedsConfirmAndStateidIsUnusableUntilThen) {
  const std::uint64_t id = client(id_a);
  nfs4::Stateid4 s, c;
  bool confirm = false;
  ASSERT_EQ(open(id, "owner", 10, 1, &s, &confirm), Nfsstat4::kOk);
  EXPECT_TRUE(confirm);
  EXPECT_EQ(state.check_stateid(s, fh(1), false, 0), Nfsstat4::kBadStateid);
  ASSERT_EQ(open_confirm(s, 11, 1, &c), Nfsstat4::kOk);
  EXPECT_EQ(c.other, s.other);
  EXPECT_EQ(c.seqid, s.seqid + 1);
  EXPECT_EQ(state.check_stateid(c, fh(1), true, 0), Nfsstat4::kOk);
  EXPECT_EQ(state.check_stateid(s, fh(1), true, 0), Nfsstat4::kOldStateid);
  // The confirmed owner's next OPEN needs no confirm.
  nfs4::Stateid4 s2;
  ASSERT_EQ(open(id, "owner", 12, 2, &s2, &confirm), Nfsstat4::kOk);
  EXPECT_FALSE(confirm);
  EXPECT_EQ(state.check_stateid(s2, fh(2), false, 0), Nfsstat4::kOk);
}

TEST_F(Nfs4StateV40Test, OpenConfirmTwiceOrOnAnotherFileIsBadStateid) {
  const std::uint64_t id = client(id_a);
  nfs4::Stateid4 s, c, c2;
  ASSERT_EQ(open(id, "owner", 1, 1, &s), Nfsstat4::kOk);
  EXPECT_EQ(open_confirm(s, 2, 2, &c), Nfsstat4::kBadStateid);
  ASSERT_EQ(open_confirm(s, 2, 1, &c), Nfsstat4::kOk) << "BAD_STATEID did not use seqid 2";
  EXPECT_EQ(open_confirm(c, 3, 1, &c2), Nfsstat4::kBadStateid) << "already confirmed";
}

TEST_F(Nfs4StateV40Test, RetransmittedOpenGetsTheCachedReplyWithoutASecondOpen) {
  const std::uint64_t id = client(id_a);
  nfs4::Stateid4 s = confirmed_open(id, "owner", 1);  // seqids 1, 2
  nfs4::Stateid4 up, again;
  ASSERT_EQ(open(id, "owner", 3, 1, &up, nullptr, 1, 0), Nfsstat4::kOk);
  EXPECT_EQ(up.seqid, s.seqid + 1);
  ASSERT_EQ(open(id, "owner", 3, 1, &again, nullptr, 1, 0), Nfsstat4::kOk);
  EXPECT_EQ(again, up) << "the cached stateid, not a further upgrade";
  EXPECT_EQ(state.check_stateid(up, fh(1), true, 0), Nfsstat4::kOk) << "seqid not bumped again";
}

TEST_F(Nfs4StateV40Test, WrongSeqidIsBadSeqidAndDoesNotAdvance) {
  const std::uint64_t id = client(id_a);
  confirmed_open(id, "owner", 1);  // last seqid 2
  nfs4::Stateid4 s;
  EXPECT_EQ(open(id, "owner", 5, 2, &s), Nfsstat4::kBadSeqid);
  EXPECT_EQ(open(id, "owner", 1, 2, &s), Nfsstat4::kBadSeqid);
  EXPECT_EQ(open(id, "owner", 3, 2, &s), Nfsstat4::kOk);
}

TEST_F(Nfs4StateV40Test, FailedOpenConsumesTheSeqidAndItsErrorIsReplayed) {
  const std::uint64_t id = client(id_a);
  const std::uint64_t other = client("client-b");
  nfs4::Stateid4 held = confirmed_open(other, "x", 1);
  ASSERT_EQ(state.check_stateid(held, fh(1), true, 0), Nfsstat4::kOk);
  confirmed_open(id, "owner", 2);  // seqids 1, 2
  nfs4::Stateid4 s;
  // other holds fh(1) with access both; deny write conflicts.
  ASSERT_EQ(open(id, "owner", 3, 1, &s, nullptr, 1, 2), Nfsstat4::kShareDenied);
  EXPECT_EQ(open(id, "owner", 3, 1, &s, nullptr, 1, 0), Nfsstat4::kShareDenied)
      << "replay of seqid 3 returns the cached error, not a new open";
  EXPECT_EQ(open(id, "owner", 4, 1, &s, nullptr, 1, 0), Nfsstat4::kOk);
}

TEST_F(Nfs4StateV40Test, RetransmittedCloseIsReplayedAfterTheStateidIsGone) {
  const std::uint64_t id = client(id_a);
  nfs4::Stateid4 s = confirmed_open(id, "owner", 1);  // seqids 1, 2
  bool replayed = true;
  ASSERT_EQ(close(s, 3, 1, &replayed), Nfsstat4::kOk);
  EXPECT_FALSE(replayed);
  EXPECT_EQ(state.open_count(), 0u);
  ASSERT_EQ(close(s, 3, 1, &replayed), Nfsstat4::kOk);
  EXPECT_TRUE(replayed);
  EXPECT_EQ(close(s, 5, 1, &replayed), Nfsstat4::kBadSeqid);
  // Once the owner moved on, the closed stateid is just unknown.
  nfs4::Stateid4 s2;
  ASSERT_EQ(open(id, "owner", 4, 2, &s2), Nfsstat4::kOk);
  EXPECT_EQ(close(s, 5, 1), Nfsstat4::kBadStateid);
}

TEST_F(Nfs4StateV40Test, NonBumpingErrorLetsTheClientReuseTheSeqid) {
  const std::uint64_t id = client(id_a);
  nfs4::Stateid4 s = confirmed_open(id, "owner", 1);  // seqids 1, 2
  EXPECT_EQ(close(s, 3, 2), Nfsstat4::kBadStateid) << "wrong file";
  EXPECT_EQ(close(s, 3, 1), Nfsstat4::kOk) << "seqid 3 again is new";
}

TEST_F(Nfs4StateV40Test, UnconfirmedOwnerOpeningAgainStartsAfresh) {
  const std::uint64_t id = client(id_a);
  nfs4::Stateid4 s1, s2;
  bool confirm = false;
  ASSERT_EQ(open(id, "owner", 1, 1, &s1, nullptr, 3, 3), Nfsstat4::kOk);
  // The client never confirmed it and opens again with another seqid.
  ASSERT_EQ(open(id, "owner", 50, 1, &s2, &confirm, 3, 3), Nfsstat4::kOk);
  EXPECT_TRUE(confirm);
  EXPECT_NE(s2.other, s1.other);
  EXPECT_EQ(state.open_count(), 1u);
  nfs4::Stateid4 c;
  EXPECT_EQ(open_confirm(s2, 51, 1, &c), Nfsstat4::kOk);
}

TEST_F(Nfs4StateV40Test, OpenWithUnknownOrUnconfirmedClientidIsStaleClientid) {
  nfs4::Stateid4 s;
  EXPECT_EQ(open(0x0102030400000042ULL, "owner", 1, 1, &s), Nfsstat4::kStaleClientid);
  Nfs4State::SetclientidResult r;
  ASSERT_EQ(state.setclientid(bytes(id_a), verf(1), root, &r), Nfsstat4::kOk);
  EXPECT_EQ(open(r.clientid, "owner", 1, 1, &s), Nfsstat4::kStaleClientid);
  EXPECT_EQ(open(0x0909090900000001ULL, "owner", 1, 1, &s), Nfsstat4::kStaleClientid);
}

// ------------------------------------------------------- 4.0 stateid rules

TEST_F(Nfs4StateV40Test, StateidSeqidRulesInMinorVersionZero) {
  const std::uint64_t id = client(id_a);
  nfs4::Stateid4 s = confirmed_open(id, "owner", 1);  // seqid 2
  nfs4::Stateid4 older = s, newer = s, zero = s, stale = s;
  older.seqid = s.seqid - 1;
  newer.seqid = s.seqid + 1;
  zero.seqid = 0;
  stale.other[0] ^= 0xff;  // another server instance's boot
  EXPECT_EQ(state.check_stateid(older, fh(1), false, 0), Nfsstat4::kOldStateid);
  EXPECT_EQ(state.check_stateid(newer, fh(1), false, 0), Nfsstat4::kBadStateid);
  EXPECT_EQ(state.check_stateid(zero, fh(1), false, 0), Nfsstat4::kOldStateid)
      << "seqid 0 is not 'the current one' in 4.0";
  EXPECT_EQ(state.check_stateid(zero, fh(1), false, 1), Nfsstat4::kOk) << "but it is in 4.1";
  EXPECT_EQ(state.check_stateid(stale, fh(1), false, 0), Nfsstat4::kStaleStateid);
  nfs4::Stateid4 unknown = s;
  unknown.other[11] ^= 0x80;
  EXPECT_EQ(state.check_stateid(unknown, fh(1), false, 0), Nfsstat4::kBadStateid);
  nfs4::Stateid4 anon;
  EXPECT_EQ(state.check_stateid(anon, fh(1), true, 0), Nfsstat4::kOk);
}

TEST_F(Nfs4StateV40Test, CloseAndDowngradeWithStaleOrUnknownStateidDoNotFindAnOwner) {
  const std::uint64_t id = client(id_a);
  nfs4::Stateid4 s = confirmed_open(id, "owner", 1);
  nfs4::Stateid4 stale = s;
  stale.other[1] ^= 0xff;
  Nfs4State::OwnerOp op;
  EXPECT_EQ(state.begin_stateid_owner(stale, 3, &op), Nfsstat4::kStaleStateid);
  nfs4::Stateid4 unknown = s;
  unknown.other[11] ^= 0x80;
  EXPECT_EQ(state.begin_stateid_owner(unknown, 3, &op), Nfsstat4::kBadStateid);
}

TEST_F(Nfs4StateV40Test, OpenDowngradeInMinorVersionZeroChecksTheSeqid) {
  const std::uint64_t id = client(id_a);
  nfs4::Stateid4 s = confirmed_open(id, "owner", 1);
  nfs4::Stateid4 out;
  nfs4::Stateid4 old = s;
  old.seqid = 1;
  EXPECT_EQ(state.open_downgrade(old, fh(1), 1, 0, &out, 0), Nfsstat4::kOldStateid);
  ASSERT_EQ(state.open_downgrade(s, fh(1), 1, 0, &out, 0), Nfsstat4::kOk);
  EXPECT_EQ(out.seqid, s.seqid + 1);
  EXPECT_EQ(state.check_stateid(out, fh(1), true, 0), Nfsstat4::kOpenMode);
}

TEST_F(Nfs4StateV40Test, ReclaimOpenConfirmsANewOpenOwnerWithoutOpenConfirm) {
  // After a restart the Linux client reclaims with OPEN CLAIM_PREVIOUS and
  // no GETFH: it cannot send OPEN_CONFIRM, so the reclaim confirms the owner.
  const std::uint64_t id = client(id_a);
  Nfs4State::OwnerOp op;
  ASSERT_EQ(state.begin_open_owner(id, bytes("reclaimer"), 5, &op), Nfsstat4::kOk);
  nfs4::Stateid4 s;
  ASSERT_EQ(state.open(id, bytes("reclaimer"), fh(1), 3, 0, &s), Nfsstat4::kOk);
  EXPECT_FALSE(state.open_needs_confirm(id, bytes("reclaimer"), s, /*reclaim=*/true));
  state.end_owner_op(op, 5, Nfsstat4::kOk, {}, fh(1));
  EXPECT_EQ(state.check_stateid(s, fh(1), true, 0), Nfsstat4::kOk) << "usable at once";
  nfs4::Stateid4 s2;
  bool confirm = true;
  EXPECT_EQ(open(id, "reclaimer", 6, 2, &s2, &confirm), Nfsstat4::kOk);
  EXPECT_FALSE(confirm) << "the owner stays confirmed";
}

}  // namespace
}  // namespace nasd::server
