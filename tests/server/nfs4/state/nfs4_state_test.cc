// NFSv4.1 state: EXCHANGE_ID / CREATE_SESSION, the SEQUENCE slot table and
// its reply cache, lease expiry, open stateids and share reservations
// (RFC 8881 §2.10.6, §8.2, §9.7, §18.35, §18.36, §18.46).
#include <gtest/gtest.h>

#include <cstring>

#include "server/nfs4/state/state.h"

namespace nasd::server {
namespace {

using nfs4::Nfsstat4;

struct Nfs4StateTest : ::testing::Test {
  Nfs4State::Clock::time_point now{std::chrono::seconds(1000)};
  Nfs4State::Config config() {
    Nfs4State::Config c;
    c.lease = std::chrono::seconds(90);
    c.max_slots = 4;
    c.boot = 0x01020304;
    return c;
  }
  Nfs4State state{config(), [this] { return now; }};

  nfs4::ExchangeIdArgs eid(const std::string& owner, std::uint8_t verf = 1) {
    owners.push_back(owner);
    nfs4::ExchangeIdArgs a;
    a.verifier.fill(verf);
    const auto& o = owners.back();
    a.ownerid = {reinterpret_cast<const std::uint8_t*>(o.data()), o.size()};
    return a;
  }
  nfs4::CreateSessionArgs csa(std::uint64_t clientid, std::uint32_t seq) {
    nfs4::CreateSessionArgs a;
    a.clientid = clientid;
    a.sequence = seq;
    a.fore = {0, 1 << 20, 1 << 20, 4096, 16, 64, std::nullopt};
    a.back = {0, 4096, 4096, 0, 2, 1, std::nullopt};
    return a;
  }
  /// A client with one session; returns the session id.
  nfs4::SessionId session(std::uint64_t* clientid = nullptr) {
    Nfs4State::ExchangeIdResult e;
    EXPECT_EQ(state.exchange_id(eid("client-a"), &e), Nfsstat4::kOk);
    Nfs4State::CreateSessionResult r;
    EXPECT_EQ(state.create_session(csa(e.clientid, e.sequenceid), &r), Nfsstat4::kOk);
    if (clientid) *clientid = e.clientid;
    return r.sessionid;
  }
  nfs4::SequenceArgs seq(const nfs4::SessionId& s, std::uint32_t seqid, std::uint32_t slot = 0) {
    nfs4::SequenceArgs a;
    a.sessionid = s;
    a.sequenceid = seqid;
    a.slotid = slot;
    return a;
  }
  std::vector<std::string> owners;
};

TEST_F(Nfs4StateTest, ExchangeIdTwiceWithSameVerifierKeepsClientid) {
  Nfs4State::ExchangeIdResult a, b;
  ASSERT_EQ(state.exchange_id(eid("c"), &a), Nfsstat4::kOk);
  Nfs4State::CreateSessionResult r;
  ASSERT_EQ(state.create_session(csa(a.clientid, a.sequenceid), &r), Nfsstat4::kOk);
  ASSERT_EQ(state.exchange_id(eid("c"), &b), Nfsstat4::kOk);
  EXPECT_EQ(a.clientid, b.clientid);
  EXPECT_TRUE(b.confirmed);
}

TEST_F(Nfs4StateTest, RebootedClientGetsNewClientidAndOldStateGoesOnConfirm) {
  std::uint64_t old_id = 0;
  session(&old_id);
  Nfs4State::ExchangeIdResult e;
  ASSERT_EQ(state.exchange_id(eid("client-a", 2), &e), Nfsstat4::kOk);
  EXPECT_NE(e.clientid, old_id);
  EXPECT_FALSE(e.confirmed);
  EXPECT_EQ(state.client_count(), 2u);
  Nfs4State::CreateSessionResult r;
  ASSERT_EQ(state.create_session(csa(e.clientid, e.sequenceid), &r), Nfsstat4::kOk);
  EXPECT_EQ(state.client_count(), 1u);
}

TEST_F(Nfs4StateTest, CreateSessionUnknownClientIsStale) {
  Nfs4State::CreateSessionResult r;
  EXPECT_EQ(state.create_session(csa(12345, 1), &r), Nfsstat4::kStaleClientid);
}

TEST_F(Nfs4StateTest, CreateSessionNegotiatesForeChannelAndPromisesNoCallbacks) {
  Nfs4State::ExchangeIdResult e;
  state.exchange_id(eid("c"), &e);
  Nfs4State::CreateSessionResult r;
  ASSERT_EQ(state.create_session(csa(e.clientid, e.sequenceid), &r), Nfsstat4::kOk);
  EXPECT_EQ(r.fore.maxrequests, 4u);    // our slot limit
  EXPECT_EQ(r.fore.maxoperations, 16u); // the client's smaller value
  EXPECT_EQ(r.flags & 2u, 0u);          // no CONN_BACK_CHAN
}

TEST_F(Nfs4StateTest, CreateSessionRetryReturnsSameSessionAndWrongSequenceIsMisordered) {
  Nfs4State::ExchangeIdResult e;
  state.exchange_id(eid("c"), &e);
  Nfs4State::CreateSessionResult r1, r2, r3;
  ASSERT_EQ(state.create_session(csa(e.clientid, e.sequenceid), &r1), Nfsstat4::kOk);
  ASSERT_EQ(state.create_session(csa(e.clientid, e.sequenceid), &r2), Nfsstat4::kOk);
  EXPECT_EQ(r1.sessionid, r2.sessionid);
  EXPECT_EQ(state.create_session(csa(e.clientid, e.sequenceid + 5), &r3),
            Nfsstat4::kSeqMisordered);
}

TEST_F(Nfs4StateTest, SequenceNewRequestThenRetryReplaysCachedBytes) {
  auto s = session();
  Nfs4State::SequenceResult r;
  ASSERT_EQ(state.sequence(seq(s, 1), &r), Nfsstat4::kOk);
  EXPECT_FALSE(r.replay);
  const std::vector<std::uint8_t> reply = {0, 0, 0, 0, 1, 2, 3, 4};
  state.complete_slot(s, 0, reply);
  Nfs4State::SequenceResult again;
  ASSERT_EQ(state.sequence(seq(s, 1), &again), Nfsstat4::kOk);
  EXPECT_TRUE(again.replay);
  EXPECT_EQ(again.cached, reply);
}

TEST_F(Nfs4StateTest, SequenceRetryWhileExecutingIsDelay) {
  auto s = session();
  Nfs4State::SequenceResult r;
  ASSERT_EQ(state.sequence(seq(s, 1), &r), Nfsstat4::kOk);
  EXPECT_EQ(state.sequence(seq(s, 1), &r), Nfsstat4::kDelay);
}

TEST_F(Nfs4StateTest, SequenceMisorderedAndBadSlot) {
  auto s = session();
  Nfs4State::SequenceResult r;
  EXPECT_EQ(state.sequence(seq(s, 2), &r), Nfsstat4::kSeqMisordered);
  EXPECT_EQ(state.sequence(seq(s, 1, 4), &r), Nfsstat4::kBadSlot);
  ASSERT_EQ(state.sequence(seq(s, 1, 3), &r), Nfsstat4::kOk);
  EXPECT_EQ(r.highest_slotid, 3u);
}

TEST_F(Nfs4StateTest, SlotsAreIndependent) {
  auto s = session();
  Nfs4State::SequenceResult r;
  ASSERT_EQ(state.sequence(seq(s, 1, 0), &r), Nfsstat4::kOk);
  ASSERT_EQ(state.sequence(seq(s, 1, 1), &r), Nfsstat4::kOk);
  state.complete_slot(s, 0, std::vector<std::uint8_t>{1, 1, 1, 1});
  state.complete_slot(s, 1, std::vector<std::uint8_t>{2, 2, 2, 2});
  ASSERT_EQ(state.sequence(seq(s, 2, 0), &r), Nfsstat4::kOk);
  EXPECT_FALSE(r.replay);
  ASSERT_EQ(state.sequence(seq(s, 1, 1), &r), Nfsstat4::kOk);
  EXPECT_TRUE(r.replay);
  EXPECT_EQ(r.cached, (std::vector<std::uint8_t>{2, 2, 2, 2}));
}

TEST_F(Nfs4StateTest, ReplyTooLargeToCacheGivesRetryUncached) {
  auto s = session();
  Nfs4State::SequenceResult r;
  ASSERT_EQ(state.sequence(seq(s, 1), &r), Nfsstat4::kOk);
  state.complete_slot(s, 0, std::vector<std::uint8_t>(100000));
  EXPECT_EQ(state.sequence(seq(s, 1), &r), Nfsstat4::kRetryUncachedRep);
}

TEST_F(Nfs4StateTest, OverflowedReplyIsNotCached) {
  auto s = session();
  Nfs4State::SequenceResult r;
  ASSERT_EQ(state.sequence(seq(s, 1), &r), Nfsstat4::kOk);
  state.complete_slot(s, 0, std::vector<std::uint8_t>(8), false);
  EXPECT_EQ(state.sequence(seq(s, 1), &r), Nfsstat4::kRetryUncachedRep);
}

TEST_F(Nfs4StateTest, LeaseExpiryDropsClientAndSession) {
  auto s = session();
  now += std::chrono::seconds(60);
  Nfs4State::SequenceResult r;
  ASSERT_EQ(state.sequence(seq(s, 1), &r), Nfsstat4::kOk);  // renews
  state.complete_slot(s, 0, std::vector<std::uint8_t>(4));
  now += std::chrono::seconds(60);
  state.expire();
  EXPECT_EQ(state.client_count(), 1u);  // renewed 60 s ago: alive
  now += std::chrono::seconds(31);
  state.expire();
  EXPECT_EQ(state.client_count(), 0u);
  EXPECT_EQ(state.sequence(seq(s, 2), &r), Nfsstat4::kBadSession);
}

TEST_F(Nfs4StateTest, DestroyClientidBusyWhileSessionsExist) {
  std::uint64_t id = 0;
  auto s = session(&id);
  EXPECT_EQ(state.destroy_clientid(id), Nfsstat4::kClientidBusy);
  EXPECT_EQ(state.destroy_session(s), Nfsstat4::kOk);
  EXPECT_EQ(state.destroy_session(s), Nfsstat4::kBadSession);
  EXPECT_EQ(state.destroy_clientid(id), Nfsstat4::kOk);
  EXPECT_EQ(state.client_count(), 0u);
}

TEST_F(Nfs4StateTest, ReclaimCompleteOnlyOnce) {
  std::uint64_t id = 0;
  session(&id);
  EXPECT_EQ(state.reclaim_complete(id), Nfsstat4::kOk);
  EXPECT_EQ(state.reclaim_complete(id), Nfsstat4::kCompleteAlready);
}

storage::FileHandle fh(std::uint8_t b) {
  storage::FileHandle f;
  f.size = 4;
  f.data.fill(b);
  return f;
}

std::span<const std::uint8_t> bytes(const char* s) {
  return {reinterpret_cast<const std::uint8_t*>(s), std::strlen(s)};
}

TEST_F(Nfs4StateTest, OpenUpgradeBumpsSeqidAndOldStateidIsOld) {
  std::uint64_t id = 0;
  session(&id);
  nfs4::Stateid4 s1, s2;
  ASSERT_EQ(state.open(id, bytes("o"), fh(1), 1, 0, &s1), Nfsstat4::kOk);
  EXPECT_EQ(s1.seqid, 1u);
  ASSERT_EQ(state.open(id, bytes("o"), fh(1), 2, 0, &s2), Nfsstat4::kOk);
  EXPECT_EQ(s2.other, s1.other);
  EXPECT_EQ(s2.seqid, 2u);
  EXPECT_EQ(state.check_stateid(s1, fh(1), false), Nfsstat4::kOldStateid);
  EXPECT_EQ(state.check_stateid(s2, fh(1), true), Nfsstat4::kOk);
  nfs4::Stateid4 zero_seq = s2;
  zero_seq.seqid = 0;  // "the current one"
  EXPECT_EQ(state.check_stateid(zero_seq, fh(1), true), Nfsstat4::kOk);
  EXPECT_EQ(state.check_stateid(s2, fh(2), false), Nfsstat4::kBadStateid);
}

TEST_F(Nfs4StateTest, ReadOnlyOpenRefusesWriteWithOpenMode) {
  std::uint64_t id = 0;
  session(&id);
  nfs4::Stateid4 s;
  ASSERT_EQ(state.open(id, bytes("o"), fh(1), 1, 0, &s), Nfsstat4::kOk);
  EXPECT_EQ(state.check_stateid(s, fh(1), true), Nfsstat4::kOpenMode);
}

TEST_F(Nfs4StateTest, ShareDenyConflictsAcrossOwners) {
  std::uint64_t id = 0;
  session(&id);
  nfs4::Stateid4 a, b;
  ASSERT_EQ(state.open(id, bytes("a"), fh(1), 1, 2 /* deny write */, &a), Nfsstat4::kOk);
  EXPECT_EQ(state.open(id, bytes("b"), fh(1), 2, 0, &b), Nfsstat4::kShareDenied);
  EXPECT_EQ(state.open(id, bytes("b"), fh(1), 1, 0, &b), Nfsstat4::kOk);
  EXPECT_EQ(state.open(id, bytes("c"), fh(1), 1, 1 /* deny read */, &b), Nfsstat4::kShareDenied);
}

TEST_F(Nfs4StateTest, CloseFreesOpenAndDowngradeNarrows) {
  std::uint64_t id = 0;
  session(&id);
  nfs4::Stateid4 s, d;
  ASSERT_EQ(state.open(id, bytes("o"), fh(1), 3, 0, &s), Nfsstat4::kOk);
  EXPECT_EQ(state.open_downgrade(s, fh(1), 3, 1, &d), Nfsstat4::kInval);  // deny not held
  ASSERT_EQ(state.open_downgrade(s, fh(1), 1, 0, &d), Nfsstat4::kOk);
  EXPECT_EQ(d.seqid, s.seqid + 1);
  EXPECT_EQ(state.check_stateid(d, fh(1), true), Nfsstat4::kOpenMode);
  EXPECT_EQ(state.free_stateid(id, d), Nfsstat4::kLocksHeld);
  EXPECT_EQ(state.close(d, fh(1)), Nfsstat4::kOk);
  EXPECT_EQ(state.open_count(), 0u);
  EXPECT_EQ(state.test_stateid(id, d), Nfsstat4::kBadStateid);
}

TEST_F(Nfs4StateTest, SpecialStateidsPassAndForeignBootIsStaleIn40AndBadIn41) {
  nfs4::Stateid4 anon;
  EXPECT_EQ(state.check_stateid(anon, fh(1), true), Nfsstat4::kOk);
  nfs4::Stateid4 other;
  other.seqid = 1;
  other.other.fill(0x55);
  EXPECT_EQ(state.check_stateid(other, fh(1), false), Nfsstat4::kBadStateid);
  EXPECT_EQ(state.check_stateid(other, fh(1), false, 0), Nfsstat4::kStaleStateid);
  EXPECT_EQ(state.test_stateid(1, other), Nfsstat4::kBadStateid);
}

TEST_F(Nfs4StateTest, ExpiredClientsOpensAreFreed) {
  std::uint64_t id = 0;
  session(&id);
  nfs4::Stateid4 s;
  ASSERT_EQ(state.open(id, bytes("o"), fh(1), 1, 3, &s), Nfsstat4::kOk);
  now += std::chrono::seconds(91);
  state.expire();
  EXPECT_EQ(state.open_count(), 0u);
}

}  // namespace
}  // namespace nasd::server
