// Nfs3Program hooks driven directly with a mock Backend and a hand-built
// export table: every procedure, the validate() error paths, credential
// squashing, READ zero-copy and READDIR packing.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "server/nfs3/nfs3_program.h"
#include "protocol/nfs_status.h"
#include "tests/protocol/nfs3/nfs3_test_util.h"
#include "tests/mocks/mock_backend.h"

namespace nasd::server {
namespace {

using ::testing::_;
using ::testing::AnyNumber;
using ::testing::DoAll;
using ::testing::Eq;
using ::testing::Return;
using ::testing::SetArgPointee;
using ::testing::StrictMock;
using ::testing::Truly;
using nfs3::Nfsstat3;
using nfs3::Proc;
using storage::Attr;
using storage::FileHandle;
using storage::Status;
using testutil::make_attr;
using testutil::MockBackend;
using testutil::Wire;
namespace ip = boost::asio::ip;

constexpr std::uint8_t kForged = 0xff;     // export_of says kBadHandle
constexpr std::uint8_t kStaleTag = 0xfe;   // export_of says kStale
constexpr std::uint8_t kGoneExport = 9;    // export id not in the table
constexpr std::uint32_t kAnonUid = 4242, kAnonGid = 4343;
constexpr std::uint32_t kMaxRead = 65536, kMaxWrite = 32768;

/// Handle naming an export (byte 0) and an object (byte 1).
FileHandle fh_in(std::uint8_t export_id, std::uint8_t object = 1) {
  FileHandle f;
  f.size = 8;
  f.data[0] = export_id;
  f.data[1] = object;
  return f;
}

ExportOptions opts(bool rw, ExportOptions::Squash squash = ExportOptions::Squash::kRoot,
                   bool secure = false) {
  ExportOptions o;
  o.read_only = !rw;
  o.squash = squash;
  o.secure = secure;
  o.anonuid = kAnonUid;
  o.anongid = kAnonGid;
  return o;
}

ClientSpec anyone(ExportOptions o) {
  ClientSpec c;
  c.kind = ClientSpec::Kind::kAny;
  c.text = "*";
  c.options = o;
  return c;
}

ClientSpec only(const char* addr, ExportOptions o) {
  ClientSpec c;
  c.kind = ClientSpec::Kind::kAddress;
  c.text = addr;
  c.address = ip::make_address(addr);
  c.options = o;
  return c;
}

Export make_export(std::uint32_t id, std::string path, ClientSpec client) {
  Export e;
  e.id = id;
  e.path = path;
  e.pseudo = path;
  e.clients.push_back(std::move(client));
  return e;
}

ExportTable make_table() {
  return ExportTable({
      make_export(1, "/srv/rw", anyone(opts(true))),
      make_export(2, "/srv/ro", anyone(opts(false))),
      make_export(3, "/srv/only", only("10.0.0.9", opts(true))),
      make_export(4, "/srv/secure", anyone(opts(true, ExportOptions::Squash::kRoot, true))),
      make_export(5, "/srv/rw2", anyone(opts(true))),
      make_export(6, "/srv/open", anyone(opts(true, ExportOptions::Squash::kNone))),
      make_export(7, "/srv/all", anyone(opts(true, ExportOptions::Squash::kAll))),
      make_export(8, "/srv/async", anyone([] {
                    auto o = opts(true);
                    o.sync = false;
                    return o;
                  }())),
  });
}

struct Outcome {
  DecodeResult decoded = DecodeResult::kOk;
  bool validated = false;
  Status status = Status::kOk;
  std::size_t max_reply = 0;
  std::vector<std::uint8_t> reply;
  xdr::XdrDecoder reader() const { return xdr::XdrDecoder(reply); }
};

class Nfs3ProgramTest : public ::testing::Test {
 protected:
  Nfs3ProgramTest()
      : registry_(make_table()),
        program_(backend_, registry_, Nfs3Limits{kMaxRead, kMaxWrite, 32768}, kWriteverf) {
    ON_CALL(backend_, export_of(_, _))
        .WillByDefault([](const FileHandle& fh, std::uint32_t* id) {
          if (fh.data[0] == kForged) return Status::kBadHandle;
          if (fh.data[0] == kStaleTag) return Status::kStale;
          *id = fh.data[0];
          return Status::kOk;
        });
    EXPECT_CALL(backend_, export_of(_, _)).Times(AnyNumber());
    ctx_.header.prog = nfs3::kProgram;
    ctx_.header.vers = nfs3::kVersion;
    ctx_.header.flavor = rpc::AuthFlavor::kSys;
    ctx_.header.sys.uid = 1000;
    ctx_.header.sys.gid = 1000;
    ctx_.header.sys.ngroups = 1;
    ctx_.header.sys.groups[0] = 50;
    ctx_.peer = ip::make_address("10.0.0.9");
    ctx_.peer_port = 700;
  }

  /// Runs decode -> max_reply_size -> validate -> execute like the pipeline.
  Outcome call(Proc proc, const std::function<void(xdr::XdrEncoder&)>& args) {
    Wire req(1 << 18);
    args(req.enc);
    EXPECT_TRUE(req.enc.ok()) << "request too big for the test buffer";
    ctx_.header.proc = static_cast<std::uint32_t>(proc);
    xdr::XdrDecoder in(req.enc.written());
    ArgSlot slot;
    Outcome o;
    o.decoded = program_.decode(ctx_, in, slot);
    if (o.decoded != DecodeResult::kOk) return o;
    o.max_reply = program_.max_reply_size(ctx_, slot);
    std::vector<std::uint8_t> buf(o.max_reply);
    xdr::XdrEncoder out(buf);
    o.validated = program_.validate(ctx_, slot, out);
    if (o.validated) o.status = program_.execute(ctx_, slot, out);
    EXPECT_TRUE(out.ok()) << "reply exceeded max_reply_size()";
    auto w = out.written();
    o.reply.assign(w.begin(), w.end());
    return o;
  }

  /// Runs decode -> validate -> try_execute_inline like the pipeline's
  /// inline path; `inline_status` is nullopt when the call would block.
  /// `mark` is the reply position before the attempt.
  struct InlineOutcome {
    bool may_run_inline = false;
    std::optional<Status> inline_status;
    std::size_t mark = 0, end = 0;
    std::vector<std::uint8_t> reply;
  };
  InlineOutcome call_inline(Proc proc, const std::function<void(xdr::XdrEncoder&)>& args) {
    Wire req(1 << 18);
    args(req.enc);
    ctx_.header.proc = static_cast<std::uint32_t>(proc);
    xdr::XdrDecoder in(req.enc.written());
    ArgSlot slot;
    InlineOutcome o;
    EXPECT_EQ(program_.decode(ctx_, in, slot), DecodeResult::kOk);
    o.may_run_inline = program_.may_run_inline(ctx_, slot);
    std::vector<std::uint8_t> buf(program_.max_reply_size(ctx_, slot));
    xdr::XdrEncoder out(buf);
    EXPECT_TRUE(program_.validate(ctx_, slot, out));
    o.mark = out.position();
    if (o.may_run_inline) o.inline_status = program_.try_execute_inline(ctx_, slot, out);
    o.end = out.position();
    auto w = out.written();
    o.reply.assign(w.begin(), w.end());
    return o;
  }

