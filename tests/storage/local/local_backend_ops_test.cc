// LocalBackend: every NFSv3 operation with its main success and error paths
// (RFC 1813 §3.3), including permission checks under client credentials.
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "tests/storage/test_util.h"

namespace nasd::storage {
namespace {

using testing::BackendTest;
using testing::make_cred;
using testing::root_cred;

class OpsTest : public BackendTest {
 protected:
  std::span<const std::uint8_t> bytes(const std::string& s) {
    return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
  }
  FileHandle create_file(const std::string& name, const Credentials& cred = root_cred()) {
    FileHandle fh;
    Attr a;
    WccData w;
    EXPECT_EQ(be_->create(cred, root_, name, CreateMode::kGuarded, {}, {}, &fh, &a, &w),
              Status::kOk);
    return fh;
  }
  std::string read_all(const FileHandle& fh, const Credentials& cred = root_cred()) {
    std::vector<std::uint8_t> buf(4096);
    std::uint32_t n = 0;
    bool eof = false;
    std::optional<Attr> a;
    EXPECT_EQ(be_->read(cred, fh, 0, buf, &n, &eof, &a), Status::kOk);
    return std::string(buf.begin(), buf.begin() + n);
  }
  /// All entries of `dir`, reading with at most `per_call` entries per call.
  std::vector<DirEntry> list(const FileHandle& dir, std::size_t per_call, bool plus,
                             int* calls = nullptr) {
    std::vector<DirEntry> all;
    std::uint64_t cookie = 0;
    Verifier verf{};
    for (int i = 0; i < 10000; ++i) {
      std::vector<DirEntry> page;
      bool eof = false;
      std::optional<Attr> da;
      Verifier out{};
      std::size_t taken = 0;
      auto fits = [&](const DirEntry&) { return taken++ < per_call; };
      EXPECT_EQ(be_->readdir(root_cred(), dir, cookie, verf, plus, fits, &page, &out, &eof, &da),
                Status::kOk);
      if (calls) ++*calls;
      verf = out;
      for (auto& e : page) all.push_back(e);
      if (eof || page.empty()) break;
      cookie = page.back().cookie;
    }
    return all;
  }
};

// --- GETATTR / SETATTR -------------------------------------------------------

TEST_F(OpsTest, SetattrChangesSizeModeOwnerAndTimes) {
  testing::write_file(exp_ / "f", "0123456789");
  FileHandle fh = lookup(root_, "f");
  SetAttr s;
  s.size = 4;
  s.mode = 0640;
  s.uid = 1234;
  s.gid = 4321;
  s.mtime_how = TimeHow::kClientTime;
  s.mtime = Time{1000000, 5};
  WccData w;
  ASSERT_EQ(be_->setattr(root_cred(), fh, s, std::nullopt, &w), Status::kOk);
  ASSERT_TRUE(w.before && w.after);
  EXPECT_EQ(w.before->size, 10u);
  EXPECT_EQ(w.after->size, 4u);
  EXPECT_EQ(w.after->mode, 0640u);
  EXPECT_EQ(w.after->uid, 1234u);
  EXPECT_EQ(w.after->gid, 4321u);
  EXPECT_EQ(w.after->mtime, (Time{1000000, 5}));
  Attr a;
  ASSERT_EQ(be_->getattr(fh, &a), Status::kOk);
  EXPECT_EQ(a.size, 4u);
}

TEST_F(OpsTest, SetattrWithStaleCtimeGuardIsNotSync) {
  testing::write_file(exp_ / "f", "abc");
  FileHandle fh = lookup(root_, "f");
  Attr a;
  ASSERT_EQ(be_->getattr(fh, &a), Status::kOk);
  SetAttr s;
  s.mode = 0600;
  WccData w;
  Time wrong = a.ctime;
  wrong.seconds -= 1;
  EXPECT_EQ(be_->setattr(root_cred(), fh, s, wrong, &w), Status::kNotSync);
  ASSERT_EQ(be_->getattr(fh, &a), Status::kOk);
  EXPECT_EQ(a.mode, 0644u);
  EXPECT_EQ(be_->setattr(root_cred(), fh, s, a.ctime, &w), Status::kOk);
  ASSERT_EQ(be_->getattr(fh, &a), Status::kOk);
  EXPECT_EQ(a.mode, 0600u);
}

TEST_F(OpsTest, SetattrByNonOwnerIsPerm) {
  testing::write_file(exp_ / "f", "abc");
  ASSERT_EQ(::chown((exp_ / "f").c_str(), 1001, 1001), 0);
  FileHandle fh = lookup(root_, "f");
  SetAttr s;
  s.mode = 0777;
  WccData w;
  EXPECT_EQ(be_->setattr(make_cred(1000, 1000), fh, s, std::nullopt, &w), Status::kPerm);
  SetAttr own;
  own.uid = 1000;
  EXPECT_EQ(be_->setattr(make_cred(1001, 1001), fh, own, std::nullopt, &w), Status::kPerm);
}

TEST_F(OpsTest, SetattrSizeOnDirectoryIsIsDir) {
  SetAttr s;
  s.size = 0;
  WccData w;
  EXPECT_EQ(be_->setattr(root_cred(), root_, s, std::nullopt, &w), Status::kIsDir);
}

// --- ACCESS --------------------------------------------------------------------

TEST_F(OpsTest, AccessGrantsByModeBitsForTheCaller) {
  testing::write_file(exp_ / "f", "abc", 0640);
  ASSERT_EQ(::chown((exp_ / "f").c_str(), 1001, 1001), 0);
  FileHandle fh = lookup(root_, "f");
  const std::uint32_t all = 0x3f;
  std::uint32_t granted = 0;
  std::optional<Attr> a;
  ASSERT_EQ(be_->access(make_cred(1001, 1001), fh, all, &granted, &a), Status::kOk);
  EXPECT_EQ(granted, 0x01u | 0x04u | 0x08u);  // READ, MODIFY, EXTEND; no EXECUTE
  ASSERT_EQ(be_->access(make_cred(1000, 1001), fh, all, &granted, &a), Status::kOk);
  EXPECT_EQ(granted, 0x01u);  // group: READ only
  ASSERT_EQ(be_->access(make_cred(1000, 1000), fh, all, &granted, &a), Status::kOk);
  EXPECT_EQ(granted, 0u);
  ASSERT_EQ(be_->access(make_cred(1001, 1001), root_, all, &granted, &a), Status::kOk);
  EXPECT_EQ(granted, 0x01u | 0x02u);  // 0755 root-owned dir: READ, LOOKUP
}

// --- READLINK ------------------------------------------------------------------

TEST_F(OpsTest, ReadlinkOfRegularFileIsInval) {
  testing::write_file(exp_ / "f", "");
  std::string t;
  std::optional<Attr> a;
  EXPECT_EQ(be_->readlink(root_cred(), lookup(root_, "f"), &t, &a), Status::kInval);
}

// --- READ / WRITE / COMMIT -----------------------------------------------------

TEST_F(OpsTest, WriteFileSyncReportsFileSyncAndReadsBack) {
  FileHandle fh = create_file("f");
  std::uint32_t count = 0;
  StableHow committed = StableHow::kUnstable;
  WccData w;
  ASSERT_EQ(be_->write(root_cred(), fh, 0, bytes("hello world"), StableHow::kFileSync, &count,
                       &committed, &w),
            Status::kOk);
  EXPECT_EQ(count, 11u);
  EXPECT_EQ(committed, StableHow::kFileSync);
  ASSERT_TRUE(w.before && w.after);
  EXPECT_EQ(w.before->size, 0u);
  EXPECT_EQ(w.after->size, 11u);
  EXPECT_EQ(read_all(fh), "hello world");
}

TEST_F(OpsTest, UnstableWriteThenCommit) {
  FileHandle fh = create_file("f");
  std::uint32_t count = 0;
  StableHow committed = StableHow::kFileSync;
  WccData w;
  ASSERT_EQ(be_->write(root_cred(), fh, 5, bytes("xyz"), StableHow::kUnstable, &count, &committed, &w),
            Status::kOk);
  EXPECT_EQ(committed, StableHow::kUnstable);
  EXPECT_EQ(w.after->size, 8u);
  WccData cw;
  ASSERT_EQ(be_->commit(root_cred(), fh, 0, 0, &cw), Status::kOk);
  ASSERT_TRUE(cw.after);
  EXPECT_EQ(cw.after->size, 8u);
  EXPECT_EQ(read_all(fh), std::string(5, '\0') + "xyz");
}

TEST_F(OpsTest, ReadReportsEofAndOffset) {
  testing::write_file(exp_ / "f", "0123456789");
  FileHandle fh = lookup(root_, "f");
  std::vector<std::uint8_t> buf(4);
  std::uint32_t n = 0;
  bool eof = true;
  std::optional<Attr> a;
  ASSERT_EQ(be_->read(root_cred(), fh, 2, buf, &n, &eof, &a), Status::kOk);
  EXPECT_EQ(n, 4u);
  EXPECT_FALSE(eof);
  EXPECT_EQ(std::string(buf.begin(), buf.end()), "2345");
  ASSERT_EQ(be_->read(root_cred(), fh, 6, buf, &n, &eof, &a), Status::kOk);
  EXPECT_EQ(n, 4u);
  EXPECT_TRUE(eof);
  ASSERT_EQ(be_->read(root_cred(), fh, 100, buf, &n, &eof, &a), Status::kOk);
  EXPECT_EQ(n, 0u);
  EXPECT_TRUE(eof);
}

TEST_F(OpsTest, OtherUserCannotReadPrivateFile) {
  testing::write_file(exp_ / "secret", "top secret", 0600);
  ASSERT_EQ(::chown((exp_ / "secret").c_str(), 1001, 1001), 0);
  FileHandle fh = lookup(root_, "secret");
  std::vector<std::uint8_t> buf(64);
  std::uint32_t n = 0;
  bool eof = false;
  std::optional<Attr> a;
  EXPECT_EQ(be_->read(make_cred(1000, 1000), fh, 0, buf, &n, &eof, &a), Status::kAccess);
  EXPECT_EQ(n, 0u);
  EXPECT_EQ(read_all(fh, make_cred(1001, 1001)), "top secret");
  std::uint32_t count = 0;
  StableHow committed;
  WccData w;
  EXPECT_EQ(be_->write(make_cred(1000, 1000), fh, 0, bytes("x"), StableHow::kUnstable, &count,
                       &committed, &w),
            Status::kAccess);
}

TEST_F(OpsTest, OwnerMayWriteOwnReadOnlyFile) {
  testing::write_file(exp_ / "ro", "", 0444);
  ASSERT_EQ(::chown((exp_ / "ro").c_str(), 1001, 1001), 0);
  FileHandle fh = lookup(root_, "ro");
  std::uint32_t count = 0;
  StableHow committed;
  WccData w;
  EXPECT_EQ(be_->write(make_cred(1001, 1001), fh, 0, bytes("ok"), StableHow::kUnstable, &count,
                       &committed, &w),
            Status::kOk);
  EXPECT_EQ(be_->write(make_cred(1000, 1000), fh, 0, bytes("no"), StableHow::kUnstable, &count,
                       &committed, &w),
            Status::kAccess);
  EXPECT_EQ(read_all(fh), "ok");
}

TEST_F(OpsTest, ReadOfDirectoryIsIsDir) {
  std::vector<std::uint8_t> buf(4);
  std::uint32_t n;
  bool eof;
  std::optional<Attr> a;
  EXPECT_EQ(be_->read(root_cred(), root_, 0, buf, &n, &eof, &a), Status::kIsDir);
}

// --- CREATE --------------------------------------------------------------------

TEST_F(OpsTest, CreateGuardedOnExistingIsExist) {
  create_file("f");
  FileHandle fh;
  Attr a;
  WccData w;
  EXPECT_EQ(be_->create(root_cred(), root_, "f", CreateMode::kGuarded, {}, {}, &fh, &a, &w),
            Status::kExist);
}

TEST_F(OpsTest, CreateUncheckedOnExistingSucceedsAndTruncatesWhenAsked) {
  testing::write_file(exp_ / "f", "contents");
  FileHandle orig = lookup(root_, "f");
  FileHandle fh;
  Attr a;
  WccData w;
  SetAttr s;
  s.size = 0;
  ASSERT_EQ(be_->create(root_cred(), root_, "f", CreateMode::kUnchecked, s, {}, &fh, &a, &w),
            Status::kOk);
  EXPECT_EQ(fh, orig);
  EXPECT_EQ(a.size, 0u);
}

TEST_F(OpsTest, CreateAppliesModeAndFillsWcc) {
  SetAttr s;
  s.mode = 0666;  // not reduced by the server's umask
  FileHandle fh;
  Attr a;
  WccData w;
  ASSERT_EQ(be_->create(make_cred(0, 0), root_, "f", CreateMode::kUnchecked, s, {}, &fh, &a, &w),
            Status::kOk);
  EXPECT_EQ(a.mode, 0666u);
  EXPECT_EQ(a.type, FileType::kReg);
  ASSERT_TRUE(w.before && w.after);
  Attr root_attr;
  ASSERT_EQ(be_->getattr(root_, &root_attr), Status::kOk);
  EXPECT_EQ(w.after->fileid, root_attr.fileid);  // wcc of the parent directory
  EXPECT_EQ(w.after->ctime, root_attr.ctime);
  EXPECT_EQ(lookup(root_, "f"), fh);
}

TEST_F(OpsTest, CreateExclusiveRetryWithSameVerifierSucceeds) {
  Verifier v = {1, 2, 3, 4, 5, 6, 7, 8};
  FileHandle first, again;
  Attr a;
  WccData w;
  ASSERT_EQ(be_->create(root_cred(), root_, "x", CreateMode::kExclusive, {}, v, &first, &a, &w),
            Status::kOk);
  ASSERT_EQ(be_->create(root_cred(), root_, "x", CreateMode::kExclusive, {}, v, &again, &a, &w),
            Status::kOk);
  EXPECT_EQ(first, again);
  Verifier other = {8, 7, 6, 5, 4, 3, 2, 1};
  EXPECT_EQ(be_->create(root_cred(), root_, "x", CreateMode::kExclusive, {}, other, &again, &a, &w),
            Status::kExist);
  testing::write_file(exp_ / "plain", "");
  EXPECT_EQ(be_->create(root_cred(), root_, "plain", CreateMode::kExclusive, {}, v, &again, &a, &w),
            Status::kExist);
}

TEST_F(OpsTest, CreateInOthersDirectoryIsAccess) {
  ASSERT_EQ(::mkdir((exp_ / "d").c_str(), 0755), 0);
  ASSERT_EQ(::chown((exp_ / "d").c_str(), 1001, 1001), 0);
  FileHandle d = lookup(root_, "d");
  FileHandle fh;
  Attr a;
  WccData w;
  EXPECT_EQ(be_->create(make_cred(1000, 1000), d, "f", CreateMode::kUnchecked, {}, {}, &fh, &a, &w),
            Status::kAccess);
  ASSERT_EQ(be_->create(make_cred(1001, 1001), d, "f", CreateMode::kUnchecked, {}, {}, &fh, &a, &w),
            Status::kOk);
  EXPECT_EQ(a.uid, 1001u);  // created with the caller's identity
  EXPECT_EQ(a.gid, 1001u);
}

TEST_F(OpsTest, CreateOverSymlinkDoesNotFollowIt) {
  ASSERT_EQ(::symlink("/tmp/nasd-should-not-exist", (exp_ / "l").c_str()), 0);
  FileHandle fh;
  Attr a;
  WccData w;
  EXPECT_EQ(be_->create(root_cred(), root_, "l", CreateMode::kUnchecked, {}, {}, &fh, &a, &w),
            Status::kExist);
  EXPECT_NE(::access("/tmp/nasd-should-not-exist", F_OK), 0);
}

// --- MKDIR / SYMLINK / MKNOD ---------------------------------------------------

TEST_F(OpsTest, MkdirCreatesAndExistingIsExist) {
  FileHandle d;
  Attr a;
  WccData w;
  SetAttr s;
  s.mode = 0777;
  ASSERT_EQ(be_->mkdir(root_cred(), root_, "d", s, &d, &a, &w), Status::kOk);
  EXPECT_EQ(a.type, FileType::kDir);
  EXPECT_EQ(a.mode, 0777u);
  EXPECT_EQ(be_->mkdir(root_cred(), root_, "d", s, &d, &a, &w), Status::kExist);
  ASSERT_TRUE(w.after);
  EXPECT_EQ(w.after->nlink, 3u);  // ".", "..", and "d"/".."
}

TEST_F(OpsTest, SymlinkStoresTargetVerbatim) {
  FileHandle l;
  Attr a;
  WccData w;
  const std::string target = "../../weird//target/./x";
  ASSERT_EQ(be_->symlink(root_cred(), root_, "l", target, {}, &l, &a, &w), Status::kOk);
  EXPECT_EQ(a.type, FileType::kLnk);
  std::string got;
  std::optional<Attr> la;
  ASSERT_EQ(be_->readlink(root_cred(), l, &got, &la), Status::kOk);
  EXPECT_EQ(got, target);
  EXPECT_EQ(be_->symlink(root_cred(), root_, "l", "x", {}, &l, &a, &w), Status::kExist);
}

TEST_F(OpsTest, MknodFifoAndDeviceAndBadType) {
  FileHandle fh;
  Attr a;
  WccData w;
  ASSERT_EQ(be_->mknod(root_cred(), root_, "fifo", FileType::kFifo, {}, 0, 0, &fh, &a, &w),
            Status::kOk);
  EXPECT_EQ(a.type, FileType::kFifo);
  ASSERT_EQ(be_->mknod(root_cred(), root_, "null", FileType::kChr, {}, 1, 3, &fh, &a, &w),
            Status::kOk);
  EXPECT_EQ(a.type, FileType::kChr);
  EXPECT_EQ(a.rdev_major, 1u);
  EXPECT_EQ(a.rdev_minor, 3u);
  EXPECT_EQ(be_->mknod(root_cred(), root_, "r", FileType::kReg, {}, 0, 0, &fh, &a, &w),
            Status::kBadType);
  ::chmod(exp_.path().c_str(), 0777);
  EXPECT_EQ(be_->mknod(make_cred(1000, 1000), root_, "dev", FileType::kBlk, {}, 8, 0, &fh, &a, &w),
            Status::kPerm);  // CAP_MKNOD is gone under a non-root fsuid
}

// --- REMOVE / RMDIR ------------------------------------------------------------

TEST_F(OpsTest, RemoveDeletesAndMissingIsNoEnt) {
  FileHandle fh = create_file("f");
  WccData w;
  ASSERT_EQ(be_->remove(root_cred(), root_, "f", &w), Status::kOk);
  ASSERT_TRUE(w.before && w.after);
  Attr a;
  EXPECT_EQ(be_->getattr(fh, &a), Status::kStale);
  EXPECT_EQ(be_->remove(root_cred(), root_, "f", &w), Status::kNoEnt);
}

TEST_F(OpsTest, RemoveInOthersDirectoryIsAccess) {
  testing::write_file(exp_ / "f", "");
  WccData w;
  EXPECT_EQ(be_->remove(make_cred(1000, 1000), root_, "f", &w), Status::kAccess);
  EXPECT_EQ(::access((exp_ / "f").c_str(), F_OK), 0);
}

TEST_F(OpsTest, RmdirNonEmptyIsNotEmpty) {
  ASSERT_EQ(::mkdir((exp_ / "d").c_str(), 0755), 0);
  testing::write_file(exp_ / "d/f", "");
  WccData w;
  EXPECT_EQ(be_->rmdir(root_cred(), root_, "d", &w), Status::kNotEmpty);
  ASSERT_EQ(::unlink((exp_ / "d/f").c_str()), 0);
  EXPECT_EQ(be_->rmdir(root_cred(), root_, "d", &w), Status::kOk);
  EXPECT_EQ(be_->rmdir(root_cred(), root_, "d", &w), Status::kNoEnt);
}

// --- RENAME / LINK -------------------------------------------------------------

TEST_F(OpsTest, RenameMovesAndKeepsHandle) {
  FileHandle fh = create_file("a");
  ASSERT_EQ(::mkdir((exp_ / "d").c_str(), 0755), 0);
  FileHandle d = lookup(root_, "d");
  WccData fw, tw;
  ASSERT_EQ(be_->rename(root_cred(), root_, "a", d, "b", &fw, &tw), Status::kOk);
  ASSERT_TRUE(fw.after && tw.after);
  EXPECT_EQ(lookup(d, "b"), fh);
  EXPECT_EQ(be_->rename(root_cred(), root_, "a", d, "c", &fw, &tw), Status::kNoEnt);
}

TEST_F(OpsTest, RenameAndLinkAcrossExportsAreXdev) {
  testing::TempDir other;
  ASSERT_EQ(be_->add_export(2, other.path()), Status::kOk);
  FileHandle other_root;
  ASSERT_EQ(be_->root_handle(2, &other_root), Status::kOk);
  FileHandle fh = create_file("a");
  WccData fw, tw;
  EXPECT_EQ(be_->rename(root_cred(), root_, "a", other_root, "a", &fw, &tw), Status::kXdev);
  std::optional<Attr> fa;
  EXPECT_EQ(be_->link(root_cred(), fh, other_root, "a", &fa, &tw), Status::kXdev);
}

TEST_F(OpsTest, LinkAddsNameAndExistingIsExist) {
  FileHandle fh = create_file("a");
  std::optional<Attr> fa;
  WccData w;
  ASSERT_EQ(be_->link(root_cred(), fh, root_, "b", &fa, &w), Status::kOk);
  ASSERT_TRUE(fa);
  EXPECT_EQ(fa->nlink, 2u);
  EXPECT_EQ(lookup(root_, "b"), fh);
  EXPECT_EQ(be_->link(root_cred(), fh, root_, "b", &fa, &w), Status::kExist);
}

TEST_F(OpsTest, LinkAsUnprivilegedUserIntoOwnDir) {
  ASSERT_EQ(::mkdir((exp_ / "home").c_str(), 0755), 0);
  ASSERT_EQ(::chown((exp_ / "home").c_str(), 1000, 1000), 0);
  FileHandle home = lookup(root_, "home");
  FileHandle fh;
  Attr a;
  WccData w;
  ASSERT_EQ(be_->create(make_cred(1000, 1000), home, "f", CreateMode::kGuarded, {}, {}, &fh, &a, &w),
            Status::kOk);
  std::optional<Attr> fa;
  ASSERT_EQ(be_->link(make_cred(1000, 1000), fh, home, "g", &fa, &w), Status::kOk);
  EXPECT_EQ(fa->nlink, 2u);
}

// --- READDIR -------------------------------------------------------------------

TEST_F(OpsTest, ReaddirPagesReturnEveryEntryExactlyOnce) {
  std::set<std::string> want = {".", ".."};
  for (int i = 0; i < 57; ++i) {
    std::string n = "file" + std::to_string(i);
    testing::write_file(exp_ / n, "");
    want.insert(n);
  }
  int calls = 0;
  auto all = list(root_, 5, false, &calls);
  EXPECT_GT(calls, 10);
  std::multiset<std::string> got;
  for (auto& e : all) got.insert(e.name);
  EXPECT_EQ(got.size(), want.size());
  EXPECT_EQ(std::set<std::string>(got.begin(), got.end()), want);
  for (auto& e : all) {
    EXPECT_FALSE(e.attr.has_value());
    EXPECT_NE(e.fileid, 0u);
  }
}

TEST_F(OpsTest, ReaddirPlusFillsHandlesAndAttrs) {
  testing::write_file(exp_ / "f", "12345");
  ASSERT_EQ(::mkdir((exp_ / "d").c_str(), 0755), 0);
  auto all = list(root_, 100, true);
  std::map<std::string, DirEntry> by_name;
  for (auto& e : all) by_name[e.name] = e;
  ASSERT_EQ(by_name.size(), 4u);
  ASSERT_TRUE(by_name["f"].handle && by_name["f"].attr);
  EXPECT_EQ(*by_name["f"].handle, lookup(root_, "f"));
  EXPECT_EQ(by_name["f"].attr->size, 5u);
  EXPECT_EQ(by_name["d"].attr->type, FileType::kDir);
  ASSERT_TRUE(by_name[".."].handle);
  EXPECT_EQ(*by_name[".."].handle, root_);  // ".." at the export root is the root
  EXPECT_EQ(*by_name["."].handle, root_);
  EXPECT_EQ(by_name[".."].fileid, by_name["."].fileid);
}

TEST_F(OpsTest, ReaddirWrongVerifierIsBadCookie) {
  for (char c = '0'; c < '5'; ++c) testing::write_file(exp_ / std::string{'f', c}, "");
  std::vector<DirEntry> page;
  bool eof = false;
  std::optional<Attr> da;
  Verifier verf{};
  std::size_t taken = 0;
  auto two = [&](const DirEntry&) { return taken++ < 2; };
  ASSERT_EQ(be_->readdir(root_cred(), root_, 0, Verifier{9, 9, 9, 9, 9, 9, 9, 9}, false, two, &page,
                         &verf, &eof, &da),
            Status::kOk);  // cookie 0 accepts any verifier
  ASSERT_EQ(page.size(), 2u);
  EXPECT_FALSE(eof);
  EXPECT_NE(verf, Verifier{});
  Verifier bad = verf;
  bad[0] ^= 1;
  std::vector<DirEntry> next;
  Verifier out;
  auto any = [](const DirEntry&) { return true; };
  EXPECT_EQ(be_->readdir(root_cred(), root_, page.back().cookie, bad, false, any, &next, &out, &eof, &da),
            Status::kBadCookie);
  EXPECT_EQ(be_->readdir(root_cred(), root_, page.back().cookie, verf, false, any, &next, &out, &eof, &da),
            Status::kOk);
  EXPECT_TRUE(eof);
  EXPECT_EQ(next.size(), 5u);  // 7 entries in all, 2 already returned
}

TEST_F(OpsTest, ReaddirWhenNothingFitsIsTooSmall) {
  std::vector<DirEntry> page;
  bool eof = false;
  std::optional<Attr> da;
  Verifier verf;
  auto none = [](const DirEntry&) { return false; };
  EXPECT_EQ(be_->readdir(root_cred(), root_, 0, {}, false, none, &page, &verf, &eof, &da),
            Status::kTooSmall);
}

TEST_F(OpsTest, ReaddirOfUnreadableDirIsAccess) {
  ASSERT_EQ(::mkdir((exp_ / "d").c_str(), 0700), 0);
  FileHandle d = lookup(root_, "d");
  std::vector<DirEntry> page;
  bool eof = false;
  std::optional<Attr> da;
  Verifier verf;
  auto any = [](const DirEntry&) { return true; };
  EXPECT_EQ(be_->readdir(make_cred(1000, 1000), d, 0, {}, false, any, &page, &verf, &eof, &da),
            Status::kAccess);
}

// --- FSSTAT --------------------------------------------------------------------

TEST_F(OpsTest, FsstatReportsFilesystemSizes) {
  FsStat fs;
  std::optional<Attr> a;
  ASSERT_EQ(be_->fsstat(root_, &fs, &a), Status::kOk);
  EXPECT_GT(fs.total_bytes, 0u);
  EXPECT_LE(fs.free_bytes, fs.total_bytes);
  EXPECT_LE(fs.avail_bytes, fs.free_bytes);
  EXPECT_GT(fs.total_files, 0u);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->type, FileType::kDir);
  FileHandle forged = root_;
  forged.data[forged.size - 1] ^= 1;
  EXPECT_EQ(be_->fsstat(forged, &fs, &a), Status::kBadHandle);
}

}  // namespace
}  // namespace nasd::storage

