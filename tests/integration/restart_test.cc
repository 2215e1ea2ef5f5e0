// Persistence across nasd restarts: file handles (keyed by the state dir)
// stay valid; the writeverf changes (RFC 1813 §3.3.7).
#include <sys/wait.h>

#include <cstring>
#include <thread>

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

TEST_F(RestartTest, SigtermWithOpenConnectionsStopsNasdCleanly) {
  Fh root = mount_root(nasd_->export_dir());
  NfsClient idle(nasd_->nfs_port());
  ASSERT_NFS(NFS3_OK, idle.getattr(root).status);  // a connection that was used
  RawConnection half(nasd_->nfs_port());           // one holding a partial record
  std::string partial;
  put_u32(partial, 0x80000000u | 400u);
  partial += rpc_call_header(1, NFS_PROGRAM, NFS_V3, 0);
  ASSERT_TRUE(half.send_bytes(partial));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  int status = nasd_->stop();
  ASSERT_TRUE(WIFEXITED(status)) << "nasd did not exit normally: status " << status
                                 << (WIFSIGNALED(status) ? " (signal " + std::to_string(WTERMSIG(status)) + ")" : "");
  EXPECT_EQ(0, WEXITSTATUS(status));
}

TEST_F(RestartTest, SigtermWhileRepliesWaitForASlowReaderStopsNasdCleanly) {
  write_file(nasd_->export_dir() / "big", std::string(1 << 20, 'r'));
  ::chmod((nasd_->export_dir() / "big").c_str(), 0644);
  Fh root = mount_root(nasd_->export_dir());
  Fh file;
  {
    NfsClient nfs(nasd_->nfs_port());
    auto l = nfs.lookup(root, "big");
    ASSERT_NFS(NFS3_OK, l.status);
    file = l.fh;
  }
  // 16 READs of 1 MiB whose replies are never read: the server's writes stall
  // with replies queued on the connection.
  RawConnection reader(nasd_->nfs_port());
  for (std::uint32_t i = 0; i < 16; ++i) {
    std::string call = rpc_call_header(500 + i, NFS_PROGRAM, NFS_V3, 6 /*READ*/);
    put_u32(call, static_cast<std::uint32_t>(file.bytes.size()));
    call += file.bytes;
    call.append((4 - file.bytes.size() % 4) % 4, '\0');
    put_u32(call, 0);  // offset (u64)
    put_u32(call, 0);
    put_u32(call, 1u << 20);  // count
    ASSERT_TRUE(reader.send_record(call));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  int status = nasd_->stop();
  ASSERT_TRUE(WIFEXITED(status)) << "nasd did not exit normally: status " << status
                                 << (WIFSIGNALED(status) ? " (signal " + std::to_string(WTERMSIG(status)) + ")" : "");
  EXPECT_EQ(0, WEXITSTATUS(status)) << nasd_->stderr_text();
}

}  // namespace
}  // namespace nasd::integration
