// NFSv3 error statuses and export confinement against the real nasd process.
#include <fcntl.h>
#include <unistd.h>

#include "tests/integration/integration_fixture.h"

namespace nasd::integration {
namespace {

class Nfs3ErrorsTest : public NasdTest {
 protected:
  void SetUp() override {
    NasdTest::SetUp();
    root_ = mount_root(nasd_->export_dir());
    nfs_ = std::make_unique<NfsClient>(nasd_->nfs_port());
  }
  std::filesystem::path disk(const std::string& name) const { return nasd_->export_dir() / name; }

  Fh root_;
  std::unique_ptr<NfsClient> nfs_;
};

TEST_F(Nfs3ErrorsTest, HandleOfARemovedFileIsStale) {
  auto c = nfs_->create(root_, "doomed", GUARDED);
  ASSERT_NFS(NFS3_OK, c.status);
  ASSERT_NFS(NFS3_OK, nfs_->getattr(c.fh).status);
  ASSERT_NFS(NFS3_OK, nfs_->remove(root_, "doomed").status);
  EXPECT_NFS(NFS3ERR_STALE, nfs_->getattr(c.fh).status);
  EXPECT_NFS(NFS3ERR_STALE, nfs_->read(c.fh, 0, 10).status);
  EXPECT_NFS(NFS3ERR_STALE, nfs_->write(c.fh, 0, "x", FILE_SYNC).status);
}

TEST_F(Nfs3ErrorsTest, HandleOfARemovedDirectoryIsStale) {
  auto m = nfs_->mkdir(root_, "gone");
  ASSERT_NFS(NFS3_OK, m.status);
  ASSERT_NFS(NFS3_OK, nfs_->rmdir(root_, "gone").status);
  EXPECT_NFS(NFS3ERR_STALE, nfs_->lookup(m.fh, "x").status);
  EXPECT_NFS(NFS3ERR_STALE, nfs_->create(m.fh, "x", GUARDED).status);
}

TEST_F(Nfs3ErrorsTest, ForgedHandlesAreBadhandle) {
  write_file(disk("f"), "data");
  auto l = nfs_->lookup(root_, "f");
  ASSERT_NFS(NFS3_OK, l.status);
  ASSERT_GT(l.fh.bytes.size(), 12u);
  // Flip one byte inside the kernel handle, and one inside the MAC.
  for (std::size_t pos : {std::size_t{10}, l.fh.bytes.size() - 1}) {
    Fh forged = l.fh;
    forged.bytes[pos] = static_cast<char>(forged.bytes[pos] ^ 0x01);
    EXPECT_NFS(NFS3ERR_BADHANDLE, nfs_->getattr(forged).status) << "byte " << pos;
    EXPECT_NFS(NFS3ERR_BADHANDLE, nfs_->read(forged, 0, 4).status) << "byte " << pos;
  }
  Fh truncated{l.fh.bytes.substr(0, 5)};
  EXPECT_NFS(NFS3ERR_BADHANDLE, nfs_->getattr(truncated).status);
  Fh empty;
  EXPECT_NFS(NFS3ERR_BADHANDLE, nfs_->getattr(empty).status);
  // The genuine handle still works.
  EXPECT_NFS(NFS3_OK, nfs_->getattr(l.fh).status);
}

TEST_F(Nfs3ErrorsTest, MissingNamesAreNoent) {
  EXPECT_NFS(NFS3ERR_NOENT, nfs_->lookup(root_, "nope").status);
  EXPECT_NFS(NFS3ERR_NOENT, nfs_->remove(root_, "nope").status);
  EXPECT_NFS(NFS3ERR_NOENT, nfs_->rmdir(root_, "nope").status);
  EXPECT_NFS(NFS3ERR_NOENT, nfs_->rename(root_, "nope", root_, "other").status);
}

TEST_F(Nfs3ErrorsTest, ExistingNamesAreExist) {
  ASSERT_NFS(NFS3_OK, nfs_->mkdir(root_, "d").status);
  EXPECT_NFS(NFS3ERR_EXIST, nfs_->mkdir(root_, "d").status);
  EXPECT_NFS(NFS3ERR_EXIST, nfs_->create(root_, "d", GUARDED).status);
  EXPECT_NFS(NFS3ERR_EXIST, nfs_->symlink(root_, "d", "t").status);
  EXPECT_NFS(NFS3ERR_EXIST, nfs_->mknod_fifo(root_, "d").status);
}

TEST_F(Nfs3ErrorsTest, RmdirOfANonEmptyDirectoryIsNotempty) {
  auto m = nfs_->mkdir(root_, "full");
  ASSERT_NFS(NFS3_OK, m.status);
  ASSERT_NFS(NFS3_OK, nfs_->create(m.fh, "child", GUARDED).status);
  EXPECT_NFS(NFS3ERR_NOTEMPTY, nfs_->rmdir(root_, "full").status);
  EXPECT_TRUE(std::filesystem::exists(disk("full/child")));
}

TEST_F(Nfs3ErrorsTest, NonRootCallerGetsAccesOnAnotherUsersPrivateFile) {
  write_file(disk("private"), "secret");
  ASSERT_EQ(0, ::chown(disk("private").c_str(), 2001, 2001));
  ASSERT_EQ(0, ::chmod(disk("private").c_str(), 0600));
  auto fh = nfs_->lookup(root_, "private").fh;

  NfsClient stranger(nasd_->nfs_port());
  stranger.set_credentials(2002, 2002);
  EXPECT_NFS(NFS3ERR_ACCES, stranger.read(fh, 0, 6).status);
  EXPECT_NFS(NFS3ERR_ACCES, stranger.write(fh, 0, "x", FILE_SYNC).status);
  sattr3 s = no_attrs();
  s.size.set_it = 1;
  s.size.set_size3_u.size = 0;
  EXPECT_NFS(NFS3ERR_ACCES, stranger.setattr(fh, s).status);
  EXPECT_EQ("secret", [&] {
    auto r = nfs_->read(fh, 0, 100);
    return r.data;
  }());

  NfsClient owner(nasd_->nfs_port());
  owner.set_credentials(2001, 2001);
  auto r = owner.read(fh, 0, 6);
  ASSERT_NFS(NFS3_OK, r.status);
  EXPECT_EQ("secret", r.data);
}

TEST_F(Nfs3ErrorsTest, NonRootCallerCannotCreateInAnotherUsersDirectory) {
  std::filesystem::create_directory(disk("theirs"));
  ASSERT_EQ(0, ::chown(disk("theirs").c_str(), 2001, 2001));
  ASSERT_EQ(0, ::chmod(disk("theirs").c_str(), 0755));
  auto dir = nfs_->lookup(root_, "theirs").fh;
  NfsClient stranger(nasd_->nfs_port());
  stranger.set_credentials(2002, 2002);
  EXPECT_NFS(NFS3ERR_ACCES, stranger.create(dir, "mine", GUARDED).status);
  EXPECT_NFS(NFS3ERR_ACCES, stranger.mkdir(dir, "mine").status);
  EXPECT_FALSE(std::filesystem::exists(disk("theirs/mine")));
  // A file the stranger creates in a world-writable directory is theirs.
  auto c = stranger.create(root_, "strangers", GUARDED);
  ASSERT_NFS(NFS3_OK, c.status);
  EXPECT_EQ(2002u, stat_of(disk("strangers")).st_uid);
  EXPECT_EQ(2002u, stat_of(disk("strangers")).st_gid);
}

class ReadOnlyExportTest : public NasdTest {};

TEST_F(ReadOnlyExportTest, ModificationsAreRofsButReadsWork) {
  write_file(nasd_->ro_dir() / "file", "read me");
  std::filesystem::create_directory(nasd_->ro_dir() / "dir");
  Fh root = mount_root(nasd_->ro_dir());
  NfsClient nfs(nasd_->nfs_port());
  auto f = nfs.lookup(root, "file");
  ASSERT_NFS(NFS3_OK, f.status);
  auto r = nfs.read(f.fh, 0, 100);
  ASSERT_NFS(NFS3_OK, r.status);
  EXPECT_EQ("read me", r.data);

  EXPECT_NFS(NFS3ERR_ROFS, nfs.write(f.fh, 0, "x", FILE_SYNC).status);
  EXPECT_NFS(NFS3ERR_ROFS, nfs.create(root, "new", UNCHECKED).status);
  EXPECT_NFS(NFS3ERR_ROFS, nfs.remove(root, "file").status);
  EXPECT_NFS(NFS3ERR_ROFS, nfs.mkdir(root, "newdir").status);
  EXPECT_NFS(NFS3ERR_ROFS, nfs.rmdir(root, "dir").status);
  EXPECT_NFS(NFS3ERR_ROFS, nfs.rename(root, "file", root, "moved").status);
  sattr3 s = no_attrs();
  s.size.set_it = 1;
  s.size.set_size3_u.size = 0;
  EXPECT_NFS(NFS3ERR_ROFS, nfs.setattr(f.fh, s).status);
  EXPECT_FALSE(std::filesystem::exists(nasd_->ro_dir() / "new"));
  EXPECT_TRUE(std::filesystem::exists(nasd_->ro_dir() / "file"));
  EXPECT_EQ(7, stat_of(nasd_->ro_dir() / "file").st_size);

  // ACCESS tells the client up front (RFC 1813 §3.3.4).
  auto a = nfs.access(f.fh, ACCESS3_READ | ACCESS3_MODIFY);
  ASSERT_NFS(NFS3_OK, a.status);
  EXPECT_EQ(static_cast<std::uint32_t>(ACCESS3_READ), a.ACCESS3res_u.resok.access);
}

class SquashTest : public NasdTest {};

TEST_F(SquashTest, RootIsSquashedToNobodyOnRootSquashExport) {
  Fh root = mount_root(nasd_->squash_dir());
  NfsClient nfs(nasd_->nfs_port());
  nfs.set_credentials(0, 0);
  auto c = nfs.create(root, "by-root", GUARDED);
  ASSERT_NFS(NFS3_OK, c.status);
  const struct stat st = stat_of(nasd_->squash_dir() / "by-root");
  EXPECT_EQ(65534u, st.st_uid);
  EXPECT_EQ(65534u, st.st_gid);
  ASSERT_TRUE(c.attr.has_value());
  EXPECT_EQ(65534u, c.attr->uid);

  // A squashed root cannot read a root-owned 0600 file there.
  write_file(nasd_->squash_dir() / "rootonly", "x");
  ASSERT_EQ(0, ::chmod((nasd_->squash_dir() / "rootonly").c_str(), 0600));
  auto l = nfs.lookup(root, "rootonly");
  ASSERT_NFS(NFS3_OK, l.status);
  EXPECT_NFS(NFS3ERR_ACCES, nfs.read(l.fh, 0, 1).status);
}

TEST_F(SquashTest, RootIsNotSquashedOnNoRootSquashExport) {
  Fh root = mount_root(nasd_->export_dir());
  NfsClient nfs(nasd_->nfs_port());
  nfs.set_credentials(0, 0);
  ASSERT_NFS(NFS3_OK, nfs.create(root, "by-root", GUARDED).status);
  EXPECT_EQ(0u, stat_of(nasd_->export_dir() / "by-root").st_uid);
}

class ConfinementTest : public Nfs3ErrorsTest {};

TEST_F(ConfinementTest, DotDotAtTheExportRootStaysInTheExport) {
  auto root_attr = nfs_->getattr(root_);
  ASSERT_NFS(NFS3_OK, root_attr.status);
  auto up = nfs_->lookup(root_, "..");
  ASSERT_NFS(NFS3_OK, up.status);
  auto up_attr = nfs_->getattr(up.fh);
  ASSERT_NFS(NFS3_OK, up_attr.status);
  EXPECT_EQ(root_attr.GETATTR3res_u.resok.obj_attributes.fileid,
            up_attr.GETATTR3res_u.resok.obj_attributes.fileid);
  // Nothing of the parent directory is reachable through it.
  EXPECT_NFS(NFS3ERR_NOENT, nfs_->lookup(up.fh, "exp2").status);
  EXPECT_NFS(NFS3ERR_NOENT, nfs_->lookup(up.fh, "state").status);
  // ".." of a subdirectory is the export root.
  auto sub = nfs_->mkdir(root_, "sub");
  ASSERT_NFS(NFS3_OK, sub.status);
  auto back = nfs_->lookup(sub.fh, "..");
  ASSERT_NFS(NFS3_OK, back.status);
  EXPECT_EQ(root_, back.fh);
}

TEST_F(ConfinementTest, SymlinkOutOfTheExportIsALinkAndNotFollowed) {
  std::filesystem::create_symlink("/etc", disk("abs-out"));
  std::filesystem::create_symlink("../exp2", disk("rel-out"));
  write_file(nasd_->export2_dir() / "other-export-file", "x");
  for (const char* name : {"abs-out", "rel-out"}) {
    auto l = nfs_->lookup(root_, name);
    ASSERT_NFS(NFS3_OK, l.status) << name;
    ASSERT_TRUE(l.attr.has_value());
    EXPECT_EQ(NF3LNK, l.attr->type) << name;
    auto rl = nfs_->readlink(l.fh);
    ASSERT_NFS(NFS3_OK, rl.status);
    EXPECT_EQ(std::filesystem::read_symlink(disk(name)).string(), rl.target);
    // LOOKUP through the link fails: the link is not a directory.
    EXPECT_NFS(NFS3ERR_NOTDIR, nfs_->lookup(l.fh, "passwd").status) << name;
    EXPECT_NFS(NFS3ERR_NOTDIR, nfs_->lookup(l.fh, "other-export-file").status) << name;
  }
}

TEST_F(ConfinementTest, NamesWithSlashesDoNotWalkPaths) {
  std::filesystem::create_directory(disk("d"));
  write_file(disk("d/f"), "x");
  EXPECT_NE(NFS3_OK, nfs_->lookup(root_, "d/f").status);
  EXPECT_NE(NFS3_OK, nfs_->lookup(root_, "../exp2").status);
  EXPECT_NE(NFS3_OK, nfs_->create(root_, "../escaped", GUARDED).status);
  EXPECT_FALSE(std::filesystem::exists(nasd_->export_dir().parent_path() / "escaped"));
}

TEST_F(ConfinementTest, RenameAcrossExportsIsXdev) {
  Fh root2 = mount_root(nasd_->export2_dir());
  ASSERT_NFS(NFS3_OK, nfs_->create(root_, "mover", GUARDED).status);
  EXPECT_NFS(NFS3ERR_XDEV, nfs_->rename(root_, "mover", root2, "moved").status);
  EXPECT_TRUE(std::filesystem::exists(disk("mover")));
  EXPECT_FALSE(std::filesystem::exists(nasd_->export2_dir() / "moved"));
  auto f = nfs_->lookup(root_, "mover");
  EXPECT_NFS(NFS3ERR_XDEV, nfs_->link(f.fh, root2, "linked").status);
}

}  // namespace
}  // namespace nasd::integration
