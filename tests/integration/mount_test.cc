// MOUNT v3 procedures against the real nasd process (RFC 1813 Appendix I).
#include <algorithm>

#include "tests/integration/integration_fixture.h"

namespace nasd::integration {
namespace {

using MountTest = NasdTest;

TEST_F(MountTest, NullIsAnswered) {
  MountClient m(nasd_->mount_port());
  EXPECT_NO_THROW(m.null());
}

TEST_F(MountTest, MntOfExportReturnsRootHandleThatNfsAccepts) {
  MountClient m(nasd_->mount_port());
  auto [status, fh] = m.mnt(nasd_->export_dir().string());
  ASSERT_EQ(MNT3_OK, status);
  ASSERT_FALSE(fh.empty());
  EXPECT_LE(fh.bytes.size(), static_cast<std::size_t>(NFS3_FHSIZE));

  NfsClient nfs(nasd_->nfs_port());
  auto attr = nfs.getattr(fh);
  ASSERT_NFS(NFS3_OK, attr.status);
  EXPECT_EQ(NF3DIR, attr.GETATTR3res_u.resok.obj_attributes.type);
  EXPECT_EQ(stat_of(nasd_->export_dir()).st_ino, attr.GETATTR3res_u.resok.obj_attributes.fileid);
}

TEST_F(MountTest, MntOfUnknownPathIsNoent) {
  MountClient m(nasd_->mount_port());
  auto [status, fh] = m.mnt((nasd_->export_dir() / "not-exported").string());
  EXPECT_EQ(MNT3ERR_NOENT, status);
  EXPECT_TRUE(fh.empty());
  EXPECT_EQ(MNT3ERR_NOENT, m.mnt("/no/such/export").first);
}

TEST_F(MountTest, DumpListsOurMountAndUmntRemovesIt) {
  MountClient m(nasd_->mount_port());
  EXPECT_TRUE(m.dump().empty());
  ASSERT_EQ(MNT3_OK, m.mnt(nasd_->export_dir().string()).first);
  ASSERT_EQ(MNT3_OK, m.mnt(nasd_->export2_dir().string()).first);

  auto list = m.dump();
  ASSERT_EQ(2u, list.size());
  std::vector<std::string> dirs;
  for (const auto& [host, dir] : list) {
    EXPECT_FALSE(host.empty());
    dirs.push_back(dir);
  }
  std::sort(dirs.begin(), dirs.end());
  EXPECT_EQ(nasd_->export_dir().string(), dirs[0]);
  EXPECT_EQ(nasd_->export2_dir().string(), dirs[1]);

  m.umnt(nasd_->export_dir().string());
  list = m.dump();
  ASSERT_EQ(1u, list.size());
  EXPECT_EQ(nasd_->export2_dir().string(), list[0].second);
}

TEST_F(MountTest, UmntallForgetsEveryMountOfTheClient) {
  MountClient m(nasd_->mount_port());
  ASSERT_EQ(MNT3_OK, m.mnt(nasd_->export_dir().string()).first);
  ASSERT_EQ(MNT3_OK, m.mnt(nasd_->ro_dir().string()).first);
  ASSERT_EQ(2u, m.dump().size());
  m.umntall();
  EXPECT_TRUE(m.dump().empty());
}

TEST_F(MountTest, ExportListsEveryExportWithItsClients) {
  MountClient m(nasd_->mount_port());
  auto list = m.exports();
  std::vector<std::string> dirs;
  for (const auto& [dir, groups] : list) {
    dirs.push_back(dir);
    EXPECT_EQ(std::vector<std::string>{"*"}, groups) << dir;
  }
  std::sort(dirs.begin(), dirs.end());
  std::vector<std::string> expected = {nasd_->export_dir().string(), nasd_->export2_dir().string(),
                                       nasd_->ro_dir().string(), nasd_->squash_dir().string()};
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(expected, dirs);
}

TEST_F(MountTest, MountProgramAlsoAnswersOnTheNfsPort) {
  // nasd dispatches by program number, so MOUNT works on either listener.
  RpcClient rpc(nasd_->nfs_port(), MOUNT_PROGRAM, MOUNT_V3);
  EXPECT_NO_THROW(rpc.call(
      [](rpc_context* r, rpc_cb cb, void* p) { return rpc_mount3_null_async(r, cb, p); }, nullptr));
}

}  // namespace
}  // namespace nasd::integration
