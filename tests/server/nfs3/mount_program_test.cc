// MountProgram hooks driven directly with a mock Backend and a hand-built
// export table (RFC 1813 appendix I).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "server/nfs3/mount_program.h"
#include "tests/protocol/nfs3/nfs3_test_util.h"
#include "tests/mocks/mock_backend.h"

namespace nasd::server {
namespace {

using ::testing::_;
using ::testing::DoAll;
using ::testing::Return;
using ::testing::SetArgPointee;
using ::testing::StrictMock;
using mount3::Mountstat3;
using mount3::Proc;
using storage::FileHandle;
using storage::Status;
using testutil::make_fh;
using testutil::MockBackend;
using testutil::Wire;
namespace ip = boost::asio::ip;

ClientSpec client(ClientSpec::Kind kind, const char* text, bool secure) {
  ClientSpec c;
  c.kind = kind;
  c.text = text;
  if (kind == ClientSpec::Kind::kAddress) c.address = ip::make_address(text);
  c.options.read_only = false;
  c.options.secure = secure;
  return c;
}

Export make_export(std::uint32_t id, std::string path, std::vector<ClientSpec> clients) {
  Export e;
  e.id = id;
  e.path = path;
  e.pseudo = path;
  e.clients = std::move(clients);
  return e;
}

ExportTable make_table() {
  return ExportTable({
      make_export(1, "/srv/share", {client(ClientSpec::Kind::kAny, "*", false)}),
      make_export(2, "/srv/private", {client(ClientSpec::Kind::kAddress, "10.0.0.9", false),
                                      client(ClientSpec::Kind::kAddress, "10.0.0.8", false)}),
      make_export(3, "/srv/secure", {client(ClientSpec::Kind::kAny, "*", true)}),
  });
}

struct Outcome {
  DecodeResult decoded = DecodeResult::kOk;
  bool validated = false;
  Status status = Status::kOk;
  std::vector<std::uint8_t> reply;
  xdr::XdrDecoder reader() const { return xdr::XdrDecoder(reply); }
};

class MountProgramTest : public ::testing::Test {
 protected:
  MountProgramTest() : registry_(make_table()), program_(backend_, registry_) {
    ctx_.header.prog = mount3::kProgram;
    ctx_.header.vers = mount3::kVersion;
    ctx_.header.flavor = rpc::AuthFlavor::kSys;
    ctx_.peer = ip::make_address("10.0.0.9");
    ctx_.peer_port = 900;
  }

  Outcome call(std::uint32_t proc, const std::function<void(xdr::XdrEncoder&)>& args) {
    Wire req;
    args(req.enc);
    ctx_.header.proc = proc;
    xdr::XdrDecoder in(req.enc.written());
    ArgSlot slot;
    Outcome o;
    o.decoded = program_.decode(ctx_, in, slot);
    if (o.decoded != DecodeResult::kOk) return o;
    std::vector<std::uint8_t> buf(program_.max_reply_size(ctx_, slot));
    xdr::XdrEncoder out(buf);
    o.validated = program_.validate(ctx_, slot, out);
    if (o.validated) o.status = program_.execute(ctx_, slot, out);
    EXPECT_TRUE(out.ok()) << "reply exceeded max_reply_size()";
    auto w = out.written();
    o.reply.assign(w.begin(), w.end());
    return o;
  }

  Outcome mnt(const std::string& path) {
    return call(1, [&](xdr::XdrEncoder& e) { e.string(path); });
  }
  Outcome umnt(const std::string& path) {
    return call(3, [&](xdr::XdrEncoder& e) { e.string(path); });
  }
  std::vector<mount3::MountEntry> dump() {
    Outcome o = call(2, [](xdr::XdrEncoder&) {});
    auto in = o.reader();
    std::vector<mount3::MountEntry> list;
    EXPECT_TRUE(mount3::decode_mountlist(in, list));
    return list;
  }