  static constexpr storage::Verifier kWriteverf = {0xa, 0xb, 0xc, 0xd, 1, 2, 3, 4};
  StrictMock<MockBackend> backend_;
  ExportRegistry registry_;
  Nfs3Program program_;
  CallContext ctx_;
};

auto handle_arg(const FileHandle& fh) {
  return [fh](xdr::XdrEncoder& e) { e.opaque(fh.bytes()); };
}

auto dirop_arg(const FileHandle& fh, std::string name) {
  return [fh, name](xdr::XdrEncoder& e) {
    e.opaque(fh.bytes());
    e.string(name);
  };
}

void empty_sattr(xdr::XdrEncoder& e) {
  for (int i = 0; i < 6; ++i) e.u32(0);
}

Nfsstat3 status_of(xdr::XdrDecoder& in) { return static_cast<Nfsstat3>(in.u32()); }

/// Reads a wcc_data and expects both arms absent.
void expect_empty_wcc(xdr::XdrDecoder& in) {
  storage::WccData w;
  ASSERT_TRUE(nfs3::decode_wcc_data(in, w));
  EXPECT_FALSE(w.before.has_value());
  EXPECT_FALSE(w.after.has_value());
}

// --------------------------------------------------------------- dispatch

TEST_F(Nfs3ProgramTest, DescribesItselfAsNfsVersion3) {
  EXPECT_EQ(program_.number(), 100003u);
  EXPECT_EQ(program_.low_version(), 3u);
  EXPECT_EQ(program_.high_version(), 3u);
  EXPECT_EQ(program_.procedure_count(), 22u);
  EXPECT_STREQ(program_.procedure_name(17), "READDIRPLUS");
  EXPECT_EQ(program_.procedure_name(22), nullptr);
}

TEST_F(Nfs3ProgramTest, NullProcedureHasEmptyResult) {
  Outcome o = call(Proc::kNull, [](xdr::XdrEncoder&) {});
  EXPECT_TRUE(o.validated);
  EXPECT_TRUE(o.reply.empty());
}

TEST_F(Nfs3ProgramTest, UnknownProcedureIsProcUnavail) {
  Outcome o = call(static_cast<Proc>(22), [](xdr::XdrEncoder&) {});
  EXPECT_EQ(o.decoded, DecodeResult::kProcUnavail);
}

TEST_F(Nfs3ProgramTest, TruncatedArgumentsAreGarbage) {
  Outcome o = call(Proc::kRead, [](xdr::XdrEncoder& e) {
    e.opaque(fh_in(1).bytes());
    e.u32(0);  // half an offset, no count
  });
  EXPECT_EQ(o.decoded, DecodeResult::kGarbageArgs);
}

TEST_F(Nfs3ProgramTest, OversizeHandleIsGarbage) {
  Outcome o = call(Proc::kGetattr, [](xdr::XdrEncoder& e) {
    std::vector<std::uint8_t> big(65, 1);
    e.opaque(big);
  });
  EXPECT_EQ(o.decoded, DecodeResult::kGarbageArgs);
}

// ------------------------------------------------------- validate errors

TEST_F(Nfs3ProgramTest, ForgedHandleIsBadHandle) {
  Outcome o = call(Proc::kGetattr, handle_arg(fh_in(kForged)));
  EXPECT_FALSE(o.validated);
  auto in = o.reader();
  EXPECT_EQ(status_of(in), Nfsstat3::kBadHandle);
  EXPECT_EQ(in.remaining(), 0u);
}

TEST_F(Nfs3ProgramTest, EmptyHandleIsBadHandle) {
  Outcome o = call(Proc::kGetattr, [](xdr::XdrEncoder& e) { e.u32(0); });
  EXPECT_FALSE(o.validated);
  auto in = o.reader();
  EXPECT_EQ(status_of(in), Nfsstat3::kBadHandle);
}

TEST_F(Nfs3ProgramTest, StaleHandleIsStaleWithEmptyWcc) {
  Outcome o = call(Proc::kSetattr, [](xdr::XdrEncoder& e) {
    e.opaque(fh_in(kStaleTag).bytes());
    empty_sattr(e);
    e.boolean(false);
  });
  EXPECT_FALSE(o.validated);
  auto in = o.reader();
  EXPECT_EQ(status_of(in), Nfsstat3::kStale);
  expect_empty_wcc(in);
  EXPECT_EQ(in.remaining(), 0u);
}

TEST_F(Nfs3ProgramTest, HandleOfExportNoLongerInTableIsStale) {
  Outcome o = call(Proc::kAccess, [](xdr::XdrEncoder& e) {
    e.opaque(fh_in(kGoneExport).bytes());
    e.u32(nfs3::kAccessRead);
  });
  EXPECT_FALSE(o.validated);
  auto in = o.reader();
  EXPECT_EQ(status_of(in), Nfsstat3::kStale);
  EXPECT_FALSE(in.boolean());  // post_op_attr
  EXPECT_EQ(in.remaining(), 0u);
}

TEST_F(Nfs3ProgramTest, TableReloadWithoutTheExportMakesHandlesStale) {
  registry_.replace(ExportTable({make_export(5, "/srv/rw2", anyone(opts(true)))}));
  Outcome o = call(Proc::kGetattr, handle_arg(fh_in(1)));
  auto in = o.reader();
  EXPECT_EQ(status_of(in), Nfsstat3::kStale);
}

TEST_F(Nfs3ProgramTest, PeerNotInExportClientsIsDenied) {
  ctx_.peer = ip::make_address("10.0.0.10");
  Outcome o = call(Proc::kGetattr, handle_arg(fh_in(3)));
  EXPECT_FALSE(o.validated);
  auto in = o.reader();
  EXPECT_EQ(status_of(in), Nfsstat3::kAcces);
}

TEST_F(Nfs3ProgramTest, SecureExportRefusesUnprivilegedSourcePort) {
  ctx_.peer_port = 40000;
  Outcome o = call(Proc::kGetattr, handle_arg(fh_in(4)));
  auto in = o.reader();
  EXPECT_EQ(status_of(in), Nfsstat3::kAcces);

  ctx_.peer_port = 800;
  EXPECT_CALL(backend_, getattr(Eq(fh_in(4)), _))
      .WillOnce(DoAll(SetArgPointee<1>(make_attr()), Return(Status::kOk)));
  Outcome ok = call(Proc::kGetattr, handle_arg(fh_in(4)));
  EXPECT_TRUE(ok.validated);
}

TEST_F(Nfs3ProgramTest, WriteOnReadOnlyExportIsRofsWithoutBackendCall) {
  Outcome o = call(Proc::kWrite, [](xdr::XdrEncoder& e) {
    e.opaque(fh_in(2).bytes());
    e.u64(0);
    e.u32(3);
    e.u32(0);
    e.string("abc");
  });
  EXPECT_FALSE(o.validated);
  auto in = o.reader();
  EXPECT_EQ(status_of(in), Nfsstat3::kRoFs);
  expect_empty_wcc(in);
  EXPECT_EQ(in.remaining(), 0u);
}

TEST_F(Nfs3ProgramTest, ReadOnReadOnlyExportIsAllowed) {
  EXPECT_CALL(backend_, read(_, Eq(fh_in(2)), 0u, _, _, _, _))
      .WillOnce(DoAll(SetArgPointee<4>(0u), SetArgPointee<5>(true), Return(Status::kOk)));
  Outcome o = call(Proc::kRead, [](xdr::XdrEncoder& e) {
    e.opaque(fh_in(2).bytes());
    e.u64(0);
    e.u32(10);
  });
  EXPECT_TRUE(o.validated);
  auto in = o.reader();
  EXPECT_EQ(status_of(in), Nfsstat3::kOk);
}

TEST_F(Nfs3ProgramTest, EveryModifyingProcedureIsRofsOnReadOnlyExport) {
  const FileHandle ro = fh_in(2);
  std::vector<std::pair<Proc, std::function<void(xdr::XdrEncoder&)>>> calls = {
      {Proc::kSetattr, [&](auto& e) { e.opaque(ro.bytes()); empty_sattr(e); e.boolean(false); }},
      {Proc::kCreate, [&](auto& e) { dirop_arg(ro, "f")(e); e.u32(0); empty_sattr(e); }},
      {Proc::kMkdir, [&](auto& e) { dirop_arg(ro, "d")(e); empty_sattr(e); }},
      {Proc::kSymlink, [&](auto& e) { dirop_arg(ro, "s")(e); empty_sattr(e); e.string("t"); }},
      {Proc::kMknod, [&](auto& e) { dirop_arg(ro, "p")(e); e.u32(7); empty_sattr(e); }},
      {Proc::kRemove, dirop_arg(ro, "f")},
      {Proc::kRmdir, dirop_arg(ro, "d")},
      {Proc::kRename, [&](auto& e) { dirop_arg(ro, "a")(e); dirop_arg(ro, "b")(e); }},
      {Proc::kLink, [&](auto& e) { e.opaque(fh_in(2, 5).bytes()); dirop_arg(ro, "l")(e); }},
      {Proc::kCommit, [&](auto& e) { e.opaque(ro.bytes()); e.u64(0); e.u32(0); }},
  };
  for (auto& [proc, args] : calls) {
    Outcome o = call(proc, args);
    ASSERT_EQ(o.decoded, DecodeResult::kOk) << program_.procedure_name(static_cast<int>(proc));
    EXPECT_FALSE(o.validated);
    auto in = o.reader();
    EXPECT_EQ(status_of(in), Nfsstat3::kRoFs) << program_.procedure_name(static_cast<int>(proc));
  }
}

TEST_F(Nfs3ProgramTest, NameLongerThan255BytesIsNameTooLong) {
  Outcome o = call(Proc::kLookup, dirop_arg(fh_in(1), std::string(256, 'n')));
  EXPECT_FALSE(o.validated);
  auto in = o.reader();
  EXPECT_EQ(status_of(in), Nfsstat3::kNameTooLong);
  EXPECT_FALSE(in.boolean());  // dir_attributes
  EXPECT_EQ(in.remaining(), 0u);
}

TEST_F(Nfs3ProgramTest, NameOf255BytesReachesTheBackend) {
  EXPECT_CALL(backend_, lookup(_, _, Truly([](std::string_view n) { return n.size() == 255; }),
                               _, _, _))
      .WillOnce(Return(Status::kNoEnt));
  Outcome o = call(Proc::kLookup, dirop_arg(fh_in(1), std::string(255, 'n')));
  auto in = o.reader();
  EXPECT_EQ(status_of(in), Nfsstat3::kNoEnt);
}

TEST_F(Nfs3ProgramTest, RenameTargetNameTooLongIsCaught) {
  Outcome o = call(Proc::kRename, [](auto& e) {
    dirop_arg(fh_in(1), "a")(e);
    dirop_arg(fh_in(1, 2), std::string(300, 'b'))(e);
  });
  auto in = o.reader();
  EXPECT_EQ(status_of(in), Nfsstat3::kNameTooLong);
  expect_empty_wcc(in);
  expect_empty_wcc(in);
  EXPECT_EQ(in.remaining(), 0u);
}

TEST_F(Nfs3ProgramTest, RenameAcrossExportsIsXdev) {
  Outcome o = call(Proc::kRename, [](auto& e) {
    dirop_arg(fh_in(1), "a")(e);
    dirop_arg(fh_in(5), "b")(e);
  });
  EXPECT_FALSE(o.validated);
  auto in = o.reader();
  EXPECT_EQ(status_of(in), Nfsstat3::kXdev);
}

TEST_F(Nfs3ProgramTest, LinkAcrossExportsIsXdev) {
  Outcome o = call(Proc::kLink, [](auto& e) {
    e.opaque(fh_in(5, 3).bytes());
    dirop_arg(fh_in(1), "l")(e);
  });
  EXPECT_FALSE(o.validated);
  auto in = o.reader();
  EXPECT_EQ(status_of(in), Nfsstat3::kXdev);
  EXPECT_FALSE(in.boolean());  // file_attributes
  expect_empty_wcc(in);
  EXPECT_EQ(in.remaining(), 0u);
}

TEST_F(Nfs3ProgramTest, SecondHandleIsCheckedToo) {
  Outcome o = call(Proc::kRename, [](auto& e) {
    dirop_arg(fh_in(1), "a")(e);
    dirop_arg(fh_in(kForged), "b")(e);
  });
  auto in = o.reader();
  EXPECT_EQ(status_of(in), Nfsstat3::kBadHandle);
}

// ------------------------------------------------------------ credentials

MATCHER_P2(CredIs, uid, gid, "") { return arg.uid == uid && arg.gid == gid; }

TEST_F(Nfs3ProgramTest, RootSquashGivesAnonCredentialsToBackend) {
  ctx_.header.sys.uid = 0;
  ctx_.header.sys.gid = 0;
  EXPECT_CALL(backend_, lookup(CredIs(kAnonUid, kAnonGid), _, _, _, _, _))
      .WillOnce(Return(Status::kNoEnt));
  call(Proc::kLookup, dirop_arg(fh_in(1), "x"));
}

TEST_F(Nfs3ProgramTest, NoRootSquashKeepsRoot) {
  ctx_.header.sys.uid = 0;
  ctx_.header.sys.gid = 0;
  EXPECT_CALL(backend_, lookup(CredIs(0u, 0u), _, _, _, _, _)).WillOnce(Return(Status::kNoEnt));
  call(Proc::kLookup, dirop_arg(fh_in(6), "x"));
}

TEST_F(Nfs3ProgramTest, OrdinaryUserKeepsIdentityAndGroups) {
  EXPECT_CALL(backend_, lookup(Truly([](const storage::Credentials& c) {
                                 return c.uid == 1000 && c.gid == 1000 && c.ngroups == 1 &&
                                        c.groups[0] == 50;
                               }),
                               _, _, _, _, _))
      .WillOnce(Return(Status::kNoEnt));
  call(Proc::kLookup, dirop_arg(fh_in(1), "x"));
}

TEST_F(Nfs3ProgramTest, AllSquashMapsEveryone) {
  EXPECT_CALL(backend_, lookup(CredIs(kAnonUid, kAnonGid), _, _, _, _, _))
      .WillOnce(Return(Status::kNoEnt));
  call(Proc::kLookup, dirop_arg(fh_in(7), "x"));
}

TEST_F(Nfs3ProgramTest, AuthNoneIsAnonymousEvenWithoutSquash) {
  ctx_.header.flavor = rpc::AuthFlavor::kNone;
  EXPECT_CALL(backend_, lookup(CredIs(kAnonUid, kAnonGid), _, _, _, _, _))
      .WillOnce(Return(Status::kNoEnt));
  call(Proc::kLookup, dirop_arg(fh_in(6), "x"));
}

TEST_F(Nfs3ProgramTest, ValidateRecordsExportAndOptionsInContext) {
  EXPECT_CALL(backend_, getattr(_, _)).WillOnce(Return(Status::kOk));
  call(Proc::kGetattr, handle_arg(fh_in(6)));
  EXPECT_EQ(ctx_.export_id, 6u);
  EXPECT_EQ(ctx_.options.squash, ExportOptions::Squash::kNone);
}

// ------------------------------------------------------------- procedures

TEST_F(Nfs3ProgramTest, GetattrReturnsAttributes) {
  Attr a = make_attr(99);
  EXPECT_CALL(backend_, getattr(Eq(fh_in(1, 7)), _))
      .WillOnce(DoAll(SetArgPointee<1>(a), Return(Status::kOk)));
  Outcome o = call(Proc::kGetattr, handle_arg(fh_in(1, 7)));
  EXPECT_EQ(o.status, Status::kOk);
  auto in = o.reader();
  EXPECT_EQ(status_of(in), Nfsstat3::kOk);
  Attr back;
  ASSERT_TRUE(nfs3::decode_fattr3(in, back));
  EXPECT_TRUE(testutil::attr_eq(back, a));
  EXPECT_EQ(in.remaining(), 0u);
}

TEST_F(Nfs3ProgramTest, BackendErrorIsMappedToNfsstat3) {
  EXPECT_CALL(backend_, getattr(_, _)).WillOnce(Return(Status::kIo));
  Outcome o = call(Proc::kGetattr, handle_arg(fh_in(1)));
  EXPECT_EQ(o.status, Status::kIo);
  auto in = o.reader();
  EXPECT_EQ(status_of(in), Nfsstat3::kIo);
  EXPECT_EQ(in.remaining(), 0u);
}

TEST_F(Nfs3ProgramTest, SetattrPassesAttributesAndGuard) {
  storage::WccData wcc;
  wcc.before = storage::WccAttr{1, {2, 0}, {3, 0}};
  wcc.after = make_attr();
  EXPECT_CALL(backend_,
              setattr(_, _, Truly([](const storage::SetAttr& s) { return s.mode == 0600u; }),
                      Eq(std::optional<storage::Time>(storage::Time{9, 10})), _))
      .WillOnce(DoAll(SetArgPointee<4>(wcc), Return(Status::kOk)));
  Outcome o = call(Proc::kSetattr, [](auto& e) {
    e.opaque(fh_in(1).bytes());
    e.boolean(true);
    e.u32(0600);
    for (int i = 0; i < 5; ++i) e.u32(0);
    e.boolean(true);
    e.u32(9);
    e.u32(10);
  });
  auto in = o.reader();
  EXPECT_EQ(status_of(in), Nfsstat3::kOk);
  storage::WccData back;
  ASSERT_TRUE(nfs3::decode_wcc_data(in, back));
  ASSERT_TRUE(back.before.has_value());
  EXPECT_EQ(back.before->size, 1u);
  EXPECT_TRUE(back.after.has_value());
}

TEST_F(Nfs3ProgramTest, SetattrGuardMismatchIsNotSyncWithWcc) {
  storage::WccData wcc;
  wcc.after = make_attr();
  EXPECT_CALL(backend_, setattr(_, _, _, _, _))
      .WillOnce(DoAll(SetArgPointee<4>(wcc), Return(Status::kNotSync)));
  Outcome o = call(Proc::kSetattr, [](auto& e) {
    e.opaque(fh_in(1).bytes());
    empty_sattr(e);
    e.boolean(true);
    e.u32(1);
    e.u32(1);
  });
  auto in = o.reader();
  EXPECT_EQ(status_of(in), Nfsstat3::kNotSync);
  storage::WccData back;
  ASSERT_TRUE(nfs3::decode_wcc_data(in, back));
  EXPECT_TRUE(back.after.has_value());
}

TEST_F(Nfs3ProgramTest, LookupReturnsHandleAndBothAttributes) {
  FileHandle child = fh_in(1, 42);
  EXPECT_CALL(backend_, lookup(_, Eq(fh_in(1)), Eq(std::string_view("file")), _, _, _))
      .WillOnce(DoAll(SetArgPointee<3>(child), SetArgPointee<4>(make_attr(42)),
                      SetArgPointee<5>(std::optional<Attr>(make_attr(1))),
                      Return(Status::kOk)));
  Outcome o = call(Proc::kLookup, dirop_arg(fh_in(1), "file"));
  auto in = o.reader();
  EXPECT_EQ(status_of(in), Nfsstat3::kOk);
  FileHandle back;
  ASSERT_TRUE(nfs3::decode_fh(in, back));
  EXPECT_EQ(back, child);
  std::optional<Attr> obj, dir;
  ASSERT_TRUE(nfs3::decode_post_op_attr(in, obj));
  ASSERT_TRUE(nfs3::decode_post_op_attr(in, dir));
  EXPECT_EQ(obj->fileid, 42u);
  EXPECT_EQ(dir->fileid, 1u);
  EXPECT_EQ(in.remaining(), 0u);
}

TEST_F(Nfs3ProgramTest, AccessReturnsGrantedBits) {
  EXPECT_CALL(backend_, access(_, _, nfs3::kAccessRead | nfs3::kAccessModify, _, _))
      .WillOnce(DoAll(SetArgPointee<3>(nfs3::kAccessRead), Return(Status::kOk)));
  Outcome o = call(Proc::kAccess, [](auto& e) {
    e.opaque(fh_in(1).bytes());
    e.u32(nfs3::kAccessRead | nfs3::kAccessModify);
  });
  auto in = o.reader();
  EXPECT_EQ(status_of(in), Nfsstat3::kOk);
  EXPECT_FALSE(in.boolean());
  EXPECT_EQ(in.u32(), nfs3::kAccessRead);
}

TEST_F(Nfs3ProgramTest, ReadlinkReturnsTarget) {
  EXPECT_CALL(backend_, readlink(_, _, _, _))
      .WillOnce(DoAll(SetArgPointee<2>(std::string("../elsewhere")), Return(Status::kOk)));
  Outcome o = call(Proc::kReadlink, handle_arg(fh_in(1)));
  EXPECT_EQ(o.max_reply, nfs3::kPathMax + Nfs3Program::kReplySlack);
  auto in = o.reader();
  EXPECT_EQ(status_of(in), Nfsstat3::kOk);
  EXPECT_FALSE(in.boolean());
  EXPECT_EQ(in.string(4096), "../elsewhere");
}

TEST_F(Nfs3ProgramTest, ReadGoesStraightIntoTheReplyBuffer) {
  const std::string data = "hello, world";
  EXPECT_CALL(backend_, read(_, _, 100u, _, _, _, _))
      .WillOnce([&](const storage::Credentials&, const FileHandle&, std::uint64_t,
                    std::span<std::uint8_t> dst, std::uint32_t* count, bool* eof,
                    std::optional<Attr>* attr) {
        EXPECT_EQ(dst.size(), 50u);
        std::copy(data.begin(), data.end(), dst.begin());
        *count = data.size();
        *eof = true;
        *attr = make_attr(5);
        return Status::kOk;
      });
  Outcome o = call(Proc::kRead, [](auto& e) {
    e.opaque(fh_in(1).bytes());
    e.u64(100);
    e.u32(50);
  });
  auto in = o.reader();
  EXPECT_EQ(status_of(in), Nfsstat3::kOk);
  std::optional<Attr> a;
  ASSERT_TRUE(nfs3::decode_post_op_attr(in, a));
  EXPECT_EQ(a->fileid, 5u);
  EXPECT_EQ(in.u32(), data.size());
  EXPECT_TRUE(in.boolean());
  EXPECT_EQ(in.string(100), data);
  EXPECT_EQ(in.remaining(), 0u);
}

TEST_F(Nfs3ProgramTest, ReadCountIsClampedToMaxRead) {
  EXPECT_CALL(backend_, read(_, _, _, _, _, _, _))
      .WillOnce([](const storage::Credentials&, const FileHandle&, std::uint64_t,
                   std::span<std::uint8_t> dst, std::uint32_t* count, bool* eof,
                   std::optional<Attr>*) {
        EXPECT_EQ(dst.size(), kMaxRead);
        *count = dst.size();
        *eof = false;
        return Status::kOk;
      });
  Outcome o = call(Proc::kRead, [](auto& e) {
    e.opaque(fh_in(1).bytes());
    e.u64(0);
    e.u32(10 * kMaxRead);
  });
  EXPECT_LE(o.max_reply, kMaxRead + 1024);
  auto in = o.reader();
  EXPECT_EQ(status_of(in), Nfsstat3::kOk);
  EXPECT_FALSE(in.boolean());
  EXPECT_EQ(in.u32(), kMaxRead);
}

TEST_F(Nfs3ProgramTest, ReadErrorCarriesPostOpAttrOnly) {
  EXPECT_CALL(backend_, read(_, _, _, _, _, _, _))
      .WillOnce(DoAll(SetArgPointee<6>(std::optional<Attr>(make_attr())),
                      Return(Status::kIsDir)));
  Outcome o = call(Proc::kRead, [](auto& e) {
    e.opaque(fh_in(1).bytes());
    e.u64(0);
    e.u32(100);
  });
  auto in = o.reader();
  EXPECT_EQ(status_of(in), Nfsstat3::kIsDir);
  std::optional<Attr> a;
  ASSERT_TRUE(nfs3::decode_post_op_attr(in, a));
  EXPECT_TRUE(a.has_value());
  EXPECT_EQ(in.remaining(), 0u);
}

TEST_F(Nfs3ProgramTest, WriteReturnsCountCommittedAndWriteverf) {
  EXPECT_CALL(backend_, write(_, _, 8u, Truly([](std::span<const std::uint8_t> d) {
                                return d.size() == 4 && d[0] == 'd' && d[3] == 'a';
                              }),
                              storage::StableHow::kUnstable, _, _, _))
      .WillOnce(DoAll(SetArgPointee<5>(4u), SetArgPointee<6>(storage::StableHow::kUnstable),
                      Return(Status::kOk)));
  Outcome o = call(Proc::kWrite, [](auto& e) {
    e.opaque(fh_in(1).bytes());
    e.u64(8);
    e.u32(4);
    e.u32(0);
    e.string("data");
  });
  auto in = o.reader();
  EXPECT_EQ(status_of(in), Nfsstat3::kOk);
  expect_empty_wcc(in);
  EXPECT_EQ(in.u32(), 4u);
  EXPECT_EQ(in.u32(), 0u);
  auto v = in.fixed_opaque(8);
  EXPECT_TRUE(std::equal(v.begin(), v.end(), kWriteverf.begin()));
}

TEST_F(Nfs3ProgramTest, AsyncExportAnswersFileSyncWithoutWaitingForTheDisk) {
  EXPECT_CALL(backend_, write(_, _, 0u, _, storage::StableHow::kUnstable, _, _, _))
      .WillOnce(DoAll(SetArgPointee<5>(4u), SetArgPointee<6>(storage::StableHow::kUnstable),
                      Return(Status::kOk)));
  Outcome o = call(Proc::kWrite, [](auto& e) {
    e.opaque(fh_in(8).bytes());
    e.u64(0);
    e.u32(4);
    e.u32(2);  // FILE_SYNC
    e.string("data");
  });
  auto in = o.reader();
  EXPECT_EQ(status_of(in), Nfsstat3::kOk);
  expect_empty_wcc(in);
  EXPECT_EQ(in.u32(), 4u);
  EXPECT_EQ(in.u32(), 2u);  // committed as asked: the export said async
}

TEST_F(Nfs3ProgramTest, WriteCountDifferentFromDataLengthIsInval) {
  Outcome o = call(Proc::kWrite, [](auto& e) {
    e.opaque(fh_in(1).bytes());
    e.u64(0);
    e.u32(10);
    e.u32(0);
    e.string("abc");
  });
  EXPECT_FALSE(o.validated);
  auto in = o.reader();
  EXPECT_EQ(status_of(in), Nfsstat3::kInval);
  expect_empty_wcc(in);
}

TEST_F(Nfs3ProgramTest, WriteLongerThanMaxWriteIsShortened) {
  EXPECT_CALL(backend_, write(_, _, _, Truly([](std::span<const std::uint8_t> d) {
                                return d.size() == kMaxWrite;
                              }),
                              _, _, _, _))
      .WillOnce(DoAll(SetArgPointee<5>(kMaxWrite), Return(Status::kOk)));
  Outcome o = call(Proc::kWrite, [](auto& e) {
    std::vector<std::uint8_t> big(kMaxWrite + 100, 'x');
    e.opaque(fh_in(1).bytes());
    e.u64(0);
    e.u32(big.size());
    e.u32(2);
    e.opaque(big);
  });
  auto in = o.reader();
  EXPECT_EQ(status_of(in), Nfsstat3::kOk);
  expect_empty_wcc(in);
  EXPECT_EQ(in.u32(), kMaxWrite);
}

TEST_F(Nfs3ProgramTest, CreateReturnsNewHandleAndDirWcc) {
  FileHandle made = fh_in(1, 77);
  storage::WccData dw;
  dw.after = make_attr(1);
  storage::Verifier verf = {1, 2, 3, 4, 5, 6, 7, 8};
  EXPECT_CALL(backend_, create(_, _, Eq(std::string_view("new")),
                               storage::CreateMode::kExclusive, _, Eq(verf), _, _, _))
      .WillOnce(DoAll(SetArgPointee<6>(made), SetArgPointee<7>(make_attr(77)),
                      SetArgPointee<8>(dw), Return(Status::kOk)));
  Outcome o = call(Proc::kCreate, [&](auto& e) {
    dirop_arg(fh_in(1), "new")(e);
    e.u32(2);
    e.fixed_opaque(verf);
  });
  auto in = o.reader();
  EXPECT_EQ(status_of(in), Nfsstat3::kOk);
  std::optional<FileHandle> fh;
  ASSERT_TRUE(nfs3::decode_post_op_fh3(in, fh));
  EXPECT_EQ(fh, made);
  std::optional<Attr> a;
  ASSERT_TRUE(nfs3::decode_post_op_attr(in, a));
  EXPECT_EQ(a->fileid, 77u);
  storage::WccData back;
  ASSERT_TRUE(nfs3::decode_wcc_data(in, back));
  EXPECT_EQ(back.after->fileid, 1u);
  EXPECT_EQ(in.remaining(), 0u);
}

TEST_F(Nfs3ProgramTest, CreateExistingGivesExistAndDirWccOnly) {
  storage::WccData dw;
  dw.after = make_attr(1);
  EXPECT_CALL(backend_, create(_, _, _, storage::CreateMode::kGuarded, _, _, _, _, _))
      .WillOnce(DoAll(SetArgPointee<8>(dw), Return(Status::kExist)));
  Outcome o = call(Proc::kCreate, [](auto& e) {
    dirop_arg(fh_in(1), "old")(e);
    e.u32(1);
    empty_sattr(e);
  });
  auto in = o.reader();
  EXPECT_EQ(status_of(in), Nfsstat3::kExist);
  storage::WccData back;
  ASSERT_TRUE(nfs3::decode_wcc_data(in, back));
  EXPECT_TRUE(back.after.has_value());
  EXPECT_EQ(in.remaining(), 0u);
}

TEST_F(Nfs3ProgramTest, MkdirAndSymlinkReturnHandles) {
  EXPECT_CALL(backend_, mkdir(_, _, Eq(std::string_view("d")), _, _, _, _))
      .WillOnce(DoAll(SetArgPointee<4>(fh_in(1, 3)), Return(Status::kOk)));
  EXPECT_CALL(backend_, symlink(_, _, Eq(std::string_view("s")),
                                Eq(std::string_view("/abs/target")), _, _, _, _))
      .WillOnce(DoAll(SetArgPointee<5>(fh_in(1, 4)), Return(Status::kOk)));
  Outcome m = call(Proc::kMkdir, [](auto& e) {
    dirop_arg(fh_in(1), "d")(e);
    empty_sattr(e);
  });
  Outcome s = call(Proc::kSymlink, [](auto& e) {
    dirop_arg(fh_in(1), "s")(e);
    empty_sattr(e);
    e.string("/abs/target");
  });
  for (auto [o, object] : {std::pair{&m, 3}, std::pair{&s, 4}}) {
    auto in = o->reader();
    EXPECT_EQ(status_of(in), Nfsstat3::kOk);
    std::optional<FileHandle> fh;
    ASSERT_TRUE(nfs3::decode_post_op_fh3(in, fh));
    EXPECT_EQ(fh, fh_in(1, object));
  }
}

TEST_F(Nfs3ProgramTest, MknodPassesDeviceNumbers) {
  EXPECT_CALL(backend_, mknod(_, _, Eq(std::string_view("dev")), storage::FileType::kBlk, _,
                              8u, 1u, _, _, _))
      .WillOnce(DoAll(SetArgPointee<7>(fh_in(1, 9)), Return(Status::kOk)));
  Outcome o = call(Proc::kMknod, [](auto& e) {
    dirop_arg(fh_in(1), "dev")(e);
    e.u32(3);  // NF3BLK
    empty_sattr(e);
    e.u32(8);
    e.u32(1);
  });
  auto in = o.reader();
  EXPECT_EQ(status_of(in), Nfsstat3::kOk);
}

TEST_F(Nfs3ProgramTest, MknodOfRegularFileIsBadTypeWithoutBackendCall) {
  Outcome o = call(Proc::kMknod, [](auto& e) {
    dirop_arg(fh_in(1), "reg")(e);
    e.u32(1);  // NF3REG
  });
  EXPECT_EQ(o.status, Status::kBadType);
  auto in = o.reader();
  EXPECT_EQ(status_of(in), Nfsstat3::kBadType);
  expect_empty_wcc(in);
}

TEST_F(Nfs3ProgramTest, RemoveAndRmdirCallTheirBackendOperations) {
  EXPECT_CALL(backend_, remove(_, _, Eq(std::string_view("f")), _)).WillOnce(Return(Status::kOk));
  EXPECT_CALL(backend_, rmdir(_, _, Eq(std::string_view("d")), _))
      .WillOnce(Return(Status::kNotEmpty));
  Outcome r = call(Proc::kRemove, dirop_arg(fh_in(1), "f"));
  Outcome d = call(Proc::kRmdir, dirop_arg(fh_in(1), "d"));
  auto ri = r.reader();
  EXPECT_EQ(status_of(ri), Nfsstat3::kOk);
  auto di = d.reader();
  EXPECT_EQ(status_of(di), Nfsstat3::kNotEmpty);
  expect_empty_wcc(di);
}

TEST_F(Nfs3ProgramTest, RenameWithinExportReturnsBothWcc) {
  storage::WccData from, to;
  from.after = make_attr(1);
  to.after = make_attr(2);
  EXPECT_CALL(backend_, rename(_, Eq(fh_in(1)), Eq(std::string_view("a")), Eq(fh_in(1, 2)),
                               Eq(std::string_view("b")), _, _))
      .WillOnce(DoAll(SetArgPointee<5>(from), SetArgPointee<6>(to), Return(Status::kOk)));
  Outcome o = call(Proc::kRename, [](auto& e) {
    dirop_arg(fh_in(1), "a")(e);
    dirop_arg(fh_in(1, 2), "b")(e);
  });
  auto in = o.reader();
  EXPECT_EQ(status_of(in), Nfsstat3::kOk);
  storage::WccData b1, b2;
  ASSERT_TRUE(nfs3::decode_wcc_data(in, b1));
  ASSERT_TRUE(nfs3::decode_wcc_data(in, b2));
  EXPECT_EQ(b1.after->fileid, 1u);
  EXPECT_EQ(b2.after->fileid, 2u);
}

TEST_F(Nfs3ProgramTest, LinkWithinExportReturnsFileAttributes) {
  EXPECT_CALL(backend_, link(_, Eq(fh_in(1, 5)), Eq(fh_in(1)), Eq(std::string_view("l")), _, _))
      .WillOnce(DoAll(SetArgPointee<4>(std::optional<Attr>(make_attr(5))), Return(Status::kOk)));
  Outcome o = call(Proc::kLink, [](auto& e) {
    e.opaque(fh_in(1, 5).bytes());
    dirop_arg(fh_in(1), "l")(e);
  });
  auto in = o.reader();
  EXPECT_EQ(status_of(in), Nfsstat3::kOk);
  std::optional<Attr> a;
  ASSERT_TRUE(nfs3::decode_post_op_attr(in, a));
  EXPECT_EQ(a->fileid, 5u);
  expect_empty_wcc(in);
}

TEST_F(Nfs3ProgramTest, FsstatReturnsCounts) {
  storage::FsStat st{100, 50, 40, 10, 5, 4};
  EXPECT_CALL(backend_, fsstat(_, _, _)).WillOnce(DoAll(SetArgPointee<1>(st), Return(Status::kOk)));
  Outcome o = call(Proc::kFsstat, handle_arg(fh_in(1)));
  auto in = o.reader();
  EXPECT_EQ(status_of(in), Nfsstat3::kOk);
  EXPECT_FALSE(in.boolean());
  EXPECT_EQ(in.u64(), 100u);
  EXPECT_EQ(in.u64(), 50u);
  EXPECT_EQ(in.u64(), 40u);
  EXPECT_EQ(in.u64(), 10u);
  EXPECT_EQ(in.u64(), 5u);
  EXPECT_EQ(in.u64(), 4u);
}

TEST_F(Nfs3ProgramTest, FsinfoAdvertisesConfiguredLimits) {
  EXPECT_CALL(backend_, getattr(_, _)).WillOnce(DoAll(SetArgPointee<1>(make_attr()), Return(Status::kOk)));
  Outcome o = call(Proc::kFsinfo, handle_arg(fh_in(1)));
  auto in = o.reader();
  EXPECT_EQ(status_of(in), Nfsstat3::kOk);
  std::optional<Attr> a;
  ASSERT_TRUE(nfs3::decode_post_op_attr(in, a));
  EXPECT_TRUE(a.has_value());
  EXPECT_EQ(in.u32(), kMaxRead);   // rtmax
  EXPECT_EQ(in.u32(), kMaxRead);   // rtpref
  EXPECT_EQ(in.u32(), 4096u);      // rtmult
  EXPECT_EQ(in.u32(), kMaxWrite);  // wtmax
  EXPECT_EQ(in.u32(), kMaxWrite);  // wtpref
  EXPECT_EQ(in.u32(), 4096u);      // wtmult
  EXPECT_EQ(in.u32(), 32768u);     // dtpref
  EXPECT_EQ(in.u64(), 0x7fffffffffffffffULL);
  EXPECT_EQ(in.u32(), 0u);
  EXPECT_EQ(in.u32(), 1u);
  EXPECT_EQ(in.u32(), nfs3::kFsfLink | nfs3::kFsfSymlink | nfs3::kFsfHomogeneous |
                          nfs3::kFsfCanSetTime);
  EXPECT_EQ(in.remaining(), 0u);
}

TEST_F(Nfs3ProgramTest, PathconfReportsNameMax255) {
  EXPECT_CALL(backend_, getattr(_, _)).WillOnce(Return(Status::kOk));
  Outcome o = call(Proc::kPathconf, handle_arg(fh_in(1)));
  auto in = o.reader();
  EXPECT_EQ(status_of(in), Nfsstat3::kOk);
  std::optional<Attr> a;
  ASSERT_TRUE(nfs3::decode_post_op_attr(in, a));
  in.u32();  // linkmax
  EXPECT_EQ(in.u32(), 255u);
  EXPECT_TRUE(in.boolean());   // no_trunc
  EXPECT_TRUE(in.boolean());   // chown_restricted
  EXPECT_FALSE(in.boolean());  // case_insensitive
  EXPECT_TRUE(in.boolean());   // case_preserving
}

TEST_F(Nfs3ProgramTest, CommitReturnsWriteverf) {
  EXPECT_CALL(backend_, commit(_, _, 4096u, 8192u, _)).WillOnce(Return(Status::kOk));
  Outcome o = call(Proc::kCommit, [](auto& e) {
    e.opaque(fh_in(1).bytes());
    e.u64(4096);
    e.u32(8192);
  });
  auto in = o.reader();
  EXPECT_EQ(status_of(in), Nfsstat3::kOk);
  expect_empty_wcc(in);
  auto v = in.fixed_opaque(8);
  EXPECT_TRUE(std::equal(v.begin(), v.end(), kWriteverf.begin()));
}

// ---------------------------------------------------------------- READDIR

/// A directory of `n` entries "file000".. that the fake backend offers to
/// `fits` in order, starting after `cookie`.
struct FakeDir {
  int n;
  storage::Verifier verf = {7, 7, 7, 7, 7, 7, 7, 7};
  Status operator()(const storage::Credentials&, const FileHandle&, std::uint64_t cookie,
                    const storage::Verifier&, bool plus,
                    const MockBackend::FitsFn& fits, std::vector<storage::DirEntry>* entries,
                    storage::Verifier* verf_out, bool* eof, std::optional<Attr>* dir_attr) const {
    *dir_attr = make_attr(1);
    *verf_out = verf;
    *eof = false;
    for (int i = static_cast<int>(cookie); i < n; ++i) {
      char name[16];
      std::snprintf(name, sizeof name, "file%03d", i);
      storage::DirEntry e{static_cast<std::uint64_t>(100 + i), name,
                          static_cast<std::uint64_t>(i + 1), std::nullopt, std::nullopt};
      if (plus) {
        e.attr = make_attr(100 + i);
        e.handle = fh_in(1, static_cast<std::uint8_t>(i));
      }
      if (!fits(e)) return Status::kOk;
      entries->push_back(std::move(e));
    }
    *eof = true;
    return Status::kOk;
  }
};

struct DirReply {
  Nfsstat3 status;
  std::vector<storage::DirEntry> entries;
  bool eof = false;
  storage::Verifier verf{};
};

DirReply parse_dir_reply(const Outcome& o, bool plus) {
  DirReply r;
  auto in = o.reader();
  r.status = status_of(in);
  std::optional<Attr> a;
  EXPECT_TRUE(nfs3::decode_post_op_attr(in, a));
  if (r.status != Nfsstat3::kOk) {
    EXPECT_EQ(in.remaining(), 0u);
    return r;
  }
  auto v = in.fixed_opaque(8);
  std::copy(v.begin(), v.end(), r.verf.begin());
  while (in.ok() && in.boolean()) {
    storage::DirEntry e;
    e.fileid = in.u64();
    e.name = std::string(in.string(255));
    e.cookie = in.u64();
    if (plus) {
      EXPECT_TRUE(nfs3::decode_post_op_attr(in, e.attr));
      EXPECT_TRUE(nfs3::decode_post_op_fh3(in, e.handle));
    }
    r.entries.push_back(std::move(e));
  }
  r.eof = in.boolean();
  EXPECT_TRUE(in.ok());
  EXPECT_EQ(in.remaining(), 0u);
  return r;
}

auto readdir_arg(std::uint64_t cookie, std::uint32_t count) {
  return [=](xdr::XdrEncoder& e) {
    e.opaque(fh_in(1).bytes());
    e.u64(cookie);
    e.u64(0);
    e.u32(count);
  };
}

auto readdirplus_arg(std::uint32_t dircount, std::uint32_t maxcount) {
  return [=](xdr::XdrEncoder& e) {
    e.opaque(fh_in(1).bytes());
    e.u64(0);
    e.u64(0);
    e.u32(dircount);
    e.u32(maxcount);
  };
}

TEST_F(Nfs3ProgramTest, ReaddirPacksEntriesUntilCountIsExhausted) {
  const std::uint32_t count = 1000;
  EXPECT_CALL(backend_, readdir(_, _, 0u, _, false, _, _, _, _, _)).WillOnce(FakeDir{200});
  Outcome o = call(Proc::kReaddir, readdir_arg(0, count));
  DirReply r = parse_dir_reply(o, false);
  ASSERT_EQ(r.status, Nfsstat3::kOk);
  EXPECT_FALSE(r.eof);
  ASSERT_FALSE(r.entries.empty());
  EXPECT_LE(o.reply.size(), count);
  // One more entry would not have fitted.
  EXPECT_GT(o.reply.size() + nfs3::entry3_size(7), count);
  for (std::size_t i = 0; i < r.entries.size(); ++i) {
    EXPECT_EQ(r.entries[i].fileid, 100 + i);
    EXPECT_EQ(r.entries[i].cookie, i + 1);
  }
  EXPECT_EQ(r.verf, (storage::Verifier{7, 7, 7, 7, 7, 7, 7, 7}));
}

TEST_F(Nfs3ProgramTest, ReaddirReportsEofWhenEverythingFits) {
  EXPECT_CALL(backend_, readdir(_, _, 2u, _, false, _, _, _, _, _)).WillOnce(FakeDir{5});
  Outcome o = call(Proc::kReaddir, readdir_arg(2, 8192));
  DirReply r = parse_dir_reply(o, false);
  ASSERT_EQ(r.status, Nfsstat3::kOk);
  EXPECT_TRUE(r.eof);
  ASSERT_EQ(r.entries.size(), 3u);
  EXPECT_EQ(r.entries[0].name, "file002");
}

TEST_F(Nfs3ProgramTest, ReaddirWhereNoEntryFitsIsTooSmall) {
  EXPECT_CALL(backend_, readdir(_, _, _, _, _, _, _, _, _, _)).WillOnce(FakeDir{10});
  Outcome o = call(Proc::kReaddir, readdir_arg(0, 120));
  EXPECT_EQ(o.status, Status::kTooSmall);
  DirReply r = parse_dir_reply(o, false);
  EXPECT_EQ(r.status, Nfsstat3::kTooSmall);
}

TEST_F(Nfs3ProgramTest, ReaddirCountIsBoundedByMaxRead) {
  EXPECT_CALL(backend_, readdir(_, _, _, _, _, _, _, _, _, _)).WillOnce(FakeDir{100000});
  Outcome o = call(Proc::kReaddir, readdir_arg(0, 10 * kMaxRead));
  EXPECT_LE(o.max_reply, kMaxRead + Nfs3Program::kReplySlack);
  DirReply r = parse_dir_reply(o, false);
  ASSERT_EQ(r.status, Nfsstat3::kOk);
  EXPECT_LE(o.reply.size(), kMaxRead);
}

TEST_F(Nfs3ProgramTest, ReaddirplusRespectsMaxcount) {
  const std::uint32_t maxcount = 2000;
  EXPECT_CALL(backend_, readdir(_, _, _, _, true, _, _, _, _, _)).WillOnce(FakeDir{100});
  Outcome o = call(Proc::kReaddirplus, readdirplus_arg(65536, maxcount));
  DirReply r = parse_dir_reply(o, true);
  ASSERT_EQ(r.status, Nfsstat3::kOk);
  ASSERT_FALSE(r.entries.empty());
  EXPECT_LE(o.reply.size(), maxcount);
  EXPECT_GT(o.reply.size() + nfs3::entryplus3_size(r.entries.back()), maxcount);
  EXPECT_EQ(r.entries[0].handle, fh_in(1, 0));
  EXPECT_EQ(r.entries[0].attr->fileid, 100u);
}

TEST_F(Nfs3ProgramTest, ReaddirplusRespectsDircount) {
  const std::uint32_t dircount = 100;
  EXPECT_CALL(backend_, readdir(_, _, _, _, true, _, _, _, _, _)).WillOnce(FakeDir{100});
  Outcome o = call(Proc::kReaddirplus, readdirplus_arg(dircount, 65536));
  DirReply r = parse_dir_reply(o, true);
  ASSERT_EQ(r.status, Nfsstat3::kOk);
  const std::size_t e3 = nfs3::entry3_size(7);
  EXPECT_LE(r.entries.size() * e3, dircount);
  EXPECT_GT((r.entries.size() + 1) * e3, dircount);
}

TEST_F(Nfs3ProgramTest, ReaddirBadCookieIsMapped) {
  EXPECT_CALL(backend_, readdir(_, _, _, _, _, _, _, _, _, _))
      .WillOnce(Return(Status::kBadCookie));
  Outcome o = call(Proc::kReaddir, readdir_arg(5, 4096));
  DirReply r = parse_dir_reply(o, false);
  EXPECT_EQ(r.status, Nfsstat3::kBadCookie);
}

// ---------------------------------------------------------- reply sizes

TEST_F(Nfs3ProgramTest, MaxReplySizeFollowsRequestedCounts) {
  EXPECT_CALL(backend_, read(_, _, _, _, _, _, _)).WillOnce(Return(Status::kIo));
  Outcome r = call(Proc::kRead, [](auto& e) {
    e.opaque(fh_in(1).bytes());
    e.u64(0);
    e.u32(10000);
  });
  EXPECT_GE(r.max_reply, 10000u + nfs3::ReadResWriter::kHeadMax);
  EXPECT_LT(r.max_reply, 10000u + 1024);

  EXPECT_CALL(backend_, readdir(_, _, _, _, _, _, _, _, _, _)).WillOnce(Return(Status::kIo));
  Outcome d = call(Proc::kReaddir, readdir_arg(0, 100));
  EXPECT_EQ(d.max_reply, 1024u + Nfs3Program::kReplySlack);  // small counts clamp up

  EXPECT_CALL(backend_, getattr(_, _)).WillOnce(Return(Status::kIo));
  Outcome g = call(Proc::kGetattr, handle_arg(fh_in(1)));
  EXPECT_EQ(g.max_reply, Nfs3Program::kFixedReplySize);
}

// -------------------------------------------------------- status mapping

TEST(NfsStatusTest, StorageStatusesMapToRfc1813Numbers) {
  EXPECT_EQ(static_cast<std::uint32_t>(to_nfsstat3(Status::kOk)), 0u);
  EXPECT_EQ(static_cast<std::uint32_t>(to_nfsstat3(Status::kPerm)), 1u);
  EXPECT_EQ(static_cast<std::uint32_t>(to_nfsstat3(Status::kNoEnt)), 2u);
  EXPECT_EQ(static_cast<std::uint32_t>(to_nfsstat3(Status::kIo)), 5u);
  EXPECT_EQ(static_cast<std::uint32_t>(to_nfsstat3(Status::kNxio)), 6u);
  EXPECT_EQ(static_cast<std::uint32_t>(to_nfsstat3(Status::kAccess)), 13u);
  EXPECT_EQ(static_cast<std::uint32_t>(to_nfsstat3(Status::kExist)), 17u);
  EXPECT_EQ(static_cast<std::uint32_t>(to_nfsstat3(Status::kXdev)), 18u);
  EXPECT_EQ(static_cast<std::uint32_t>(to_nfsstat3(Status::kNoDev)), 19u);
  EXPECT_EQ(static_cast<std::uint32_t>(to_nfsstat3(Status::kNotDir)), 20u);
  EXPECT_EQ(static_cast<std::uint32_t>(to_nfsstat3(Status::kIsDir)), 21u);
  EXPECT_EQ(static_cast<std::uint32_t>(to_nfsstat3(Status::kInval)), 22u);
  EXPECT_EQ(static_cast<std::uint32_t>(to_nfsstat3(Status::kFBig)), 27u);
  EXPECT_EQ(static_cast<std::uint32_t>(to_nfsstat3(Status::kNoSpc)), 28u);
  EXPECT_EQ(static_cast<std::uint32_t>(to_nfsstat3(Status::kRoFs)), 30u);
  EXPECT_EQ(static_cast<std::uint32_t>(to_nfsstat3(Status::kMLink)), 31u);
  EXPECT_EQ(static_cast<std::uint32_t>(to_nfsstat3(Status::kNameTooLong)), 63u);
  EXPECT_EQ(static_cast<std::uint32_t>(to_nfsstat3(Status::kNotEmpty)), 66u);
  EXPECT_EQ(static_cast<std::uint32_t>(to_nfsstat3(Status::kDQuot)), 69u);
  EXPECT_EQ(static_cast<std::uint32_t>(to_nfsstat3(Status::kStale)), 70u);
  EXPECT_EQ(static_cast<std::uint32_t>(to_nfsstat3(Status::kBadHandle)), 10001u);
  EXPECT_EQ(static_cast<std::uint32_t>(to_nfsstat3(Status::kNotSync)), 10002u);
  EXPECT_EQ(static_cast<std::uint32_t>(to_nfsstat3(Status::kBadCookie)), 10003u);
  EXPECT_EQ(static_cast<std::uint32_t>(to_nfsstat3(Status::kNotSupp)), 10004u);
  EXPECT_EQ(static_cast<std::uint32_t>(to_nfsstat3(Status::kTooSmall)), 10005u);
  EXPECT_EQ(static_cast<std::uint32_t>(to_nfsstat3(Status::kServerFault)), 10006u);
  EXPECT_EQ(static_cast<std::uint32_t>(to_nfsstat3(Status::kBadType)), 10007u);
  EXPECT_EQ(static_cast<std::uint32_t>(to_nfsstat3(Status::kJukebox)), 10008u);
}

TEST(NfsStatusTest, MountStatusesFollowAppendixI) {
  EXPECT_EQ(to_mountstat3(Status::kOk), mount3::Mountstat3::kOk);
  EXPECT_EQ(static_cast<std::uint32_t>(to_mountstat3(Status::kStale)), 2u);
  EXPECT_EQ(static_cast<std::uint32_t>(to_mountstat3(Status::kAccess)), 13u);
  EXPECT_EQ(static_cast<std::uint32_t>(to_mountstat3(Status::kJukebox)), 10006u);
}

// --------------------------------------------------------------- inline calls

auto read_arg(std::uint64_t offset, std::uint32_t count) {
  return [offset, count](xdr::XdrEncoder& e) {
    e.opaque(fh_in(1).bytes());
    e.u64(offset);
    e.u32(count);
  };
}

TEST_F(Nfs3ProgramTest, OnlyReadOnlyProceduresMayRunInline) {
  EXPECT_TRUE(call_inline(Proc::kNull, [](xdr::XdrEncoder&) {}).may_run_inline);
  EXPECT_CALL(backend_, try_getattr(_, _)).WillRepeatedly(Return(Status::kWouldBlock));
  EXPECT_CALL(backend_, try_lookup(_, _, _, _, _, _)).WillRepeatedly(Return(Status::kWouldBlock));
  EXPECT_CALL(backend_, try_access(_, _, _, _, _)).WillRepeatedly(Return(Status::kWouldBlock));
  EXPECT_CALL(backend_, try_read(_, _, _, _, _, _, _)).WillRepeatedly(Return(Status::kWouldBlock));
  EXPECT_TRUE(call_inline(Proc::kGetattr, handle_arg(fh_in(1))).may_run_inline);
  EXPECT_TRUE(call_inline(Proc::kLookup, dirop_arg(fh_in(1), "f")).may_run_inline);
  EXPECT_TRUE(call_inline(Proc::kAccess, [](auto& e) {
                e.opaque(fh_in(1).bytes());
                e.u32(nfs3::kAccessRead);
              }).may_run_inline);
  EXPECT_TRUE(call_inline(Proc::kRead, read_arg(0, Nfs3Program::kInlineReadMax)).may_run_inline);
  // A larger READ would hold the network thread for its copy.
  EXPECT_FALSE(call_inline(Proc::kRead, read_arg(0, Nfs3Program::kInlineReadMax + 1)).may_run_inline);
  // READDIR and READDIRPLUS likewise, by the size of the reply asked for.
  EXPECT_CALL(backend_, try_readdir(_, _, _, _, _, _, _, _, _, _))
      .WillRepeatedly(Return(Status::kWouldBlock));
  const std::uint32_t max = Nfs3Program::kInlineReadMax;
  EXPECT_TRUE(call_inline(Proc::kReaddir, readdir_arg(0, max)).may_run_inline);
  EXPECT_FALSE(call_inline(Proc::kReaddir, readdir_arg(0, max + 1)).may_run_inline);
  EXPECT_TRUE(call_inline(Proc::kReaddirplus, readdirplus_arg(8192, max)).may_run_inline);
  EXPECT_FALSE(call_inline(Proc::kReaddirplus, readdirplus_arg(8192, max + 1)).may_run_inline);
  EXPECT_FALSE(call_inline(Proc::kSetattr, [](auto& e) {
                 e.opaque(fh_in(1).bytes());
                 empty_sattr(e);
                 e.boolean(false);
               }).may_run_inline);
  EXPECT_FALSE(call_inline(Proc::kWrite, [](auto& e) {
                 e.opaque(fh_in(1).bytes());
                 e.u64(0);
                 e.u32(4);
                 e.u32(0);
                 e.opaque(std::vector<std::uint8_t>{1, 2, 3, 4});
               }).may_run_inline);
  EXPECT_FALSE(call_inline(Proc::kRemove, dirop_arg(fh_in(1), "f")).may_run_inline);
}

TEST_F(Nfs3ProgramTest, InlineGetattrEncodesWhatExecuteEncodes) {
  const Attr a = make_attr(42);
  EXPECT_CALL(backend_, getattr(Eq(fh_in(1, 7)), _))
      .WillOnce(DoAll(SetArgPointee<1>(a), Return(Status::kOk)));
  EXPECT_CALL(backend_, try_getattr(Eq(fh_in(1, 7)), _))
      .WillOnce(DoAll(SetArgPointee<1>(a), Return(Status::kOk)));
  Outcome executed = call(Proc::kGetattr, handle_arg(fh_in(1, 7)));
  InlineOutcome inlined = call_inline(Proc::kGetattr, handle_arg(fh_in(1, 7)));
  ASSERT_TRUE(inlined.inline_status.has_value());
  EXPECT_EQ(*inlined.inline_status, Status::kOk);
  EXPECT_EQ(inlined.reply, executed.reply);
}

TEST_F(Nfs3ProgramTest, InlineLookupErrorIsAnsweredInline) {
  EXPECT_CALL(backend_, try_lookup(_, Eq(fh_in(1)), Eq("nope"), _, _, _))
      .WillOnce(Return(Status::kNoEnt));
  InlineOutcome o = call_inline(Proc::kLookup, dirop_arg(fh_in(1), "nope"));
  ASSERT_TRUE(o.inline_status.has_value());
  EXPECT_EQ(*o.inline_status, Status::kNoEnt);
  xdr::XdrDecoder in(o.reply);
  EXPECT_EQ(status_of(in), Nfsstat3::kNoEnt);
}

TEST_F(Nfs3ProgramTest, InlineReadThatWouldBlockLeavesTheReplyAsItWas) {
  EXPECT_CALL(backend_, try_read(_, _, 100u, _, _, _, _)).WillOnce(Return(Status::kWouldBlock));
  InlineOutcome o = call_inline(Proc::kRead, read_arg(100, 4096));
  EXPECT_FALSE(o.inline_status.has_value());
  EXPECT_EQ(o.end, o.mark);  // the space reserved for the data is given back
}

TEST_F(Nfs3ProgramTest, InlineReadOfCachedDataMatchesExecute) {
  const std::string data = "cached bytes";
  auto fill = [&](const storage::Credentials&, const FileHandle&, std::uint64_t,
                  std::span<std::uint8_t> dst, std::uint32_t* count, bool* eof,
                  std::optional<Attr>* attr) {
    std::copy(data.begin(), data.end(), dst.begin());
    *count = data.size();
    *eof = true;
    *attr = make_attr(5);
    return Status::kOk;
  };
  EXPECT_CALL(backend_, read(_, _, 0u, _, _, _, _)).WillOnce(fill);
  EXPECT_CALL(backend_, try_read(_, _, 0u, _, _, _, _)).WillOnce(fill);
  Outcome executed = call(Proc::kRead, read_arg(0, 64));
  InlineOutcome inlined = call_inline(Proc::kRead, read_arg(0, 64));
  ASSERT_TRUE(inlined.inline_status.has_value());
  EXPECT_EQ(inlined.reply, executed.reply);
}

TEST_F(Nfs3ProgramTest, InlineReaddirplusOfCachedListingMatchesExecute) {
  EXPECT_CALL(backend_, readdir(_, _, 0u, _, true, _, _, _, _, _)).WillOnce(FakeDir{30});
  EXPECT_CALL(backend_, try_readdir(_, _, 0u, _, true, _, _, _, _, _)).WillOnce(FakeDir{30});
  Outcome executed = call(Proc::kReaddirplus, readdirplus_arg(8192, 32768));
  InlineOutcome inlined = call_inline(Proc::kReaddirplus, readdirplus_arg(8192, 32768));
  ASSERT_TRUE(inlined.may_run_inline);
  ASSERT_TRUE(inlined.inline_status.has_value());
  EXPECT_EQ(*inlined.inline_status, Status::kOk);
  EXPECT_EQ(inlined.reply, executed.reply);
  EXPECT_EQ(parse_dir_reply(executed, true).entries.size(), 30u);
}

TEST_F(Nfs3ProgramTest, InlineReaddirThatWouldBlockLeavesTheReplyAsItWas) {
  // Entries appended before the miss must not reach the reply.
  EXPECT_CALL(backend_, try_readdir(_, _, 0u, _, false, _, _, _, _, _))
      .WillOnce([](const storage::Credentials& c, const FileHandle& fh, std::uint64_t cookie,
                   const storage::Verifier& v, bool plus, const MockBackend::FitsFn& fits,
                   std::vector<storage::DirEntry>* entries, storage::Verifier* verf, bool* eof,
                   std::optional<Attr>* da) {
        FakeDir{3}(c, fh, cookie, v, plus, fits, entries, verf, eof, da);
        return Status::kWouldBlock;
      });
  InlineOutcome o = call_inline(Proc::kReaddir, readdir_arg(0, 8192));
  ASSERT_TRUE(o.may_run_inline);
  EXPECT_FALSE(o.inline_status.has_value());
  EXPECT_EQ(o.end, o.mark);
}

TEST_F(Nfs3ProgramTest, InlineAccessOnReadOnlyExportStillDropsModifyBits) {
  EXPECT_CALL(backend_, try_access(_, _, _, _, _))
      .WillOnce([](const storage::Credentials&, const FileHandle&, std::uint32_t want,
                   std::uint32_t* granted, std::optional<Attr>*) {
        *granted = want;
        return Status::kOk;
      });
  InlineOutcome o = call_inline(Proc::kAccess, [](auto& e) {
    e.opaque(fh_in(2).bytes());  // export 2 is ro
    e.u32(nfs3::kAccessRead | nfs3::kAccessModify);
  });
  ASSERT_TRUE(o.inline_status.has_value());
  xdr::XdrDecoder in(o.reply);
  EXPECT_EQ(status_of(in), Nfsstat3::kOk);
  std::optional<Attr> a;
  ASSERT_TRUE(nfs3::decode_post_op_attr(in, a));
  EXPECT_EQ(in.u32(), nfs3::kAccessRead);
}

}  // namespace
}  // namespace nasd::server
