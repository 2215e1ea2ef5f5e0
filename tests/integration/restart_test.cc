// Persistence across nasd restarts: file handles (keyed by the state dir)
// stay valid; the writeverf changes (RFC 1813 §3.3.7).
#include <sys/wait.h>

#include <cstring>

#include "tests/integration/integration_fixture.h"

namespace nasd::integration {
namespace {

using RestartTest = NasdTest;

std::string verf_of(const WRITE3res& w) {
  return std::string(w.WRITE3res_u.resok.verf, NFS3_WRITEVERFSIZE);
}

TEST_F(RestartTest, HandlesTakenBeforeRestartStillWork) {
  Fh root = mount_root(nasd_->export_dir());
  Fh file, dir;
  {
    NfsClient nfs(nasd_->nfs_port());
    auto d = nfs.mkdir(root, "kept-dir");
    ASSERT_NFS(NFS3_OK, d.status);
    dir = d.fh;
    auto c = nfs.create(dir, "kept", GUARDED);
    ASSERT_NFS(NFS3_OK, c.status);
    file = c.fh;
    ASSERT_NFS(NFS3_OK, nfs.write(file, 0, "survives restarts", FILE_SYNC).status);
  }

  nasd_->restart();

  NfsClient nfs(nasd_->nfs_port());
  auto a = nfs.getattr(file);
  ASSERT_NFS(NFS3_OK, a.status);
  EXPECT_EQ(17u, a.GETATTR3res_u.resok.obj_attributes.size);
  auto r = nfs.read(file, 0, 100);
  ASSERT_NFS(NFS3_OK, r.status);
  EXPECT_EQ("survives restarts", r.data);
  EXPECT_NFS(NFS3_OK, nfs.getattr(root).status);
  auto l = nfs.lookup(dir, "kept");
  ASSERT_NFS(NFS3_OK, l.status);
  EXPECT_EQ(file, l.fh);
  // MNT after the restart hands out the same root handle.
  EXPECT_EQ(root, mount_root(nasd_->export_dir()));
}

TEST_F(RestartTest, HandlesSurviveAKill9) {
  Fh root = mount_root(nasd_->export_dir());
  Fh file;
  {
    NfsClient nfs(nasd_->nfs_port());
    auto c = nfs.create(root, "crash", GUARDED);
    ASSERT_NFS(NFS3_OK, c.status);
    file = c.fh;
    ASSERT_NFS(NFS3_OK, nfs.write(file, 0, "stable", FILE_SYNC).status);
  }
  nasd_->kill9();
  EXPECT_FALSE(nasd_->running());
  nasd_->start();
  NfsClient nfs(nasd_->nfs_port());
  auto r = nfs.read(file, 0, 100);
  ASSERT_NFS(NFS3_OK, r.status);
  EXPECT_EQ("stable", r.data);
}

TEST_F(RestartTest, WriteverfIsStableWithinARunAndChangesAfterRestart) {
  Fh root = mount_root(nasd_->export_dir());
  std::string before;
  Fh file;
  {
    NfsClient nfs(nasd_->nfs_port());
    auto c = nfs.create(root, "v", GUARDED);
    ASSERT_NFS(NFS3_OK, c.status);
    file = c.fh;
    auto w1 = nfs.write(file, 0, "a", UNSTABLE);
    ASSERT_NFS(NFS3_OK, w1.status);
    NfsClient other(nasd_->nfs_port());  // another connection, same instance
    auto w2 = other.write(file, 1, "b", UNSTABLE);
    ASSERT_NFS(NFS3_OK, w2.status);
    EXPECT_EQ(verf_of(w1), verf_of(w2));
    before = verf_of(w1);
  }
  nasd_->restart();
  NfsClient nfs(nasd_->nfs_port());
  auto w = nfs.write(file, 2, "c", UNSTABLE);
  ASSERT_NFS(NFS3_OK, w.status);
  EXPECT_NE(before, verf_of(w));
  auto c = nfs.commit(file, 0, 0);
  ASSERT_NFS(NFS3_OK, c.status);
  EXPECT_EQ(verf_of(w), std::string(c.COMMIT3res_u.resok.verf, NFS3_WRITEVERFSIZE));
}

TEST_F(RestartTest, SigtermStopsNasdCleanly) {
  int status = nasd_->stop();
  ASSERT_TRUE(WIFEXITED(status)) << "status " << status;
  EXPECT_EQ(0, WEXITSTATUS(status));
  EXPECT_LT(connect_loopback(nasd_->nfs_port()), 0) << "still listening after exit";
}

}  // namespace
}  // namespace nasd::integration
