// NFSv4.0 against the real process with hand-made COMPOUNDs (minor version
// 0, no SEQUENCE): SETCLIENTID / SETCLIENTID_CONFIRM / RENEW, OPEN of a new
// open-owner with OPEN_CONFIRM, the open-owner replay cache over the wire
// (RFC 7530 §9.1.7, §9.1.8, §16.16, §16.18, §16.33, §16.34), the
// lock-owner's seqid and replay cache for LOCK and LOCKU (§16.10, §16.12),
// and which operations exist in minor version 0.
#include <fstream>
#include <iterator>

#include "tests/integration/integration_fixture.h"
#include "tests/integration/nfs4_raw.h"

namespace nasd::integration {
namespace {

constexpr std::uint32_t OP_CLOSE = 4, OP_GETATTR = 9, OP_GETFH = 10, OP_LOOKUP = 15,
                        OP_OPEN = 18, OP_OPEN_CONFIRM = 20, OP_PUTFH = 22, OP_PUTROOTFH = 24,
                        OP_READ = 25, OP_RENEW = 30, OP_SETCLIENTID = 35,
                        OP_SETCLIENTID_CONFIRM = 36, OP_WRITE = 38, OP_EXCHANGE_ID = 42,
                        OP_SEQUENCE = 53, OP_ILLEGAL = 10044;
constexpr std::uint32_t NFS4_OK = 0, NFS4ERR_BAD_STATEID = 10025, NFS4ERR_BAD_SEQID = 10026,
                        NFS4ERR_CLID_INUSE = 10017, NFS4ERR_STALE_CLIENTID = 10022,
                        NFS4ERR_OP_ILLEGAL = 10044, NFS4ERR_LOCKS_HELD = 10037,
                        OPEN4_RESULT_CONFIRM = 2;

class Nfs40CompoundTest : public NasdTest {
 protected:
  void SetUp() override {
    NasdTest::SetUp();
    conn_ = std::make_unique<RawConnection>(nasd_->nfs_port());
  }
  Result compound(const std::string& ops, std::uint32_t nops, std::uint32_t uid = 0) {
    return nfs4_compound(*conn_, ++xid_, ops, nops, 0, uid);
  }
  static std::string setclientid(const std::string& id, char verifier) {
    std::string ops;
    put_u32(ops, OP_SETCLIENTID);
    ops.append(8, verifier);
    put_opaque(ops, id);
    put_u32(ops, 0x40000000);  // cb_program: accepted, never used
    put_opaque(ops, "tcp");
    put_opaque(ops, "127.0.0.1.3.200");
    put_u32(ops, 1);
    return ops;
  }
  /// SETCLIENTID_CONFIRM for the clientid and confirm verifier of a
  /// successful SETCLIENTID reply `r`; the clientid goes to *clientid.
  static std::string confirm_ops(Result& r, std::uint64_t* clientid) {
    EXPECT_EQ(r.next(OP_SETCLIENTID), NFS4_OK);
    *clientid = r.u64();
    std::string ops;
    put_u32(ops, OP_SETCLIENTID_CONFIRM);
    put_u64(ops, *clientid);
    ops += r.fixed(8);
    return ops;
  }
  /// SETCLIENTID + SETCLIENTID_CONFIRM; returns the clientid.
  std::uint64_t client(const std::string& id = "nasd 4.0 test client") {
    Result r = compound(setclientid(id, 'v'), 1);
    EXPECT_EQ(r.status, NFS4_OK);
    std::uint64_t clientid = 0;
    EXPECT_EQ(compound(confirm_ops(r, &clientid), 1).status, NFS4_OK);
    return clientid;
  }
  /// PUTROOTFH + LOOKUPs to the export, then OPEN (create) of `name`.
  std::pair<std::string, std::uint32_t> open_ops(std::uint64_t clientid, std::uint32_t seqid,
                                                 const std::string& name) {
    std::string ops;
    std::uint32_t n = 1;
    put_u32(ops, OP_PUTROOTFH);
    for (const auto& part : nasd_->export_dir().relative_path()) {
      put_u32(ops, OP_LOOKUP);
      put_opaque(ops, part.string());
      ++n;
    }
    put_u32(ops, OP_OPEN);
    put_u32(ops, seqid);
    put_u32(ops, 3);  // access both
    put_u32(ops, 0);  // deny none
    put_u64(ops, clientid);
    put_opaque(ops, "open-owner-1");
    put_u32(ops, 1);  // OPEN4_CREATE
    put_u32(ops, 0);  // UNCHECKED4
    put_u32(ops, 0);  // empty bitmap
    put_u32(ops, 0);  // no attributes
    put_u32(ops, 0);  // CLAIM_NULL
    put_opaque(ops, name);
    put_u32(ops, OP_GETFH);
    return {ops, n + 2};
  }
  struct Opened {
    std::string stateid;  // 16 bytes
    std::uint32_t rflags = 0;
    std::string fh;
    std::string open_result;  // OPEN's whole result body
  };
  /// Sends open_ops() and parses OPEN + GETFH.
  Opened open(std::uint64_t clientid, std::uint32_t seqid, const std::string& name) {
    auto [ops, n] = open_ops(clientid, seqid, name);
    Result r = compound(ops, n);
    Opened o;
    EXPECT_EQ(r.status, NFS4_OK);
    if (r.status != NFS4_OK) return o;
    for (std::uint32_t i = 0; i + 2 < n; ++i) r.next(i == 0 ? OP_PUTROOTFH : OP_LOOKUP);
    EXPECT_EQ(r.next(OP_OPEN), NFS4_OK);
    const std::size_t start = r.pos;
    o.stateid = r.fixed(16);
    r.fixed(20);  // change_info
    o.rflags = r.u32();
    r.fixed(4 * r.u32());  // attrset
    EXPECT_EQ(r.u32(), 0u);  // OPEN_DELEGATE_NONE
    o.open_result = r.raw.substr(start, r.pos - start);
    EXPECT_EQ(r.next(OP_GETFH), NFS4_OK);
    o.fh = r.opaque();
    return o;
  }
  Result open_confirm(const std::string& fh, const std::string& stateid, std::uint32_t seqid) {
    std::string ops;
    put_u32(ops, OP_PUTFH);
    put_opaque(ops, fh);
    put_u32(ops, OP_OPEN_CONFIRM);
    ops += stateid;
    put_u32(ops, seqid);
    return compound(ops, 2);
  }
  Result close(const std::string& fh, const std::string& stateid, std::uint32_t seqid) {
    std::string ops;
    put_u32(ops, OP_PUTFH);
    put_opaque(ops, fh);
    put_u32(ops, OP_CLOSE);
    put_u32(ops, seqid);
    ops += stateid;
    return compound(ops, 2);
  }

