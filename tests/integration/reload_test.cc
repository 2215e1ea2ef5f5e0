// Live reload of the exports (SIGHUP) against the real nasd process: added,
// removed and changed exports, and a rejected file.
#include <algorithm>
#include <filesystem>
#include <string>

#include <gtest/gtest.h>

#include "tests/integration/integration_fixture.h"

namespace nasd::integration {
namespace {

class ReloadTest : public NasdTest {
 protected:
  void SetUp() override {
    nasd_ = std::make_unique<NasdProcess>(NasdProcess::ExportsSource::kFile);
  }
  // The default exports with `line` of the given path replaced (or dropped
  // when `replacement` is empty).
  std::string exports_with(const std::filesystem::path& dir, const std::string& replacement) {
    std::string text = nasd_->default_exports();
    auto at = text.find(dir.string() + " ");
    auto end = text.find('\n', at) + 1;
    return text.substr(0, at) + replacement + text.substr(end);
  }
};

TEST_F(ReloadTest, AddedExportCanBeMountedAndWritten) {
  auto added = nasd_->export_dir().parent_path() / "added";
  std::filesystem::create_directory(added);
  std::filesystem::permissions(added, std::filesystem::perms::all);
  {
    MountClient m(nasd_->mount_port());
    EXPECT_EQ(MNT3ERR_NOENT, m.mnt(added.string()).first);
  }
  nasd_->write_exports(nasd_->default_exports() + added.string() +
                       " *(rw,no_root_squash,insecure,fsid=9)\n");
  ASSERT_TRUE(nasd_->sighup());

  Fh root = mount_root(added);
  NfsClient nfs(nasd_->nfs_port());
  auto f = nfs.create(root, "hello", UNCHECKED);
  ASSERT_NFS(NFS3_OK, f.status);
  EXPECT_NFS(NFS3_OK, nfs.write(f.fh, 0, "hi", FILE_SYNC).status);
  EXPECT_EQ(2u, stat_of(added / "hello").st_size);
  MountClient m(nasd_->mount_port());
  auto list = m.exports();
  EXPECT_TRUE(std::any_of(list.begin(), list.end(),
                          [&](const auto& e) { return e.first == added.string(); }));
}

TEST_F(ReloadTest, RemovedExportMakesOldHandlesStaleAndMountFail) {
  write_file(nasd_->export2_dir() / "file", "data");
  Fh root = mount_root(nasd_->export2_dir());
  NfsClient nfs(nasd_->nfs_port());
  auto f = nfs.lookup(root, "file");
  ASSERT_NFS(NFS3_OK, f.status);

  nasd_->write_exports(exports_with(nasd_->export2_dir(), ""));
  ASSERT_TRUE(nasd_->sighup());

  EXPECT_NFS(NFS3ERR_STALE, nfs.getattr(root).status);
  EXPECT_NFS(NFS3ERR_STALE, nfs.read(f.fh, 0, 10).status);
  EXPECT_NFS(NFS3ERR_STALE, nfs.lookup(root, "file").status);
  MountClient m(nasd_->mount_port());
  EXPECT_EQ(MNT3ERR_NOENT, m.mnt(nasd_->export2_dir().string()).first);
  // The other exports are untouched.
  Fh other = mount_root(nasd_->export_dir());
  EXPECT_NFS(NFS3_OK, nfs.getattr(other).status);
}

TEST_F(ReloadTest, ReAddedExportAcceptsItsOldHandlesAgain) {
  Fh root = mount_root(nasd_->export2_dir());
  NfsClient nfs(nasd_->nfs_port());
  nasd_->write_exports(exports_with(nasd_->export2_dir(), ""));
  ASSERT_TRUE(nasd_->sighup());
  ASSERT_NFS(NFS3ERR_STALE, nfs.getattr(root).status);
  nasd_->write_exports(nasd_->default_exports());
  ASSERT_TRUE(nasd_->sighup());
  EXPECT_NFS(NFS3_OK, nfs.getattr(root).status);
}

TEST_F(ReloadTest, ChangingRwToRoAppliesToTheNextWrite) {
  write_file(nasd_->export_dir() / "file", "data");
  Fh root = mount_root(nasd_->export_dir());
  NfsClient nfs(nasd_->nfs_port());
  auto f = nfs.lookup(root, "file");
  ASSERT_NFS(NFS3_OK, f.status);
  ASSERT_NFS(NFS3_OK, nfs.write(f.fh, 0, "DA", FILE_SYNC).status);

  nasd_->write_exports(exports_with(nasd_->export_dir(),
                                    nasd_->export_dir().string() +
                                        " *(ro,no_root_squash,insecure,fsid=1)\n"));
  ASSERT_TRUE(nasd_->sighup());

  EXPECT_NFS(NFS3ERR_ROFS, nfs.write(f.fh, 0, "xx", FILE_SYNC).status);
  EXPECT_NFS(NFS3ERR_ROFS, nfs.create(root, "new", UNCHECKED).status);
  auto r = nfs.read(f.fh, 0, 10);
  ASSERT_NFS(NFS3_OK, r.status);
  EXPECT_EQ("DAta", r.data);
}

TEST_F(ReloadTest, BadFileIsRejectedWholeAndOldExportsStay) {
  Fh root = mount_root(nasd_->export_dir());
  // A valid new line plus a broken one: nothing of it may apply.
  auto added = nasd_->export_dir().parent_path() / "added";
  std::filesystem::create_directory(added);
  nasd_->write_exports(added.string() + " *(rw,insecure,fsid=9)\n" +
                       nasd_->export_dir().string() + " *(rw,no_such_option)\n");
  EXPECT_FALSE(nasd_->sighup());
  EXPECT_EQ(0.0, nasd_->metric("nasd_exports_last_reload_successful").value_or(-1));
  EXPECT_NE(std::string::npos, nasd_->stderr_text().find("reload rejected"));
  EXPECT_NE(std::string::npos, nasd_->stderr_text().find("no_such_option"));

  NfsClient nfs(nasd_->nfs_port());
  EXPECT_NFS(NFS3_OK, nfs.getattr(root).status);
  auto f = nfs.create(root, "still-rw", UNCHECKED);
  EXPECT_NFS(NFS3_OK, f.status);
  MountClient m(nasd_->mount_port());
  EXPECT_EQ(MNT3_OK, m.mnt(nasd_->export2_dir().string()).first);
  EXPECT_EQ(MNT3ERR_NOENT, m.mnt(added.string()).first);
}

TEST_F(ReloadTest, MissingExportDirectoryIsRejected) {
  nasd_->write_exports(nasd_->default_exports() +
                       (nasd_->export_dir().parent_path() / "missing").string() + " *(rw,fsid=9)\n");
  EXPECT_FALSE(nasd_->sighup());
  Fh root = mount_root(nasd_->export_dir());
  EXPECT_NFS(NFS3_OK, NfsClient(nasd_->nfs_port()).getattr(root).status);
}

TEST_F(ReloadTest, MovingAnExportIdToAnotherPathIsRejected) {
  auto moved = nasd_->export_dir().parent_path() / "moved";
  std::filesystem::create_directory(moved);
  nasd_->write_exports(exports_with(nasd_->export_dir(), moved.string() + " *(rw,fsid=1)\n"));
  EXPECT_FALSE(nasd_->sighup());
  EXPECT_NE(std::string::npos, nasd_->stderr_text().find("needs a restart"));
  MountClient m(nasd_->mount_port());
  EXPECT_EQ(MNT3_OK, m.mnt(nasd_->export_dir().string()).first);
}

}  // namespace
}  // namespace nasd::integration
