// Every NFSv3 procedure (RFC 1813 §3.3) against the real nasd process,
// checked against the exported directory on disk.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <set>

#include "tests/integration/integration_fixture.h"

namespace nasd::integration {
namespace {

class Nfs3ProceduresTest : public NasdTest {
 protected:
  void SetUp() override {
    NasdTest::SetUp();
    root_ = mount_root(nasd_->export_dir());
    nfs_ = std::make_unique<NfsClient>(nasd_->nfs_port());
  }
  std::filesystem::path disk(const std::string& name) const { return nasd_->export_dir() / name; }
  /// A file written on disk and looked up over NFS.
  Fh file_with(const std::string& name, const std::string& content) {
    write_file(disk(name), content);
    auto r = nfs_->lookup(root_, name);
    EXPECT_NFS(NFS3_OK, r.status) << name;
    return r.fh;
  }
  static std::string read_disk(const std::filesystem::path& p) {
    std::string s;
    int fd = ::open(p.c_str(), O_RDONLY);
    if (fd < 0) return "<missing>";
    char buf[4096];
    ssize_t n;
    while ((n = ::read(fd, buf, sizeof(buf))) > 0) s.append(buf, static_cast<std::size_t>(n));
    ::close(fd);
    return s;
  }

  Fh root_;
  std::unique_ptr<NfsClient> nfs_;
};

TEST_F(Nfs3ProceduresTest, NullIsAnswered) { EXPECT_NO_THROW(nfs_->null()); }

TEST_F(Nfs3ProceduresTest, GetattrReportsTheFileOnDisk) {
  Fh fh = file_with("a.txt", "0123456789");
  ::chmod(disk("a.txt").c_str(), 0640);
  auto r = nfs_->getattr(fh);
  ASSERT_NFS(NFS3_OK, r.status);
  const fattr3& a = r.GETATTR3res_u.resok.obj_attributes;
  const struct stat st = stat_of(disk("a.txt"));
  EXPECT_EQ(NF3REG, a.type);
  EXPECT_EQ(10u, a.size);
  EXPECT_EQ(0640u, a.mode & 07777);
  EXPECT_EQ(st.st_ino, a.fileid);
  EXPECT_EQ(1u, a.nlink);
  EXPECT_EQ(st.st_uid, a.uid);
  EXPECT_EQ(static_cast<u_int>(st.st_mtim.tv_sec), a.mtime.seconds);
}

TEST_F(Nfs3ProceduresTest, SetattrChangesModeAndTruncates) {
  Fh fh = file_with("s.txt", "abcdefgh");
  sattr3 s = no_attrs();
  s.mode.set_it = 1;
  s.mode.set_mode3_u.mode = 0600;
  s.size.set_it = 1;
  s.size.set_size3_u.size = 3;
  auto r = nfs_->setattr(fh, s);
  ASSERT_NFS(NFS3_OK, r.status);
  ASSERT_TRUE(r.SETATTR3res_u.resok.obj_wcc.after.attributes_follow);
  EXPECT_EQ(3u, r.SETATTR3res_u.resok.obj_wcc.after.post_op_attr_u.attributes.size);
  EXPECT_EQ(0600u, stat_of(disk("s.txt")).st_mode & 07777);
  EXPECT_EQ("abc", read_disk(disk("s.txt")));

  s = no_attrs();  // extend: zero-filled
  s.size.set_it = 1;
  s.size.set_size3_u.size = 5;
  ASSERT_NFS(NFS3_OK, nfs_->setattr(fh, s).status);
  EXPECT_EQ(std::string("abc\0\0", 5), read_disk(disk("s.txt")));
}

TEST_F(Nfs3ProceduresTest, SetattrWithWrongCtimeGuardIsNotSyncAndChangesNothing) {
  Fh fh = file_with("g.txt", "guarded");
  auto before = nfs_->getattr(fh);
  ASSERT_NFS(NFS3_OK, before.status);
  nfstime3 ctime = before.GETATTR3res_u.resok.obj_attributes.ctime;
  nfstime3 wrong = ctime;
  wrong.seconds -= 100;

  sattr3 s = no_attrs();
  s.size.set_it = 1;
  s.size.set_size3_u.size = 0;
  EXPECT_NFS(NFS3ERR_NOT_SYNC, nfs_->setattr(fh, s, &wrong).status);
  EXPECT_EQ("guarded", read_disk(disk("g.txt")));

  EXPECT_NFS(NFS3_OK, nfs_->setattr(fh, s, &ctime).status);
  EXPECT_EQ("", read_disk(disk("g.txt")));
}

TEST_F(Nfs3ProceduresTest, LookupFindsChildrenAndReportsTheirAttributes) {
  std::filesystem::create_directory(disk("dir"));
  write_file(disk("dir/inner"), "x");
  auto d = nfs_->lookup(root_, "dir");
  ASSERT_NFS(NFS3_OK, d.status);
  ASSERT_TRUE(d.attr.has_value());
  EXPECT_EQ(NF3DIR, d.attr->type);
  auto f = nfs_->lookup(d.fh, "inner");
  ASSERT_NFS(NFS3_OK, f.status);
  ASSERT_TRUE(f.attr.has_value());
  EXPECT_EQ(stat_of(disk("dir/inner")).st_ino, f.attr->fileid);
  // The same object always has the same handle.
  EXPECT_EQ(f.fh, nfs_->lookup(d.fh, "inner").fh);
  EXPECT_NFS(NFS3ERR_NOENT, nfs_->lookup(d.fh, "missing").status);
}

TEST_F(Nfs3ProceduresTest, AccessReflectsTheCallersPermissions) {
  Fh fh = file_with("acc.txt", "x");
  ::chmod(disk("acc.txt").c_str(), 0644);  // owned by root
  const std::uint32_t want = ACCESS3_READ | ACCESS3_MODIFY | ACCESS3_EXTEND;

  auto as_root = nfs_->access(fh, want);
  ASSERT_NFS(NFS3_OK, as_root.status);
  EXPECT_EQ(want, as_root.ACCESS3res_u.resok.access);

  NfsClient other(nasd_->nfs_port());
  other.set_credentials(4321, 4321);
  auto as_other = other.access(fh, want);
  ASSERT_NFS(NFS3_OK, as_other.status);
  EXPECT_EQ(static_cast<std::uint32_t>(ACCESS3_READ), as_other.ACCESS3res_u.resok.access);
}

TEST_F(Nfs3ProceduresTest, ReadReturnsTheBytesAndEof) {
  Fh fh = file_with("r.txt", "hello world");
  auto r1 = nfs_->read(fh, 0, 5);
  ASSERT_NFS(NFS3_OK, r1.status);
  EXPECT_EQ("hello", r1.data);
  EXPECT_FALSE(r1.eof);
  auto r2 = nfs_->read(fh, 6, 100);
  ASSERT_NFS(NFS3_OK, r2.status);
  EXPECT_EQ("world", r2.data);
  EXPECT_TRUE(r2.eof);
  auto r3 = nfs_->read(fh, 1000, 10);
  ASSERT_NFS(NFS3_OK, r3.status);
  EXPECT_EQ("", r3.data);
  EXPECT_TRUE(r3.eof);
}

TEST_F(Nfs3ProceduresTest, ReadOfLargeFileAcrossSeveralCallsMatchesDisk) {
  std::string content(300000, '\0');
  for (std::size_t i = 0; i < content.size(); ++i) content[i] = static_cast<char>((i * 131) % 251);
  Fh fh = file_with("big.bin", content);
  std::string got;
  for (std::uint64_t off = 0;;) {
    auto r = nfs_->read(fh, off, 65536);
    ASSERT_NFS(NFS3_OK, r.status);
    got += r.data;
    off += r.data.size();
    if (r.eof) break;
    ASSERT_FALSE(r.data.empty());
  }
  EXPECT_TRUE(got == content);
}

TEST_F(Nfs3ProceduresTest, WriteHonoursEveryStableHowWithOneWriteverf) {
  Fh fh = file_with("w.txt", "");
  auto w1 = nfs_->write(fh, 0, "unstable-", UNSTABLE);
  ASSERT_NFS(NFS3_OK, w1.status);
  EXPECT_EQ(9u, w1.WRITE3res_u.resok.count);
  EXPECT_GE(w1.WRITE3res_u.resok.committed, UNSTABLE);

  auto w2 = nfs_->write(fh, 9, "datasync-", DATA_SYNC);
  ASSERT_NFS(NFS3_OK, w2.status);
  EXPECT_EQ(9u, w2.WRITE3res_u.resok.count);
  EXPECT_GE(w2.WRITE3res_u.resok.committed, DATA_SYNC);

  auto w3 = nfs_->write(fh, 18, "filesync", FILE_SYNC);
  ASSERT_NFS(NFS3_OK, w3.status);
  EXPECT_EQ(8u, w3.WRITE3res_u.resok.count);
  EXPECT_EQ(FILE_SYNC, w3.WRITE3res_u.resok.committed);
  ASSERT_TRUE(w3.WRITE3res_u.resok.file_wcc.after.attributes_follow);
  EXPECT_EQ(26u, w3.WRITE3res_u.resok.file_wcc.after.post_op_attr_u.attributes.size);

  EXPECT_EQ(0, std::memcmp(w1.WRITE3res_u.resok.verf, w2.WRITE3res_u.resok.verf, NFS3_WRITEVERFSIZE));
  EXPECT_EQ(0, std::memcmp(w1.WRITE3res_u.resok.verf, w3.WRITE3res_u.resok.verf, NFS3_WRITEVERFSIZE));

  auto c = nfs_->commit(fh, 0, 0);
  ASSERT_NFS(NFS3_OK, c.status);
  EXPECT_EQ(0, std::memcmp(w1.WRITE3res_u.resok.verf, c.COMMIT3res_u.resok.verf, NFS3_WRITEVERFSIZE));
  EXPECT_EQ("unstable-datasync-filesync", read_disk(disk("w.txt")));
}

TEST_F(Nfs3ProceduresTest, CreateUncheckedTwiceSucceeds) {
  auto c1 = nfs_->create(root_, "u.txt", UNCHECKED, 0640);
  ASSERT_NFS(NFS3_OK, c1.status);
  ASSERT_FALSE(c1.fh.empty());
  EXPECT_EQ(0640u, stat_of(disk("u.txt")).st_mode & 07777);
  EXPECT_TRUE(S_ISREG(stat_of(disk("u.txt")).st_mode));
  auto c2 = nfs_->create(root_, "u.txt", UNCHECKED, 0640);
  ASSERT_NFS(NFS3_OK, c2.status);
  EXPECT_EQ(c1.fh, c2.fh);
}

TEST_F(Nfs3ProceduresTest, CreateGuardedRefusesAnExistingName) {
  ASSERT_NFS(NFS3_OK, nfs_->create(root_, "g.txt", GUARDED).status);
  EXPECT_NFS(NFS3ERR_EXIST, nfs_->create(root_, "g.txt", GUARDED).status);
}

TEST_F(Nfs3ProceduresTest, CreateExclusiveIsIdempotentForTheSameVerifierOnly) {
  const char verf_a[NFS3_CREATEVERFSIZE] = {1, 2, 3, 4, 5, 6, 7, 8};
  const char verf_b[NFS3_CREATEVERFSIZE] = {8, 7, 6, 5, 4, 3, 2, 1};
  auto c1 = nfs_->create(root_, "x.txt", EXCLUSIVE, 0, verf_a);
  ASSERT_NFS(NFS3_OK, c1.status);
  ASSERT_FALSE(c1.fh.empty());
  auto c2 = nfs_->create(root_, "x.txt", EXCLUSIVE, 0, verf_a);  // a retransmission
  ASSERT_NFS(NFS3_OK, c2.status);
  EXPECT_EQ(c1.fh, c2.fh);
  EXPECT_NFS(NFS3ERR_EXIST, nfs_->create(root_, "x.txt", EXCLUSIVE, 0, verf_b).status);
  // After the client's SETATTR the file is an ordinary file.
  EXPECT_TRUE(S_ISREG(stat_of(disk("x.txt")).st_mode));
}

TEST_F(Nfs3ProceduresTest, MkdirCreatesADirectory) {
  auto m = nfs_->mkdir(root_, "sub", 0750);
  ASSERT_NFS(NFS3_OK, m.status);
  ASSERT_TRUE(m.attr.has_value());
  EXPECT_EQ(NF3DIR, m.attr->type);
  const struct stat st = stat_of(disk("sub"));
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  EXPECT_EQ(0750u, st.st_mode & 07777);
  EXPECT_NFS(NFS3_OK, nfs_->create(m.fh, "inside", GUARDED).status);
  EXPECT_TRUE(std::filesystem::exists(disk("sub/inside")));
  EXPECT_NFS(NFS3ERR_EXIST, nfs_->mkdir(root_, "sub").status);
}

TEST_F(Nfs3ProceduresTest, SymlinkStoresTheTargetAndReadlinkReturnsIt) {
  auto s = nfs_->symlink(root_, "ln", "some/where/else");
  ASSERT_NFS(NFS3_OK, s.status);
  EXPECT_TRUE(S_ISLNK(stat_of(disk("ln")).st_mode));
  EXPECT_EQ("some/where/else", std::filesystem::read_symlink(disk("ln")).string());
  Fh fh = s.fh.empty() ? nfs_->lookup(root_, "ln").fh : s.fh;
  auto r = nfs_->readlink(fh);
  ASSERT_NFS(NFS3_OK, r.status);
  EXPECT_EQ("some/where/else", r.target);
  auto a = nfs_->getattr(fh);
  ASSERT_NFS(NFS3_OK, a.status);
  EXPECT_EQ(NF3LNK, a.GETATTR3res_u.resok.obj_attributes.type);
}

TEST_F(Nfs3ProceduresTest, MknodCreatesAFifo) {
  auto m = nfs_->mknod_fifo(root_, "pipe", 0600);
  ASSERT_NFS(NFS3_OK, m.status);
  const struct stat st = stat_of(disk("pipe"));
  EXPECT_TRUE(S_ISFIFO(st.st_mode));
  EXPECT_EQ(0600u, st.st_mode & 07777);
  auto l = nfs_->lookup(root_, "pipe");
  ASSERT_NFS(NFS3_OK, l.status);
  ASSERT_TRUE(l.attr.has_value());
  EXPECT_EQ(NF3FIFO, l.attr->type);
}

TEST_F(Nfs3ProceduresTest, RemoveDeletesAFileAndMissingNameIsNoent) {
  file_with("gone.txt", "bye");
  auto r = nfs_->remove(root_, "gone.txt");
  ASSERT_NFS(NFS3_OK, r.status);
  EXPECT_FALSE(std::filesystem::exists(disk("gone.txt")));
  EXPECT_NFS(NFS3ERR_NOENT, nfs_->remove(root_, "gone.txt").status);
}

TEST_F(Nfs3ProceduresTest, RmdirRemovesOnlyEmptyDirectories) {
  std::filesystem::create_directory(disk("empty"));
  std::filesystem::create_directory(disk("full"));
  write_file(disk("full/f"), "x");
  EXPECT_NFS(NFS3_OK, nfs_->rmdir(root_, "empty").status);
  EXPECT_FALSE(std::filesystem::exists(disk("empty")));
  EXPECT_NFS(NFS3ERR_NOTEMPTY, nfs_->rmdir(root_, "full").status);
  EXPECT_TRUE(std::filesystem::exists(disk("full/f")));
  EXPECT_NFS(NFS3ERR_NOENT, nfs_->rmdir(root_, "empty").status);
}

TEST_F(Nfs3ProceduresTest, RenameMovesBetweenDirectoriesKeepingTheHandle) {
  Fh fh = file_with("old.txt", "moving");
  auto sub = nfs_->mkdir(root_, "to");
  ASSERT_NFS(NFS3_OK, sub.status);
  ASSERT_NFS(NFS3_OK, nfs_->rename(root_, "old.txt", sub.fh, "new.txt").status);
  EXPECT_FALSE(std::filesystem::exists(disk("old.txt")));
  EXPECT_EQ("moving", read_disk(disk("to/new.txt")));
  auto r = nfs_->read(fh, 0, 100);  // handles name the object, not the path
  ASSERT_NFS(NFS3_OK, r.status);
  EXPECT_EQ("moving", r.data);
  EXPECT_NFS(NFS3ERR_NOENT, nfs_->rename(root_, "old.txt", root_, "x").status);
}

TEST_F(Nfs3ProceduresTest, LinkAddsASecondNameToTheFile) {
  Fh fh = file_with("orig", "linked");
  auto l = nfs_->link(fh, root_, "alias");
  ASSERT_NFS(NFS3_OK, l.status);
  ASSERT_TRUE(l.LINK3res_u.resok.file_attributes.attributes_follow);
  EXPECT_EQ(2u, l.LINK3res_u.resok.file_attributes.post_op_attr_u.attributes.nlink);
  EXPECT_EQ(stat_of(disk("orig")).st_ino, stat_of(disk("alias")).st_ino);
  EXPECT_NFS(NFS3ERR_EXIST, nfs_->link(fh, root_, "alias").status);
}

class LargeDirectoryTest : public Nfs3ProceduresTest {
 protected:
  static constexpr int kEntries = 2000;
  void SetUp() override {
    Nfs3ProceduresTest::SetUp();
    std::filesystem::create_directory(disk("many"));
    for (int i = 0; i < kEntries; ++i) {
      int fd = ::open((disk("many") / ("entry-" + std::to_string(i))).c_str(),
                      O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
      ASSERT_GE(fd, 0);
      ::close(fd);
    }
    auto l = nfs_->lookup(root_, "many");
    ASSERT_NFS(NFS3_OK, l.status);
    dir_ = l.fh;
  }
  /// Checks that every created name was seen exactly once and nothing else
  /// but "." and "..".
  static void expect_each_once(const std::vector<DirEntry>& all) {
    std::map<std::string, int> seen;
    for (const auto& e : all) ++seen[e.name];
    for (int i = 0; i < kEntries; ++i) {
      const std::string n = "entry-" + std::to_string(i);
      EXPECT_EQ(1, seen[n]) << n;
      seen.erase(n);
    }
    for (const auto& [name, count] : seen) {
      EXPECT_TRUE(name == "." || name == "..") << "unexpected entry " << name;
      EXPECT_EQ(1, count) << name;
    }
  }
  Fh dir_;
};

TEST_F(LargeDirectoryTest, ReaddirInSmallChunksSeesEveryEntryOnce) {
  std::vector<DirEntry> all;
  std::array<char, NFS3_COOKIEVERFSIZE> verf{};
  std::uint64_t cookie = 0;
  int calls = 0;
  for (;;) {
    auto r = nfs_->readdir(dir_, cookie, verf.data(), 4096);
    ASSERT_NFS(NFS3_OK, r.status);
    ASSERT_LT(++calls, 1000) << "no progress";
    if (calls > 1) {
      EXPECT_EQ(verf, r.cookieverf) << "cookieverf changed for an unchanged directory";
    }
    verf = r.cookieverf;
    for (auto& e : r.entries) {
      EXPECT_EQ(stat_of(disk("many") / e.name).st_ino, e.fileid) << e.name;
      all.push_back(e);
    }
    if (r.eof) break;
    ASSERT_FALSE(r.entries.empty());
    cookie = r.entries.back().cookie;
  }
  EXPECT_GT(calls, 5);
  expect_each_once(all);
}

TEST_F(LargeDirectoryTest, ReaddirplusInSmallChunksReturnsUsableHandles) {
  std::vector<DirEntry> all;
  std::array<char, NFS3_COOKIEVERFSIZE> verf{};
  std::uint64_t cookie = 0;
  int calls = 0;
  for (;;) {
    auto r = nfs_->readdirplus(dir_, cookie, verf.data(), 2048, 8192);
    ASSERT_NFS(NFS3_OK, r.status);
    ASSERT_LT(++calls, 2000) << "no progress";
    verf = r.cookieverf;
    all.insert(all.end(), r.entries.begin(), r.entries.end());
    if (r.eof) break;
    ASSERT_FALSE(r.entries.empty());
    cookie = r.entries.back().cookie;
  }
  EXPECT_GT(calls, 5);
  expect_each_once(all);
  int checked = 0;
  for (const auto& e : all) {
    if (e.name.rfind("entry-", 0) != 0) continue;
    ASSERT_FALSE(e.fh.empty()) << e.name;
    ASSERT_TRUE(e.attr.has_value()) << e.name;
    EXPECT_EQ(NF3REG, e.attr->type);
    if (checked++ < 5) {  // the handle is the one LOOKUP gives
      EXPECT_EQ(nfs_->lookup(dir_, e.name).fh, e.fh) << e.name;
    }
  }
}

TEST_F(LargeDirectoryTest, ReaddirWithAForeignCookieverfIsBadCookie) {
  auto first = nfs_->readdir(dir_, 0, nullptr, 1024);
  ASSERT_NFS(NFS3_OK, first.status);
  ASSERT_FALSE(first.eof);
  ASSERT_FALSE(first.entries.empty());
  auto bad = first.cookieverf;
  bad[0] = static_cast<char>(bad[0] ^ 0x55);
  auto r = nfs_->readdir(dir_, first.entries.back().cookie, bad.data(), 1024);
  EXPECT_NFS(NFS3ERR_BAD_COOKIE, r.status);
  // The genuine verifier continues where the first call stopped.
  auto ok = nfs_->readdir(dir_, first.entries.back().cookie, first.cookieverf.data(), 1024);
  ASSERT_NFS(NFS3_OK, ok.status);
  ASSERT_FALSE(ok.entries.empty());
  for (const auto& e : ok.entries) {
    for (const auto& f : first.entries) EXPECT_NE(f.name, e.name);
  }
}

TEST_F(Nfs3ProceduresTest, FsstatReportsTheFilesystemSizes) {
  auto r = nfs_->fsstat(root_);
  ASSERT_NFS(NFS3_OK, r.status);
  const auto& ok = r.FSSTAT3res_u.resok;
  EXPECT_GT(ok.tbytes, 0u);
  EXPECT_LE(ok.fbytes, ok.tbytes);
  EXPECT_LE(ok.abytes, ok.fbytes);
  EXPECT_LE(ok.ffiles, ok.tfiles);
}

TEST_F(Nfs3ProceduresTest, FsinfoOffersTheConfiguredTransferSizes) {
  auto r = nfs_->fsinfo(root_);
  ASSERT_NFS(NFS3_OK, r.status);
  const auto& ok = r.FSINFO3res_u.resok;
  EXPECT_EQ(1u << 20, ok.rtmax);  // --max-io-size default
  EXPECT_EQ(1u << 20, ok.wtmax);
  EXPECT_GT(ok.rtpref, 0u);
  EXPECT_LE(ok.rtpref, ok.rtmax);
  EXPECT_GT(ok.dtpref, 0u);
  EXPECT_GT(ok.maxfilesize, 0u);
  EXPECT_TRUE(ok.properties & FSF3_HOMOGENEOUS);
}

TEST_F(Nfs3ProceduresTest, PathconfReportsNameLimits) {
  auto r = nfs_->pathconf(root_);
  ASSERT_NFS(NFS3_OK, r.status);
  const auto& ok = r.PATHCONF3res_u.resok;
  EXPECT_EQ(255u, ok.name_max);
  EXPECT_TRUE(ok.no_trunc);
  EXPECT_TRUE(ok.case_preserving);
  EXPECT_FALSE(ok.case_insensitive);
  EXPECT_GT(ok.linkmax, 1u);
}

TEST_F(Nfs3ProceduresTest, CommitAfterUnstableWritesKeepsTheData) {
  Fh fh = file_with("c.txt", "");
  ASSERT_NFS(NFS3_OK, nfs_->write(fh, 0, "committed data", UNSTABLE).status);
  auto c = nfs_->commit(fh, 0, 14);
  ASSERT_NFS(NFS3_OK, c.status);
  EXPECT_EQ("committed data", read_disk(disk("c.txt")));
}

}  // namespace
}  // namespace nasd::integration
