// NFSv4 byte-range locks on the shared LockManager (RFC 8881 §18.10-18.12,
// RFC 7530 §16.37), NLM-vs-NFSv4 conflicts, and the grace period with
// reclaim and the client records on disk (RFC 8881 §8.4.2, RFC 7530 §9.6).
#include <gtest/gtest.h>

#include <deque>
#include <filesystem>
#include <string>

#include "protocol/nfs3/nfs3.h"
#include "protocol/nfs4/nfs4.h"
#include "server/locking/lock_manager.h"
#include "server/nfs4/state/recovery.h"
#include "server/nfs4/state/state.h"
#include "server/locking/nsm_state.h"
#include "tests/storage/test_util.h"

namespace nasd::server {
namespace {

using nfs4::Nfsstat4;

constexpr std::uint64_t kAll = ~std::uint64_t{0};

struct Nfs4LockTest : ::testing::Test {
  Nfs4State::Clock::time_point now{std::chrono::seconds(1000)};
  static Nfs4State::Config config() {
    Nfs4State::Config c;
    c.lease = std::chrono::seconds(90);
    c.boot = 0x0a0b0c0d;
    return c;
  }
  Nfs4State state{config(), [this] { return now; }};
  LockManager locks;
  std::vector<GrantedWaiter> granted;  // what on_granted received

  void SetUp() override {
    state.set_lock_manager(&locks, [this](std::vector<GrantedWaiter> w) {
      for (auto& g : w) granted.push_back(std::move(g));
    });
  }

  std::span<const std::uint8_t> bytes(const std::string& s) {
    keep.push_back(s);
    return {reinterpret_cast<const std::uint8_t*>(keep.back().data()), keep.back().size()};
  }
  /// A confirmed client (EXCHANGE_ID + CREATE_SESSION) of owner `name`.
  std::uint64_t client(const std::string& name) {
    nfs4::ExchangeIdArgs a;
    a.verifier.fill(7);
    a.ownerid = bytes(name);
    Nfs4State::ExchangeIdResult e;
    EXPECT_EQ(state.exchange_id(a, &e), Nfsstat4::kOk);
    nfs4::CreateSessionArgs cs;
    cs.clientid = e.clientid;
    cs.sequence = e.sequenceid;
    cs.fore = {0, 1 << 20, 1 << 20, 4096, 16, 8, std::nullopt};
    cs.back = {0, 4096, 4096, 0, 2, 1, std::nullopt};
    Nfs4State::CreateSessionResult r;
    EXPECT_EQ(state.create_session(cs, &r), Nfsstat4::kOk);
    sessions.push_back(r.sessionid);
    return e.clientid;
  }
  storage::FileHandle fh(std::uint8_t n) {
    storage::FileHandle f;
    const std::uint8_t b[] = {1, 0, 0, 0, 1, n, n, n};
    f.assign(b);
    return f;
  }
  nfs4::Stateid4 open(std::uint64_t clientid, const storage::FileHandle& f,
                      std::uint32_t access = nfs4::kShareAccessBoth) {
    nfs4::Stateid4 s;
    EXPECT_EQ(state.open(clientid, bytes("open-owner"), f, access, 0, &s), Nfsstat4::kOk);
    return s;
  }
  nfs4::LockArgs new_owner(const nfs4::Stateid4& open, std::uint64_t clientid,
                           const std::string& owner, std::uint32_t type, std::uint64_t off,
                           std::uint64_t len) {
    nfs4::LockArgs a;
    a.locktype = type;
    a.offset = off;
    a.length = len;
    a.new_lock_owner = true;
    a.open_stateid = open;
    a.lock_owner.clientid = clientid;
    a.lock_owner.owner = bytes(owner);
    return a;
  }
  nfs4::LockArgs existing(const nfs4::Stateid4& lock, std::uint32_t type, std::uint64_t off,
                          std::uint64_t len) {
    nfs4::LockArgs a;
    a.locktype = type;
    a.offset = off;
    a.length = len;
    a.lock_stateid = lock;
    return a;
  }
  /// Opens `f` for `clientid` and write-locks all of it for lock-owner "lo".
  nfs4::Stateid4 whole_file_lock(std::uint64_t clientid, const storage::FileHandle& f) {
    nfs4::Stateid4 s;
    nfs4::LockDenied d;
    EXPECT_EQ(state.lock(clientid, new_owner(open(clientid, f), clientid, "lo", nfs4::kWriteLt, 0,
                                             kAll),
                         f, &s, &d),
              Nfsstat4::kOk);
    return s;
  }
  nfs4::LockuArgs unlock(const nfs4::Stateid4& lock, std::uint64_t off, std::uint64_t len) {
    nfs4::LockuArgs a;
    a.locktype = nfs4::kWriteLt;
    a.lock_stateid = lock;
    a.offset = off;
    a.length = len;
    return a;
  }

