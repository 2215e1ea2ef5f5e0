// NFSv4.1 against the real process with hand-made COMPOUNDs over raw TCP
// (libnfs speaks only 4.0; see libnfs_v40_test.cc): session set-up,
// the pseudo-filesystem, OPEN/WRITE/READ/CLOSE, the SEQUENCE reply cache and
// the COMPOUND error rules (RFC 8881 §2.10.6, §16.2.3, §18), and READ_PLUS
// of a sparse file in minor version 2 (RFC 7862 §15.10).
#include <fcntl.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <iterator>

#include "tests/integration/integration_fixture.h"
#include "tests/integration/nfs4_raw.h"

namespace nasd::integration {
namespace {

// Operation numbers and statuses (RFC 8881 §16.2, §15.1).
constexpr std::uint32_t OP_CLOSE = 4, OP_GETATTR = 9, OP_GETFH = 10, OP_OPENATTR = 19,
                        OP_LOOKUP = 15, OP_OPEN = 18, OP_PUTFH = 22, OP_PUTROOTFH = 24,
                        OP_READ = 25, OP_READDIR = 26, OP_WRITE = 38, OP_EXCHANGE_ID = 42,
                        OP_CREATE_SESSION = 43, OP_SEQUENCE = 53, OP_RECLAIM_COMPLETE = 58;
constexpr std::uint32_t NFS4_OK = 0, NFS4ERR_NOENT = 2, NFS4ERR_NOTSUPP = 10004,
                        NFS4ERR_MINOR_VERS_MISMATCH = 10021, NFS4ERR_OP_ILLEGAL = 10044,
                        NFS4ERR_SEQ_MISORDERED = 10063, NFS4ERR_OP_NOT_IN_SESSION = 10071,
                        NFS4ERR_NOFILEHANDLE = 10020, NFS4ERR_BAD_STATEID = 10025;

class Nfs4CompoundTest : public NasdTest {
 protected:
  /// Sends COMPOUND(tag "t", minor, ops) and returns the result.
  Result compound(const std::string& ops, std::uint32_t nops, std::uint32_t minor = 1) {
    return nfs4_compound(*conn_, ++xid_, ops, nops, minor);
  }
  /// EXCHANGE_ID + CREATE_SESSION; leaves the session id in sid_.
  void open_session() {
    conn_ = std::make_unique<RawConnection>(nasd_->nfs_port());
    std::string ops;
    put_u32(ops, OP_EXCHANGE_ID);
    ops.append(8, '\x11');
    put_opaque(ops, "nfs4 integration test client");
    put_u32(ops, 0);  // flags
    put_u32(ops, 0);  // SP4_NONE
    put_u32(ops, 0);  // no impl id
    Result e = compound(ops, 1);
    ASSERT_EQ(e.status, NFS4_OK);
    ASSERT_EQ(e.next(OP_EXCHANGE_ID), NFS4_OK);
    const std::uint64_t clientid = e.u64();
    const std::uint32_t seq = e.u32();
    ops.clear();
    put_u32(ops, OP_CREATE_SESSION);
    put_u64(ops, clientid);
    put_u32(ops, seq);
    put_u32(ops, 0);
    for (int ch = 0; ch < 2; ++ch) {
      for (std::uint32_t v : {0u, 1u << 20, 1u << 20, 4096u, 16u, 8u, 0u}) put_u32(ops, v);
    }
    put_u32(ops, 0x40000000);
    put_u32(ops, 0);  // no callback security
    Result c = compound(ops, 1);
    ASSERT_EQ(c.status, NFS4_OK);
    ASSERT_EQ(c.next(OP_CREATE_SESSION), NFS4_OK);
    sid_ = c.fixed(16);
  }
  /// SEQUENCE for slot 0 with the next seqid (or `seqid`).
  std::string sequence(std::uint32_t seqid = 0) {
    std::string ops;
    put_u32(ops, OP_SEQUENCE);
    ops += sid_;
    put_u32(ops, seqid ? seqid : ++slot_seq_);
    put_u32(ops, 0);
    put_u32(ops, 0);
    put_u32(ops, 1);  // cachethis
    return ops;
  }
  /// PUTROOTFH + LOOKUP of every component of `path`.
  std::pair<std::string, std::uint32_t> walk(const std::filesystem::path& path) {
    std::string ops;
    std::uint32_t n = 1;
    put_u32(ops, OP_PUTROOTFH);
    for (const auto& part : path.relative_path()) {
      put_u32(ops, OP_LOOKUP);
      put_opaque(ops, part.string());
      ++n;
    }
    return {ops, n};
  }
  static std::string getattr(std::initializer_list<std::uint32_t> attrs) {
    std::uint32_t w[3] = {0, 0, 0};
    for (auto a : attrs) w[a / 32] |= 1u << (a % 32);
    std::string ops;
    put_u32(ops, OP_GETATTR);
    put_u32(ops, 3);
    for (auto v : w) put_u32(ops, v);
    return ops;
  }

