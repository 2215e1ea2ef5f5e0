// LocalBackend with its inode-handle and directory-listing caches and the
// recorded READDIRPLUS attributes: what a client sees after changes through
// nasd and behind its back (rename, unlink, inode reuse, chmod, writes, new
// entries, changes inside subdirectories and through other hard links) is
// the directory's current state.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <thread>

#include "tests/storage/test_util.h"

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

  /// One READDIR(PLUS) call from cookie 0 as `cred`, every entry fitting;
  /// with `nowait` through Backend::try_readdir, and then `page` holds the
  /// entries only when the result is not kWouldBlock.
  Status list_as(const Credentials& cred, const FileHandle& dir, bool plus,
                 std::vector<DirEntry>* page, bool nowait = false) {
    auto fits = [](const DirEntry&) { return true; };
    Verifier out{};
    bool eof = false;
    std::optional<Attr> da;
    if (!nowait) return be_->readdir(cred, dir, 0, {}, plus, fits, page, &out, &eof, &da);
    const Status s = be_->try_readdir(cred, dir, 0, {}, plus, fits, page, &out, &eof, &da);
    if (s == Status::kWouldBlock) page->clear();
    return s;
  }
  /// list_as() without waiting.
  Status try_list_as(const Credentials& cred, const FileHandle& dir, bool plus,
                     std::vector<DirEntry>* page) {
    return list_as(cred, dir, plus, page, /*nowait=*/true);
  }
  /// A page's entries by name.
  static std::map<std::string, DirEntry> by_name(const std::vector<DirEntry>& page) {
    std::map<std::string, DirEntry> m;
    for (const DirEntry& e : page) m[e.name] = e;
    return m;
  }

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
  std::vector<DirEntry> page;
  EXPECT_EQ(list_as(testing::make_cred(1234, 1234), d, false, &page), Status::kAccess);
}

// The listing below is listed twice before each change, so the second
// listing is answered from the attributes the first one recorded.

TEST_F(ReaddirCacheTest, RecordedAttributesFollowChangesThroughNasd) {
  write_file(exp_ / "f", "abc", 0644);
  const FileHandle f = lookup(root_, "f");
  let_directory_settle();
  list(root_);
  ASSERT_EQ(list(root_)["f"].attr->size, 3u);
  const std::uint8_t more[] = {'d', 'e', 'f', 'g'};
  std::uint32_t count = 0;
  StableHow committed{};
  WccData wcc;
  ASSERT_EQ(be_->write(root_cred(), f, 3, more, StableHow::kFileSync, &count, &committed, &wcc),
            Status::kOk);
  EXPECT_EQ(list(root_)["f"].attr->size, 7u);
  SetAttr sa;
  sa.mode = 0640;
  ASSERT_EQ(be_->setattr(root_cred(), f, sa, std::nullopt, &wcc), Status::kOk);
  EXPECT_EQ(list(root_)["f"].attr->mode, 0640u);
}

TEST_F(ReaddirCacheTest, RecordedAttributesFollowWritesAndTruncationBehindNasdsBack) {
  write_file(exp_ / "f", "abc", 0644);
  let_directory_settle();
  list(root_);
  ASSERT_EQ(list(root_)["f"].attr->size, 3u);
  {
    UniqueFd fd(::open((exp_ / "f").c_str(), O_WRONLY | O_APPEND | O_CLOEXEC));
    ASSERT_EQ(::write(fd.get(), "0123456789", 10), 10);
  }
  EXPECT_EQ(list(root_)["f"].attr->size, 13u);
  ASSERT_EQ(::truncate((exp_ / "f").c_str(), 1), 0);
  EXPECT_EQ(list(root_)["f"].attr->size, 1u);
  ASSERT_EQ(::chown((exp_ / "f").c_str(), 1234, 1234), 0);
  EXPECT_EQ(list(root_)["f"].attr->uid, 1234u);
}

TEST_F(ReaddirCacheTest, SubdirectoryAttributesAreFreshAfterChangesInsideIt) {
  ASSERT_EQ(::mkdir((exp_ / "sub").c_str(), 0755), 0);
  let_directory_settle();
  list(root_);
  const Attr before = *list(root_)["sub"].attr;
  ASSERT_EQ(before.nlink, 2u);
  // Not reported to the parent's watch: a subdirectory is never recorded.
  ASSERT_EQ(::mkdir((exp_ / "sub/inner").c_str(), 0755), 0);
  EXPECT_EQ(list(root_)["sub"].attr->nlink, 3u);
}

