// Faults under the real process: a full disk, a file removed behind nasd's
// back, and kill -9 in the middle of writes (RFC 1813 §3.3.7, §3.3.21: data
// written FILE_SYNC or committed survives; the write verifier changes so a
// client resends what it had not committed).  The Linux-client version of
// the kill -9 test is tests/e2e (the supervisor SIGKILLs nasd mid-run).
#include <sys/mount.h>

#include <atomic>
#include <fstream>
#include <sstream>
#include <thread>

#include "tests/integration/integration_fixture.h"

namespace nasd::integration {
namespace {

constexpr int kNfs3ErrNospc = 28;  // NFS3ERR_NOSPC (RFC 1813 §2.6)

std::string verf_of(const char* v) { return std::string(v, NFS3_WRITEVERFSIZE); }

std::string pattern(std::size_t n, int seed) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>((seed * 151 + i * 13) & 0xff);
  return s;
}

std::string read_disk(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

/// A tmpfs of `size` mounted on `dir` for the test's lifetime (lazy unmount).
class TmpfsMount {
 public:
  TmpfsMount(const std::filesystem::path& dir, const char* size) : dir_(dir) {
    const std::string opts = std::string("size=") + size + ",mode=0777";
    mounted_ = ::mount("tmpfs", dir.c_str(), "tmpfs", MS_NODEV | MS_NOSUID, opts.c_str()) == 0;
  }
  ~TmpfsMount() {
    if (mounted_) ::umount2(dir_.c_str(), MNT_DETACH);
  }
  bool mounted() const { return mounted_; }

 private:
  std::filesystem::path dir_;
  bool mounted_ = false;
};

using FaultTest = NasdTest;

TEST_F(FaultTest, FullDiskIsNospcAndEarlierDataStaysIntact) {
  TmpfsMount small(nasd_->export2_dir(), "1m");
  if (!small.mounted()) GTEST_SKIP() << "cannot mount a tmpfs (needs root)";
  nasd_->restart();  // export the tmpfs root
  Fh root = mount_root(nasd_->export2_dir());
  NfsClient nfs(nasd_->nfs_port());
  auto c = nfs.create(root, "fill", GUARDED);
  ASSERT_NFS(NFS3_OK, c.status);
  const std::string first = pattern(64 << 10, 1);
  ASSERT_NFS(NFS3_OK, nfs.write(c.fh, 0, first, FILE_SYNC).status);

  // Keep appending 256 KiB until the 1 MiB filesystem is full.
  int status = NFS3_OK;
  std::uint64_t offset = first.size();
  for (int i = 0; i < 16 && status == NFS3_OK; ++i) {
    auto w = nfs.write(c.fh, offset, pattern(256 << 10, 2 + i), FILE_SYNC);
    status = w.status;
    if (status == NFS3_OK) offset += w.WRITE3res_u.resok.count;
  }
  EXPECT_EQ(kNfs3ErrNospc, status) << nfsstat_name(status);

  // What was written before is intact, through NFS and on disk.
  auto r = nfs.read(c.fh, 0, static_cast<std::uint32_t>(first.size()));
  ASSERT_NFS(NFS3_OK, r.status);
  EXPECT_TRUE(r.data == first) << "the first 64 KiB changed";
  EXPECT_TRUE(read_disk(nasd_->export2_dir() / "fill").substr(0, first.size()) == first);
  // Space freed: writes work again; the server never went down.
  ASSERT_NFS(NFS3_OK, nfs.setattr(c.fh, [] {
    sattr3 a = no_attrs();
    a.size.set_it = 1;
    a.size.set_size3_u.size = 64 << 10;
    return a;
  }()).status);
  EXPECT_NFS(NFS3_OK, nfs.write(c.fh, first.size(), "tail", FILE_SYNC).status);
  EXPECT_TRUE(nasd_->running());
  nasd_->stop();  // before the tmpfs goes away
}

TEST_F(FaultTest, FileRemovedOnDiskUnderAHandleInUseIsStale) {
  Fh root = mount_root(nasd_->export_dir());
  NfsClient nfs(nasd_->nfs_port());
  auto c = nfs.create(root, "victim", GUARDED);
  ASSERT_NFS(NFS3_OK, c.status);
  ASSERT_NFS(NFS3_OK, nfs.write(c.fh, 0, "in use", UNSTABLE).status);
  ASSERT_NFS(NFS3_OK, nfs.read(c.fh, 0, 6).status);
  // Removed behind nasd's back (not through NFS), then the name reused.
  ASSERT_TRUE(std::filesystem::remove(nasd_->export_dir() / "victim"));
  EXPECT_NFS(NFS3ERR_STALE, nfs.getattr(c.fh).status);
  EXPECT_NFS(NFS3ERR_STALE, nfs.read(c.fh, 0, 6).status);
  EXPECT_NFS(NFS3ERR_STALE, nfs.write(c.fh, 0, "again", FILE_SYNC).status);
  EXPECT_NFS(NFS3ERR_STALE, nfs.commit(c.fh, 0, 0).status);
  write_file(nasd_->export_dir() / "victim", "a new file");
  EXPECT_NFS(NFS3ERR_STALE, nfs.getattr(c.fh).status) << "old handle reached the new file";
  auto l = nfs.lookup(root, "victim");
  ASSERT_NFS(NFS3_OK, l.status);
  EXPECT_NE(c.fh, l.fh);
}

TEST_F(FaultTest, Kill9DuringWritesKeepsSyncedAndCommittedDataAndChangesTheVerifier) {
  Fh root = mount_root(nasd_->export_dir());
  Fh synced, committed, pending;
  std::string synced_data, committed_data, verf_before;
  {
    NfsClient nfs(nasd_->nfs_port());
    synced = nfs.create(root, "synced", GUARDED).fh;
    committed = nfs.create(root, "committed", GUARDED).fh;
    pending = nfs.create(root, "pending", GUARDED).fh;
    ASSERT_FALSE(synced.empty() || committed.empty() || pending.empty());
    for (int i = 0; i < 8; ++i) {  // FILE_SYNC: safe once answered
      const std::string chunk = pattern(32 << 10, 10 + i);
      ASSERT_NFS(NFS3_OK, nfs.write(synced, synced_data.size(), chunk, FILE_SYNC).status);
      synced_data += chunk;
    }
    for (int i = 0; i < 8; ++i) {  // UNSTABLE, then COMMIT: safe once committed
      const std::string chunk = pattern(32 << 10, 20 + i);
      auto w = nfs.write(committed, committed_data.size(), chunk, UNSTABLE);
      ASSERT_NFS(NFS3_OK, w.status);
      committed_data += chunk;
      verf_before = verf_of(w.WRITE3res_u.resok.verf);
    }
    auto cm = nfs.commit(committed, 0, 0);
    ASSERT_NFS(NFS3_OK, cm.status);
    EXPECT_EQ(verf_before, verf_of(cm.COMMIT3res_u.resok.verf));
  }
  // A writer keeps sending UNSTABLE writes, never committed, while nasd is
  // killed under it.
  std::atomic<bool> stop{false};
  std::atomic<int> answered{0};
  std::thread writer([&] {
    try {
      NfsClient nfs(nasd_->nfs_port());
      for (std::uint64_t off = 0; !stop; off += 4096) {
        if (nfs.write(pending, off, pattern(4096, 7), UNSTABLE).status == NFS3_OK) ++answered;
      }
    } catch (const std::exception&) {
      // the connection died with nasd: expected
    }
  });
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (answered < 50 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_GE(answered, 50) << "the writer did not get going";
  nasd_->kill9();
  stop = true;
  writer.join();
  nasd_->start();

  NfsClient nfs(nasd_->nfs_port());
  std::string got;
  while (got.size() < synced_data.size()) {
    auto r = nfs.read(synced, got.size(), 65536);
    ASSERT_NFS(NFS3_OK, r.status);
    ASSERT_FALSE(r.data.empty());
    got += r.data;
  }
  EXPECT_TRUE(got == synced_data) << "FILE_SYNC data changed across kill -9";
  EXPECT_TRUE(read_disk(nasd_->export_dir() / "committed") == committed_data)
      << "committed data changed across kill -9";
  // The verifier changed: a client holding uncommitted "pending" data sees a
  // different verifier at its COMMIT and resends (RFC 1813 §3.3.21).
  auto cm = nfs.commit(pending, 0, 0);
  ASSERT_NFS(NFS3_OK, cm.status);
  EXPECT_NE(verf_before, verf_of(cm.COMMIT3res_u.resok.verf));
  auto w = nfs.write(pending, 0, "resent", UNSTABLE);
  ASSERT_NFS(NFS3_OK, w.status);
  EXPECT_NE(verf_before, verf_of(w.WRITE3res_u.resok.verf));
}

}  // namespace
}  // namespace nasd::integration
