// NFSv4.0 against the real process with hand-made COMPOUNDs (minor version
// 0, no SEQUENCE): SETCLIENTID / SETCLIENTID_CONFIRM / RENEW, OPEN of a new
// open-owner with OPEN_CONFIRM, the open-owner replay cache over the wire
// (RFC 7530 §9.1.7, §9.1.8, §16.16, §16.18, §16.33, §16.34), and which
// operations exist in minor version 0.
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
                        NFS4ERR_OP_ILLEGAL = 10044, OPEN4_RESULT_CONFIRM = 2;

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

}  // namespace
}  // namespace nasd::integration