  std::deque<std::string> keep;
  std::vector<nfs4::SessionId> sessions;
};

TEST_F(Nfs4LockTest, LockStateidStartsAtOneAndItsSeqidGrowsWithEachChange) {
  const auto a = client("client-a");
  const auto f = fh(1);
  const auto o = open(a, f);
  nfs4::Stateid4 s1, s2, s3;
  nfs4::LockDenied d;
  ASSERT_EQ(state.lock(a, new_owner(o, a, "lo", nfs4::kWriteLt, 0, 10), f, &s1, &d), Nfsstat4::kOk);
  EXPECT_EQ(s1.seqid, 1u);
  EXPECT_NE(s1.other, o.other);
  ASSERT_EQ(state.lock(a, existing(s1, nfs4::kReadLt, 20, 5), f, &s2, &d), Nfsstat4::kOk);
  EXPECT_EQ(s2.seqid, 2u);
  EXPECT_EQ(s2.other, s1.other);
  ASSERT_EQ(state.locku(unlock(s2, 0, 10), f, &s3), Nfsstat4::kOk);
  EXPECT_EQ(s3.seqid, 3u);
  // An outdated lock stateid is OLD_STATEID; seqid 0 means "current".
  EXPECT_EQ(state.lock(a, existing(s1, nfs4::kReadLt, 40, 1), f, &s2, &d), Nfsstat4::kOldStateid);
  nfs4::Stateid4 cur = s3;
  cur.seqid = 0;
  EXPECT_EQ(state.test_stateid(a, cur), Nfsstat4::kOk);
  ASSERT_EQ(locks.locks(lock_file_key(f.bytes())).size(), 1u);
  EXPECT_EQ(locks.locks(lock_file_key(f.bytes()))[0].start, 20u);
}

TEST_F(Nfs4LockTest, ConflictingOwnersOfTwoClientsGetDeniedWithTheHoldersRange) {
  const auto a = client("client-a");
  const auto b = client("client-b");
  const auto f = fh(1);
  const auto oa = open(a, f);
  const auto ob = open(b, f);
  nfs4::Stateid4 la, lb;
  nfs4::LockDenied d;
  ASSERT_EQ(state.lock(a, new_owner(oa, a, "owner-a", nfs4::kWriteLt, 0, 100), f, &la, &d),
            Nfsstat4::kOk);
  // A blocking request is refused as well: NFSv4 has no callback, the client polls.
  ASSERT_EQ(state.lock(b, new_owner(ob, b, "owner-b", nfs4::kWritewLt, 50, 10), f, &lb, &d),
            Nfsstat4::kDenied);
  EXPECT_EQ(d.offset, 0u);
  EXPECT_EQ(d.length, 100u);
  EXPECT_EQ(d.locktype, nfs4::kWriteLt);
  EXPECT_EQ(d.clientid, a);
  EXPECT_EQ(std::string(d.owner.begin(), d.owner.end()), "owner-a");
  EXPECT_EQ(locks.waiter_count(), 0u);
  // The refused new lock-owner got no stateid.
  EXPECT_EQ(state.lock_stateid_count(), 1u);
  nfs4::LocktArgs t;
  t.locktype = nfs4::kReadLt;
  t.offset = 99;
  t.length = kAll;
  t.owner.owner = bytes("owner-b");
  EXPECT_EQ(state.lockt(b, t, f, &d), Nfsstat4::kDenied);
  t.owner.owner = bytes("owner-a");  // its own lock does not conflict
  EXPECT_EQ(state.lockt(a, t, f, &d), Nfsstat4::kOk);
  t.offset = 100;  // past the held range
  t.owner.owner = bytes("owner-b");
  EXPECT_EQ(state.lockt(b, t, f, &d), Nfsstat4::kOk);
  nfs4::Stateid4 out;
  ASSERT_EQ(state.locku(unlock(la, 0, kAll), f, &out), Nfsstat4::kOk);
  EXPECT_EQ(state.lock(b, new_owner(ob, b, "owner-b", nfs4::kWriteLt, 50, 10), f, &lb, &d),
            Nfsstat4::kOk);
}

TEST_F(Nfs4LockTest, ReadLocksOfTwoOwnersShareAndBadRangesAreInval) {
  const auto a = client("client-a");
  const auto f = fh(1);
  const auto o = open(a, f, nfs4::kShareAccessRead);
  nfs4::Stateid4 s;
  nfs4::LockDenied d;
  EXPECT_EQ(state.lock(a, new_owner(o, a, "x", nfs4::kReadLt, 0, kAll), f, &s, &d), Nfsstat4::kOk);
  EXPECT_EQ(state.lock(a, new_owner(o, a, "y", nfs4::kReadLt, 0, 5), f, &s, &d), Nfsstat4::kOk);
  // A write lock needs an open for writing.
  EXPECT_EQ(state.lock(a, new_owner(o, a, "z", nfs4::kWriteLt, 0, 5), f, &s, &d),
            Nfsstat4::kOpenMode);
  EXPECT_EQ(state.lock(a, new_owner(o, a, "z", nfs4::kReadLt, 0, 0), f, &s, &d), Nfsstat4::kInval);
  EXPECT_EQ(state.lock(a, new_owner(o, a, "z", nfs4::kReadLt, 10, kAll - 5), f, &s, &d),
            Nfsstat4::kInval);
  // The open stateid must be for this file.
  EXPECT_EQ(state.lock(a, new_owner(o, a, "z", nfs4::kReadLt, 0, 1), fh(2), &s, &d),
            Nfsstat4::kBadStateid);
}

TEST_F(Nfs4LockTest, NlmAndNfs4OwnersConflictOnTheSameFileKey) {
  const auto a = client("client-a");
  const auto f = fh(3);
  const auto o = open(a, f);
  const LockOwner nlm_owner{"v3host", 42, "oh"};
  const auto key = lock_file_key(f.bytes());  // what NLM uses for the NFSv3 handle
  ASSERT_EQ(locks.lock(key, nlm_owner, LockType::kExclusive, 0, 9, false, 0), LockStatus::kGranted);
  nfs4::Stateid4 s;
  nfs4::LockDenied d;
  ASSERT_EQ(state.lock(a, new_owner(o, a, "v4", nfs4::kReadLt, 5, 1), f, &s, &d),
            Nfsstat4::kDenied);
  EXPECT_EQ(d.clientid, 0u);  // not an NFSv4 client
  EXPECT_EQ(d.offset, 0u);
  EXPECT_EQ(d.length, 10u);
  locks.unlock(key, nlm_owner, 0, kToEof);
  ASSERT_EQ(state.lock(a, new_owner(o, a, "v4", nfs4::kWriteLt, 5, 1), f, &s, &d), Nfsstat4::kOk);
  // Now NLM's blocking request queues behind the NFSv4 lock; LOCKU grants it
  // through on_granted (NLM's GRANTED callback).
  EXPECT_EQ(locks.lock(key, nlm_owner, LockType::kShared, 0, 9, true, 77), LockStatus::kBlocked);
  nfs4::Stateid4 out;
  ASSERT_EQ(state.locku(unlock(s, 5, 1), f, &out), Nfsstat4::kOk);
  ASSERT_EQ(granted.size(), 1u);
  EXPECT_EQ(granted[0].cookie, 77u);
  EXPECT_EQ(granted[0].file, key);
}

TEST_F(Nfs4LockTest, NfsV3AndNfsV4HandlesOfOneFileGiveOneLockKey) {
  // Both protocols carry the backend's handle bytes on the wire; decoded by
  // either codec they name the same LockManager key, and the handle is the
  // same however the file was reached.
  struct Backend : storage::testing::BackendTest {
    using BackendTest::exp_;
    using BackendTest::lookup;
    using BackendTest::root_;
    using BackendTest::SetUp;
    void TestBody() override {}
  } t;
  t.SetUp();
  ASSERT_FALSE(::testing::Test::HasFatalFailure());
  ::mkdir((t.exp_ / "dir").c_str(), 0755);
  storage::testing::write_file(t.exp_ / "dir/f", "x");
  const storage::FileHandle dir = t.lookup(t.root_, "dir");
  const storage::FileHandle f1 = t.lookup(dir, "f");
  const storage::FileHandle f2 = t.lookup(t.lookup(dir, ".."), "dir");
  const storage::FileHandle f3 = t.lookup(f2, "f");
  EXPECT_EQ(lock_file_key(f1.bytes()), lock_file_key(f3.bytes()));

  std::array<std::uint8_t, 128> wire{};
  xdr::XdrEncoder enc(wire);
  nfs3::encode_fh(enc, f1);  // nfs_fh3 and nfs_fh4 are both opaque<>
  xdr::XdrDecoder d3(enc.written());
  storage::FileHandle as_v3;
  ASSERT_TRUE(nfs3::decode_fh(d3, as_v3));
  xdr::XdrDecoder d4(enc.written());
  nfs4::PutfhArgs as_v4;
  ASSERT_TRUE(nfs4::decode(d4, as_v4));
  EXPECT_EQ(lock_file_key(as_v3.bytes()), lock_file_key(as_v4.fh));
  EXPECT_EQ(lock_file_key(as_v4.fh), lock_file_key(f1.bytes()));
}

TEST_F(Nfs4LockTest, ReleaseLockownerIsRefusedWhileItHoldsLocksThenFreesItsStateids) {
  const auto a = client("client-a");
  const auto f = fh(1);
  const auto o = open(a, f);
  nfs4::Stateid4 s, out;
  nfs4::LockDenied d;
  ASSERT_EQ(state.lock(a, new_owner(o, a, "lo", nfs4::kWriteLt, 0, 10), f, &s, &d), Nfsstat4::kOk);
  nfs4::LockOwner4 lo;
  lo.clientid = a;
  lo.owner = bytes("lo");
  EXPECT_EQ(state.release_lockowner(lo), Nfsstat4::kLocksHeld);
  ASSERT_EQ(state.locku(unlock(s, 0, 10), f, &out), Nfsstat4::kOk);
  EXPECT_EQ(state.release_lockowner(lo), Nfsstat4::kOk);
  EXPECT_EQ(state.lock_stateid_count(), 0u);
  EXPECT_EQ(state.test_stateid(a, out), Nfsstat4::kBadStateid);
  lo.clientid = 12345;
  EXPECT_EQ(state.release_lockowner(lo), Nfsstat4::kStaleClientid);
}

TEST_F(Nfs4LockTest, CloseAndFreeStateidAreRefusedWhileLocksAreHeld) {
  const auto a = client("client-a");
  const auto f = fh(1);
  const auto o = open(a, f);
  nfs4::Stateid4 s, out;
  nfs4::LockDenied d;
  ASSERT_EQ(state.lock(a, new_owner(o, a, "lo", nfs4::kWriteLt, 0, 10), f, &s, &d), Nfsstat4::kOk);
  EXPECT_EQ(state.close(o, f), Nfsstat4::kLocksHeld);
  EXPECT_EQ(state.free_stateid(a, s), Nfsstat4::kLocksHeld);
  // I/O with the lock stateid has the open's access.
  EXPECT_EQ(state.check_stateid(s, f, true), Nfsstat4::kOk);
  ASSERT_EQ(state.locku(unlock(s, 0, 10), f, &out), Nfsstat4::kOk);
  EXPECT_EQ(state.free_stateid(a, out), Nfsstat4::kOk);
  EXPECT_EQ(state.test_stateid(a, out), Nfsstat4::kBadStateid);
  EXPECT_EQ(state.close(o, f), Nfsstat4::kOk);
}

TEST_F(Nfs4LockTest, LeaseExpiryFreesTheClientsLocksAndGrantsNlmWaiters) {
  const auto a = client("client-a");
  const auto f = fh(1);
  whole_file_lock(a, f);
  const auto key = lock_file_key(f.bytes());
  EXPECT_EQ(locks.lock(key, LockOwner{"v3host", 1, {}}, LockType::kExclusive, 0, 0, true, 5),
            LockStatus::kBlocked);
  now += std::chrono::seconds(91);
  state.expire();
  EXPECT_EQ(state.client_count(), 0u);
  EXPECT_EQ(state.lock_stateid_count(), 0u);
  ASSERT_EQ(granted.size(), 1u);
  EXPECT_EQ(granted[0].cookie, 5u);
  ASSERT_EQ(locks.locks(key).size(), 1u);
  EXPECT_EQ(locks.locks(key)[0].owner.client.host, "v3host");
}

TEST_F(Nfs4LockTest, DestroyClientidFreesItsLocks) {
  const auto a = client("client-a");
  whole_file_lock(a, fh(1));
  EXPECT_EQ(locks.lock_count(), 1u);
  ASSERT_EQ(state.destroy_session(sessions.back()), Nfsstat4::kOk);
  ASSERT_EQ(state.destroy_clientid(a), Nfsstat4::kOk);
  EXPECT_EQ(locks.lock_count(), 0u);
}

TEST_F(Nfs4LockTest, ARestartedServerAnswersTheOldSessionClientidAsStaleAndStateidsAsBad) {
  // The client's view after nasd restarts: a new boot verifier, no state.
  const auto a = client("client-a");
  const auto lock = whole_file_lock(a, fh(1));
  Nfs4State::Config c = config();
  c.boot = 0x0e0e0e0e;
  Nfs4State restarted(c, [this] { return now; });
  LockManager fresh;
  restarted.set_lock_manager(&fresh, nullptr);
  nfs4::SequenceArgs seq;
  seq.sessionid = sessions.back();
  seq.sequenceid = 1;
  Nfs4State::SequenceResult r;
  EXPECT_EQ(restarted.sequence(seq, &r), Nfsstat4::kBadSession);
  nfs4::CreateSessionArgs cs;
  cs.clientid = a;
  cs.sequence = 1;
  cs.fore = {0, 1 << 20, 1 << 20, 4096, 16, 8, std::nullopt};
  Nfs4State::CreateSessionResult cr;
  EXPECT_EQ(restarted.create_session(cs, &cr), Nfsstat4::kStaleClientid);
  nfs4::Stateid4 out;
  // 4.1: another instance's stateid is BAD_STATEID (RFC 8881 §15.1.5: no
  // STALE_STATEID in 4.1); 4.0 keeps STALE_STATEID (RFC 7530 §9.1.4).
  EXPECT_EQ(restarted.locku(unlock(lock, 0, kAll), fh(1), &out), Nfsstat4::kBadStateid);
  EXPECT_EQ(restarted.locku(unlock(lock, 0, kAll), fh(1), &out, 0), Nfsstat4::kStaleStateid);
}

// ---------------------------------------------------------------- grace

struct Nfs4GraceTest : Nfs4LockTest {
  storage::testing::TempDir dir;
  /// An unconfirmed client of `owner` on `s` with one open; its clientid.
  std::uint64_t opened_client(Nfs4State& s, const std::string& owner) {
    nfs4::ExchangeIdArgs e;
    e.ownerid = bytes(owner);
    Nfs4State::ExchangeIdResult r;
    EXPECT_EQ(s.exchange_id(e, &r), Nfsstat4::kOk);
    nfs4::Stateid4 sid;
    EXPECT_EQ(s.open(r.clientid, bytes("oo"), fh(1), 1, 0, &sid), Nfsstat4::kOk);
    return r.clientid;
  }
  /// A previous run: `owners` held state.
  void previous_run(std::initializer_list<const char*> owners) {
    Nfs4ClientRecords r(dir.path());
    for (const char* o : owners) r.add(o);
  }
};

TEST_F(Nfs4GraceTest, ClientRecordsSurviveARestartAndGoWhenTheClientLosesItsState) {
  const std::string owner(300, 'L');  // a long owner id: hashed file name
  {
    Nfs4State s1(config(), [this] { return now; });
    Nfs4ClientRecords records(dir.path());
    GracePeriod grace(std::chrono::seconds(0));
    s1.set_recovery(&grace, &records);
    opened_client(s1, owner);
  }
  {
    Nfs4ClientRecords restarted(dir.path());  // "restart": a new state over the same dir
    EXPECT_TRUE(restarted.previous(owner));
    EXPECT_EQ(restarted.previous_count(), 1u);
  }
  {
    Nfs4State s2(config(), [this] { return now; });
    Nfs4ClientRecords records(dir.path());
    GracePeriod grace(std::chrono::seconds(0));
    s2.set_recovery(&grace, &records);
    const std::uint64_t b = opened_client(s2, owner);
    ASSERT_EQ(s2.destroy_clientid(b), Nfsstat4::kOk);  // loses its state
  }
  EXPECT_EQ(Nfs4ClientRecords(dir.path()).previous_count(), 0u);
}

TEST_F(Nfs4GraceTest, OnlyListedClientsReclaimAndOnlyInGrace) {
  previous_run({"client-a"});
  Nfs4ClientRecords records(dir.path());
  GracePeriod grace(std::chrono::hours(1));
  state.set_recovery(&grace, &records);
  EXPECT_TRUE(grace.active());
  const auto a = client("client-a");
  const auto b = client("client-b");
  EXPECT_EQ(state.check_grace(a, false), Nfsstat4::kGrace);  // OPEN CLAIM_NULL waits
  EXPECT_EQ(state.check_grace(a, true), Nfsstat4::kOk);       // OPEN CLAIM_PREVIOUS
  EXPECT_EQ(state.check_grace(b, true), Nfsstat4::kReclaimBad);
  EXPECT_EQ(state.check_grace(b, false), Nfsstat4::kGrace);
  EXPECT_TRUE(state.in_grace());
  // Lock reclaim goes through; a non-reclaim LOCK and LOCKT wait.
  const auto f = fh(1);
  const auto o = open(a, f);
  nfs4::Stateid4 s;
  nfs4::LockDenied d;
  auto req = new_owner(o, a, "lo", nfs4::kWriteLt, 0, 10);
  EXPECT_EQ(state.lock(a, req, f, &s, &d), Nfsstat4::kGrace);
  req.reclaim = true;
  EXPECT_EQ(state.lock(a, req, f, &s, &d), Nfsstat4::kOk);
  nfs4::LocktArgs t;
  t.locktype = nfs4::kReadLt;
  t.length = kAll;
  EXPECT_EQ(state.lockt(b, t, f, &d), Nfsstat4::kGrace);
  // RECLAIM_COMPLETE of the only listed client ends the grace period early.
  ASSERT_EQ(state.reclaim_complete(a), Nfsstat4::kOk);
  EXPECT_FALSE(grace.active());
  EXPECT_EQ(state.check_grace(a, true), Nfsstat4::kNoGrace);
  EXPECT_EQ(state.check_grace(b, false), Nfsstat4::kOk);
  EXPECT_EQ(state.lockt(b, t, f, &d), Nfsstat4::kDenied);  // the reclaimed lock holds
}

TEST_F(Nfs4GraceTest, GraceWaitsForEveryListedClientAndForTheOtherProtocol) {
  previous_run({"client-a", "client-b"});
  Nfs4ClientRecords records(dir.path());
  GracePeriod grace(std::chrono::hours(1), 2);  // NLM and NFSv4
  state.set_recovery(&grace, &records);
  const auto a = client("client-a");
  ASSERT_EQ(state.reclaim_complete(a), Nfsstat4::kOk);
  EXPECT_TRUE(grace.active());  // client-b has not come back
  const auto b = client("client-b");
  ASSERT_EQ(state.reclaim_complete(b), Nfsstat4::kOk);
  EXPECT_TRUE(grace.active());  // NLM still has clients to wait for
  grace.end();                  // NLM: nobody left
  EXPECT_FALSE(grace.active());
}

TEST_F(Nfs4GraceTest, NoListedClientsMeansNoGraceForNfs4) {
  Nfs4ClientRecords records(dir.path());
  GracePeriod grace(std::chrono::hours(1));
  state.set_recovery(&grace, &records);
  EXPECT_FALSE(grace.active());
  const auto a = client("client-a");
  EXPECT_EQ(state.check_grace(a, false), Nfsstat4::kOk);
  EXPECT_EQ(state.check_grace(a, true), Nfsstat4::kNoGrace);
}

TEST_F(Nfs4GraceTest, OnlyAClientsFirstOpenWritesItsRecord) {
  // Inline OPENs (Nfs4Program) must not write: they ask first.
  Nfs4ClientRecords records(dir.path());
  GracePeriod grace(std::chrono::seconds(0));
  state.set_recovery(&grace, &records);
  const auto a = client("client-a");
  EXPECT_TRUE(state.open_writes_record(a));
  // An OPEN: the grace check (the first after grace drops stale records),
  // then the open state (the client's first: its record).
  ASSERT_EQ(state.check_grace(a, false), Nfsstat4::kOk);
  open(a, fh(1));
  EXPECT_TRUE(Nfs4ClientRecords(dir.path()).previous("client-a"));
  EXPECT_FALSE(state.open_writes_record(a));
  EXPECT_FALSE(state.open_writes_record(a + 1000));  // unknown client: the OPEN fails anyway
}

TEST_F(Nfs4GraceTest, RecordsOfClientsThatDidNotReclaimAreForgottenAfterGrace) {
  previous_run({"gone"});
  Nfs4ClientRecords records(dir.path());
  GracePeriod grace(std::chrono::seconds(0), 2);  // already over
  state.set_recovery(&grace, &records);
  const auto a = client("client-a");
  EXPECT_EQ(state.check_grace(a, false), Nfsstat4::kOk);
  EXPECT_EQ(Nfs4ClientRecords(dir.path()).previous_count(), 0u);
}

}  // namespace
}  // namespace nasd::server