TEST_F(ReaddirCacheTest, HardLinkedFileIsFreshAfterAWriteThroughItsOtherName) {
  ASSERT_EQ(::mkdir((exp_ / "a").c_str(), 0755), 0);
  ASSERT_EQ(::mkdir((exp_ / "b").c_str(), 0755), 0);
  write_file(exp_ / "a/f", "abc");
  ASSERT_EQ(::link((exp_ / "a/f").c_str(), (exp_ / "b/g").c_str()), 0);
  const FileHandle a = lookup(root_, "a");
  let_directory_settle();
  list(a);
  ASSERT_EQ(list(a)["f"].attr->size, 3u);
  {  // through b/g: reported to b's watchers only
    UniqueFd fd(::open((exp_ / "b/g").c_str(), O_WRONLY | O_APPEND | O_CLOEXEC));
    ASSERT_EQ(::write(fd.get(), "defg", 4), 4);
  }
  EXPECT_EQ(list(a)["f"].attr->size, 7u);
}

TEST_F(ReaddirCacheTest, RecordedAttributesAreNotShownToAClientThatMayNotSearchTheDirectory) {
  ASSERT_EQ(::mkdir((exp_ / "d").c_str(), 0755), 0);
  write_file(exp_ / "d/x", "x");
  const FileHandle d = lookup(root_, "d");
  let_directory_settle();
  list(d);
  ASSERT_TRUE(list(d)["x"].attr);  // recorded now (as root)
  ASSERT_EQ(::chmod((exp_ / "d").c_str(), 0744), 0);  // others: read, no search
  std::vector<DirEntry> page;
  ASSERT_EQ(list_as(testing::make_cred(1234, 1234), d, true, &page), Status::kOk);
  bool seen = false;
  for (const DirEntry& e : page) {
    if (e.name != "x") continue;
    seen = true;
    EXPECT_FALSE(e.attr);
    EXPECT_FALSE(e.handle);
  }
  EXPECT_TRUE(seen);
}

TEST_F(ReaddirCacheTest, ChangeInotifyDoesNotReportIsSeenWithinTheAgeBound) {
  // A write through a shared mapping moves mtime without an inotify event.
  write_file(exp_ / "m", std::string(4096, 'a'));
  let_directory_settle();
  list(root_);
  const Attr before = *list(root_)["m"].attr;
  {
    UniqueFd fd(::open((exp_ / "m").c_str(), O_RDWR | O_CLOEXEC));
    void* p = ::mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd.get(), 0);
    ASSERT_NE(p, MAP_FAILED);
    static_cast<char*>(p)[0] = 'b';
    ASSERT_EQ(::msync(p, 4096, MS_SYNC), 0);
    ::munmap(p, 4096);
  }
  struct stat st {};
  ASSERT_EQ(::stat((exp_ / "m").c_str(), &st), 0);
  const Time now_mtime{static_cast<std::uint32_t>(st.st_mtim.tv_sec),
                       static_cast<std::uint32_t>(st.st_mtim.tv_nsec)};
  ASSERT_NE(now_mtime, before.mtime) << "the mapping did not move mtime";
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));  // past kEntryAttrMaxAgeNs
  const Attr after = *list(root_)["m"].attr;
  EXPECT_EQ(after.mtime, now_mtime);
}

TEST_F(ReaddirCacheTest, ChangeIsSeenWhenTheWatchLostEvents) {
  // Directory q floods the one inotify queue (16384 events by default), so
  // the change to p/f is dropped: the lost-events report must invalidate p.
  ASSERT_EQ(::mkdir((exp_ / "p").c_str(), 0755), 0);
  ASSERT_EQ(::mkdir((exp_ / "q").c_str(), 0755), 0);
  write_file(exp_ / "p/f", "abc");
  write_file(exp_ / "q/a", "x");
  write_file(exp_ / "q/b", "x");
  const FileHandle p = lookup(root_, "p"), q = lookup(root_, "q");
  let_directory_settle();
  list(p);
  ASSERT_EQ(list(p)["f"].attr->size, 3u);
  list(q);  // q watched too
  long limit = 16384;
  if (FILE* f = std::fopen("/proc/sys/fs/inotify/max_queued_events", "r")) {
    if (std::fscanf(f, "%ld", &limit) != 1) limit = 16384;
    std::fclose(f);
  }
  if (limit > 200000) GTEST_SKIP() << "inotify queue too long to flood: " << limit;
  for (long i = 0; i <= limit; ++i)  // alternating names: events are not merged
    ASSERT_EQ(::chmod((exp_ / (i % 2 ? "q/a" : "q/b")).c_str(), i % 4 < 2 ? 0600 : 0644), 0);
  {
    UniqueFd fd(::open((exp_ / "p/f").c_str(), O_WRONLY | O_APPEND | O_CLOEXEC));
    ASSERT_EQ(::write(fd.get(), "defg", 4), 4);
  }
  EXPECT_EQ(list(p)["f"].attr->size, 7u);
}

