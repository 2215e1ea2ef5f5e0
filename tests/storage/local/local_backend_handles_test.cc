// LocalBackend: file handles (persistence, forgery, staleness) and export
// confinement.
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>

#include "tests/storage/test_util.h"

namespace nasd::storage {
namespace {

using testing::BackendTest;
using testing::root_cred;
using testing::TempDir;

TEST_F(BackendTest, RootHandleRoundTripsThroughGetattr) {
  Attr a;
  ASSERT_EQ(be_->getattr(root_, &a), Status::kOk);
  struct stat st {};
  ASSERT_EQ(::stat(exp_.path().c_str(), &st), 0);
  EXPECT_EQ(a.type, FileType::kDir);
  EXPECT_EQ(a.fileid, st.st_ino);
  std::uint32_t id = 0;
  ASSERT_EQ(be_->export_of(root_, &id), Status::kOk);
  EXPECT_EQ(id, 1u);
  EXPECT_LE(root_.size, FileHandle::kMaxSize);
}

TEST_F(BackendTest, HandlesAreDeterministic) {
  testing::write_file(exp_ / "f", "data");
  FileHandle a = lookup(root_, "f");
  FileHandle b = lookup(root_, "f");
  EXPECT_EQ(a, b);
  FileHandle r2;
  ASSERT_EQ(be_->root_handle(1, &r2), Status::kOk);
  EXPECT_EQ(r2, root_);
}

TEST_F(BackendTest, HandleSurvivesRestartWithSameStateDir) {
  testing::write_file(exp_ / "f", "data");
  FileHandle fh = lookup(root_, "f");
  be_.reset();
  LocalBackend again(state_.path());
  ASSERT_EQ(again.add_export(1, exp_.path()), Status::kOk);
  Attr a;
  ASSERT_EQ(again.getattr(fh, &a), Status::kOk);
  EXPECT_EQ(a.size, 4u);
  struct stat st {};
  ASSERT_EQ(::stat((state_ / "handle.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(st.st_size, 16);
}

TEST_F(BackendTest, HandleFromOtherStateDirIsBadHandle) {
  TempDir other_state;
  LocalBackend other(other_state.path());
  ASSERT_EQ(other.add_export(1, exp_.path()), Status::kOk);
  Attr a;
  EXPECT_EQ(other.getattr(root_, &a), Status::kBadHandle);
}

TEST_F(BackendTest, EmptyStateDirGivesPerProcessKey) {
  LocalBackend a(""), b("");
  ASSERT_EQ(a.add_export(1, exp_.path()), Status::kOk);
  ASSERT_EQ(b.add_export(1, exp_.path()), Status::kOk);
  FileHandle ra;
  ASSERT_EQ(a.root_handle(1, &ra), Status::kOk);
  Attr attr;
  EXPECT_EQ(a.getattr(ra, &attr), Status::kOk);
  EXPECT_EQ(b.getattr(ra, &attr), Status::kBadHandle);
}

TEST_F(BackendTest, FlippedByteIsBadHandle) {
  testing::write_file(exp_ / "f", "data");
  FileHandle fh = lookup(root_, "f");
  for (std::size_t i = 0; i < fh.size; ++i) {
    FileHandle bad = fh;
    bad.data[i] ^= 0x80;
    Attr a;
    EXPECT_EQ(be_->getattr(bad, &a), Status::kBadHandle) << "byte " << i;
    std::uint32_t id;
    EXPECT_EQ(be_->export_of(bad, &id), Status::kBadHandle);
  }
}

TEST_F(BackendTest, UnknownExportIsStale) {
  LocalBackend no_exports(state_.path());  // same key, export 1 not registered
  Attr a;
  EXPECT_EQ(no_exports.getattr(root_, &a), Status::kStale);
  std::uint32_t id;
  EXPECT_EQ(no_exports.export_of(root_, &id), Status::kStale);
  FileHandle fh;
  EXPECT_EQ(be_->root_handle(99, &fh), Status::kStale);
}

TEST_F(BackendTest, DeletedFileIsStale) {
  testing::write_file(exp_ / "gone", "data");
  FileHandle fh = lookup(root_, "gone");
  ASSERT_EQ(::unlink((exp_ / "gone").c_str()), 0);
  Attr a;
  EXPECT_EQ(be_->getattr(fh, &a), Status::kStale);
}

TEST_F(BackendTest, DeletedFileIsStaleEvenRightAfterItsHandleWasUsed) {
  testing::write_file(exp_ / "gone", "data");
  FileHandle fh = lookup(root_, "gone");
  Attr a;
  ASSERT_EQ(be_->getattr(fh, &a), Status::kOk);  // resolved once: cached descriptor
  ASSERT_EQ(::unlink((exp_ / "gone").c_str()), 0);
  EXPECT_EQ(be_->getattr(fh, &a), Status::kStale);
}

/// Descriptors of this process that point at a deleted file named `name`.
int open_deleted(const std::string& name) {
  int n = 0;
  for (const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) {
    std::error_code ec;
    auto target = std::filesystem::read_symlink(e.path(), ec).string();
    if (!ec && target.find(name) != std::string::npos &&
        target.find("(deleted)") != std::string::npos) {
      ++n;
    }
  }
  return n;
}

TEST_F(BackendTest, RemoveAndRenameOverDoNotKeepTheVictimOpen) {
  testing::write_file(exp_ / "victim-rm", "data");
  testing::write_file(exp_ / "victim-mv", "data");
  testing::write_file(exp_ / "source", "new");
  Attr a;
  FileHandle rm = lookup(root_, "victim-rm"), mv = lookup(root_, "victim-mv");
  ASSERT_EQ(be_->getattr(rm, &a), Status::kOk);
  ASSERT_EQ(be_->getattr(mv, &a), Status::kOk);
  WccData w1, w2;
  ASSERT_EQ(be_->remove(root_cred(), root_, "victim-rm", &w1), Status::kOk);
  ASSERT_EQ(be_->rename(root_cred(), root_, "source", root_, "victim-mv", &w1, &w2), Status::kOk);
  EXPECT_EQ(open_deleted("victim-rm"), 0);  // its blocks are free now
  EXPECT_EQ(open_deleted("victim-mv"), 0);
  EXPECT_EQ(be_->getattr(rm, &a), Status::kStale);
  EXPECT_EQ(be_->getattr(mv, &a), Status::kStale);
}

TEST_F(BackendTest, AddExportOfMissingPathFails) {
  EXPECT_EQ(be_->add_export(2, exp_ / "missing"), Status::kNoEnt);
  testing::write_file(exp_ / "file", "");
  EXPECT_EQ(be_->add_export(3, exp_ / "file"), Status::kNotDir);
  EXPECT_EQ(be_->add_export(1, exp_.path()), Status::kExist);
}

TEST_F(BackendTest, DotDotAtRootYieldsRoot) {
  FileHandle fh;
  Attr a;
  std::optional<Attr> da;
  ASSERT_EQ(be_->lookup(root_cred(), root_, "..", &fh, &a, &da), Status::kOk);
  EXPECT_EQ(fh, root_);
  ASSERT_EQ(be_->lookup(root_cred(), root_, ".", &fh, &a, &da), Status::kOk);
  EXPECT_EQ(fh, root_);
}

TEST_F(BackendTest, DotDotBelowRootYieldsParent) {
  ASSERT_EQ(::mkdir((exp_ / "sub").c_str(), 0755), 0);
  FileHandle sub = lookup(root_, "sub");
  EXPECT_EQ(lookup(sub, ".."), root_);
}

TEST_F(BackendTest, SymlinkOutsideExportIsReturnedAsLinkAndNotTraversed) {
  ASSERT_EQ(::symlink("/etc", (exp_ / "etc").c_str()), 0);
  FileHandle link;
  Attr a;
  std::optional<Attr> da;
  ASSERT_EQ(be_->lookup(root_cred(), root_, "etc", &link, &a, &da), Status::kOk);
  EXPECT_EQ(a.type, FileType::kLnk);
  std::string target;
  std::optional<Attr> la;
  ASSERT_EQ(be_->readlink(root_cred(), link, &target, &la), Status::kOk);
  EXPECT_EQ(target, "/etc");
  FileHandle inside;
  EXPECT_EQ(be_->lookup(root_cred(), link, "passwd", &inside, &a, &da), Status::kNotDir);
}

TEST_F(BackendTest, AbsoluteSymlinkInsideDirIsNotFollowed) {
  ASSERT_EQ(::symlink("/etc/passwd", (exp_ / "pw").c_str()), 0);
  FileHandle fh = lookup(root_, "pw");
  std::uint8_t buf[16];
  std::uint32_t n = 0;
  bool eof = false;
  std::optional<Attr> a;
  EXPECT_EQ(be_->read(root_cred(), fh, 0, buf, &n, &eof, &a), Status::kInval);
  EXPECT_EQ(n, 0u);
}

TEST_F(BackendTest, BadNamesAreRejected) {
  FileHandle fh;
  Attr a;
  std::optional<Attr> da;
  EXPECT_EQ(be_->lookup(root_cred(), root_, "a/b", &fh, &a, &da), Status::kAccess);
  EXPECT_EQ(be_->lookup(root_cred(), root_, "../..", &fh, &a, &da), Status::kAccess);
  EXPECT_EQ(be_->lookup(root_cred(), root_, std::string("a\0b", 3), &fh, &a, &da), Status::kAccess);
  EXPECT_EQ(be_->lookup(root_cred(), root_, "", &fh, &a, &da), Status::kNoEnt);
  EXPECT_EQ(be_->lookup(root_cred(), root_, std::string(256, 'x'), &fh, &a, &da),
            Status::kNameTooLong);
  WccData w;
  EXPECT_EQ(be_->mkdir(root_cred(), root_, "x/y", {}, &fh, &a, &w), Status::kAccess);
}

TEST_F(BackendTest, LookupOfMissingNameIsNoEnt) {
  FileHandle fh;
  Attr a;
  std::optional<Attr> da;
  EXPECT_EQ(be_->lookup(root_cred(), root_, "nothing", &fh, &a, &da), Status::kNoEnt);
  ASSERT_TRUE(da.has_value());
  EXPECT_EQ(da->type, FileType::kDir);
}

TEST_F(BackendTest, LookupInFileIsNotDir) {
  testing::write_file(exp_ / "f", "");
  FileHandle f = lookup(root_, "f");
  FileHandle fh;
  Attr a;
  std::optional<Attr> da;
  EXPECT_EQ(be_->lookup(root_cred(), f, "x", &fh, &a, &da), Status::kNotDir);
}

TEST_F(BackendTest, LookupNeedsSearchPermission) {
  ASSERT_EQ(::mkdir((exp_ / "locked").c_str(), 0700), 0);
  testing::write_file(exp_ / "locked/f", "");
  FileHandle locked = lookup(root_, "locked");
  FileHandle fh;
  Attr a;
  std::optional<Attr> da;
  EXPECT_EQ(be_->lookup(testing::make_cred(1000, 1000), locked, "f", &fh, &a, &da),
            Status::kAccess);
}

}  // namespace
}  // namespace nasd::storage