namespace nasd::storage {
namespace {

using testing::make_cred;
using testing::root_cred;

TEST_F(OpsTest, SetattrServerTimeAndAccessDeleteOnDirectory) {
  testing::write_file(exp_ / "f", "");
  FileHandle fh = lookup(root_, "f");
  SetAttr old;
  old.atime_how = old.mtime_how = TimeHow::kClientTime;
  old.atime = old.mtime = Time{1000, 0};
  WccData w;
  ASSERT_EQ(be_->setattr(root_cred(), fh, old, std::nullopt, &w), Status::kOk);
  SetAttr now;
  now.mtime_how = TimeHow::kServerTime;
  ASSERT_EQ(be_->setattr(root_cred(), fh, now, std::nullopt, &w), Status::kOk);
  EXPECT_GT(w.after->mtime.seconds, 1000000000u);
  EXPECT_EQ(w.after->atime, (Time{1000, 0}));

  std::uint32_t granted = 0;
  std::optional<Attr> a;
  ASSERT_EQ(be_->access(root_cred(), root_, 0x10 | 0x20, &granted, &a), Status::kOk);
  EXPECT_EQ(granted, 0x10u);  // DELETE on a directory; EXECUTE is for files
  ASSERT_EQ(be_->access(root_cred(), fh, 0x10 | 0x02, &granted, &a), Status::kOk);
  EXPECT_EQ(granted, 0u);  // DELETE/LOOKUP do not apply to files
}

TEST_F(OpsTest, CommitOfFifoIsInvalAndStaleHandleIsStale) {
  FileHandle fifo;
  Attr a;
  WccData w;
  ASSERT_EQ(be_->mknod(root_cred(), root_, "p", FileType::kFifo, {}, 0, 0, &fifo, &a, &w), Status::kOk);
  EXPECT_EQ(be_->commit(root_cred(), fifo, 0, 0, &w), Status::kInval);
  ASSERT_EQ(::unlink((exp_ / "p").c_str()), 0);
  EXPECT_EQ(be_->commit(root_cred(), fifo, 0, 0, &w), Status::kStale);
}

TEST_F(OpsTest, DirectoryHandleSurvivesRestartAndStillLooksUp) {
  ASSERT_EQ(::mkdir((exp_ / "d").c_str(), 0755), 0);
  testing::write_file(exp_ / "d/f", "x");
  FileHandle d = lookup(root_, "d");
  FileHandle f = lookup(d, "f");
  be_ = std::make_unique<LocalBackend>(state_.path());
  ASSERT_EQ(be_->add_export(1, exp_.path()), Status::kOk);
  EXPECT_EQ(lookup(d, "f"), f);
  EXPECT_EQ(lookup(d, ".."), root_);
}

TEST_F(OpsTest, UnrepresentableIdentityIsRefused) {
  testing::write_file(exp_ / "f", "x");
  FileHandle fh = lookup(root_, "f");
  std::vector<std::uint8_t> buf(4);
  std::uint32_t n;
  bool eof;
  std::optional<Attr> a;
  EXPECT_EQ(be_->read(make_cred(0xffffffffu, 0xffffffffu), fh, 0, buf, &n, &eof, &a), Status::kPerm);
}

}  // namespace
}  // namespace nasd::storage
