// NFSv4.0 lock-owner seqids (RFC 7530 §9.1.7, §16.10.5 LOCK, §16.12.5
// LOCKU) driven the way Nfs4Program::run_op_v40 drives them: the next seqid
// runs, the last one again is answered from the lock-owner's replay cache
// without running, anything else is BAD_SEQID; open_to_lock_owner4 starts
// the lock-owner's sequence.  Also the 4.0 / 4.1 stateid statuses for
// another instance's and an expired client's stateids (RFC 7530 §9.1.4,
// §9.6.3; RFC 8881 §15.1.5).
#include <gtest/gtest.h>

#include <deque>
#include <map>
#include <string>
#include <vector>

#include "protocol/nfs4/nfs4.h"
#include "server/locking/lock_manager.h"
#include "server/nfs4/state/state.h"

namespace nasd::server {
namespace {

using nfs4::Nfsstat4;

constexpr std::uint64_t kAll = ~std::uint64_t{0};

std::vector<std::uint8_t> encode(const nfs4::Stateid4& s) {
  std::vector<std::uint8_t> b(16);
  for (int i = 0; i < 4; ++i) b[i] = static_cast<std::uint8_t>(s.seqid >> (24 - 8 * i));
  std::copy(s.other.begin(), s.other.end(), b.begin() + 4);
  return b;
}

struct Nfs4LockSeqidTest : ::testing::Test {
  Nfs4State::Clock::time_point now{std::chrono::seconds(1000)};
  static Nfs4State::Config config() {
    Nfs4State::Config c;
    c.lease = std::chrono::seconds(90);
    c.boot = 0x0a0b0c0d;
    return c;
  }
  Nfs4State state{config(), [this] { return now; }};
  LockManager locks;
  std::deque<std::string> keep;

  void SetUp() override { state.set_lock_manager(&locks, nullptr); }

  std::span<const std::uint8_t> bytes(const std::string& s) {
    keep.push_back(s);
    return {reinterpret_cast<const std::uint8_t*>(keep.back().data()), keep.back().size()};
  }
  static storage::FileHandle fh(std::uint8_t n) {
    storage::FileHandle f;
    const std::uint8_t b[] = {1, 0, 0, 0, 1, n, n, n};
    f.assign(b);
    return f;
  }
  /// A confirmed 4.0 client (SETCLIENTID + SETCLIENTID_CONFIRM).
  std::uint64_t client(const std::string& id) {
    Nfs4State::SetclientidResult r;
    nfs4::Verifier4 v;
    v.fill(1);
    EXPECT_EQ(state.setclientid(bytes(id), v, Nfs4Principal{1, 0}, &r), Nfsstat4::kOk);
    EXPECT_EQ(state.setclientid_confirm(r.clientid, r.confirm, Nfs4Principal{1, 0}), Nfsstat4::kOk);
    return r.clientid;
  }
  /// The next seqid of `clientid`'s open-owner "oo".
  std::uint32_t& open_seqid(std::uint64_t clientid) {
    return open_seqids.try_emplace(clientid, 1).first->second;
  }
  /// A confirmed open of `f` by open-owner "oo" (OPEN, and OPEN_CONFIRM
  /// the first time).
  nfs4::Stateid4 open(std::uint64_t clientid, std::uint8_t f) {
    Nfs4State::OwnerOp op;
    std::uint32_t& seq = open_seqid(clientid);
    EXPECT_EQ(state.begin_open_owner(clientid, bytes("oo"), seq, &op), Nfsstat4::kOk);
    nfs4::Stateid4 s, c;
    EXPECT_EQ(state.open(clientid, bytes("oo"), fh(f), 3, 0, &s), Nfsstat4::kOk);
    const bool confirm = state.open_needs_confirm(clientid, bytes("oo"), s);
    state.end_owner_op(op, seq++, Nfsstat4::kOk, encode(s), fh(f));
    if (!confirm) return s;
    EXPECT_EQ(state.begin_stateid_owner(s, seq, &op), Nfsstat4::kOk);
    EXPECT_EQ(state.open_confirm(s, fh(f), &c), Nfsstat4::kOk);
    state.end_owner_op(op, seq++, Nfsstat4::kOk, {}, fh(f));
    return c;
  }
  /// LOCKT by another lock-owner of `clientid` on [off, off + len).
  Nfsstat4 lockt(std::uint64_t clientid, std::uint8_t f, std::uint64_t off, std::uint64_t len) {
    nfs4::LocktArgs a;
    a.locktype = nfs4::kWriteLt;
    a.offset = off;
    a.length = len;
    a.owner.clientid = clientid;
    a.owner.owner = bytes("tester");
    nfs4::LockDenied d;
    return state.lockt(clientid, a, fh(f), &d);
  }

