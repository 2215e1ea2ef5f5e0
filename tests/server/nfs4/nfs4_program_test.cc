// Nfs4Program driven directly with a mock Backend: the NFSv4.2 operations
// (SEEK, ALLOCATE, DEALLOCATE, COPY, CLONE, READ_PLUS), the RFC 8276 xattr
// operations, NOTSUPP / OP_ILLEGAL for unimplemented and out-of-range
// operations, the session's COMPOUND limits and the per-operation metrics.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <functional>
#include <new>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <prometheus/registry.h>

#include "server/nfs4/metrics.h"
#include "server/nfs4/op_table.h"
#include "server/nfs4/program.h"
#include "tests/protocol/nfs3/nfs3_test_util.h"
#include "tests/mocks/mock_backend.h"

// Heap allocations of this thread while counting is on (the test of the
// parse and validate stages below); a replacement of the global operator
// new that otherwise only forwards to malloc.
namespace {
thread_local bool t_count_allocations = false;
thread_local std::size_t t_allocations = 0;
}  // namespace

// GCC takes the replaced operator new for the built-in one and warns that
// free() gets its pointer: both are malloc's here.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void* operator new(std::size_t n) {
  if (t_count_allocations) ++t_allocations;
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
// The array and nothrow forms too: a sanitizer runtime replaces each on
// its own, so memory from one of its forms must not reach free() through
// ours (ASan: alloc-dealloc mismatch), and ours must reach the counter.
void* operator new[](std::size_t n) { return ::operator new(n); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  if (t_count_allocations) ++t_allocations;
  return std::malloc(n ? n : 1);
}
void* operator new[](std::size_t n, const std::nothrow_t& t) noexcept {
  return ::operator new(n, t);
}
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }
#pragma GCC diagnostic pop

namespace nasd::server {
namespace {

using ::testing::_;
using ::testing::AnyNumber;
using ::testing::DoAll;
using ::testing::Eq;
using ::testing::Return;
using ::testing::SetArgPointee;
using ::testing::StrictMock;
using nfs4::Nfsstat4;
using nfs4::Op;
using storage::FileHandle;
using storage::Status;
using testutil::MockBackend;
using testutil::Wire;
namespace ip = boost::asio::ip;

constexpr std::uint32_t kMaxRead = 65536;
constexpr storage::Verifier kWriteverf = {9, 8, 7, 6, 5, 4, 3, 2};

FileHandle fh_in(std::uint8_t export_id, std::uint8_t object) {
  FileHandle f;
  f.size = 8;
  f.data[0] = export_id;
  f.data[1] = object;
  return f;
}

Export make_export(std::uint32_t id, std::string path, bool rw) {
  ExportOptions o;
  o.read_only = !rw;
  o.squash = ExportOptions::Squash::kNone;
  ClientSpec c;
  c.kind = ClientSpec::Kind::kAny;
  c.text = "*";
  c.options = o;
  Export e;
  e.id = id;
  e.path = path;
  e.pseudo = path;
  e.clients.push_back(c);
  return e;
}

/// Session limits offered by the test client in CREATE_SESSION.
struct Fore {
  std::uint32_t maxrequest = 1 << 20, maxresponse = 1 << 20, maxops = 16;
};

void anon_stateid(xdr::XdrEncoder& e) {
  e.u32(0);
  for (int i = 0; i < 3; ++i) e.u32(0);
}

class Nfs4ProgramTest : public ::testing::Test {
 protected:
  explicit Nfs4ProgramTest(Nfs4State::Config state_config = {})
      : registry_(ExportTable({make_export(1, "/srv/rw", true), make_export(2, "/srv/ro", false),
                               make_export(3, "/srv/other", true)})),
        state_(state_config),
        program_(backend_, registry_, state_, Nfs4Limits{kMaxRead, kMaxRead, 64}, kWriteverf) {
    ON_CALL(backend_, export_of(_, _)).WillByDefault([](const FileHandle& fh, std::uint32_t* id) {
      *id = fh.data[0];
      return Status::kOk;
    });
    EXPECT_CALL(backend_, export_of(_, _)).Times(AnyNumber());
    ctx_.header.prog = nfs4::kProgram;
    ctx_.header.vers = nfs4::kVersion;
    ctx_.header.proc = nfs4::kProcCompound;
    ctx_.header.flavor = rpc::AuthFlavor::kSys;
    ctx_.header.sys.uid = 1000;
    ctx_.header.sys.gid = 1000;
    ctx_.peer = ip::make_address("10.0.0.9");
    ctx_.peer_port = 700;
  }

  /// Runs one COMPOUND through decode -> validate -> execute; returns the
  /// reply body (status, tag, results).
  /// Encodes COMPOUND4args (tag "t") into `req` and decodes them with
  /// `program` into `slot`.
  void decode_compound(Nfs4Program& program, Wire& req, std::uint32_t minor, std::uint32_t numops,
                       const std::function<void(xdr::XdrEncoder&)>& ops, ArgSlot& slot) {
    req.enc.string("t");
    req.enc.u32(minor);
    req.enc.u32(numops);
    ops(req.enc);
    xdr::XdrDecoder in(req.enc.written());
    EXPECT_EQ(program.decode(ctx_, in, slot), DecodeResult::kOk);
  }

  std::vector<std::uint8_t> compound(std::uint32_t minor, std::uint32_t numops,
                                     const std::function<void(xdr::XdrEncoder&)>& ops) {
    Wire req(1 << 18);
    ArgSlot slot;
    decode_compound(program_, req, minor, numops, ops, slot);
    std::vector<std::uint8_t> buf(program_.max_reply_size(ctx_, slot));
    xdr::XdrEncoder out(buf);
    if (program_.validate(ctx_, slot, out)) program_.execute(ctx_, slot, out);
    EXPECT_TRUE(out.ok()) << "reply exceeded max_reply_size()";
    auto w = out.written();
    return {w.begin(), w.end()};
  }

  /// EXCHANGE_ID + CREATE_SESSION with `fore` limits.
  void open_session(Fore fore = {}) {
    auto r = compound(1, 1, [](xdr::XdrEncoder& e) {
      e.u32(static_cast<std::uint32_t>(Op::kExchangeId));
      e.fixed_opaque(std::array<std::uint8_t, 8>{1, 2, 3, 4, 5, 6, 7, 8});
      e.string("test-client");
      e.u32(0);  // flags
      e.u32(0);  // SP4_NONE
      e.u32(0);  // no impl id
    });
    xdr::XdrDecoder in(r);
    ASSERT_EQ(in.u32(), 0u);
    in.string(16);
    in.u32();
    in.u32();
    ASSERT_EQ(in.u32(), 0u);
    const std::uint64_t clientid = in.u64();
    clientid_ = clientid;
    const std::uint32_t seq = in.u32();
    r = compound(1, 1, [&](xdr::XdrEncoder& e) {
      e.u32(static_cast<std::uint32_t>(Op::kCreateSession));
      e.u64(clientid);
      e.u32(seq);
      e.u32(0);
      for (std::uint32_t v : {0u, fore.maxrequest, fore.maxresponse, 8192u, fore.maxops, 8u, 0u}) {
        e.u32(v);
      }
      for (std::uint32_t v : {0u, 4096u, 4096u, 0u, 2u, 1u, 0u}) e.u32(v);
      e.u32(0x40000000);
      e.u32(1);
      e.u32(0);  // AUTH_NONE
    });
    xdr::XdrDecoder cs(r);
    ASSERT_EQ(cs.u32(), 0u) << "CREATE_SESSION failed";
    cs.string(16);
    cs.u32();
    cs.u32();
    ASSERT_EQ(cs.u32(), 0u);
    auto id = cs.fixed_opaque(16);
    std::copy(id.begin(), id.end(), sessionid_.begin());
  }

  void sequence(xdr::XdrEncoder& e) {
    e.u32(static_cast<std::uint32_t>(Op::kSequence));
    e.fixed_opaque(sessionid_);
    e.u32(++seqid_);
    e.u32(0);  // slot
    e.u32(0);
    e.boolean(false);
  }
  static void putfh(xdr::XdrEncoder& e, const FileHandle& fh) {
    e.u32(static_cast<std::uint32_t>(Op::kPutfh));
    e.opaque(fh.bytes());
  }

  /// SEQUENCE + PUTFH(fh) + the encoded op; returns a decoder positioned at
  /// the op's status (after checking SEQUENCE and PUTFH succeeded).
  struct Result {
    std::vector<std::uint8_t> bytes;
    Nfsstat4 top = Nfsstat4::kOk;
    Nfsstat4 status = Nfsstat4::kOk;  // of the last operation
    std::size_t body = 0;             // offset of its result body
    xdr::XdrDecoder body_reader() const {
      return xdr::XdrDecoder(std::span<const std::uint8_t>(bytes).subspan(body));
    }
  };
  Result run(const std::function<void(xdr::XdrEncoder&)>& ops, std::uint32_t numops,
             std::uint32_t minor = 2) {
    Result r;
    r.bytes = compound(minor, numops + 1, [&](xdr::XdrEncoder& e) {
      sequence(e);
      ops(e);
    });
    xdr::XdrDecoder in(r.bytes);
    r.top = static_cast<Nfsstat4>(in.u32());
    in.string(16);
    const std::uint32_t n = in.u32();
    for (std::uint32_t i = 0; i < n; ++i) {
      const std::uint32_t op = in.u32();
      r.status = static_cast<Nfsstat4>(in.u32());
      if (i + 1 == n) break;
      if (op == static_cast<std::uint32_t>(Op::kSequence) && r.status == Nfsstat4::kOk) {
        in.fixed_opaque(16 + 20);
      }
    }
    r.body = in.position();
    return r;
  }
  Result run_on(const FileHandle& fh, const std::function<void(xdr::XdrEncoder&)>& op) {
    return run([&](xdr::XdrEncoder& e) {
      putfh(e, fh);
      op(e);
    }, 2);
  }

