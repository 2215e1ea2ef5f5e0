// LocalBackend with its inode-handle and directory-listing caches: what a
// client sees after changes through nasd and behind its back (rename,
// unlink, inode reuse, chmod, new entries) is the directory's current state.
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <thread>

#include "test_util.h"

namespace nasd::storage {
namespace {

using testing::root_cred;
using testing::write_file;

class ReaddirCacheTest : public testing::BackendTest {
 protected:
  /// Full READDIRPLUS listing of `dir` in pages of `per_page` entries, by name.
  std::map<std::string, DirEntry> list(const FileHandle& dir, std::size_t per_page = 1000) {
    std::map<std::string, DirEntry> all;
    std::uint64_t cookie = 0;
    Verifier verf{};
    for (int guard = 0; guard < 10000; ++guard) {
      std::size_t n = 0;
      auto fits = [&](const DirEntry&) { return n++ < per_page; };
      std::vector<DirEntry> page;
      Verifier out{};
      bool eof = false;
      std::optional<Attr> da;
      EXPECT_EQ(be_->readdir(root_cred(), dir, cookie, verf, true, fits, &page, &out, &eof, &da),
                Status::kOk);
      for (auto& e : page) all[e.name] = e;
      if (eof || page.empty()) break;
      cookie = page.back().cookie;
      verf = out;
    }
    return all;
  }
  /// Lets the export directory age past the listing cache's quiet period, so
  /// the next listing is cached (the results must not depend on it).
  static void let_directory_settle() { std::this_thread::sleep_for(std::chrono::milliseconds(250)); }

  Attr getattr_ok(const FileHandle& fh) {
    Attr a;
    EXPECT_EQ(be_->getattr(fh, &a), Status::kOk);
    return a;
  }
};

TEST_F(ReaddirCacheTest, EntryCreatedBehindNasdsBackAppearsInTheNextListing) {
  write_file(exp_ / "a", "1");
  let_directory_settle();
  ASSERT_EQ(list(root_).count("b"), 0u);
  write_file(exp_ / "b", "2");
  auto after = list(root_);
  ASSERT_EQ(after.count("b"), 1u);
  ASSERT_TRUE(after["b"].handle);
  struct stat st {};
  ASSERT_EQ(::stat((exp_ / "b").c_str(), &st), 0);
  EXPECT_EQ(getattr_ok(*after["b"].handle).fileid, st.st_ino);
}

TEST_F(ReaddirCacheTest, RenameBehindNasdsBackShowsTheNewNameWithTheSameHandle) {
  write_file(exp_ / "old", "x");
  let_directory_settle();
  auto before = list(root_);
  ASSERT_TRUE(before["old"].handle);
  ASSERT_EQ(::rename((exp_ / "old").c_str(), (exp_ / "new").c_str()), 0);
  auto after = list(root_);
  EXPECT_EQ(after.count("old"), 0u);
  ASSERT_EQ(after.count("new"), 1u);
  ASSERT_TRUE(after["new"].handle);
  EXPECT_EQ(*after["new"].handle, *before["old"].handle);
}

TEST_F(ReaddirCacheTest, ReplacedFileGetsTheHandleOfTheNewInode) {
  // Unlink and create under the same name (the inode number may be reused):
  // the listing and LOOKUP must name the new file, the old handle is stale.
  write_file(exp_ / "f", "old");
  let_directory_settle();
  auto before = list(root_);
  const FileHandle old_fh = lookup(root_, "f");
  ASSERT_EQ(::unlink((exp_ / "f").c_str()), 0);
  write_file(exp_ / "f", "new!");
  struct stat st {};
  ASSERT_EQ(::stat((exp_ / "f").c_str(), &st), 0);
  auto after = list(root_);
  ASSERT_TRUE(after["f"].handle && after["f"].attr);
  EXPECT_EQ(after["f"].attr->size, 4u);
  EXPECT_EQ(getattr_ok(*after["f"].handle).fileid, st.st_ino);
  const FileHandle new_fh = lookup(root_, "f");
  EXPECT_EQ(new_fh, *after["f"].handle);
  EXPECT_NE(new_fh, old_fh);
  Attr a;
  EXPECT_EQ(be_->getattr(old_fh, &a), Status::kStale);
}

TEST_F(ReaddirCacheTest, RemoveThroughNasdDropsTheEntry) {
  write_file(exp_ / "gone", "x");
  write_file(exp_ / "kept", "x");
  let_directory_settle();
  ASSERT_EQ(list(root_).count("gone"), 1u);
  WccData wcc;
  ASSERT_EQ(be_->remove(root_cred(), root_, "gone", &wcc), Status::kOk);
  auto after = list(root_);
  EXPECT_EQ(after.count("gone"), 0u);
  EXPECT_EQ(after.count("kept"), 1u);
}

TEST_F(ReaddirCacheTest, AttributesAreFreshAfterChangesOnDisk) {
  write_file(exp_ / "f", "abc", 0644);
  let_directory_settle();
  ASSERT_EQ(list(root_)["f"].attr->mode, 0644u);
  ASSERT_EQ(::chmod((exp_ / "f").c_str(), 0600), 0);
  write_file(exp_ / "f", "abcdef", 0600);
  auto after = list(root_);
  ASSERT_TRUE(after["f"].attr);
  EXPECT_EQ(after["f"].attr->mode, 0600u);
  EXPECT_EQ(after["f"].attr->size, 6u);
  // LOOKUP of a known inode reports the fresh attributes too.
  FileHandle fh;
  Attr a;
  std::optional<Attr> da;
  ASSERT_EQ(be_->lookup(root_cred(), root_, "f", &fh, &a, &da), Status::kOk);
  EXPECT_EQ(a.size, 6u);
  EXPECT_EQ(a.mode, 0600u);
}

TEST_F(ReaddirCacheTest, PagedListingOfCachedDirectoryHasStableCookiesAndEveryEntry) {
  for (int i = 0; i < 50; ++i) write_file(exp_ / std::string("n").append(std::to_string(i)), "x");
  let_directory_settle();
  auto whole = list(root_);
  auto paged = list(root_, 7);
  ASSERT_EQ(paged.size(), whole.size());
  EXPECT_EQ(whole.size(), 52u);  // with "." and ".."
  for (auto& [name, e] : whole) {
    ASSERT_EQ(paged.count(name), 1u) << name;
    EXPECT_EQ(paged[name].cookie, e.cookie) << name;
    EXPECT_EQ(paged[name].handle, e.handle) << name;
  }
}

TEST_F(ReaddirCacheTest, CachedListingIsRefusedToAClientWithoutReadPermission) {
  ASSERT_EQ(::mkdir((exp_ / "d").c_str(), 0755), 0);
  write_file(exp_ / "d/x", "x");
  const FileHandle d = lookup(root_, "d");
  let_directory_settle();
  ASSERT_EQ(list(d).count("x"), 1u);  // cached now (as root)
  ASSERT_EQ(::chmod((exp_ / "d").c_str(), 0711), 0);
  auto fits = [](const DirEntry&) { return true; };
  std::vector<DirEntry> page;
  Verifier out{};
  bool eof = false;
  std::optional<Attr> da;
  EXPECT_EQ(be_->readdir(testing::make_cred(1234, 1234), d, 0, {}, false, fits, &page, &out, &eof,
                         &da),
            Status::kAccess);
}

}  // namespace
}  // namespace nasd::storage