  /// What the client sees of one LOCK / LOCKU.
  struct Reply {
    Nfsstat4 status = Nfsstat4::kOk;
    std::vector<std::uint8_t> body;
    bool replayed = false;
    nfs4::Stateid4 sid;  // the lock stateid on kOk
  };
  static nfs4::Stateid4 decode(const std::vector<std::uint8_t>& b) {
    nfs4::Stateid4 s;
    if (b.size() < 16) return s;
    s.seqid = std::uint32_t{b[0]} << 24 | std::uint32_t{b[1]} << 16 | std::uint32_t{b[2]} << 8 | b[3];
    std::copy(b.begin() + 4, b.begin() + 16, s.other.begin());
    return s;
  }
  /// The reply a retransmission gets from the owner's replay cache.
  static Reply from_cache(const Nfs4State::OwnerOp& op) {
    Reply r;
    r.replayed = true;
    r.status = op.status;
    r.body = op.body;
    r.sid = decode(r.body);
    return r;
  }
  /// LOCK with open_to_lock_owner4 as run_op_v40 runs it: the open-owner's
  /// seqid, then the new lock-owner's sequence starts at `lock_seqid`.
  Reply lock_new(std::uint64_t clientid, const nfs4::Stateid4& open, const std::string& owner,
                 std::uint32_t lock_seqid, std::uint8_t f, std::uint64_t off = 0,
                 std::uint64_t len = kAll) {
    Reply r;
    Nfs4State::OwnerOp op;
    std::uint32_t& seq = open_seqid(clientid);
    r.status = state.begin_stateid_owner(open, seq, &op);
    if (r.status != Nfsstat4::kOk) return r;
    if (op.replay) return from_cache(op);
    nfs4::LockArgs a;
    a.locktype = nfs4::kWriteLt;
    a.offset = off;
    a.length = len;
    a.new_lock_owner = true;
    a.open_seqid = seq;
    a.open_stateid = open;
    a.lock_seqid = lock_seqid;
    a.lock_owner.clientid = clientid;
    a.lock_owner.owner = bytes(owner);
    nfs4::LockDenied denied;
    r.status = state.lock(0, a, fh(f), &r.sid, &denied);
    if (r.status == Nfsstat4::kOk) r.body = encode(r.sid);
    state.end_owner_op(op, seq, r.status, r.body, fh(f));
    if (OwnerSeqid::bumps_seqid(r.status)) ++seq;
    Nfs4State::OwnerOp lo;
    lo.clientid = op.clientid;
    lo.owner = owner;
    state.end_lock_owner_op(lo, lock_seqid, r.status, r.body);
    return r;
  }
  /// LOCK with exist_lock_owner4 (`unlock` false) or LOCKU (true) as
  /// run_op_v40 runs it: begin_lock_owner, the op unless it is a replay,
  /// end_lock_owner_op.
  Reply lock_owner_op(const nfs4::Stateid4& lock, std::uint32_t seqid, std::uint8_t f,
                      bool unlock, std::uint64_t off = 0, std::uint64_t len = kAll,
                      std::uint32_t type = nfs4::kWriteLt) {
    Reply r;
    Nfs4State::OwnerOp op;
    r.status = state.begin_lock_owner(lock, seqid, &op);
    if (r.status != Nfsstat4::kOk) return r;
    if (op.replay) return from_cache(op);
    if (unlock) {
      nfs4::LockuArgs a;
      a.locktype = type;
      a.seqid = seqid;
      a.lock_stateid = lock;
      a.offset = off;
      a.length = len;
      r.status = state.locku(a, fh(f), &r.sid, 0);
    } else {
      nfs4::LockArgs a;
      a.locktype = type;
      a.offset = off;
      a.length = len;
      a.lock_stateid = lock;
      a.lock_seqid = seqid;
      nfs4::LockDenied denied;
      r.status = state.lock(0, a, fh(f), &r.sid, &denied);
      if (r.status == Nfsstat4::kDenied) r.body = {1, 2, 3, 4};  // stands for LOCK4denied
    }
    if (r.status == Nfsstat4::kOk) r.body = encode(r.sid);
    state.end_lock_owner_op(op, seqid, r.status, r.body);
    return r;
  }