  StrictMock<MockBackend> backend_;
  ExportRegistry registry_;
  MountProgram program_;
  CallContext ctx_;
};

TEST_F(MountProgramTest, DescribesItselfAsMountVersion3) {
  EXPECT_EQ(program_.number(), 100005u);
  EXPECT_EQ(program_.low_version(), 3u);
  EXPECT_EQ(program_.high_version(), 3u);
  EXPECT_EQ(program_.procedure_count(), 6u);
  EXPECT_STREQ(program_.procedure_name(1), "MNT");
  EXPECT_EQ(program_.procedure_name(6), nullptr);
}

TEST_F(MountProgramTest, NullHasEmptyResult) {
  Outcome o = call(0, [](xdr::XdrEncoder&) {});
  EXPECT_TRUE(o.validated);
  EXPECT_TRUE(o.reply.empty());
}

TEST_F(MountProgramTest, MntReturnsRootHandleAndAuthSys) {
  FileHandle root = make_fh(24, 3);
  EXPECT_CALL(backend_, root_handle(1u, _))
      .WillOnce(DoAll(SetArgPointee<1>(root), Return(Status::kOk)));
  Outcome o = mnt("/srv/share");
  EXPECT_TRUE(o.validated);
  EXPECT_EQ(ctx_.export_id, 1u);
  auto in = o.reader();
  EXPECT_EQ(in.u32(), 0u);
  auto fh = in.opaque(64);
  EXPECT_TRUE(std::equal(fh.begin(), fh.end(), root.bytes().begin(), root.bytes().end()));
  EXPECT_EQ(in.u32(), 1u);  // one flavor
  EXPECT_EQ(in.u32(), 1u);  // AUTH_SYS
  EXPECT_EQ(in.remaining(), 0u);
}

TEST_F(MountProgramTest, MntIgnoresTrailingSlash) {
  EXPECT_CALL(backend_, root_handle(1u, _))
      .WillOnce(DoAll(SetArgPointee<1>(make_fh(8)), Return(Status::kOk)));
  Outcome o = mnt("/srv/share//");
  auto in = o.reader();
  EXPECT_EQ(in.u32(), 0u);
  EXPECT_EQ(dump(), (std::vector<mount3::MountEntry>{{"10.0.0.9", "/srv/share"}}));
}

TEST_F(MountProgramTest, MntOfUnknownPathIsNoEnt) {
  Outcome o = mnt("/srv/nothere");
  EXPECT_FALSE(o.validated);
  auto in = o.reader();
  EXPECT_EQ(static_cast<Mountstat3>(in.u32()), Mountstat3::kNoEnt);
  EXPECT_EQ(in.remaining(), 0u);
  EXPECT_TRUE(dump().empty());
}

TEST_F(MountProgramTest, MntOfSubdirectoryOfExportIsNoEnt) {
  Outcome o = mnt("/srv/share/sub");
  auto in = o.reader();
  EXPECT_EQ(static_cast<Mountstat3>(in.u32()), Mountstat3::kNoEnt);
}

TEST_F(MountProgramTest, MntFromDisallowedPeerIsAcces) {
  ctx_.peer = ip::make_address("10.0.0.10");
  Outcome o = mnt("/srv/private");
  EXPECT_FALSE(o.validated);
  auto in = o.reader();
  EXPECT_EQ(static_cast<Mountstat3>(in.u32()), Mountstat3::kAcces);
}

TEST_F(MountProgramTest, MntFromSecondListedClientIsAllowed) {
  ctx_.peer = ip::make_address("10.0.0.8");
  EXPECT_CALL(backend_, root_handle(2u, _))
      .WillOnce(DoAll(SetArgPointee<1>(make_fh(8)), Return(Status::kOk)));
  Outcome o = mnt("/srv/private");
  auto in = o.reader();
  EXPECT_EQ(in.u32(), 0u);
}

TEST_F(MountProgramTest, MntOfSecureExportFromHighPortIsAcces) {
  ctx_.peer_port = 50000;
  Outcome o = mnt("/srv/secure");
  auto in = o.reader();
  EXPECT_EQ(static_cast<Mountstat3>(in.u32()), Mountstat3::kAcces);
}

TEST_F(MountProgramTest, MntWhenExportRootIsGoneIsNoEnt) {
  EXPECT_CALL(backend_, root_handle(1u, _)).WillOnce(Return(Status::kStale));
  Outcome o = mnt("/srv/share");
  EXPECT_EQ(o.status, Status::kStale);
  auto in = o.reader();
  EXPECT_EQ(static_cast<Mountstat3>(in.u32()), Mountstat3::kNoEnt);
  EXPECT_TRUE(dump().empty());
}

TEST_F(MountProgramTest, UmntRemovesOnlyThatMount) {
  EXPECT_CALL(backend_, root_handle(_, _))
      .WillRepeatedly(DoAll(SetArgPointee<1>(make_fh(8)), Return(Status::kOk)));
  mnt("/srv/share");
  mnt("/srv/private");
  ASSERT_EQ(dump().size(), 2u);
  Outcome o = umnt("/srv/share/");
  EXPECT_TRUE(o.reply.empty());  // UMNT returns void
  EXPECT_EQ(dump(), (std::vector<mount3::MountEntry>{{"10.0.0.9", "/srv/private"}}));
}

TEST_F(MountProgramTest, UmntallRemovesAllOfThePeersMounts) {
  EXPECT_CALL(backend_, root_handle(_, _))
      .WillRepeatedly(DoAll(SetArgPointee<1>(make_fh(8)), Return(Status::kOk)));
  mnt("/srv/share");
  mnt("/srv/private");
  ctx_.peer = ip::make_address("10.0.0.8");
  mnt("/srv/share");
  ctx_.peer = ip::make_address("10.0.0.9");
  call(4, [](xdr::XdrEncoder&) {});
  EXPECT_EQ(dump(), (std::vector<mount3::MountEntry>{{"10.0.0.8", "/srv/share"}}));
}

TEST_F(MountProgramTest, RepeatedMntIsListedOnce) {
  EXPECT_CALL(backend_, root_handle(_, _))
      .WillRepeatedly(DoAll(SetArgPointee<1>(make_fh(8)), Return(Status::kOk)));
  mnt("/srv/share");
  mnt("/srv/share");
  EXPECT_EQ(dump().size(), 1u);
}

TEST_F(MountProgramTest, MountListIsBounded) {
  EXPECT_CALL(backend_, root_handle(_, _))
      .WillRepeatedly(DoAll(SetArgPointee<1>(make_fh(8)), Return(Status::kOk)));
  const std::size_t n = MountProgram::kMaxMounts + 10;
  for (std::size_t i = 0; i < n; ++i) {
    ip::address_v4::bytes_type b = {10, 1, static_cast<std::uint8_t>(i >> 8),
                                    static_cast<std::uint8_t>(i)};
    ctx_.peer = ip::address_v4(b);
    mnt("/srv/share");
  }
  std::vector<mount3::MountEntry> list = dump();
  EXPECT_EQ(list.size(), MountProgram::kMaxMounts);
  EXPECT_EQ(list.back().hostname, ip::address_v4({10, 1, static_cast<std::uint8_t>((n - 1) >> 8),
                                                  static_cast<std::uint8_t>(n - 1)})
                                      .to_string());
}

TEST_F(MountProgramTest, ExportListsEveryExportWithItsClients) {
  Outcome o = call(5, [](xdr::XdrEncoder&) {});
  auto in = o.reader();
  std::vector<mount3::ExportNode> nodes;
  ASSERT_TRUE(mount3::decode_exports(in, nodes));
  std::vector<mount3::ExportNode> want = {{"/srv/share", {"*"}},
                                          {"/srv/private", {"10.0.0.9", "10.0.0.8"}},
                                          {"/srv/secure", {"*"}}};
  EXPECT_EQ(nodes, want);
}

TEST_F(MountProgramTest, ExportFollowsTableReload) {
  registry_.replace(ExportTable({make_export(9, "/new", {client(ClientSpec::Kind::kAny, "*", false)})}));
  Outcome o = call(5, [](xdr::XdrEncoder&) {});
  auto in = o.reader();
  std::vector<mount3::ExportNode> nodes;
  ASSERT_TRUE(mount3::decode_exports(in, nodes));
  ASSERT_EQ(nodes.size(), 1u);
  EXPECT_EQ(nodes[0].dir, "/new");
}

TEST_F(MountProgramTest, UnknownProcedureIsProcUnavail) {
  EXPECT_EQ(call(6, [](xdr::XdrEncoder&) {}).decoded, DecodeResult::kProcUnavail);
}

TEST_F(MountProgramTest, MalformedDirpathIsGarbage) {
  Outcome truncated = call(1, [](xdr::XdrEncoder& e) { e.u32(20); });
  EXPECT_EQ(truncated.decoded, DecodeResult::kGarbageArgs);
  Outcome too_long = call(1, [](xdr::XdrEncoder& e) { e.string(std::string(1025, 'a')); });
  EXPECT_EQ(too_long.decoded, DecodeResult::kGarbageArgs);
  Outcome empty = call(3, [](xdr::XdrEncoder&) {});
  EXPECT_EQ(empty.decoded, DecodeResult::kGarbageArgs);
}

}  // namespace
}  // namespace nasd::server