  std::unique_ptr<RawConnection> conn_;
  std::uint32_t xid_ = 0;
};

TEST_F(Nfs40CompoundTest, CompoundWithoutSequenceRunsInMinorVersionZero) {
  std::string ops;
  put_u32(ops, OP_PUTROOTFH);
  put_u32(ops, OP_GETATTR);
  put_u32(ops, 1);
  put_u32(ops, 1u << 1);  // type
  Result r = compound(ops, 2);
  EXPECT_EQ(r.status, NFS4_OK);
  EXPECT_EQ(r.numres, 2u);
}

TEST_F(Nfs40CompoundTest, FourOneOperationsAreIllegalInMinorVersionZero) {
  for (std::uint32_t op : {OP_SEQUENCE, OP_EXCHANGE_ID}) {
    std::string ops;
    put_u32(ops, op);
    ops.append(64, '\0');
    Result r = compound(ops, 1);
    EXPECT_EQ(r.status, NFS4ERR_OP_ILLEGAL) << op;
    EXPECT_EQ(r.next(OP_ILLEGAL), NFS4ERR_OP_ILLEGAL);
  }
}

TEST_F(Nfs40CompoundTest, SetclientidConfirmAndRenew) {
  const std::uint64_t clientid = client();
  std::string ops;
  put_u32(ops, OP_RENEW);
  put_u64(ops, clientid);
  EXPECT_EQ(compound(ops, 1).status, NFS4_OK);
  ops.clear();
  put_u32(ops, OP_RENEW);
  put_u64(ops, clientid + 1000);
  EXPECT_EQ(compound(ops, 1).status, NFS4ERR_STALE_CLIENTID);
}

TEST_F(Nfs40CompoundTest, ConfirmFromAnotherUidIsClidInuse) {
  Result r = compound(setclientid("inuse client", 'a'), 1);
  std::uint64_t clientid = 0;
  const std::string ops = confirm_ops(r, &clientid);
  EXPECT_EQ(compound(ops, 1, /*uid=*/1000).status, NFS4ERR_CLID_INUSE);
  EXPECT_EQ(compound(ops, 1).status, NFS4_OK);
}

TEST_F(Nfs40CompoundTest, SetclientidOfAnotherUidWhileStateIsHeldIsClidInuseWithClientaddr) {
  const std::uint64_t clientid = client("shared id");
  ASSERT_FALSE(open(clientid, 1, "held").fh.empty());
  Result r = compound(setclientid("shared id", 'w'), 1, /*uid=*/1000);
  EXPECT_EQ(r.status, NFS4ERR_CLID_INUSE);
  ASSERT_EQ(r.next(OP_SETCLIENTID), NFS4ERR_CLID_INUSE);
  EXPECT_EQ(r.opaque(), "");  // clientaddr4 r_netid
  EXPECT_EQ(r.opaque(), "");  // r_addr
  EXPECT_EQ(r.pos, r.raw.size());
}

TEST_F(Nfs40CompoundTest, OpenConfirmWriteCloseAndCloseReplay) {
  const std::uint64_t clientid = client();
  Opened o = open(clientid, 7, "v40file");
  ASSERT_EQ(o.fh.empty(), false);
  EXPECT_TRUE(o.rflags & OPEN4_RESULT_CONFIRM) << "a new open-owner must confirm";
  // The unconfirmed stateid is not usable for I/O yet.
  std::string w;
  put_u32(w, OP_PUTFH);
  put_opaque(w, o.fh);
  put_u32(w, OP_WRITE);
  w += "%STATEID%";
  put_u64(w, 0);
  put_u32(w, 2);  // FILE_SYNC4
  put_opaque(w, "hello v4.0");
  auto with = [&](const std::string& sid) {
    std::string s = w;
    s.replace(s.find("%STATEID%"), 9, sid);
    return s;
  };
  EXPECT_EQ(compound(with(o.stateid), 2).status, NFS4ERR_BAD_STATEID);

  Result c = open_confirm(o.fh, o.stateid, 8);
  ASSERT_EQ(c.status, NFS4_OK);
  c.next(OP_PUTFH);
  ASSERT_EQ(c.next(OP_OPEN_CONFIRM), NFS4_OK);
  const std::string confirmed = c.fixed(16);
  EXPECT_EQ(get_u32(confirmed, 0), get_u32(o.stateid, 0) + 1);
  // A retransmitted OPEN_CONFIRM gets the same answer.
  Result c2 = open_confirm(o.fh, o.stateid, 8);
  ASSERT_EQ(c2.status, NFS4_OK);
  EXPECT_EQ(c2.raw, c.raw);

  ASSERT_EQ(compound(with(confirmed), 2).status, NFS4_OK);
  std::ifstream in(nasd_->export_dir() / "v40file");
  EXPECT_EQ(std::string((std::istreambuf_iterator<char>(in)), {}), "hello v4.0");

  Result cl = close(o.fh, confirmed, 9);
  ASSERT_EQ(cl.status, NFS4_OK);
  Result again = close(o.fh, confirmed, 9);
  EXPECT_EQ(again.status, NFS4_OK) << "retransmitted CLOSE is answered from the cache";
  EXPECT_EQ(again.raw, cl.raw);
  EXPECT_EQ(close(o.fh, confirmed, 11).status, NFS4ERR_BAD_SEQID);
}

TEST_F(Nfs40CompoundTest, LockOpeningALockOwnerUsesAndAdvancesTheOpenOwnersSeqid) {
  // RFC 7530 §9.1.7: a LOCK with open_to_lock_owner4 carries the
  // open-owner's seqid; it is checked, replayed and advanced like CLOSE's.
  const std::uint64_t clientid = client();
  Opened o = open(clientid, 20, "v40lock");
  ASSERT_EQ(o.fh.empty(), false);
  Result c = open_confirm(o.fh, o.stateid, 21);
  ASSERT_EQ(c.status, NFS4_OK);
  c.next(OP_PUTFH);
  ASSERT_EQ(c.next(OP_OPEN_CONFIRM), NFS4_OK);
  const std::string confirmed = c.fixed(16);
  std::string lock;
  put_u32(lock, OP_PUTFH);
  put_opaque(lock, o.fh);
  put_u32(lock, 12);  // OP_LOCK
  put_u32(lock, 2);   // WRITE_LT
  put_u32(lock, 0);   // reclaim = false
  put_u64(lock, 0);
  put_u64(lock, 100);
  put_u32(lock, 1);   // new_lock_owner: open_to_lock_owner4
  put_u32(lock, 22);  // open_seqid
  lock += confirmed;
  put_u32(lock, 0);   // lock_seqid
  put_u64(lock, clientid);
  put_opaque(lock, "lock-owner-1");
  Result l = compound(lock, 2);
  ASSERT_EQ(l.status, NFS4_OK);
  Result again = compound(lock, 2);
  EXPECT_EQ(again.status, NFS4_OK) << "a retransmitted LOCK is answered from the cache";
  EXPECT_EQ(again.raw, l.raw);
  // The open-owner's next seqid is 23: 22 again would be a replay of the
  // LOCK, 24 is out of order.
  EXPECT_EQ(close(o.fh, confirmed, 24).status, NFS4ERR_BAD_SEQID);
  EXPECT_EQ(close(o.fh, confirmed, 23).status, NFS4ERR_LOCKS_HELD);
}

TEST_F(Nfs40CompoundTest, RetransmittedOpenReplaysTheResultAndTheFilehandle) {
  const std::uint64_t clientid = client();
  Opened first = open(clientid, 1, "replayed");
  ASSERT_FALSE(first.fh.empty());
  ASSERT_EQ(open_confirm(first.fh, first.stateid, 2).status, NFS4_OK);
  Opened second = open(clientid, 3, "replayed");  // upgrade: same stateid, seqid + 1
  ASSERT_FALSE(second.fh.empty());
  EXPECT_FALSE(second.rflags & OPEN4_RESULT_CONFIRM);
  Opened replay = open(clientid, 3, "replayed");
  EXPECT_EQ(replay.open_result, second.open_result);
  EXPECT_EQ(replay.fh, second.fh) << "GETFH after a replayed OPEN sees the opened file";
  auto [ops, n] = open_ops(clientid, 9, "replayed");
  EXPECT_EQ(compound(ops, n).status, NFS4ERR_BAD_SEQID);
}

TEST_F(Nfs40CompoundTest, LockOwnerSeqidsOfLockAndLockuAreCheckedAndReplayed) {
  // RFC 7530 §9.1.7: LOCK with exist_lock_owner4 and LOCKU carry the
  // lock-owner's seqid: the next one runs, the last one again gets the
  // cached reply, anything else is BAD_SEQID.
  constexpr std::uint32_t OP_LOCK = 12, OP_LOCKU = 14;
  const std::uint64_t clientid = client();
  Opened o = open(clientid, 1, "v40lockseq");
  ASSERT_FALSE(o.fh.empty());
  Result c = open_confirm(o.fh, o.stateid, 2);
  ASSERT_EQ(c.status, NFS4_OK);
  c.next(OP_PUTFH);
  ASSERT_EQ(c.next(OP_OPEN_CONFIRM), NFS4_OK);
  const std::string confirmed = c.fixed(16);
  auto lock_ops = [&](std::uint64_t offset, bool new_owner, const std::string& stateid,
                      std::uint32_t lock_seqid) {
    std::string ops;
    put_u32(ops, OP_PUTFH);
    put_opaque(ops, o.fh);
    put_u32(ops, OP_LOCK);
    put_u32(ops, 2);  // WRITE_LT
    put_u32(ops, 0);  // reclaim
    put_u64(ops, offset);
    put_u64(ops, 10);
    put_u32(ops, new_owner ? 1 : 0);
    if (new_owner) {
      put_u32(ops, 3);  // open_seqid
      ops += stateid;
      put_u32(ops, lock_seqid);
      put_u64(ops, clientid);
      put_opaque(ops, "lock-owner-seq");
    } else {
      ops += stateid;
      put_u32(ops, lock_seqid);
    }
    return ops;
  };
  auto locku_ops = [&](std::uint64_t offset, const std::string& stateid, std::uint32_t seqid) {
    std::string ops;
    put_u32(ops, OP_PUTFH);
    put_opaque(ops, o.fh);
    put_u32(ops, OP_LOCKU);
    put_u32(ops, 2);
    put_u32(ops, seqid);
    ops += stateid;
    put_u64(ops, offset);
    put_u64(ops, 10);
    return ops;
  };
  auto lock_stateid = [](Result& r, std::uint32_t op) {
    r.next(OP_PUTFH);
    EXPECT_EQ(r.next(op), NFS4_OK);
    return r.fixed(16);
  };
  Result first = compound(lock_ops(0, true, confirmed, 10), 2);  // lock-owner starts at 10
  ASSERT_EQ(first.status, NFS4_OK);
  const std::string sid1 = lock_stateid(first, OP_LOCK);

  Result second = compound(lock_ops(100, false, sid1, 11), 2);
  ASSERT_EQ(second.status, NFS4_OK);
  Result again = compound(lock_ops(100, false, sid1, 11), 2);
  EXPECT_EQ(again.status, NFS4_OK) << "a retransmitted LOCK is answered from the cache";
  EXPECT_EQ(again.raw, second.raw);
  const std::string sid2 = lock_stateid(second, OP_LOCK);
  EXPECT_EQ(compound(lock_ops(200, false, sid2, 13), 2).status, NFS4ERR_BAD_SEQID);

  Result unlock = compound(locku_ops(0, sid2, 12), 2);
  ASSERT_EQ(unlock.status, NFS4_OK);
  Result unlock_again = compound(locku_ops(0, sid2, 12), 2);
  EXPECT_EQ(unlock_again.status, NFS4_OK) << "a retransmitted LOCKU is answered from the cache";
  EXPECT_EQ(unlock_again.raw, unlock.raw);
  const std::string sid3 = lock_stateid(unlock, OP_LOCKU);
  EXPECT_EQ(get_u32(sid3, 0), get_u32(sid2, 0) + 1) << "LOCKU bumped the stateid once";
  EXPECT_EQ(compound(locku_ops(100, sid3, 11), 2).status, NFS4ERR_BAD_SEQID) << "old seqid";
  Result last = compound(locku_ops(100, sid3, 13), 2);
  EXPECT_EQ(last.status, NFS4_OK);
  EXPECT_EQ(get_u32(lock_stateid(last, OP_LOCKU), 0), get_u32(sid3, 0) + 1)
      << "the replayed LOCKU did not bump the stateid a second time";
}

TEST_F(Nfs40CompoundTest, ReclaimOpenAfterACrashNeedsNoOpenConfirmAndItsStateidWorks) {
  // What the Linux 4.0 client sends after nasd restarts: SETCLIENTID +
  // SETCLIENTID_CONFIRM, then PUTFH + OPEN(CLAIM_PREVIOUS) without GETFH
  // (so it could not OPEN_CONFIRM), then LOCK with reclaim and I/O.
  constexpr std::uint32_t OP_LOCK = 12;
  const std::uint64_t before = client("reclaiming client");
  Opened o = open(before, 1, "reclaimed");
  ASSERT_FALSE(o.fh.empty());
  ASSERT_EQ(open_confirm(o.fh, o.stateid, 2).status, NFS4_OK);
  nasd_->kill9();
  nasd_->start();
  conn_ = std::make_unique<RawConnection>(nasd_->nfs_port());
  const std::uint64_t clientid = client("reclaiming client");
  ASSERT_NE(clientid, before);
  std::string ops;
  put_u32(ops, OP_PUTFH);
  put_opaque(ops, o.fh);
  put_u32(ops, OP_OPEN);
  put_u32(ops, 3);  // seqid: the owner is new to this server instance
  put_u32(ops, 3);  // access both
  put_u32(ops, 0);  // deny none
  put_u64(ops, clientid);
  put_opaque(ops, "open-owner-1");
  put_u32(ops, 0);  // OPEN4_NOCREATE
  put_u32(ops, 1);  // CLAIM_PREVIOUS
  put_u32(ops, 0);  // delegate_type NONE
  Result r = compound(ops, 2);
  ASSERT_EQ(r.status, NFS4_OK);
  r.next(OP_PUTFH);
  ASSERT_EQ(r.next(OP_OPEN), NFS4_OK);
  const std::string stateid = r.fixed(16);
  r.fixed(20);  // change_info
  EXPECT_EQ(r.u32() & OPEN4_RESULT_CONFIRM, 0u) << "a reclaim needs no OPEN_CONFIRM";

  std::string lock;
  put_u32(lock, OP_PUTFH);
  put_opaque(lock, o.fh);
  put_u32(lock, OP_LOCK);
  put_u32(lock, 2);  // WRITE_LT
  put_u32(lock, 1);  // reclaim
  put_u64(lock, 0);
  put_u64(lock, ~std::uint64_t{0});
  put_u32(lock, 1);  // open_to_lock_owner4
  put_u32(lock, 4);  // open_seqid
  lock += stateid;
  put_u32(lock, 0);  // lock_seqid
  put_u64(lock, clientid);
  put_opaque(lock, "lock-owner-r");
  EXPECT_EQ(compound(lock, 2).status, NFS4_OK) << "the lock is reclaimed";

  std::string read;
  put_u32(read, OP_PUTFH);
  put_opaque(read, o.fh);
  put_u32(read, OP_READ);
  read += stateid;
  put_u64(read, 0);
  put_u32(read, 10);
  EXPECT_EQ(compound(read, 2).status, NFS4_OK) << "the reclaimed stateid is usable at once";
}

}  // namespace
}  // namespace nasd::integration