  std::map<std::uint64_t, std::uint32_t> open_seqids;
};

TEST_F(Nfs4LockSeqidTest, NextLockSeqidRunsAndAdvancesTheLockOwner) {
  const auto id = client("a");
  const auto o = open(id, 1);
  Reply first = lock_new(id, o, "lo", 0, 1, 0, 10);
  ASSERT_EQ(first.status, Nfsstat4::kOk);
  Reply second = lock_owner_op(first.sid, 1, 1, false, 20, 10);
  ASSERT_EQ(second.status, Nfsstat4::kOk);
  EXPECT_FALSE(second.replayed);
  EXPECT_EQ(second.sid.seqid, first.sid.seqid + 1);
  Reply unlock = lock_owner_op(second.sid, 2, 1, true, 0, 10);
  ASSERT_EQ(unlock.status, Nfsstat4::kOk);
  EXPECT_FALSE(unlock.replayed);
  EXPECT_EQ(unlock.sid.seqid, second.sid.seqid + 1);
  const auto other = client("b");
  EXPECT_EQ(lockt(other, 1, 0, 10), Nfsstat4::kOk) << "0..9 was unlocked";
  EXPECT_EQ(lockt(other, 1, 20, 10), Nfsstat4::kDenied) << "20..29 is still held";
}

TEST_F(Nfs4LockSeqidTest, RetransmittedLockIsAnsweredFromTheCacheWithoutRunningAgain) {
  const auto id = client("a");
  const auto o = open(id, 1);
  Reply first = lock_new(id, o, "lo", 0, 1, 0, 10);
  ASSERT_EQ(first.status, Nfsstat4::kOk);
  Reply lock = lock_owner_op(first.sid, 1, 1, false, 20, 10);
  ASSERT_EQ(lock.status, Nfsstat4::kOk);
  // The retransmission carries the same (now old) stateid and seqid.
  Reply again = lock_owner_op(first.sid, 1, 1, false, 20, 10);
  EXPECT_TRUE(again.replayed);
  EXPECT_EQ(again.status, Nfsstat4::kOk);
  EXPECT_EQ(again.body, lock.body) << "the cached reply, byte for byte";
  // Not run again: a second grant would have bumped the stateid's seqid, and
  // the client's current stateid would then be OLD_STATEID.
  Reply next = lock_owner_op(lock.sid, 2, 1, false, 40, 10);
  EXPECT_EQ(next.status, Nfsstat4::kOk);
  EXPECT_EQ(next.sid.seqid, lock.sid.seqid + 1);
}

TEST_F(Nfs4LockSeqidTest, RetransmittedLockuIsAnsweredFromTheCacheWithoutUnlockingAgain) {
  const auto id = client("a");
  const auto o = open(id, 1);
  Reply first = lock_new(id, o, "lo", 7, 1, 0, 10);
  ASSERT_EQ(first.status, Nfsstat4::kOk);
  Reply unlock = lock_owner_op(first.sid, 8, 1, true, 0, 10);
  ASSERT_EQ(unlock.status, Nfsstat4::kOk);
  // Another LOCK of the same owner in between would be seqid 9; a
  // retransmitted LOCKU (8) must not undo anything.
  Reply again = lock_owner_op(first.sid, 8, 1, true, 0, 10);
  EXPECT_TRUE(again.replayed);
  EXPECT_EQ(again.status, Nfsstat4::kOk);
  EXPECT_EQ(again.body, unlock.body);
  Reply relock = lock_owner_op(unlock.sid, 9, 1, false, 0, 10);
  ASSERT_EQ(relock.status, Nfsstat4::kOk);
  EXPECT_EQ(relock.sid.seqid, unlock.sid.seqid + 1) << "the replay did not bump the stateid";
}

TEST_F(Nfs4LockSeqidTest, WrongLockSeqidIsBadSeqidAndDoesNotAdvance) {
  const auto id = client("a");
  const auto o = open(id, 1);
  Reply first = lock_new(id, o, "lo", 0, 1, 0, 10);
  ASSERT_EQ(first.status, Nfsstat4::kOk);
  EXPECT_EQ(lock_owner_op(first.sid, 2, 1, false, 20, 10).status, Nfsstat4::kBadSeqid)
      << "one ahead";
  EXPECT_EQ(lock_owner_op(first.sid, 0xffffffffu, 1, true, 0, 10).status, Nfsstat4::kBadSeqid)
      << "one behind";
  Reply ok = lock_owner_op(first.sid, 1, 1, true, 0, 10);
  EXPECT_EQ(ok.status, Nfsstat4::kOk) << "seqid 1 is still the next one";
  EXPECT_FALSE(ok.replayed);
}

TEST_F(Nfs4LockSeqidTest, LockSeqidWrapsFromTheLargestValueToZero) {
  const auto id = client("a");
  const auto o = open(id, 1);
  Reply first = lock_new(id, o, "lo", 0xffffffffu, 1, 0, 10);
  ASSERT_EQ(first.status, Nfsstat4::kOk);
  Reply next = lock_owner_op(first.sid, 0, 1, true, 0, 10);
  EXPECT_EQ(next.status, Nfsstat4::kOk);
  EXPECT_FALSE(next.replayed);
}

TEST_F(Nfs4LockSeqidTest, DeniedLockConsumesTheSeqidAndIsReplayedAsDenied) {
  const auto a = client("a");
  const auto b = client("b");
  const auto oa = open(a, 1);
  const auto ob = open(b, 1);
  Reply held = lock_new(b, ob, "lb", 0, 1, 100, 10);
  ASSERT_EQ(held.status, Nfsstat4::kOk);
  Reply mine = lock_new(a, oa, "la", 0, 1, 0, 10);
  ASSERT_EQ(mine.status, Nfsstat4::kOk);
  Reply denied = lock_owner_op(mine.sid, 1, 1, false, 100, 1);
  ASSERT_EQ(denied.status, Nfsstat4::kDenied);
  Reply again = lock_owner_op(mine.sid, 1, 1, false, 100, 1);
  EXPECT_TRUE(again.replayed);
  EXPECT_EQ(again.status, Nfsstat4::kDenied);
  EXPECT_EQ(again.body, denied.body) << "LOCK4denied comes back from the cache";
  EXPECT_EQ(lock_owner_op(mine.sid, 2, 1, false, 20, 1).status, Nfsstat4::kOk)
      << "DENIED advanced the lock-owner's seqid";
}

TEST_F(Nfs4LockSeqidTest, NonBumpingErrorLeavesTheSeqidForTheNextRequest) {
  const auto id = client("a");
  const auto o = open(id, 1);
  open(id, 2);
  Reply first = lock_new(id, o, "lo", 0, 1, 0, 10);
  ASSERT_EQ(first.status, Nfsstat4::kOk);
  // LOCKU of the lock stateid on another file: BAD_STATEID, which does not
  // consume the seqid (RFC 7530 §9.1.7).
  EXPECT_EQ(lock_owner_op(first.sid, 1, 2, true, 0, 10).status, Nfsstat4::kBadStateid);
  Reply ok = lock_owner_op(first.sid, 1, 1, true, 0, 10);
  EXPECT_EQ(ok.status, Nfsstat4::kOk);
  EXPECT_FALSE(ok.replayed) << "seqid 1 was not used up by the error";
}

TEST_F(Nfs4LockSeqidTest, OpenToLockOwnerForALockOwnerWithStateOnTheFileIsBadSeqid) {
  const auto id = client("a");
  const auto o = open(id, 1);
  ASSERT_EQ(lock_new(id, o, "lo", 0, 1, 0, 10).status, Nfsstat4::kOk);
  // A new request (next open seqid) claiming the lock-owner is new.
  Reply again = lock_new(id, o, "lo", 1, 1, 20, 10);
  EXPECT_FALSE(again.replayed);
  EXPECT_EQ(again.status, Nfsstat4::kBadSeqid);
}

TEST_F(Nfs4LockSeqidTest, LockOwnerKnownFromAnotherFileContinuesItsSequence) {
  const auto id = client("a");
  const auto o1 = open(id, 1);
  const auto o2 = open(id, 2);
  Reply first = lock_new(id, o1, "lo", 5, 1, 0, 10);
  ASSERT_EQ(first.status, Nfsstat4::kOk);
  EXPECT_EQ(lock_new(id, o2, "lo", 9, 2, 0, 10).status, Nfsstat4::kBadSeqid);
  Reply second = lock_new(id, o2, "lo", 6, 2, 0, 10);
  ASSERT_EQ(second.status, Nfsstat4::kOk);
  EXPECT_NE(second.sid.other, first.sid.other) << "one lock stateid per file";
  EXPECT_EQ(lock_owner_op(first.sid, 7, 1, true, 0, 10).status, Nfsstat4::kOk)
      << "the lock-owner's one sequence: 5, 6, 7";
}

TEST_F(Nfs4LockSeqidTest, SecondRequestOfABusyLockOwnerIsDelay) {
  const auto id = client("a");
  const auto o = open(id, 1);
  Reply first = lock_new(id, o, "lo", 0, 1, 0, 10);
  ASSERT_EQ(first.status, Nfsstat4::kOk);
  Nfs4State::OwnerOp running, other;
  ASSERT_EQ(state.begin_lock_owner(first.sid, 1, &running), Nfsstat4::kOk);
  EXPECT_EQ(state.begin_lock_owner(first.sid, 1, &other), Nfsstat4::kDelay);
  state.end_lock_owner_op(running, 1, Nfsstat4::kOk, {});
  EXPECT_EQ(state.begin_lock_owner(first.sid, 1, &other), Nfsstat4::kOk);
  EXPECT_TRUE(other.replay);
}

TEST_F(Nfs4LockSeqidTest, LockOwnerOfAnotherInstanceOrUnknownStateid) {
  const auto id = client("a");
  const auto o = open(id, 1);
  Reply first = lock_new(id, o, "lo", 0, 1, 0, 10);
  ASSERT_EQ(first.status, Nfsstat4::kOk);
  Nfs4State::OwnerOp op;
  nfs4::Stateid4 foreign = first.sid;
  foreign.other[0] ^= 0xff;
  EXPECT_EQ(state.begin_lock_owner(foreign, 1, &op), Nfsstat4::kStaleStateid);
  nfs4::Stateid4 unknown = first.sid;
  unknown.other[11] ^= 0xff;
  EXPECT_EQ(state.begin_lock_owner(unknown, 1, &op), Nfsstat4::kBadStateid);
}

// ---------------------------------------------- EXPIRED (RFC 7530 §9.6.3)

TEST_F(Nfs4LockSeqidTest, ExpiredClientsOpenAndLockStateidsAreExpired) {
  const auto id = client("a");
  const auto o = open(id, 1);
  Reply l = lock_new(id, o, "lo", 0, 1, 0, 10);
  ASSERT_EQ(l.status, Nfsstat4::kOk);
  now += std::chrono::seconds(91);
  state.expire();
  ASSERT_EQ(state.client_count(), 0u);
  EXPECT_EQ(state.check_stateid(o, fh(1), false, 0), Nfsstat4::kExpired) << "READ";
  EXPECT_EQ(state.check_stateid(l.sid, fh(1), false, 0), Nfsstat4::kExpired) << "READ, lock";
  Nfs4State::OwnerOp op;
  EXPECT_EQ(state.begin_stateid_owner(o, open_seqid(id), &op), Nfsstat4::kExpired) << "CLOSE";
  EXPECT_EQ(state.begin_lock_owner(l.sid, 1, &op), Nfsstat4::kExpired) << "LOCKU";
  EXPECT_EQ(lockt(id, 1, 0, 10), Nfsstat4::kExpired) << "LOCKT names the clientid";
  nfs4::LockOwner4 lo;
  lo.clientid = id;
  lo.owner = bytes("lo");
  EXPECT_EQ(state.release_lockowner(lo), Nfsstat4::kExpired);
}

TEST_F(Nfs4LockSeqidTest, UnknownStateidOfALiveClientIsStillBadStateid) {
  const auto id = client("a");
  const auto o = open(id, 1);
  nfs4::Stateid4 unknown = o;
  unknown.other[11] ^= 0xff;  // same client bytes, never handed out
  EXPECT_EQ(state.check_stateid(unknown, fh(1), false, 0), Nfsstat4::kBadStateid);
}

}  // namespace
}  // namespace nasd::server