  std::unique_ptr<RawConnection> conn_;
  std::uint32_t xid_ = 0;
  std::uint32_t slot_seq_ = 0;
  std::string sid_;
};

TEST_F(Nfs4CompoundTest, MinorVersionThreeIsMismatch) {
  conn_ = std::make_unique<RawConnection>(nasd_->nfs_port());
  std::string ops;
  put_u32(ops, OP_PUTROOTFH);
  Result r = compound(ops, 1, 3);
  EXPECT_EQ(r.status, NFS4ERR_MINOR_VERS_MISMATCH);
  EXPECT_EQ(r.numres, 0u);
}

TEST_F(Nfs4CompoundTest, FirstOpMustBeSequence) {
  conn_ = std::make_unique<RawConnection>(nasd_->nfs_port());
  std::string ops;
  put_u32(ops, OP_PUTROOTFH);
  Result r = compound(ops, 1);
  EXPECT_EQ(r.status, NFS4ERR_OP_NOT_IN_SESSION);
}

TEST_F(Nfs4CompoundTest, PseudoRootLeadsToExportAndGetattrWorks) {
  open_session();
  auto [ops, n] = walk(nasd_->export_dir());
  std::string all = sequence() + ops;
  put_u32(all, OP_GETFH);
  all += getattr({1 /* type */, 4 /* size */, 33 /* mode */});
  Result r = compound(all, n + 3);
  ASSERT_EQ(r.status, NFS4_OK);
  EXPECT_EQ(r.numres, n + 3);
}

TEST_F(Nfs4CompoundTest, UnknownNameStopsTheCompoundAtThatOp) {
  open_session();
  std::string ops = sequence();
  put_u32(ops, OP_PUTROOTFH);
  put_u32(ops, OP_LOOKUP);
  put_opaque(ops, "no-such-dir");
  put_u32(ops, OP_GETFH);
  Result r = compound(ops, 4);
  EXPECT_EQ(r.status, NFS4ERR_NOENT);
  EXPECT_EQ(r.numres, 3u);  // SEQUENCE, PUTROOTFH, LOOKUP; GETFH never ran
}

TEST_F(Nfs4CompoundTest, UnimplementedOpIsNotSuppAndIllegalOpIsOpIllegal) {
  open_session();
  std::string ops = sequence();
  put_u32(ops, OP_PUTROOTFH);
  put_u32(ops, OP_OPENATTR);  // named attributes: not supported
  ops.append(64, '\0');  // whatever: never parsed
  Result r = compound(ops, 3);
  EXPECT_EQ(r.status, NFS4ERR_NOTSUPP);
  ops = sequence();
  put_u32(ops, 9999);
  r = compound(ops, 2);
  EXPECT_EQ(r.status, NFS4ERR_OP_ILLEGAL);
  r.next(OP_SEQUENCE);
  r.fixed(16 + 20);
  EXPECT_EQ(r.next(10044), NFS4ERR_OP_ILLEGAL);
  ops = sequence();
  put_u32(ops, OP_GETFH);
  EXPECT_EQ(compound(ops, 2).status, NFS4ERR_NOFILEHANDLE);
}

TEST_F(Nfs4CompoundTest, RetriedSequenceReplaysTheSameReplyAndMisorderedIsRefused) {
  open_session();
  auto [walk_ops, n] = walk(nasd_->export_dir());
  std::string ops = sequence() + walk_ops;
  put_u32(ops, OP_GETFH);
  Result first = compound(ops, n + 2);
  ASSERT_EQ(first.status, NFS4_OK);
  // Same slot and seqid again: the cached reply, byte for byte, even though
  // the request now asks for something else.
  std::string other = sequence(slot_seq_);
  put_u32(other, OP_PUTROOTFH);
  Result again = compound(other, 2);
  EXPECT_EQ(again.raw, first.raw);
  Result bad = compound(sequence(slot_seq_ + 5), 1);
  EXPECT_EQ(bad.status, NFS4ERR_SEQ_MISORDERED);
}

TEST_F(Nfs4CompoundTest, OpenCreateWriteCloseThenReadBack) {
  open_session();
  {
    std::string ops = sequence();
    put_u32(ops, OP_RECLAIM_COMPLETE);
    put_u32(ops, 0);
    ASSERT_EQ(compound(ops, 2).status, NFS4_OK);
  }
  auto [walk_ops, n] = walk(nasd_->export_dir());
  std::string ops = sequence() + walk_ops;
  put_u32(ops, OP_OPEN);
  put_u32(ops, 0);  // seqid
  put_u32(ops, 3);  // access both
  put_u32(ops, 0);  // deny none
  put_u64(ops, 0);  // clientid (the session's is used)
  put_opaque(ops, "owner");
  put_u32(ops, 1);  // CREATE
  put_u32(ops, 1);  // GUARDED4
  put_u32(ops, 2);  // bitmap: mode
  put_u32(ops, 0);
  put_u32(ops, 1u << (33 - 32));
  put_u32(ops, 4);
  put_u32(ops, 0640);
  put_u32(ops, 0);  // CLAIM_NULL
  put_opaque(ops, "v4file");
  put_u32(ops, OP_GETFH);
  Result r = compound(ops, n + 3);
  ASSERT_EQ(r.status, NFS4_OK);
  r.next(OP_SEQUENCE);
  r.fixed(36);
  for (std::uint32_t i = 0; i < n; ++i) r.next(i == 0 ? OP_PUTROOTFH : OP_LOOKUP);
  ASSERT_EQ(r.next(OP_OPEN), NFS4_OK);
  const std::string stateid = r.fixed(16);
  r.fixed(20);  // change_info
  r.u32();      // rflags
  r.fixed(4 * r.u32());  // attrset
  EXPECT_EQ(r.u32(), 0u);  // no delegation
  ASSERT_EQ(r.next(OP_GETFH), NFS4_OK);
  const std::string fh = r.opaque();

  ops = sequence();
  put_u32(ops, OP_PUTFH);
  put_opaque(ops, fh);
  put_u32(ops, OP_WRITE);
  ops += stateid;
  put_u64(ops, 0);
  put_u32(ops, 2);  // FILE_SYNC4
  put_opaque(ops, "hello nfs4");
  put_u32(ops, OP_CLOSE);
  put_u32(ops, 0);
  ops += stateid.substr(0, 4);  // seqid
  ops += stateid.substr(4);
  ASSERT_EQ(compound(ops, 4).status, NFS4_OK);
  std::ifstream in(nasd_->export_dir() / "v4file");
  std::string content((std::istreambuf_iterator<char>(in)), {});
  EXPECT_EQ(content, "hello nfs4");
  EXPECT_EQ(stat_of(nasd_->export_dir() / "v4file").st_mode & 07777, 0640u);

  ops = sequence();
  put_u32(ops, OP_PUTFH);
  put_opaque(ops, fh);
  put_u32(ops, OP_READ);
  ops.append(16, '\0');  // anonymous stateid
  put_u64(ops, 6);
  put_u32(ops, 100);
  r = compound(ops, 3);
  ASSERT_EQ(r.status, NFS4_OK);
  r.next(OP_SEQUENCE);
  r.fixed(36);
  r.next(OP_PUTFH);
  ASSERT_EQ(r.next(OP_READ), NFS4_OK);
  EXPECT_EQ(r.u32(), 1u);  // eof
  EXPECT_EQ(r.opaque(), "nfs4");
}

TEST_F(Nfs4CompoundTest, OpenClaimingADelegationIsBadStateidAndDelegationReclaimIsNotsupp) {
  // nasd hands out no delegations: a delegation stateid is never valid, and
  // reclaiming one across a client restart is the optional part.
  open_session();
  auto [walk_ops, n] = walk(nasd_->export_dir());
  const std::pair<std::uint32_t, std::uint32_t> cases[] = {
      {2, NFS4ERR_BAD_STATEID},  // CLAIM_DELEGATE_CUR
      {3, NFS4ERR_NOTSUPP},      // CLAIM_DELEGATE_PREV
      {5, NFS4ERR_BAD_STATEID},  // CLAIM_DELEG_CUR_FH
      {6, NFS4ERR_NOTSUPP},      // CLAIM_DELEG_PREV_FH
  };
  for (const auto& c : cases) {
    std::string ops = sequence() + walk_ops;
    put_u32(ops, OP_OPEN);
    put_u32(ops, 0);  // seqid
    put_u32(ops, 1);  // access read
    put_u32(ops, 0);  // deny none
    put_u64(ops, 0);
    put_opaque(ops, "owner");
    put_u32(ops, 0);  // NOCREATE
    put_u32(ops, c.first);
    if (c.first == 2 || c.first == 5) ops.append(16, '\x01');  // a delegation stateid
    if (c.first == 2 || c.first == 3) put_opaque(ops, "somefile");
    Result r = compound(ops, n + 2);
    EXPECT_EQ(r.status, c.second) << "claim " << c.first;
  }
}

TEST_F(Nfs4CompoundTest, ReaddirOfPseudoRootListsTheTopComponent) {
  open_session();
  std::string ops = sequence();
  put_u32(ops, OP_PUTROOTFH);
  put_u32(ops, OP_READDIR);
  put_u64(ops, 0);
  ops.append(8, '\0');
  put_u32(ops, 4096);
  put_u32(ops, 8192);
  put_u32(ops, 1);
  put_u32(ops, 1u << 1);  // type
  Result r = compound(ops, 3);
  ASSERT_EQ(r.status, NFS4_OK);
  r.next(OP_SEQUENCE);
  r.fixed(36);
  r.next(OP_PUTROOTFH);
  ASSERT_EQ(r.next(OP_READDIR), NFS4_OK);
  r.fixed(8);
  ASSERT_EQ(r.u32(), 1u);  // an entry
  r.u64();
  const std::string top = nasd_->export_dir().relative_path().begin()->string();
  EXPECT_EQ(r.opaque(), top);
}

TEST_F(Nfs4CompoundTest, OperationsAreCountedPerOperationAndTheExportIsNamed) {
  open_session();
  const std::string labels = "{export=\"1\",path=\"" + nasd_->export_dir().string() + "\"}";
  const double before =
      metric_value(nasd_->metrics(), "nasd_export_requests_total" + labels).value_or(-1);
  auto [ops, n] = walk(nasd_->export_dir());
  ops = sequence() + ops;
  put_u32(ops, OP_LOOKUP);
  put_opaque(ops, "no-such-file");
  Result r = compound(ops, n + 2);
  ASSERT_EQ(r.status, NFS4ERR_NOENT);
  const std::string text = nasd_->metrics();
  auto value = [&](const char* series) { return metric_value(text, series).value_or(-1); };
  EXPECT_EQ(1, value(R"(nasd_nfs4_operations_total{operation="PUTROOTFH",status="OK"})"));
  EXPECT_EQ(1, value(R"(nasd_nfs4_operations_total{operation="LOOKUP",status="NOENT"})"));
  EXPECT_LE(1, value(R"(nasd_nfs4_operation_duration_seconds_count{operation="LOOKUP"})"));
  // The COMPOUND named export 1: its per-export series moved.
  EXPECT_EQ(before + 1,
            metric_value(text, "nasd_export_requests_total" + labels).value_or(-1));
}

TEST_F(Nfs4CompoundTest, FourZeroOnlyOpsAreNotSuppInFourOne) {
  // RFC 8881 §18.x: SETCLIENTID, SETCLIENTID_CONFIRM, RENEW and OPEN_CONFIRM
  // MUST NOT be used in 4.1; the server answers NFS4ERR_NOTSUPP.
  open_session();
  for (std::uint32_t op : {35u /* SETCLIENTID */, 36u /* SETCLIENTID_CONFIRM */,
                           30u /* RENEW */, 20u /* OPEN_CONFIRM */}) {
    std::string ops = sequence();
    put_u32(ops, op);
    ops.append(32, '\0');
    Result r = compound(ops, 2);
    EXPECT_EQ(r.status, NFS4ERR_NOTSUPP) << op;
  }
}

TEST_F(Nfs4CompoundTest, ReadPlusOfASparseFileReturnsTheHoleAsAHoleSegment) {
  // data 'a' [0, 4 KiB), a hole [4 KiB, 1 MiB), data 'b' [1 MiB, 1 MiB + 4 KiB).
  constexpr std::uint32_t OP_READ_PLUS = 68, NFS4_CONTENT_DATA = 0, NFS4_CONTENT_HOLE = 1;
  constexpr std::uint64_t kMiB = 1 << 20;
  const auto path = nasd_->export_dir() / "sparse";
  {
    const int fd = ::open(path.c_str(), O_CREAT | O_WRONLY | O_TRUNC, 0644);
    ASSERT_GE(fd, 0);
    const std::string a(4096, 'a'), b(4096, 'b');
    ASSERT_EQ(::pwrite(fd, a.data(), a.size(), 0), 4096);
    ASSERT_EQ(::pwrite(fd, b.data(), b.size(), kMiB), 4096);
    const off_t hole = ::lseek(fd, 0, SEEK_HOLE);
    ::close(fd);
    if (hole != 4096) GTEST_SKIP() << "the test directory's filesystem keeps no holes";
  }
  open_session();
  auto read_plus = [&](std::uint64_t offset, std::uint32_t count) {
    auto [ops, n] = walk(nasd_->export_dir() / "sparse");
    ops = sequence() + ops;
    put_u32(ops, OP_READ_PLUS);
    ops.append(16, '\0');  // anonymous stateid
    put_u64(ops, offset);
    put_u32(ops, count);
    Result r = compound(ops, n + 2, 2);
    EXPECT_EQ(r.status, NFS4_OK);
    r.next(OP_SEQUENCE);
    r.fixed(36);
    for (std::uint32_t i = 0; i < n; ++i) r.next(i == 0 ? OP_PUTROOTFH : OP_LOOKUP);
    EXPECT_EQ(r.next(OP_READ_PLUS), NFS4_OK);
    return r;
  };
  Result head = read_plus(0, 65536);
  EXPECT_EQ(head.u32(), 0u) << "not at the end of the file";
  ASSERT_EQ(head.u32(), 2u) << "a data and a hole segment";
  EXPECT_EQ(head.u32(), NFS4_CONTENT_DATA);
  EXPECT_EQ(head.u64(), 0u);
  EXPECT_EQ(head.opaque(), std::string(4096, 'a'));
  EXPECT_EQ(head.u32(), NFS4_CONTENT_HOLE);
  EXPECT_EQ(head.u64(), 4096u);          // offset
  EXPECT_EQ(head.u64(), 65536u - 4096);  // length: up to the requested end
  EXPECT_EQ(head.pos, head.raw.size());

  Result tail = read_plus(kMiB - 8192, 65536);
  EXPECT_EQ(tail.u32(), 1u) << "eof";
  ASSERT_EQ(tail.u32(), 2u) << "a hole and a data segment";
  EXPECT_EQ(tail.u32(), NFS4_CONTENT_HOLE);
  EXPECT_EQ(tail.u64(), kMiB - 8192);
  EXPECT_EQ(tail.u64(), 8192u);
  EXPECT_EQ(tail.u32(), NFS4_CONTENT_DATA);
  EXPECT_EQ(tail.u64(), kMiB);
  EXPECT_EQ(tail.opaque(), std::string(4096, 'b'));
  EXPECT_EQ(tail.pos, tail.raw.size());

  Result past = read_plus(kMiB + 4096, 100);
  EXPECT_EQ(past.u32(), 1u) << "eof";
  EXPECT_EQ(past.u32(), 0u) << "no segments at the end of the file";
}

}  // namespace
}  // namespace nasd::integration