TEST_F(ReaddirCacheTest, TryReaddirWouldBlockUntilTheListingAndItsRecordsAreCached) {
  write_file(exp_ / "a", "abc", 0644);
  write_file(exp_ / "b", "01234", 0600);
  let_directory_settle();
  std::vector<DirEntry> page;
  EXPECT_EQ(try_list_as(root_cred(), root_, false, &page), Status::kWouldBlock);
  EXPECT_EQ(try_list_as(root_cred(), root_, true, &page), Status::kWouldBlock);
  const auto fresh = list(root_);  // reads and caches the listing, records the entries
  ASSERT_EQ(try_list_as(root_cred(), root_, true, &page), Status::kOk);
  const auto served = by_name(page);
  ASSERT_EQ(served.size(), fresh.size());
  for (const auto& [name, e] : fresh) {
    ASSERT_TRUE(served.count(name)) << name;
    const DirEntry& t = served.at(name);
    EXPECT_EQ(t.fileid, e.fileid) << name;
    EXPECT_EQ(t.cookie, e.cookie) << name;
    ASSERT_TRUE(t.attr && t.handle) << name;
    EXPECT_EQ(t.attr->size, e.attr->size) << name;
    EXPECT_EQ(t.attr->mode, e.attr->mode) << name;
    EXPECT_EQ(*t.handle, *e.handle) << name;
  }
  EXPECT_EQ(served.at("b").attr->size, 5u);
  page.clear();
  EXPECT_EQ(try_list_as(root_cred(), root_, false, &page), Status::kOk);
  EXPECT_EQ(by_name(page).size(), fresh.size());
}

TEST_F(ReaddirCacheTest, TryReaddirPlusWouldBlockOnASubdirectoryButPlainReaddirDoesNot) {
  write_file(exp_ / "f", "x");
  ASSERT_EQ(::mkdir((exp_ / "sub").c_str(), 0755), 0);
  let_directory_settle();
  list(root_);
  list(root_);
  std::vector<DirEntry> page;
  // A subdirectory is never recorded (its changes reach its own watch only).
  EXPECT_EQ(try_list_as(root_cred(), root_, true, &page), Status::kWouldBlock);
  EXPECT_EQ(try_list_as(root_cred(), root_, false, &page), Status::kOk);
  EXPECT_TRUE(by_name(page).count("sub"));
  EXPECT_TRUE(by_name(page).count("f"));
}

TEST_F(ReaddirCacheTest, TryReaddirNeverServesARecordOlderThanAChangeBehindNasdsBack) {
  write_file(exp_ / "f", "abc", 0644);
  let_directory_settle();
  list(root_);
  std::vector<DirEntry> page;
  ASSERT_EQ(try_list_as(root_cred(), root_, true, &page), Status::kOk);
  ASSERT_EQ(by_name(page).at("f").attr->size, 3u);
  {
    UniqueFd fd(::open((exp_ / "f").c_str(), O_WRONLY | O_APPEND | O_CLOEXEC));
    ASSERT_EQ(::write(fd.get(), "0123456789", 10), 10);
  }
  // The watch reported the write: the records are gone, the blocking call
  // stats again and records anew.
  EXPECT_EQ(try_list_as(root_cred(), root_, true, &page), Status::kWouldBlock);
  EXPECT_EQ(list(root_)["f"].attr->size, 13u);
  page.clear();
  ASSERT_EQ(try_list_as(root_cred(), root_, true, &page), Status::kOk);
  EXPECT_EQ(by_name(page).at("f").attr->size, 13u);
}

TEST_F(ReaddirCacheTest, TryReaddirRefusesACachedListingToAClientWithoutReadPermission) {
  ASSERT_EQ(::mkdir((exp_ / "d").c_str(), 0700), 0);
  write_file(exp_ / "d/x", "x");
  const FileHandle d = lookup(root_, "d");
  let_directory_settle();
  list(d);
  std::vector<DirEntry> page;
  ASSERT_EQ(try_list_as(root_cred(), d, false, &page), Status::kOk);
  EXPECT_EQ(try_list_as(testing::make_cred(1234, 1234), d, false, &page), Status::kAccess);
}

}  // namespace
}  // namespace nasd::storage