  StrictMock<MockBackend> backend_;
  ExportRegistry registry_;
  Nfs4State state_;
  Nfs4Program program_;
  CallContext ctx_;
  nfs4::SessionId sessionid_{};
  std::uint32_t seqid_ = 0;
  std::uint64_t clientid_ = 0;  // of open_session()
};

void seek_op(xdr::XdrEncoder& e, std::uint64_t offset, std::uint32_t what) {
  e.u32(static_cast<std::uint32_t>(Op::kSeek));
  anon_stateid(e);
  e.u64(offset);
  e.u32(what);
}

// -------------------------------------------------------------- SEEK

TEST_F(Nfs4ProgramTest, SeekDataReturnsTheBackendsOffsetAndEof) {
  open_session();
  const FileHandle f = fh_in(1, 5);
  EXPECT_CALL(backend_, seek(_, Eq(f), 100u, true, _, _))
      .WillOnce(DoAll(SetArgPointee<4>(4096u), SetArgPointee<5>(false), Return(Status::kOk)));
  auto r = run_on(f, [](xdr::XdrEncoder& e) { seek_op(e, 100, nfs4::kContentData); });
  ASSERT_EQ(r.status, Nfsstat4::kOk);
  auto in = r.body_reader();
  EXPECT_FALSE(in.boolean());
  EXPECT_EQ(in.u64(), 4096u);
  EXPECT_EQ(ctx_.export_id, 1u);
  EXPECT_TRUE(ctx_.has_export);
}

TEST_F(Nfs4ProgramTest, SeekHolePastEndOfFileIsNxio) {
  open_session();
  const FileHandle f = fh_in(1, 5);
  EXPECT_CALL(backend_, seek(_, Eq(f), 1u << 20, false, _, _)).WillOnce(Return(Status::kNxio));
  auto r = run_on(f, [](xdr::XdrEncoder& e) { seek_op(e, 1 << 20, nfs4::kContentHole); });
  EXPECT_EQ(r.status, Nfsstat4::kNxio);
  EXPECT_EQ(r.top, Nfsstat4::kNxio);
}

TEST_F(Nfs4ProgramTest, SeekWithUnknownContentIsBadXdr) {
  open_session();
  auto r = run_on(fh_in(1, 5), [](xdr::XdrEncoder& e) { seek_op(e, 0, 7); });
  EXPECT_EQ(r.status, Nfsstat4::kBadXdr);
}

// -------------------------------------------------- ALLOCATE / DEALLOCATE

void range_op(xdr::XdrEncoder& e, Op op, std::uint64_t offset, std::uint64_t length) {
  e.u32(static_cast<std::uint32_t>(op));
  anon_stateid(e);
  e.u64(offset);
  e.u64(length);
}

TEST_F(Nfs4ProgramTest, DeallocatePunchesTheRequestedRange) {
  open_session();
  const FileHandle f = fh_in(1, 6);
  EXPECT_CALL(backend_, deallocate(_, Eq(f), 8192u, 4096u, _)).WillOnce(Return(Status::kOk));
  auto r = run_on(f, [](xdr::XdrEncoder& e) { range_op(e, Op::kDeallocate, 8192, 4096); });
  EXPECT_EQ(r.status, Nfsstat4::kOk);
  EXPECT_EQ(r.top, Nfsstat4::kOk);
}

TEST_F(Nfs4ProgramTest, AllocateTheFilesystemRefusesIsNotsupp) {
  open_session();
  const FileHandle f = fh_in(1, 6);
  EXPECT_CALL(backend_, allocate(_, Eq(f), 0u, 1u << 20, _)).WillOnce(Return(Status::kNotSupp));
  auto r = run_on(f, [](xdr::XdrEncoder& e) { range_op(e, Op::kAllocate, 0, 1 << 20); });
  EXPECT_EQ(r.status, Nfsstat4::kNotSupp);
}

TEST_F(Nfs4ProgramTest, AllocateOnReadOnlyExportIsRofsWithoutTouchingStorage) {
  open_session();
  auto r = run_on(fh_in(2, 6), [](xdr::XdrEncoder& e) { range_op(e, Op::kAllocate, 0, 10); });
  EXPECT_EQ(r.status, Nfsstat4::kRoFs);
}

TEST_F(Nfs4ProgramTest, AllocateChecksItsStateidLikeWrite) {
  open_session();
  auto r = run_on(fh_in(1, 6), [](xdr::XdrEncoder& e) {
    e.u32(static_cast<std::uint32_t>(Op::kAllocate));
    e.u32(1);
    e.u32(0xdead);
    e.u32(0xbeef);
    e.u32(1);
    e.u64(0);
    e.u64(10);
  });
  // Not issued by this server instance: BAD_STATEID in 4.1+ (RFC 8881
  // §15.1.5 has no STALE_STATEID for 4.1).
  EXPECT_EQ(r.status, Nfsstat4::kBadStateid);
}

// -------------------------------------------------------------- COPY / CLONE

struct CopySpec {
  std::uint64_t src_offset = 0, dst_offset = 0, count = 0;
  bool synchronous = false;
  std::uint32_t servers = 0;
};

void copy_op(xdr::XdrEncoder& e, const CopySpec& s) {
  e.u32(static_cast<std::uint32_t>(Op::kCopy));
  anon_stateid(e);
  anon_stateid(e);
  e.u64(s.src_offset);
  e.u64(s.dst_offset);
  e.u64(s.count);
  e.boolean(true);
  e.boolean(s.synchronous);
  e.u32(s.servers);
  for (std::uint32_t i = 0; i < s.servers; ++i) {
    e.u32(1);  // NL4_NAME
    e.string("elsewhere");
  }
}

class CopyTest : public Nfs4ProgramTest {
 protected:
  Result copy(const FileHandle& src, const FileHandle& dst, const CopySpec& s) {
    return run([&](xdr::XdrEncoder& e) {
      putfh(e, src);
      e.u32(static_cast<std::uint32_t>(Op::kSavefh));
      putfh(e, dst);
      copy_op(e, s);
    }, 4);
  }
};

TEST_F(CopyTest, AsynchronousRequestIsAnsweredSynchronouslyWithWriteResponse) {
  open_session();
  const FileHandle src = fh_in(1, 10), dst = fh_in(1, 11);
  EXPECT_CALL(backend_, copy(_, Eq(src), 0u, Eq(dst), 512u, 1000u, _, _))
      .WillOnce(DoAll(SetArgPointee<6>(1000u), Return(Status::kOk)));
  auto r = copy(src, dst, {0, 512, 1000, false, 0});
  ASSERT_EQ(r.status, Nfsstat4::kOk);
  auto in = r.body_reader();
  EXPECT_EQ(in.u32(), 0u);     // no callback id: nothing runs in the background
  EXPECT_EQ(in.u64(), 1000u);  // wr_count
  EXPECT_EQ(in.u32(), 0u);     // UNSTABLE4: the client COMMITs
  auto verf = in.fixed_opaque(8);
  EXPECT_TRUE(std::equal(verf.begin(), verf.end(), kWriteverf.begin()));
  EXPECT_TRUE(in.boolean());  // consecutive
  EXPECT_TRUE(in.boolean());  // synchronous
  EXPECT_TRUE(in.ok());
}

TEST_F(CopyTest, CountZeroCopiesToTheEndOfTheSource) {
  open_session();
  const FileHandle src = fh_in(1, 10), dst = fh_in(1, 11);
  storage::Attr a;
  a.size = 5000;
  EXPECT_CALL(backend_, getattr(Eq(src), _))
      .WillOnce(DoAll(SetArgPointee<1>(a), Return(Status::kOk)));
  EXPECT_CALL(backend_, copy(_, Eq(src), 1000u, Eq(dst), 0u, 4000u, _, _))
      .WillOnce(DoAll(SetArgPointee<6>(4000u), Return(Status::kOk)));
  auto r = copy(src, dst, {1000, 0, 0, true, 0});
  ASSERT_EQ(r.status, Nfsstat4::kOk);
  auto in = r.body_reader();
  in.u32();
  EXPECT_EQ(in.u64(), 4000u);
}

TEST_F(CopyTest, OneCopyIsBoundedAndReportsTheShortCount) {
  open_session();
  const FileHandle src = fh_in(1, 10), dst = fh_in(1, 11);
  EXPECT_CALL(backend_, copy(_, _, 0u, _, 0u, 16u << 20, _, _))
      .WillOnce(DoAll(SetArgPointee<6>(16u << 20), Return(Status::kOk)));
  auto r = copy(src, dst, {0, 0, 1ull << 32, true, 0});
  ASSERT_EQ(r.status, Nfsstat4::kOk);
  auto in = r.body_reader();
  in.u32();
  EXPECT_EQ(in.u64(), 16u << 20);
}

TEST_F(CopyTest, InterServerCopyIsNotsupp) {
  open_session();
  auto r = copy(fh_in(1, 10), fh_in(1, 11), {0, 0, 10, true, 1});
  EXPECT_EQ(r.status, Nfsstat4::kNotSupp);
}

TEST_F(CopyTest, OverlappingRangesOfOneFileAreInval) {
  open_session();
  const FileHandle f = fh_in(1, 10);
  storage::Attr a;
  a.size = 10000;
  EXPECT_CALL(backend_, getattr(Eq(f), _))
      .WillOnce(DoAll(SetArgPointee<1>(a), Return(Status::kOk)));
  auto r = copy(f, f, {0, 100, 1000, true, 0});
  EXPECT_EQ(r.status, Nfsstat4::kInval);
}

TEST_F(CopyTest, AcrossExportsIsXdev) {
  open_session();
  auto r = copy(fh_in(3, 10), fh_in(1, 11), {0, 0, 10, true, 0});
  EXPECT_EQ(r.status, Nfsstat4::kXdev);
}

TEST_F(CopyTest, WithoutSavedFilehandleIsNofilehandle) {
  open_session();
  auto r = run_on(fh_in(1, 11), [](xdr::XdrEncoder& e) { copy_op(e, {0, 0, 10, true, 0}); });
  EXPECT_EQ(r.status, Nfsstat4::kNoFileHandle);
}

TEST_F(Nfs4ProgramTest, CloneWhereTheFilesystemCannotReflinkIsNotsupp) {
  open_session();
  const FileHandle src = fh_in(1, 10), dst = fh_in(1, 11);
  EXPECT_CALL(backend_, clone(_, Eq(src), 0u, Eq(dst), 4096u, 0u, _))
      .WillOnce(Return(Status::kNotSupp));
  auto r = run([&](xdr::XdrEncoder& e) {
    putfh(e, src);
    e.u32(static_cast<std::uint32_t>(Op::kSavefh));
    putfh(e, dst);
    e.u32(static_cast<std::uint32_t>(Op::kClone));
    anon_stateid(e);
    anon_stateid(e);
    e.u64(0);
    e.u64(4096);
    e.u64(0);
  }, 4);
  EXPECT_EQ(r.status, Nfsstat4::kNotSupp);
}

// -------------------------------------------------------------- READ_PLUS

void read_plus_op(xdr::XdrEncoder& e, std::uint64_t offset, std::uint32_t count) {
  e.u32(static_cast<std::uint32_t>(Op::kReadPlus));
  anon_stateid(e);
  e.u64(offset);
  e.u32(count);
}

/// getattr of `f` answers a file of `size` bytes.
void file_size(StrictMock<MockBackend>& b, const FileHandle& f, std::uint64_t size) {
  EXPECT_CALL(b, getattr(Eq(f), _)).WillRepeatedly([size](const FileHandle&, storage::Attr* a) {
    *a = storage::Attr{};
    a->size = size;
    return Status::kOk;
  });
}

TEST_F(Nfs4ProgramTest, ReadPlusReturnsOneDataSegment) {
  open_session();
  const FileHandle f = fh_in(1, 7);
  file_size(backend_, f, 15);
  EXPECT_CALL(backend_, seek(_, Eq(f), 10u, true, _, _))
      .WillOnce(DoAll(SetArgPointee<4>(10u), Return(Status::kOk)));
  EXPECT_CALL(backend_, seek(_, Eq(f), 10u, false, _, _))
      .WillOnce(DoAll(SetArgPointee<4>(15u), SetArgPointee<5>(true), Return(Status::kOk)));
  EXPECT_CALL(backend_, read(_, Eq(f), 10u, _, _, _, _))
      .WillOnce([](auto&, auto&, std::uint64_t, std::span<std::uint8_t> dst, std::uint32_t* n,
                   bool* eof, auto*) {
        std::memcpy(dst.data(), "hello", 5);
        *n = 5;
        *eof = true;
        return Status::kOk;
      });
  auto r = run_on(f, [](xdr::XdrEncoder& e) { read_plus_op(e, 10, 100); });
  ASSERT_EQ(r.status, Nfsstat4::kOk);
  auto in = r.body_reader();
  EXPECT_TRUE(in.boolean());            // eof
  ASSERT_EQ(in.u32(), 1u);              // one segment
  EXPECT_EQ(in.u32(), nfs4::kContentData);
  EXPECT_EQ(in.u64(), 10u);             // its offset
  auto data = in.opaque(100);
  EXPECT_EQ(std::string(data.begin(), data.end()), "hello");
  EXPECT_TRUE(in.ok());
  EXPECT_EQ(in.remaining(), 0u);
}

TEST_F(Nfs4ProgramTest, ReadPlusAtEndOfFileHasNoSegments) {
  open_session();
  const FileHandle f = fh_in(1, 7);
  file_size(backend_, f, 4096);
  auto r = run_on(f, [](xdr::XdrEncoder& e) { read_plus_op(e, 5000, 100); });
  ASSERT_EQ(r.status, Nfsstat4::kOk);
  auto in = r.body_reader();
  EXPECT_TRUE(in.boolean());
  EXPECT_EQ(in.u32(), 0u);
  EXPECT_EQ(in.remaining(), 0u);
}

TEST_F(Nfs4ProgramTest, ReadPlusReturnsHolesAsHoleSegmentsBetweenData) {
  // A file of 100 bytes: data 0..9, a hole 10..59, data 60..99.
  open_session();
  const FileHandle f = fh_in(1, 7);
  file_size(backend_, f, 100);
  EXPECT_CALL(backend_, seek(_, Eq(f), _, _, _, _))
      .WillRepeatedly([](auto&, auto&, std::uint64_t off, bool data, std::uint64_t* pos,
                         bool* eof) {
        if (data) *pos = off < 10 ? off : off < 60 ? 60 : off;
        else *pos = off < 10 ? 10 : off < 60 ? off : 100;
        *eof = *pos >= 100;
        return Status::kOk;
      });
  EXPECT_CALL(backend_, read(_, Eq(f), _, _, _, _, _))
      .WillRepeatedly([](auto&, auto&, std::uint64_t off, std::span<std::uint8_t> dst,
                         std::uint32_t* n, bool* eof, auto*) {
        *n = static_cast<std::uint32_t>(std::min<std::uint64_t>(dst.size(), 100 - off));
        std::memset(dst.data(), 'x', *n);
        *eof = off + *n >= 100;
        return Status::kOk;
      });
  auto r = run_on(f, [](xdr::XdrEncoder& e) { read_plus_op(e, 5, 1000); });
  ASSERT_EQ(r.status, Nfsstat4::kOk);
  auto in = r.body_reader();
  EXPECT_TRUE(in.boolean());  // eof
  ASSERT_EQ(in.u32(), 3u);
  EXPECT_EQ(in.u32(), nfs4::kContentData);
  EXPECT_EQ(in.u64(), 5u);
  EXPECT_EQ(in.opaque(1000).size(), 5u);
  EXPECT_EQ(in.u32(), nfs4::kContentHole);
  EXPECT_EQ(in.u64(), 10u);  // offset
  EXPECT_EQ(in.u64(), 50u);  // length
  EXPECT_EQ(in.u32(), nfs4::kContentData);
  EXPECT_EQ(in.u64(), 60u);
  EXPECT_EQ(in.opaque(1000).size(), 40u);
  EXPECT_TRUE(in.ok());
  EXPECT_EQ(in.remaining(), 0u);
}

TEST_F(Nfs4ProgramTest, ReadPlusOfATrailingHoleEndsAtEndOfFileWithEof) {
  // 0..9 data, then a hole to the end (size 100): SEEK_DATA past 10 is NXIO.
  open_session();
  const FileHandle f = fh_in(1, 7);
  file_size(backend_, f, 100);
  EXPECT_CALL(backend_, seek(_, Eq(f), 30u, true, _, _)).WillOnce(Return(Status::kNxio));
  auto r = run_on(f, [](xdr::XdrEncoder& e) { read_plus_op(e, 30, 1000); });
  ASSERT_EQ(r.status, Nfsstat4::kOk);
  auto in = r.body_reader();
  EXPECT_TRUE(in.boolean());
  ASSERT_EQ(in.u32(), 1u);
  EXPECT_EQ(in.u32(), nfs4::kContentHole);
  EXPECT_EQ(in.u64(), 30u);
  EXPECT_EQ(in.u64(), 70u);
  EXPECT_EQ(in.remaining(), 0u);
}

TEST_F(Nfs4ProgramTest, ReadPlusShorterThanTheFileIsNotEof) {
  open_session();
  const FileHandle f = fh_in(1, 7);
  file_size(backend_, f, 100);
  EXPECT_CALL(backend_, seek(_, Eq(f), 0u, true, _, _)).WillOnce(Return(Status::kNxio));
  auto r = run_on(f, [](xdr::XdrEncoder& e) { read_plus_op(e, 0, 40); });
  ASSERT_EQ(r.status, Nfsstat4::kOk);
  auto in = r.body_reader();
  EXPECT_FALSE(in.boolean());
  ASSERT_EQ(in.u32(), 1u);
  EXPECT_EQ(in.u32(), nfs4::kContentHole);
  EXPECT_EQ(in.u64(), 0u);
  EXPECT_EQ(in.u64(), 40u);  // only the requested range
}

// ------------------------------------------- full tables: RESOURCE / DELAY

Nfs4State::Config one_of_each() {
  Nfs4State::Config c;
  c.max_clients = 1;
  c.max_opens_per_client = 1;  // opens, and lock stateids, per client
  return c;
}

/// State tables of one client with one open and one lock stateid.
class Nfs4FullTableTest : public Nfs4ProgramTest {
 protected:
  Nfs4FullTableTest() : Nfs4ProgramTest(one_of_each()) { state_.set_lock_manager(&locks_, nullptr); }
  LockManager locks_;
};

void lock_new_owner_op(xdr::XdrEncoder& e, const nfs4::Stateid4& open, std::uint64_t clientid,
                       const std::string& owner, std::uint64_t offset) {
  e.u32(static_cast<std::uint32_t>(Op::kLock));
  e.u32(nfs4::kWriteLt);
  e.boolean(false);  // reclaim
  e.u64(offset);
  e.u64(10);
  e.boolean(true);  // open_to_lock_owner4
  e.u32(0);         // open_seqid
  e.u32(open.seqid);
  e.fixed_opaque(open.other);
  e.u32(0);  // lock_seqid
  e.u64(clientid);
  e.opaque(std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(owner.data()),
                                         owner.size()));
}

TEST_F(Nfs4FullTableTest, LockWithAFullLockTableIsDelayInMinorVersionOne) {
  // RFC 8881 §15.1.1.3: no NFS4ERR_RESOURCE in 4.1; LOCK may answer DELAY.
  open_session();
  const FileHandle f = fh_in(1, 7);
  nfs4::Stateid4 open;
  ASSERT_EQ(state_.open(clientid_, std::span<const std::uint8_t>(), f, 3, 0, &open),
            Nfsstat4::kOk);
  EXPECT_EQ(run_on(f, [&](xdr::XdrEncoder& e) { lock_new_owner_op(e, open, clientid_, "lo1", 0); })
                .status,
            Nfsstat4::kOk);
  EXPECT_EQ(run_on(f, [&](xdr::XdrEncoder& e) { lock_new_owner_op(e, open, clientid_, "lo2", 20); })
                .status,
            Nfsstat4::kDelay);
}

TEST_F(Nfs4FullTableTest, FullClientTableIsResourceInFourZeroAndDelayInFourOne) {
  open_session();  // the one client
  auto exchange = compound(1, 1, [](xdr::XdrEncoder& e) {
    e.u32(static_cast<std::uint32_t>(Op::kExchangeId));
    e.fixed_opaque(std::array<std::uint8_t, 8>{1, 2, 3, 4, 5, 6, 7, 9});
    e.string("another-client");
    e.u32(0);
    e.u32(0);
    e.u32(0);
  });
  xdr::XdrDecoder in(exchange);
  EXPECT_EQ(static_cast<Nfsstat4>(in.u32()), Nfsstat4::kDelay);
  auto setclientid = compound(0, 1, [](xdr::XdrEncoder& e) {
    e.u32(static_cast<std::uint32_t>(Op::kSetclientid));
    e.fixed_opaque(std::array<std::uint8_t, 8>{1, 1, 1, 1, 1, 1, 1, 1});
    e.string("a-4.0-client");
    e.u32(0x40000000);
    e.string("tcp");
    e.string("127.0.0.1.3.200");
    e.u32(1);
  });
  xdr::XdrDecoder in0(setclientid);
  EXPECT_EQ(static_cast<Nfsstat4>(in0.u32()), Nfsstat4::kResource);
}

// -------------------------------------------------------------- owners

/// SETATTR of owner `owner` (and owner_group `group` when not empty).
void setattr_owner_op(xdr::XdrEncoder& e, const std::string& owner, const std::string& group) {
  e.u32(static_cast<std::uint32_t>(Op::kSetattr));
  anon_stateid(e);
  nfs4::Bitmap4 b;
  b.set(nfs4::kOwner);
  if (!group.empty()) b.set(nfs4::kOwnerGroup);
  nfs4::encode_bitmap(e, b);
  Wire list(256);
  list.enc.string(owner);
  if (!group.empty()) list.enc.string(group);
  e.opaque(list.enc.written());
}

TEST_F(Nfs4ProgramTest, SetattrOwnerAsIdOrNameAtTheDomainReachesStorageAsIds) {
  program_.set_id_domain("example.org");
  open_session();
  const FileHandle f = fh_in(1, 7);
  EXPECT_CALL(backend_, setattr(_, Eq(f), _, _, _))
      .WillOnce([](auto&, auto&, const storage::SetAttr& s, auto&, auto*) {
        EXPECT_EQ(s.uid, 1000u);
        EXPECT_EQ(s.gid, 0u);
        return Status::kOk;
      })
      .WillOnce([](auto&, auto&, const storage::SetAttr& s, auto&, auto*) {
        EXPECT_EQ(s.uid, 0u);
        EXPECT_FALSE(s.gid);
        return Status::kOk;
      });
  EXPECT_EQ(run_on(f, [](xdr::XdrEncoder& e) { setattr_owner_op(e, "1000", "root@example.org"); })
                .status,
            Nfsstat4::kOk);
  EXPECT_EQ(run_on(f, [](xdr::XdrEncoder& e) { setattr_owner_op(e, "root@EXAMPLE.org", ""); })
                .status,
            Nfsstat4::kOk);
}

TEST_F(Nfs4ProgramTest, SetattrOwnerOfAnotherDomainOrUnknownIsBadOwnerWithoutTouchingStorage) {
  program_.set_id_domain("example.org");
  open_session();
  const FileHandle f = fh_in(1, 7);
  // StrictMock: any setattr call fails the test.
  for (const char* owner : {"root@otherdomain", "no-such-user-xyz@example.org", "12abc"}) {
    auto r = run_on(f, [&](xdr::XdrEncoder& e) { setattr_owner_op(e, owner, ""); });
    EXPECT_EQ(r.status, Nfsstat4::kBadOwner) << owner;
  }
  auto r = run_on(f, [](xdr::XdrEncoder& e) { setattr_owner_op(e, "1000", "nogroup-xyz@x"); });
  EXPECT_EQ(r.status, Nfsstat4::kBadOwner) << "owner_group of another domain";
}

TEST_F(Nfs4ProgramTest, GetattrSendsOwnersAsDecimalIds) {
  open_session();
  const FileHandle f = fh_in(1, 7);
  EXPECT_CALL(backend_, getattr(Eq(f), _)).WillRepeatedly([](const FileHandle&, storage::Attr* a) {
    *a = storage::Attr{};
    a->type = storage::FileType::kReg;
    a->uid = 1000;
    a->gid = 0;
    return Status::kOk;
  });
  auto r = run_on(f, [](xdr::XdrEncoder& e) {
    e.u32(static_cast<std::uint32_t>(Op::kGetattr));
    nfs4::Bitmap4 b;
    b.set(nfs4::kOwner);
    b.set(nfs4::kOwnerGroup);
    nfs4::encode_bitmap(e, b);
  });
  ASSERT_EQ(r.status, Nfsstat4::kOk);
  auto in = r.body_reader();
  for (std::uint32_t words = in.u32(); words > 0; --words) in.u32();  // the bitmap
  in.u32();  // attrlist length
  EXPECT_EQ(in.string(64), "1000");
  EXPECT_EQ(in.string(64), "0");
}

// -------------------------------------------------------------- xattrs

TEST_F(Nfs4ProgramTest, GetxattrReturnsTheValueAndAbsentIsNoxattr) {
  open_session();
  const FileHandle f = fh_in(1, 8);
  EXPECT_CALL(backend_, getxattr(_, Eq(f), Eq(std::string_view("color")), _))
      .WillOnce(DoAll(SetArgPointee<3>(std::vector<std::uint8_t>{'r', 'e', 'd'}),
                      Return(Status::kOk)));
  EXPECT_CALL(backend_, getxattr(_, Eq(f), Eq(std::string_view("size")), _))
      .WillOnce(Return(Status::kNoEnt));
  auto get = [&](const char* name) {
    return run_on(f, [name](xdr::XdrEncoder& e) {
      e.u32(static_cast<std::uint32_t>(Op::kGetxattr));
      e.string(name);
    });
  };
  auto r = get("color");
  ASSERT_EQ(r.status, Nfsstat4::kOk);
  auto in = r.body_reader();
  auto v = in.opaque(100);
  EXPECT_EQ(std::string(v.begin(), v.end()), "red");
  EXPECT_EQ(get("size").status, Nfsstat4::kNoXattr);
}

TEST_F(Nfs4ProgramTest, SetxattrPassesCreateModeAndExistingIsExist) {
  open_session();
  const FileHandle f = fh_in(1, 8);
  EXPECT_CALL(backend_, setxattr(_, Eq(f), Eq(std::string_view("k")), _,
                                 storage::XattrSetMode::kCreate, _))
      .WillOnce(Return(Status::kOk))
      .WillOnce(Return(Status::kExist));
  auto set = [&] {
    return run_on(f, [](xdr::XdrEncoder& e) {
      e.u32(static_cast<std::uint32_t>(Op::kSetxattr));
      e.u32(1);  // SETXATTR4_CREATE
      e.string("k");
      e.string("v");
    });
  };
  auto r = set();
  ASSERT_EQ(r.status, Nfsstat4::kOk);
  auto in = r.body_reader();
  in.boolean();
  in.u64();
  in.u64();  // change_info4
  EXPECT_TRUE(in.ok());
  EXPECT_EQ(set().status, Nfsstat4::kExist);
}

TEST_F(Nfs4ProgramTest, SetxattrReplaceOfAbsentIsNoxattrAndOnReadOnlyIsRofs) {
  open_session();
  const FileHandle f = fh_in(1, 8);
  EXPECT_CALL(backend_, setxattr(_, Eq(f), _, _, storage::XattrSetMode::kReplace, _))
      .WillOnce(Return(Status::kNoEnt));
  auto op = [](xdr::XdrEncoder& e) {
    e.u32(static_cast<std::uint32_t>(Op::kSetxattr));
    e.u32(2);  // SETXATTR4_REPLACE
    e.string("k");
    e.string("v");
  };
  EXPECT_EQ(run_on(f, op).status, Nfsstat4::kNoXattr);
  EXPECT_EQ(run_on(fh_in(2, 8), op).status, Nfsstat4::kRoFs);
}

TEST_F(Nfs4ProgramTest, RemovexattrOfAbsentIsNoxattr) {
  open_session();
  const FileHandle f = fh_in(1, 8);
  EXPECT_CALL(backend_, removexattr(_, Eq(f), Eq(std::string_view("gone")), _))
      .WillOnce(Return(Status::kNoEnt));
  auto r = run_on(f, [](xdr::XdrEncoder& e) {
    e.u32(static_cast<std::uint32_t>(Op::kRemovexattr));
    e.string("gone");
  });
  EXPECT_EQ(r.status, Nfsstat4::kNoXattr);
}

TEST_F(Nfs4ProgramTest, ListxattrsPagesByCookieWithinMaxcount) {
  open_session();
  const FileHandle f = fh_in(1, 8);
  EXPECT_CALL(backend_, listxattrs(_, Eq(f), _))
      .Times(3)
      .WillRepeatedly(DoAll(SetArgPointee<2>(std::vector<std::string>{"a", "bb", "ccccc"}),
                            Return(Status::kOk)));
  auto list = [&](std::uint64_t cookie, std::uint32_t maxcount) {
    return run_on(f, [=](xdr::XdrEncoder& e) {
      e.u32(static_cast<std::uint32_t>(Op::kListxattrs));
      e.u64(cookie);
      e.u32(maxcount);
    });
  };
  // 16 bytes of overhead + 8 per short name: two names fit in 32.
  auto r = list(0, 32);
  ASSERT_EQ(r.status, Nfsstat4::kOk);
  auto in = r.body_reader();
  const std::uint64_t next = in.u64();
  EXPECT_EQ(next, 2u);
  ASSERT_EQ(in.u32(), 2u);
  EXPECT_EQ(in.string(10), "a");
  EXPECT_EQ(in.string(10), "bb");
  EXPECT_FALSE(in.boolean());
  r = list(next, 100);
  ASSERT_EQ(r.status, Nfsstat4::kOk);
  in = r.body_reader();
  EXPECT_EQ(in.u64(), 3u);
  ASSERT_EQ(in.u32(), 1u);
  EXPECT_EQ(in.string(10), "ccccc");
  EXPECT_TRUE(in.boolean());
  EXPECT_EQ(list(0, 20).status, Nfsstat4::kTooSmall);
}

TEST_F(Nfs4ProgramTest, AccessGrantsXattrBitsFromReadAndModify) {
  open_session();
  const FileHandle f = fh_in(1, 8);
  EXPECT_CALL(backend_, access(_, Eq(f), 0x01u | 0x04u, _, _))
      .WillOnce(DoAll(SetArgPointee<3>(0x01u), Return(Status::kOk)));
  auto r = run_on(f, [](xdr::XdrEncoder& e) {
    e.u32(static_cast<std::uint32_t>(Op::kAccess));
    e.u32(nfs4::kAccessXaRead | nfs4::kAccessXaWrite | nfs4::kAccessXaList);
  });
  ASSERT_EQ(r.status, Nfsstat4::kOk);
  auto in = r.body_reader();
  EXPECT_EQ(in.u32(), nfs4::kAccessXaRead | nfs4::kAccessXaWrite | nfs4::kAccessXaList);
  EXPECT_EQ(in.u32(), nfs4::kAccessXaRead | nfs4::kAccessXaList);
}

// ------------------------------------------- unimplemented and illegal ops

TEST_F(Nfs4ProgramTest, UnimplementedOperationsAnswerNotsuppWithoutReadingArguments) {
  open_session();
  // 4.0-only operations (not to be implemented in 4.1+), delegation, pNFS,
  // SSV, and the 4.2 operations for asynchronous or inter-server copies.
  for (Op op : {Op::kDelegpurge, Op::kDelegreturn, Op::kNverify, Op::kOpenattr,
                Op::kOpenConfirm, Op::kRenew, Op::kSetclientid, Op::kSetclientidConfirm,
                Op::kVerify, Op::kReleaseLockowner, Op::kBackchannelCtl,
                Op::kGetDirDelegation, Op::kGetdeviceinfo, Op::kGetdevicelist,
                Op::kLayoutcommit, Op::kLayoutget, Op::kLayoutreturn, Op::kSetSsv,
                Op::kWantDelegation, Op::kCopyNotify, Op::kIoAdvise, Op::kLayouterror,
                Op::kLayoutstats, Op::kOffloadCancel, Op::kOffloadStatus, Op::kWriteSame}) {
    auto r = run([op](xdr::XdrEncoder& e) { e.u32(static_cast<std::uint32_t>(op)); }, 1);
    EXPECT_EQ(r.status, Nfsstat4::kNotSupp) << nfs4_op_table().name(static_cast<std::uint32_t>(op));
  }
}

TEST_F(Nfs4ProgramTest, OperationsBeyondTheMinorVersionAreIllegal) {
  open_session();
  auto r = run([](xdr::XdrEncoder& e) { seek_op(e, 0, 0); }, 1, /*minor=*/1);
  EXPECT_EQ(r.status, Nfsstat4::kOpIllegal);
  r = run([](xdr::XdrEncoder& e) { e.u32(76); }, 1, 2);
  EXPECT_EQ(r.status, Nfsstat4::kOpIllegal);
}

// -------------------------------------------------------- COMPOUND limits

TEST_F(Nfs4ProgramTest, MoreOperationsThanNegotiatedIsTooManyOpsOnSequence) {
  Fore fore;
  fore.maxops = 3;
  open_session(fore);
  auto r = run([](xdr::XdrEncoder& e) {
    for (int i = 0; i < 3; ++i) e.u32(static_cast<std::uint32_t>(Op::kPutrootfh));
  }, 3);
  EXPECT_EQ(r.top, Nfsstat4::kTooManyOps);
  xdr::XdrDecoder in(r.bytes);
  in.u32();
  in.string(16);
  EXPECT_EQ(in.u32(), 1u);  // only SEQUENCE answered: nothing ran
  EXPECT_EQ(in.u32(), static_cast<std::uint32_t>(Op::kSequence));
}

TEST_F(Nfs4ProgramTest, MoreOperationsThanTheServerEverAllowsIsTooManyOpsToo) {
  open_session();
  auto r = run([](xdr::XdrEncoder& e) {
    for (int i = 0; i < 99; ++i) e.u32(static_cast<std::uint32_t>(Op::kPutrootfh));
  }, 99);
  EXPECT_EQ(r.top, Nfsstat4::kTooManyOps);  // not RESOURCE, which 4.1 does not use
}

TEST_F(Nfs4ProgramTest, RequestLargerThanNegotiatedIsReqTooBig) {
  Fore fore;
  fore.maxrequest = 1024;
  open_session(fore);
  auto r = run_on(fh_in(1, 8), [](xdr::XdrEncoder& e) {
    e.u32(static_cast<std::uint32_t>(Op::kSetxattr));
    e.u32(0);
    e.string("k");
    e.string(std::string(2000, 'x'));
  });
  EXPECT_EQ(r.top, Nfsstat4::kReqTooBig);
  // The slot was completed: the next request on it runs.
  EXPECT_CALL(backend_, seek(_, _, 0u, true, _, _)).WillOnce(Return(Status::kNxio));
  EXPECT_EQ(run_on(fh_in(1, 8), [](xdr::XdrEncoder& e) { seek_op(e, 0, 0); }).status,
            Nfsstat4::kNxio);
}

TEST_F(Nfs4ProgramTest, ReplyLargerThanNegotiatedIsRepTooBig) {
  Fore fore;
  fore.maxresponse = 1024;
  open_session(fore);
  const FileHandle f = fh_in(1, 7);
  file_size(backend_, f, 1 << 20);
  EXPECT_CALL(backend_, seek(_, Eq(f), 0u, true, _, _))
      .WillOnce(DoAll(SetArgPointee<4>(0u), Return(Status::kOk)));
  EXPECT_CALL(backend_, seek(_, Eq(f), 0u, false, _, _))
      .WillOnce(DoAll(SetArgPointee<4>(1u << 20), Return(Status::kOk)));
  EXPECT_CALL(backend_, read(_, Eq(f), 0u, _, _, _, _))
      .WillOnce([](auto&, auto&, std::uint64_t, std::span<std::uint8_t> dst, std::uint32_t* n,
                   bool* eof, auto*) {
        *n = static_cast<std::uint32_t>(dst.size());
        *eof = false;
        return Status::kOk;
      });
  auto r = run_on(f, [](xdr::XdrEncoder& e) { read_plus_op(e, 0, 4000); });
  EXPECT_EQ(r.status, Nfsstat4::kRepTooBig);
  EXPECT_LE(r.bytes.size(), 1024u);
}

// -------------------------------------------------------------- metrics

double counter_value(prometheus::Registry& reg, const std::string& op, const std::string& st) {
  for (const auto& fam : reg.Collect()) {
    if (fam.name != "nasd_nfs4_operations_total") continue;
    for (const auto& m : fam.metric) {
      std::string o, s;
      for (const auto& l : m.label) {
        if (l.name == "operation") o = l.value;
        if (l.name == "status") s = l.value;
      }
      if (o == op && s == st) return m.counter.value;
    }
  }
  return -1;
}

TEST_F(Nfs4ProgramTest, OperationsAreCountedByNameAndStatus) {
  prometheus::Registry reg;
  Nfs4OpMetrics metrics(reg);
  program_.set_op_metrics(&metrics);
  open_session();
  EXPECT_CALL(backend_, seek(_, _, _, _, _, _)).WillOnce(Return(Status::kNxio));
  run_on(fh_in(1, 5), [](xdr::XdrEncoder& e) { seek_op(e, 0, 0); });
  EXPECT_EQ(counter_value(reg, "SEEK", "NXIO"), 1);
  EXPECT_EQ(counter_value(reg, "PUTFH", "OK"), 1);
  EXPECT_EQ(counter_value(reg, "SEQUENCE", "OK"), 1);
  EXPECT_EQ(counter_value(reg, "CREATE_SESSION", "OK"), 1);
  EXPECT_EQ(counter_value(reg, "SEEK", "OK"), -1);  // no series for what never happened
}


// ---------------------------------------------------------- inline COMPOUNDs

/// decode -> may_run_inline -> validate -> try_execute_inline, as the
/// pipeline does on the network thread.
struct InlineOutcome {
  bool eligible = false;
  std::optional<Status> status;  // nullopt: handed off
  std::vector<std::uint8_t> bytes;
};

class Nfs4InlineTest : public Nfs4ProgramTest {
 protected:
  InlineOutcome try_inline(std::uint32_t minor, std::uint32_t numops,
                           const std::function<void(xdr::XdrEncoder&)>& ops) {
    Wire req(1 << 18);
    ArgSlot slot;
    decode_compound(program_, req, minor, numops, ops, slot);
    InlineOutcome o;
    o.eligible = program_.may_run_inline(ctx_, slot);
    if (!o.eligible) return o;
    std::vector<std::uint8_t> buf(program_.max_reply_size(ctx_, slot));
    xdr::XdrEncoder out(buf);
    if (!program_.validate(ctx_, slot, out)) return o;
    o.status = program_.try_execute_inline(ctx_, slot, out);
    auto w = out.written();
    o.bytes.assign(w.begin(), w.end());
    return o;
  }
  /// Only decode + may_run_inline, with `program`.
  bool eligible(Nfs4Program& program, std::uint32_t minor, std::uint32_t numops,
                const std::function<void(xdr::XdrEncoder&)>& ops) {
    Wire req(1 << 18);
    ArgSlot slot;
    decode_compound(program, req, minor, numops, ops, slot);
    return program.may_run_inline(ctx_, slot);
  }
  /// SEQUENCE with `seqid` on slot 0 (without bumping seqid_).
  void sequence_at(xdr::XdrEncoder& e, std::uint32_t seqid) {
    e.u32(static_cast<std::uint32_t>(Op::kSequence));
    e.fixed_opaque(sessionid_);
    e.u32(seqid);
    e.u32(0);
    e.u32(0);
    e.boolean(false);
  }
  /// SEQUENCE with `seqid` on slot 0, then PUTFH `fh`: how every inline
  /// COMPOUND of these tests starts.
  void sequence_putfh(xdr::XdrEncoder& e, std::uint32_t seqid, const FileHandle& fh) {
    sequence_at(e, seqid);
    putfh(e, fh);
  }
  /// Checks that `o` was answered inline, NFS4_OK with `numops` results of
  /// which the first is an OK SEQUENCE; returns a decoder of `o.bytes` at
  /// the SEQUENCE's result body.
  static xdr::XdrDecoder sequence_answered(const InlineOutcome& o, std::uint32_t numops) {
    EXPECT_TRUE(o.eligible);
    EXPECT_TRUE(o.status.has_value() && *o.status == Status::kOk);
    xdr::XdrDecoder in(o.bytes);
    EXPECT_EQ(in.u32(), 0u);  // NFS4_OK
    in.string(16);
    EXPECT_EQ(in.u32(), numops);
    EXPECT_EQ(in.u32(), static_cast<std::uint32_t>(Op::kSequence));
    EXPECT_EQ(in.u32(), 0u);
    return in;
  }
  /// OPEN of `name` (CLAIM_NULL) for reading by owner "ow", creating it
  /// (UNCHECKED4, no attributes) when `create`.
  void open_op(xdr::XdrEncoder& e, std::string_view name, bool create = false) {
    e.u32(static_cast<std::uint32_t>(Op::kOpen));
    e.u32(0);  // seqid
    e.u32(nfs4::kShareAccessRead);
    e.u32(0);  // deny none
    e.u64(clientid_);
    e.opaque(std::vector<std::uint8_t>{'o', 'w'});
    e.u32(create ? 1 : 0);  // opentype
    if (create) {
      e.u32(0);  // UNCHECKED4
      e.u32(0);  // empty bitmap
      e.u32(0);  // no attribute values
    }
    e.u32(0);  // CLAIM_NULL
    e.string(name);
  }
  /// READDIR from cookie 0 asking for type and size, `maxcount` bytes.
  static void readdir_type_size(xdr::XdrEncoder& e, std::uint32_t maxcount) {
    e.u32(static_cast<std::uint32_t>(Op::kReaddir));
    e.u64(0);
    e.fixed_opaque(storage::Verifier{});
    e.u32(maxcount);  // dircount
    e.u32(maxcount);
    e.u32(1);
    e.u32((1u << 1) | (1u << 4));  // type, size
  }
  static void getattr_type_size(xdr::XdrEncoder& e) {
    e.u32(static_cast<std::uint32_t>(Op::kGetattr));
    e.u32(1);
    e.u32((1u << 1) | (1u << 4));  // type, size
  }
  static storage::Attr file_attr(std::uint64_t size) {
    storage::Attr a;
    a.type = storage::FileType::kReg;
    a.size = size;
    return a;
  }
};

TEST_F(Nfs4InlineTest, ReadOnlyCompoundIsAnsweredWithTheNonBlockingBackendCalls) {
  open_session();
  const FileHandle f = fh_in(1, 5);
  // StrictMock: getattr() (the blocking form) must not be called.
  EXPECT_CALL(backend_, try_getattr(Eq(f), _))
      .WillOnce(DoAll(SetArgPointee<1>(file_attr(1234)), Return(Status::kOk)));
  const std::uint32_t seq = seqid_ + 1;
  auto o = try_inline(2, 3, [&](xdr::XdrEncoder& e) {
    sequence_putfh(e, seq, f);
    getattr_type_size(e);
  });
  xdr::XdrDecoder in = sequence_answered(o, 3);
  auto sid = in.fixed_opaque(16);
  EXPECT_TRUE(std::equal(sid.begin(), sid.end(), sessionid_.begin()));
  EXPECT_EQ(in.u32(), seq);  // sequenceid
  EXPECT_EQ(in.u32(), 0u);   // slotid
  EXPECT_EQ(in.u32(), 7u);   // highest slotid (eight slots)
  EXPECT_EQ(in.u32(), 7u);   // target highest slotid
  EXPECT_EQ(in.u32(), 0u);   // status flags
  EXPECT_EQ(in.u32(), static_cast<std::uint32_t>(Op::kPutfh));
  EXPECT_EQ(in.u32(), 0u);
  EXPECT_EQ(in.u32(), static_cast<std::uint32_t>(Op::kGetattr));
  EXPECT_EQ(in.u32(), 0u);
  // The SEQUENCE was performed: the next request on the slot is seq + 1,
  // and a retry of seq is a replay, not a new request.
  seqid_ = seq;
  EXPECT_CALL(backend_, getattr(Eq(f), _))
      .WillOnce(DoAll(SetArgPointee<1>(file_attr(1)), Return(Status::kOk)));
  auto next = run_on(f, getattr_type_size);
  EXPECT_EQ(next.top, Nfsstat4::kOk);
}

TEST_F(Nfs4InlineTest, CompoundThatWouldBlockLeavesTheSlotForThePersistStage) {
  open_session();
  const FileHandle f = fh_in(1, 5);
  EXPECT_CALL(backend_, try_getattr(Eq(f), _)).WillOnce(Return(Status::kWouldBlock));
  const std::uint32_t seq = seqid_ + 1;
  auto o = try_inline(2, 3, [&](xdr::XdrEncoder& e) {
    sequence_putfh(e, seq, f);
    getattr_type_size(e);
  });
  ASSERT_TRUE(o.eligible);
  EXPECT_FALSE(o.status.has_value());
  // The same request (same seqid) then runs on the persist stage as a new
  // request: the slot was not touched (else SEQ_MISORDERED or a replay).
  EXPECT_CALL(backend_, getattr(Eq(f), _))
      .WillOnce(DoAll(SetArgPointee<1>(file_attr(7)), Return(Status::kOk)));
  auto r = run_on(f, getattr_type_size);  // run() uses ++seqid_ == seq
  EXPECT_EQ(r.top, Nfsstat4::kOk);
  EXPECT_EQ(r.status, Nfsstat4::kOk);
}

TEST_F(Nfs4InlineTest, RetriedOrMisorderedSequenceIsLeftToThePersistStage) {
  open_session();
  const FileHandle f = fh_in(1, 5);
  EXPECT_CALL(backend_, getattr(Eq(f), _))
      .WillOnce(DoAll(SetArgPointee<1>(file_attr(7)), Return(Status::kOk)));
  run_on(f, getattr_type_size);  // seqid_ is now the slot's seqid
  for (std::uint32_t seq : {seqid_, seqid_ + 5}) {
    auto o = try_inline(2, 3, [&](xdr::XdrEncoder& e) {
      sequence_putfh(e, seq, f);
      getattr_type_size(e);
    });
    ASSERT_TRUE(o.eligible);
    EXPECT_FALSE(o.status.has_value()) << "seqid " << seq;
  }
}

TEST_F(Nfs4InlineTest, OnlyCompoundsOfReadOnlyOperationsAreEligible) {
  open_session();
  const FileHandle f = fh_in(1, 5);
  auto read_op = [](xdr::XdrEncoder& e, std::uint32_t count) {
    e.u32(static_cast<std::uint32_t>(Op::kRead));
    anon_stateid(e);
    e.u64(0);
    e.u32(count);
  };
  // A WRITE (or any operation that changes something) keeps the whole
  // COMPOUND on the persist stage.
  EXPECT_FALSE(try_inline(2, 3, [&](xdr::XdrEncoder& e) {
                 sequence_putfh(e, seqid_ + 1, f);
                 e.u32(static_cast<std::uint32_t>(Op::kWrite));
                 anon_stateid(e);
                 e.u64(0);
                 e.u32(0);  // UNSTABLE4
                 e.opaque(std::vector<std::uint8_t>(10, 1));
               }).eligible);
  // READ up to kInlineReadMax only (with a maxread above it).
  Nfs4Program big(backend_, registry_, state_, Nfs4Limits{1u << 20, 1u << 20, 64}, kWriteverf);
  for (std::uint32_t count : {Nfs4Program::kInlineReadMax, Nfs4Program::kInlineReadMax + 1}) {
    EXPECT_EQ(eligible(big, 2, 3,
                       [&](xdr::XdrEncoder& e) {
                         sequence_putfh(e, seqid_ + 1, f);
                         read_op(e, count);
                       }),
              count <= Nfs4Program::kInlineReadMax)
        << count;
  }
  // READDIR likewise, by its maxcount.
  for (std::uint32_t count : {Nfs4Program::kInlineReadMax, Nfs4Program::kInlineReadMax + 1}) {
    EXPECT_EQ(eligible(big, 2, 3,
                       [&](xdr::XdrEncoder& e) {
                         sequence_putfh(e, seqid_ + 1, f);
                         readdir_type_size(e, count);
                       }),
              count <= Nfs4Program::kInlineReadMax)
        << count;
  }
  // 4.1+: without SEQUENCE first the COMPOUND is not in a session.
  EXPECT_FALSE(try_inline(1, 2, [&](xdr::XdrEncoder& e) {
                 putfh(e, f);
                 getattr_type_size(e);
               }).eligible);
}

TEST_F(Nfs4InlineTest, LastLookupBeforeOnlyGetfhAndGetattrAsksForAttributesWhichGetattrUses) {
  open_session();
  const FileHandle dir = fh_in(1, 5), sub = fh_in(1, 6), file = fh_in(1, 7);
  // StrictMock: the LOOKUP of "d" is followed by another LOOKUP (it needs
  // the object), the LOOKUP of "f" only by GETFH and GETATTR; the GETATTR
  // answers from what the LOOKUP found (no try_getattr).
  EXPECT_CALL(backend_, try_lookup(_, Eq(dir), Eq("d"), _, _, _))
      .WillOnce(DoAll(SetArgPointee<3>(sub), Return(Status::kOk)));
  EXPECT_CALL(backend_, try_lookup_for_attrs(_, Eq(sub), Eq("f"), _, _, _))
      .WillOnce(DoAll(SetArgPointee<3>(file), SetArgPointee<4>(file_attr(4321)),
                      Return(Status::kOk)));
  const std::uint32_t seq = seqid_ + 1;
  auto o = try_inline(2, 6, [&](xdr::XdrEncoder& e) {
    sequence_putfh(e, seq, dir);
    e.u32(static_cast<std::uint32_t>(Op::kLookup));
    e.string("d");
    e.u32(static_cast<std::uint32_t>(Op::kLookup));
    e.string("f");
    e.u32(static_cast<std::uint32_t>(Op::kGetfh));
    getattr_type_size(e);
  });
  xdr::XdrDecoder in = sequence_answered(o, 6);
  in.fixed_opaque(16);
  for (int i = 0; i < 5; ++i) in.u32();  // sequenceid, slotid, highest slotids, flags
  for (Op op : {Op::kPutfh, Op::kLookup, Op::kLookup}) {
    EXPECT_EQ(in.u32(), static_cast<std::uint32_t>(op));
    EXPECT_EQ(in.u32(), 0u);
  }
  EXPECT_EQ(in.u32(), static_cast<std::uint32_t>(Op::kGetfh));
  EXPECT_EQ(in.u32(), 0u);
  auto got = in.opaque(128);
  EXPECT_TRUE(std::equal(got.begin(), got.end(), file.bytes().begin(), file.bytes().end()));
  EXPECT_EQ(in.u32(), static_cast<std::uint32_t>(Op::kGetattr));
  EXPECT_EQ(in.u32(), 0u);
  EXPECT_EQ(in.u32(), 1u);  // bitmap words
  EXPECT_EQ(in.u32(), (1u << 1) | (1u << 4));
  EXPECT_EQ(in.u32(), 12u);  // attrlist bytes: type, size
  EXPECT_EQ(in.u32(), 1u);   // NF4REG
  EXPECT_EQ(in.u64(), 4321u);
}

TEST_F(Nfs4InlineTest, LookupFollowedByAnotherOperationKeepsTheObjectAndGetattrAsksAgain) {
  open_session();
  const FileHandle dir = fh_in(1, 5), file = fh_in(1, 7);
  // ACCESS after the LOOKUP uses the object: the ordinary try_lookup, and
  // the GETATTR after the ACCESS asks the backend (the attributes may have
  // been read before a change the ACCESS made visible).
  EXPECT_CALL(backend_, try_lookup(_, Eq(dir), Eq("f"), _, _, _))
      .WillOnce(DoAll(SetArgPointee<3>(file), SetArgPointee<4>(file_attr(1)), Return(Status::kOk)));
  EXPECT_CALL(backend_, try_access(_, Eq(file), _, _, _))
      .WillOnce(DoAll(SetArgPointee<3>(std::uint32_t{0x01}), Return(Status::kOk)));
  EXPECT_CALL(backend_, try_getattr(Eq(file), _))
      .WillOnce(DoAll(SetArgPointee<1>(file_attr(99)), Return(Status::kOk)));
  const std::uint32_t seq = seqid_ + 1;
  auto o = try_inline(2, 5, [&](xdr::XdrEncoder& e) {
    sequence_putfh(e, seq, dir);
    e.u32(static_cast<std::uint32_t>(Op::kLookup));
    e.string("f");
    e.u32(static_cast<std::uint32_t>(Op::kAccess));
    e.u32(0x01);
    getattr_type_size(e);
  });
  xdr::XdrDecoder in = sequence_answered(o, 5);
  in.fixed_opaque(16);
  for (int i = 0; i < 5; ++i) in.u32();
  for (Op op : {Op::kPutfh, Op::kLookup}) {
    EXPECT_EQ(in.u32(), static_cast<std::uint32_t>(op));
    EXPECT_EQ(in.u32(), 0u);
  }
  EXPECT_EQ(in.u32(), static_cast<std::uint32_t>(Op::kAccess));
  EXPECT_EQ(in.u32(), 0u);
  in.u32();  // supported
  in.u32();  // access
  EXPECT_EQ(in.u32(), static_cast<std::uint32_t>(Op::kGetattr));
  EXPECT_EQ(in.u32(), 0u);
  in.u32();
  in.u32();
  EXPECT_EQ(in.u32(), 12u);
  EXPECT_EQ(in.u32(), 1u);
  EXPECT_EQ(in.u64(), 99u);
}

TEST_F(Nfs4InlineTest, ReaddirOfACachedListingIsAnsweredInline) {
  open_session();
  const FileHandle d = fh_in(1, 5);
  // StrictMock: readdir() (the blocking form) must not be called.
  EXPECT_CALL(backend_, try_readdir(_, Eq(d), 0u, _, true, _, _, _, _, _))
      .WillOnce([](const storage::Credentials&, const FileHandle&, std::uint64_t,
                   const storage::Verifier&, bool, const MockBackend::FitsFn& fits,
                   std::vector<storage::DirEntry>* entries, storage::Verifier* verf, bool* eof,
                   std::optional<storage::Attr>*) {
        *verf = storage::Verifier{1, 2, 3, 4, 5, 6, 7, 8};
        for (const char* name : {".", "..", "a", "b"}) {
          storage::DirEntry e{7, name, entries->size() + 1u, file_attr(3), fh_in(1, 9)};
          if (!fits(e)) return Status::kOk;
          entries->push_back(e);
        }
        *eof = true;
        return Status::kOk;
      });
  const std::uint32_t seq = seqid_ + 1;
  auto o = try_inline(2, 3, [&](xdr::XdrEncoder& e) {
    sequence_putfh(e, seq, d);
    readdir_type_size(e, 8192);
  });
  xdr::XdrDecoder in = sequence_answered(o, 3);
  in.fixed_opaque(16);
  for (int i = 0; i < 5; ++i) in.u32();  // sequenceid, slots, flags
  EXPECT_EQ(in.u32(), static_cast<std::uint32_t>(Op::kPutfh));
  EXPECT_EQ(in.u32(), 0u);
  EXPECT_EQ(in.u32(), static_cast<std::uint32_t>(Op::kReaddir));
  EXPECT_EQ(in.u32(), 0u);
  in.fixed_opaque(8);  // cookieverf
  std::vector<std::string> names;
  while (in.ok() && in.boolean()) {
    in.u64();  // cookie
    names.emplace_back(in.string(255));
    in.u32();  // bitmap length 1
    in.u32();
    in.opaque(64);  // type, size
  }
  EXPECT_TRUE(in.boolean());  // eof
  EXPECT_TRUE(in.ok());
  EXPECT_EQ(names, (std::vector<std::string>{"a", "b"}));  // no "." or ".." in NFSv4
}

TEST_F(Nfs4InlineTest, ReaddirThatWouldBlockLeavesTheSlotForThePersistStage) {
  open_session();
  const FileHandle d = fh_in(1, 5);
  EXPECT_CALL(backend_, try_readdir(_, Eq(d), 0u, _, true, _, _, _, _, _))
      .WillOnce(Return(Status::kWouldBlock));
  const std::uint32_t seq = seqid_ + 1;
  auto o = try_inline(2, 3, [&](xdr::XdrEncoder& e) {
    sequence_putfh(e, seq, d);
    readdir_type_size(e, 8192);
  });
  ASSERT_TRUE(o.eligible);
  EXPECT_FALSE(o.status.has_value());
  // The same seqid then runs on the persist stage as a new request.
  EXPECT_CALL(backend_, readdir(_, Eq(d), 0u, _, true, _, _, _, _, _))
      .WillOnce(DoAll(SetArgPointee<8>(true), Return(Status::kOk)));
  auto r = run_on(d, [](xdr::XdrEncoder& e) { readdir_type_size(e, 8192); });
  EXPECT_EQ(r.top, Nfsstat4::kOk);
  EXPECT_EQ(r.status, Nfsstat4::kOk);
}

TEST_F(Nfs4InlineTest, CloseIsAnsweredInlineAfterItsSequence) {
  open_session();
  const FileHandle f = fh_in(1, 5);
  const std::vector<std::uint8_t> owner = {'o', 'w'};
  nfs4::Stateid4 sid;
  ASSERT_EQ(state_.open(clientid_, owner, f, 1, 0, &sid), Nfsstat4::kOk);
  ASSERT_EQ(state_.open_count(), 1u);
  auto close_op = [&](xdr::XdrEncoder& e) {
    e.u32(static_cast<std::uint32_t>(Op::kClose));
    e.u32(0);  // seqid (ignored in 4.1)
    nfs4::encode_stateid(e, sid);
  };
  // Only GETFH, GETATTR and ACCESS may follow it: a LOOKUP could wait.
  EXPECT_FALSE(try_inline(2, 4, [&](xdr::XdrEncoder& e) {
                 sequence_putfh(e, seqid_ + 1, f);
                 close_op(e);
                 e.u32(static_cast<std::uint32_t>(Op::kLookup));
                 e.string("x");
               }).eligible);
  const std::uint32_t seq = seqid_ + 1;
  auto o = try_inline(2, 3, [&](xdr::XdrEncoder& e) {
    sequence_putfh(e, seq, f);
    close_op(e);
  });
  xdr::XdrDecoder in = sequence_answered(o, 3);
  in.fixed_opaque(16);
  EXPECT_EQ(in.u32(), seq);
  for (int i = 0; i < 4; ++i) in.u32();  // slotid, highest slotids, flags
  EXPECT_EQ(in.u32(), static_cast<std::uint32_t>(Op::kPutfh));
  EXPECT_EQ(in.u32(), 0u);
  EXPECT_EQ(in.u32(), static_cast<std::uint32_t>(Op::kClose));
  EXPECT_EQ(in.u32(), 0u);
  EXPECT_EQ(state_.open_count(), 0u);
  // The SEQUENCE was performed and its reply cached: the same request again
  // is answered from the slot, not run again (a second CLOSE would fail).
  auto again = try_inline(2, 3, [&](xdr::XdrEncoder& e) {
    sequence_putfh(e, seq, f);
    close_op(e);
  });
  EXPECT_FALSE(again.status.has_value());  // a retry goes to the persist stage
  seqid_ = seq - 1;
  auto replay = run_on(f, close_op);  // run() sends seqid_ + 1 == seq
  EXPECT_EQ(replay.top, Nfsstat4::kOk);
  EXPECT_EQ(replay.status, Nfsstat4::kOk);
}

TEST_F(Nfs4InlineTest, OpenOfAFileInMemoryIsAnsweredInline) {
  open_session();
  const FileHandle dir = fh_in(1, 5), file = fh_in(1, 6);
  // StrictMock: the lookup and access checks only in their try_* forms (the
  // OPEN uses what they found); the GETATTR after it runs as usual.
  EXPECT_CALL(backend_, try_lookup(_, Eq(dir), Eq("f"), _, _, _))
      .WillOnce(DoAll(SetArgPointee<3>(file), SetArgPointee<4>(file_attr(10)),
                      Return(Status::kOk)));
  EXPECT_CALL(backend_, try_access(_, Eq(file), _, _, _))
      .WillOnce(DoAll(SetArgPointee<3>(std::uint32_t{0x01} /* ACCESS4_READ */), Return(Status::kOk)));
  EXPECT_CALL(backend_, getattr(Eq(file), _))
      .WillOnce(DoAll(SetArgPointee<1>(file_attr(10)), Return(Status::kOk)));
  const std::uint32_t seq = seqid_ + 1;
  auto o = try_inline(2, 4, [&](xdr::XdrEncoder& e) {
    sequence_putfh(e, seq, dir);
    open_op(e, "f");
    getattr_type_size(e);
  });
  xdr::XdrDecoder in = sequence_answered(o, 4);
  in.fixed_opaque(16);
  EXPECT_EQ(in.u32(), seq);
  for (int i = 0; i < 4; ++i) in.u32();
  EXPECT_EQ(in.u32(), static_cast<std::uint32_t>(Op::kPutfh));
  EXPECT_EQ(in.u32(), 0u);
  EXPECT_EQ(in.u32(), static_cast<std::uint32_t>(Op::kOpen));
  EXPECT_EQ(in.u32(), 0u);
  EXPECT_EQ(state_.open_count(), 1u);
}

TEST_F(Nfs4InlineTest, OpenThatWouldWaitChangesNoState) {
  open_session();
  const FileHandle dir = fh_in(1, 5), file = fh_in(1, 6);
  EXPECT_CALL(backend_, try_lookup(_, Eq(dir), Eq("f"), _, _, _))
      .WillOnce(Return(Status::kWouldBlock));
  const std::uint32_t seq = seqid_ + 1;
  auto o = try_inline(2, 3, [&](xdr::XdrEncoder& e) {
    sequence_putfh(e, seq, dir);
    open_op(e, "f");
  });
  ASSERT_TRUE(o.eligible);
  EXPECT_FALSE(o.status.has_value());
  EXPECT_EQ(state_.open_count(), 0u);
  // The same seqid then runs on the persist stage as a new request.
  EXPECT_CALL(backend_, lookup(_, Eq(dir), Eq("f"), _, _, _))
      .WillOnce(DoAll(SetArgPointee<3>(file), SetArgPointee<4>(file_attr(10)),
                      Return(Status::kOk)));
  EXPECT_CALL(backend_, access(_, Eq(file), _, _, _))
      .WillOnce(DoAll(SetArgPointee<3>(std::uint32_t{0x01} /* ACCESS4_READ */), Return(Status::kOk)));
  auto r = run_on(dir, [&](xdr::XdrEncoder& e) { open_op(e, "f"); });
  EXPECT_EQ(r.top, Nfsstat4::kOk);
  EXPECT_EQ(state_.open_count(), 1u);
}

TEST_F(Nfs4InlineTest, OnlyAnOpenOfAnExistingFileFollowedByReadsOfItMayRunInline) {
  open_session();
  const FileHandle dir = fh_in(1, 5);
  EXPECT_TRUE(eligible(program_, 2, 5, [&](xdr::XdrEncoder& e) {
    sequence_putfh(e, seqid_ + 1, dir);
    open_op(e, "f");
    e.u32(static_cast<std::uint32_t>(Op::kGetfh));
    getattr_type_size(e);
  }));
  EXPECT_FALSE(eligible(program_, 2, 3, [&](xdr::XdrEncoder& e) {  // creates
    sequence_putfh(e, seqid_ + 1, dir);
    open_op(e, "f", /*create=*/true);
  }));
  EXPECT_FALSE(eligible(program_, 2, 4, [&](xdr::XdrEncoder& e) {  // a LOOKUP after it
    sequence_putfh(e, seqid_ + 1, dir);
    open_op(e, "f");
    e.u32(static_cast<std::uint32_t>(Op::kLookup));
    e.string("x");
  }));
}

TEST_F(Nfs4InlineTest, MinorVersionZeroCompoundRunsInlineWithoutASession) {
  const FileHandle f = fh_in(1, 5);
  EXPECT_CALL(backend_, try_getattr(Eq(f), _))
      .WillOnce(DoAll(SetArgPointee<1>(file_attr(99)), Return(Status::kOk)));
  auto o = try_inline(0, 2, [&](xdr::XdrEncoder& e) {
    putfh(e, f);
    getattr_type_size(e);
  });
  ASSERT_TRUE(o.eligible);
  ASSERT_TRUE(o.status.has_value());
  xdr::XdrDecoder in(o.bytes);
  EXPECT_EQ(in.u32(), 0u);
}

TEST_F(Nfs4InlineTest, AbandonedAttemptIsNotCountedInOperationMetrics) {
  prometheus::Registry reg;
  Nfs4OpMetrics metrics(reg);
  program_.set_op_metrics(&metrics);
  open_session();
  const FileHandle f = fh_in(1, 5);
  EXPECT_CALL(backend_, try_getattr(Eq(f), _)).WillOnce(Return(Status::kWouldBlock));
  auto o = try_inline(2, 3, [&](xdr::XdrEncoder& e) {
    sequence_putfh(e, seqid_ + 1, f);
    getattr_type_size(e);
  });
  ASSERT_FALSE(o.status.has_value());
  EXPECT_EQ(counter_value(reg, "PUTFH", "OK"), -1);
  EXPECT_EQ(counter_value(reg, "SEQUENCE", "OK"), -1);
  EXPECT_CALL(backend_, getattr(Eq(f), _))
      .WillOnce(DoAll(SetArgPointee<1>(file_attr(7)), Return(Status::kOk)));
  run_on(f, getattr_type_size);
  EXPECT_EQ(counter_value(reg, "PUTFH", "OK"), 1);
  EXPECT_EQ(counter_value(reg, "GETATTR", "OK"), 1);
}

// ------------------------------------------------------- validate stage

TEST_F(Nfs4ProgramTest, PutfhRefusedByTheAccessCheckIsAccessAtItsPosition) {
  open_session();
  ctx_.peer_port = 40000;  // the exports are `secure`: a port >= 1024 is refused
  auto r = run([&](xdr::XdrEncoder& e) {
    putfh(e, fh_in(1, 5));
    e.u32(static_cast<std::uint32_t>(Op::kGetfh));
  }, 2);
  EXPECT_EQ(r.top, Nfsstat4::kAccess);
  EXPECT_EQ(r.status, Nfsstat4::kAccess);  // PUTFH's result, after an OK SEQUENCE
  xdr::XdrDecoder in(r.bytes);
  in.u32();
  in.string(16);
  EXPECT_EQ(in.u32(), 2u);  // SEQUENCE and PUTFH; GETFH never ran
}

TEST_F(Nfs4ProgramTest, PutfhIsCheckedInTheValidateStageNotAgainWhenItRuns) {
  open_session();
  Wire req(1 << 18);
  ArgSlot slot;
  decode_compound(program_, req, 1, 4, [&](xdr::XdrEncoder& e) {
    sequence(e);
    putfh(e, fh_in(1, 5));
    e.u32(static_cast<std::uint32_t>(Op::kPutrootfh));
    e.u32(static_cast<std::uint32_t>(Op::kGetfh));
  }, slot);
  std::vector<std::uint8_t> buf(program_.max_reply_size(ctx_, slot));
  xdr::XdrEncoder out(buf);
  ASSERT_TRUE(program_.validate(ctx_, slot, out));  // from a privileged port
  // What the validate stage found stands when the COMPOUND runs: the
  // handles are not checked again (a later port would be refused).
  ctx_.peer_port = 40000;
  EXPECT_CALL(backend_, export_of(_, _)).Times(0);
  program_.execute(ctx_, slot, out);
  xdr::XdrDecoder in(out.written());
  EXPECT_EQ(static_cast<Nfsstat4>(in.u32()), Nfsstat4::kOk);
  in.string(16);
  EXPECT_EQ(in.u32(), 4u);
}

TEST_F(Nfs4ProgramTest, AuthNoneOnASecSysExportIsWrongsecAtPutfh) {
  open_session();
  Export sys_only = make_export(1, "/srv/rw", true);
  sys_only.clients[0].options.auth_none = false;  // sec=sys
  registry_.replace(ExportTable({sys_only}));
  ctx_.header.flavor = rpc::AuthFlavor::kNone;
  auto r = run_on(fh_in(1, 5), [](xdr::XdrEncoder& e) {
    e.u32(static_cast<std::uint32_t>(Op::kGetfh));
  });
  EXPECT_EQ(r.top, Nfsstat4::kWrongSec);
  EXPECT_EQ(r.status, Nfsstat4::kWrongSec);  // PUTFH's, after an OK SEQUENCE
}

// ------------------------------------------------------------ decode once

/// Calls of each operation's decoder through counting_table().
std::array<int, Nfs4OpTable::kRows> g_decodes{};

template <std::size_t N>
bool counting_decode(xdr::XdrDecoder& in, Nfs4OpArgs& args) {
  ++g_decodes[N];
  return nfs4_op_table().rows[N].decode(in, args);
}

/// The real table with every decoder wrapped to count its calls.
template <std::size_t... I>
Nfs4OpTable counting_table(std::index_sequence<I...>) {
  Nfs4OpTable t = nfs4_op_table();
  ((t.rows[I].decode = t.rows[I].decode ? &counting_decode<I> : nullptr), ...);
  return t;
}

TEST_F(Nfs4InlineTest, EachOperationIsDecodedOnceThroughAnInlineAttemptAndThePersistStage) {
  static const Nfs4OpTable counting =
      counting_table(std::make_index_sequence<Nfs4OpTable::kRows>{});
  Nfs4Program program(backend_, registry_, state_, Nfs4Limits{kMaxRead, kMaxRead, 64},
                      kWriteverf, counting);
  open_session();
  g_decodes.fill(0);
  const FileHandle f = fh_in(1, 5);
  // The inline attempt gives up at GETATTR; the persist stage runs it all.
  EXPECT_CALL(backend_, try_getattr(Eq(f), _)).WillOnce(Return(Status::kWouldBlock));
  EXPECT_CALL(backend_, getattr(Eq(f), _))
      .WillOnce(DoAll(SetArgPointee<1>(file_attr(7)), Return(Status::kOk)));
  Wire req(1 << 18);
  ArgSlot slot;
  decode_compound(program, req, 2, 4, [&](xdr::XdrEncoder& e) {
    sequence_putfh(e, ++seqid_, f);
    getattr_type_size(e);
    e.u32(static_cast<std::uint32_t>(Op::kGetfh));
  }, slot);
  ASSERT_TRUE(program.may_run_inline(ctx_, slot));
  std::vector<std::uint8_t> buf(program.max_reply_size(ctx_, slot));
  xdr::XdrEncoder out(buf);
  ASSERT_TRUE(program.validate(ctx_, slot, out));
  const std::size_t pos = out.position();
  EXPECT_FALSE(program.try_execute_inline(ctx_, slot, out).has_value());
  out.rewind(pos);  // as the pipeline does before handing the call on
  EXPECT_EQ(program.execute(ctx_, slot, out), Status::kOk);
  xdr::XdrDecoder in(out.written());
  EXPECT_EQ(in.u32(), 0u);  // NFS4_OK
  EXPECT_EQ(g_decodes[static_cast<std::size_t>(Op::kSequence)], 1);
  EXPECT_EQ(g_decodes[static_cast<std::size_t>(Op::kPutfh)], 1);
  EXPECT_EQ(g_decodes[static_cast<std::size_t>(Op::kGetattr)], 1);
  EXPECT_EQ(g_decodes[static_cast<std::size_t>(Op::kGetfh)], 1);
  int total = 0;
  for (int n : g_decodes) total += n;
  EXPECT_EQ(total, 4);
}

TEST_F(Nfs4InlineTest, DecodingStopsAtTheFirstOperationThatCannotRun) {
  static const Nfs4OpTable counting =
      counting_table(std::make_index_sequence<Nfs4OpTable::kRows>{});
  Nfs4Program program(backend_, registry_, state_, Nfs4Limits{kMaxRead, kMaxRead, 64},
                      kWriteverf, counting);
  g_decodes.fill(0);
  Wire req(1 << 18);
  ArgSlot slot;
  // 4.0: PUTROOTFH, VERIFY (not served: NOTSUPP), GETATTR never decoded.
  decode_compound(program, req, 0, 3, [&](xdr::XdrEncoder& e) {
    e.u32(static_cast<std::uint32_t>(Op::kPutrootfh));
    e.u32(static_cast<std::uint32_t>(Op::kVerify));
    e.u32(0);  // an empty fattr4 that no decoder reads
    e.u32(0);
    getattr_type_size(e);
  }, slot);
  EXPECT_EQ(g_decodes[static_cast<std::size_t>(Op::kPutrootfh)], 1);
  EXPECT_EQ(g_decodes[static_cast<std::size_t>(Op::kGetattr)], 0);
  std::vector<std::uint8_t> buf(program.max_reply_size(ctx_, slot));
  xdr::XdrEncoder out(buf);
  ASSERT_TRUE(program.validate(ctx_, slot, out));
  program.execute(ctx_, slot, out);
  xdr::XdrDecoder in(out.written());
  EXPECT_EQ(static_cast<Nfsstat4>(in.u32()), Nfsstat4::kNotSupp);
  in.string(16);
  EXPECT_EQ(in.u32(), 2u);  // PUTROOTFH's result and VERIFY's
}

TEST_F(Nfs4InlineTest, ParseAndValidateOfACompoundAllocateNothingOnAWarmPacket) {
  open_session();
  // What a client sends most: SEQUENCE, a filehandle, OPEN, READ, WRITE,
  // GETATTR, CLOSE (no PUTFH: its check asks the mock backend, whose
  // bookkeeping allocates).
  Wire req(1 << 18);
  const std::vector<std::uint8_t> data(4096, 'x');
  req.enc.string("t");
  req.enc.u32(2);
  req.enc.u32(7);
  sequence_at(req.enc, seqid_ + 1);
  req.enc.u32(static_cast<std::uint32_t>(Op::kPutrootfh));
  open_op(req.enc, "file");
  req.enc.u32(static_cast<std::uint32_t>(Op::kRead));
  anon_stateid(req.enc);
  req.enc.u64(0);
  req.enc.u32(4096);
  req.enc.u32(static_cast<std::uint32_t>(Op::kWrite));
  anon_stateid(req.enc);
  req.enc.u64(0);
  req.enc.u32(2);  // FILE_SYNC4
  req.enc.opaque(data);
  getattr_type_size(req.enc);
  req.enc.u32(static_cast<std::uint32_t>(Op::kClose));
  req.enc.u32(0);
  anon_stateid(req.enc);
  ArgSlot slot;  // a pooled packet's: kept across calls
  std::vector<std::uint8_t> buf(1 << 20);
  for (int round = 0; round < 3; ++round) {
    xdr::XdrDecoder in(req.enc.written());
    xdr::XdrEncoder out(buf);
    t_allocations = 0;
    t_count_allocations = true;
    const DecodeResult decoded = program_.decode(ctx_, in, slot);
    const std::size_t reply = program_.max_reply_size(ctx_, slot);
    const bool valid = program_.validate(ctx_, slot, out);
    t_count_allocations = false;
    ASSERT_EQ(decoded, DecodeResult::kOk);
    EXPECT_GT(reply, 4096u);
    EXPECT_TRUE(valid);
    if (round == 0) {
      // The first call takes the slot's array area (and the counter sees it).
      EXPECT_GT(t_allocations, 0u);
    } else {
      EXPECT_EQ(t_allocations, 0u) << "round " << round;
    }
    slot.reset();  // as the packet pool does when the call is answered
  }
}

}  // namespace
}  // namespace nasd::server
