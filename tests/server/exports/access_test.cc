// The one access check (server/exports/access.h) every program uses:
// handle -> export -> the client's options -> secure port -> flavor ->
// squash -> credentials.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <variant>

#include "server/exports/access.h"
#include "tests/mocks/mock_backend.h"

namespace nasd::server {
namespace {

using ::testing::_;
using ::testing::DoAll;
using ::testing::Return;
using ::testing::SetArgPointee;
using storage::FileHandle;
using storage::Status;
using testutil::MockBackend;
namespace ip = boost::asio::ip;

ExportTable table_of(std::string_view text) {
  auto parsed = parse_exports(text, "test");
  EXPECT_TRUE(std::holds_alternative<ExportTable>(parsed));
  return std::get<ExportTable>(std::move(parsed));
}

FileHandle handle() {
  FileHandle f;
  f.size = 8;
  f.data[0] = 1;
  return f;
}

class AccessCheckTest : public ::testing::Test {
 protected:
  AccessCheckTest() {
    header_.flavor = rpc::AuthFlavor::kSys;
    header_.sys.uid = 1000;
    header_.sys.gid = 100;
  }
  /// The check of `handle()`, which the backend says is in export `id`.
  AccessDenial check(const ExportTable& table, std::uint32_t id, const char* peer = "10.0.0.9",
                     std::uint16_t port = 700) {
    EXPECT_CALL(backend_, export_of(_, _))
        .WillOnce(DoAll(SetArgPointee<1>(id), Return(Status::kOk)));
    const auto addr = ip::make_address(peer);
    return access_check(backend_, table, handle(), AccessCaller{header_, addr, port}, &grant_);
  }

  MockBackend backend_;
  rpc::CallHeader header_;
  AccessGrant grant_;
};

TEST_F(AccessCheckTest, GrantsTheExportsOptionsAndTheCallersIdentity) {
  auto t = table_of("/srv *(rw,fsid=7)\n");
  ASSERT_EQ(check(t, 7), AccessDenial::kNone);
  EXPECT_EQ(grant_.export_id, 7u);
  EXPECT_FALSE(grant_.options.read_only);
  EXPECT_EQ(grant_.cred.uid, 1000u);
  EXPECT_EQ(grant_.cred.gid, 100u);
}

TEST_F(AccessCheckTest, EmptyHandleIsBadHandleWithoutAskingTheBackend) {
  auto t = table_of("/srv *(rw,fsid=7)\n");
  EXPECT_CALL(backend_, export_of(_, _)).Times(0);
  const auto addr = ip::make_address("10.0.0.9");
  EXPECT_EQ(access_check(backend_, t, FileHandle{}, AccessCaller{header_, addr, 700}, &grant_),
            AccessDenial::kBadHandle);
}

TEST_F(AccessCheckTest, ForgedHandleIsBadHandleAndUnknownExportIsStale) {
  auto t = table_of("/srv *(rw,fsid=7)\n");
  const auto addr = ip::make_address("10.0.0.9");
  EXPECT_CALL(backend_, export_of(_, _)).WillOnce(Return(Status::kBadHandle));
  EXPECT_EQ(access_check(backend_, t, handle(), AccessCaller{header_, addr, 700}, &grant_),
            AccessDenial::kBadHandle);
  EXPECT_CALL(backend_, export_of(_, _)).WillOnce(Return(Status::kStale));
  EXPECT_EQ(access_check(backend_, t, handle(), AccessCaller{header_, addr, 700}, &grant_),
            AccessDenial::kStale);
  // A handle of an export no longer in the table (removed by a reload).
  EXPECT_EQ(check(t, 8), AccessDenial::kStale);
}

TEST_F(AccessCheckTest, ClientNotListedIsNotExported) {
  auto t = table_of("/srv 192.168.1.0/24(rw,fsid=7)\n");
  EXPECT_EQ(check(t, 7, "10.0.0.9"), AccessDenial::kNotExported);
  EXPECT_EQ(check(t, 7, "192.168.1.20"), AccessDenial::kNone);
}

TEST_F(AccessCheckTest, SecureExportRefusesAnUnprivilegedPort) {
  auto t = table_of("/srv *(rw,secure,fsid=7)\n");
  EXPECT_EQ(check(t, 7, "10.0.0.9", 1024), AccessDenial::kInsecurePort);
  EXPECT_EQ(check(t, 7, "10.0.0.9", 1023), AccessDenial::kNone);
  auto open = table_of("/srv *(rw,insecure,fsid=7)\n");
  EXPECT_EQ(check(open, 7, "10.0.0.9", 40000), AccessDenial::kNone);
}

TEST_F(AccessCheckTest, AuthNoneRefusedOnSecSysAndAnonymousOtherwise) {
  header_.flavor = rpc::AuthFlavor::kNone;
  auto sys_only = table_of("/srv *(rw,sec=sys,fsid=7)\n");
  EXPECT_EQ(check(sys_only, 7), AccessDenial::kFlavor);
  auto both = table_of("/srv *(rw,anonuid=500,anongid=501,fsid=7)\n");
  ASSERT_EQ(check(both, 7), AccessDenial::kNone);
  EXPECT_EQ(grant_.cred.uid, 500u);
  EXPECT_EQ(grant_.cred.gid, 501u);
}

TEST_F(AccessCheckTest, RootIsSquashedUnlessNoRootSquash) {
  header_.sys.uid = 0;
  header_.sys.gid = 0;
  auto squashed = table_of("/srv *(rw,anonuid=65534,anongid=65534,fsid=7)\n");
  ASSERT_EQ(check(squashed, 7), AccessDenial::kNone);
  EXPECT_EQ(grant_.cred.uid, 65534u);
  EXPECT_EQ(grant_.cred.gid, 65534u);
  auto trusted = table_of("/srv *(rw,no_root_squash,fsid=7)\n");
  ASSERT_EQ(check(trusted, 7), AccessDenial::kNone);
  EXPECT_EQ(grant_.cred.uid, 0u);
}

TEST_F(AccessCheckTest, AllSquashMapsEveryone) {
  auto t = table_of("/srv *(rw,all_squash,anonuid=42,anongid=43,fsid=7)\n");
  ASSERT_EQ(check(t, 7), AccessDenial::kNone);
  EXPECT_EQ(grant_.cred.uid, 42u);
  EXPECT_EQ(grant_.cred.gid, 43u);
}

TEST_F(AccessCheckTest, ExportAccessChecksAnExportFoundByPath) {
  auto t = table_of("/srv 10.0.0.0/8(ro,fsid=7)\n");
  const auto addr = ip::make_address("10.1.2.3");
  ASSERT_EQ(export_access(t.exports().front(), AccessCaller{header_, addr, 700}, &grant_),
            AccessDenial::kNone);
  EXPECT_TRUE(grant_.options.read_only);
  const auto other = ip::make_address("172.16.0.1");
  EXPECT_EQ(export_access(t.exports().front(), AccessCaller{header_, other, 700}, &grant_),
            AccessDenial::kNotExported);
}

}  // namespace
}  // namespace nasd::server
