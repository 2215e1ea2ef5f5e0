// InodeHandleCache and DirEntryCache: a mapping is used only while the
// stamp it was stored with matches; bounds; cookie positions in listings;
// recorded entry attributes follow the directory's watch.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <memory>

#include "storage/local/handle_cache.h"
#include "tests/storage/test_util.h"

namespace nasd::storage {
namespace {

FileHandle handle(std::uint8_t n) {
  FileHandle h;
  const std::uint8_t b[] = {1, 2, n};
  h.assign(b);
  return h;
}

InodeStamp stamp(std::int64_t ctime, std::int64_t btime = 5) {
  InodeStamp s;
  s.ctime_sec = ctime;
  s.btime_sec = btime;
  s.type = 0100000;
  return s;
}

TEST(InodeHandleCache, FindsTheHandleOnlyWithTheSameStamp) {
  InodeHandleCache c(64);
  c.insert(1, 10, stamp(100), handle(1));
  FileHandle out;
  EXPECT_TRUE(c.find(1, 10, stamp(100), &out));
  EXPECT_EQ(out, handle(1));
  EXPECT_FALSE(c.find(2, 10, stamp(100), &out));  // other device
  EXPECT_FALSE(c.find(1, 11, stamp(100), &out));  // other inode
}

TEST(InodeHandleCache, ChangedOrReusedInodeIsDroppedNotServed) {
  InodeHandleCache c(64);
  c.insert(1, 10, stamp(100), handle(1));
  FileHandle out;
  EXPECT_FALSE(c.find(1, 10, stamp(101), &out));  // ctime moved (rename, chmod, unlink...)
  EXPECT_EQ(c.size(), 0u);
  c.insert(1, 10, stamp(100), handle(1));
  EXPECT_FALSE(c.find(1, 10, stamp(100, /*btime=*/6), &out));  // a new inode, same number
  InodeStamp dir = stamp(100);
  dir.type = 040000;
  c.insert(1, 10, stamp(100), handle(1));
  EXPECT_FALSE(c.find(1, 10, dir, &out));  // another file type
}

TEST(InodeHandleCache, PeekReturnsEntryWithItsStampForTheCallerToCheck) {
  InodeHandleCache c(64);
  InodeStamp s;
  FileHandle out;
  EXPECT_FALSE(c.peek(1, 10, &s, &out));
  c.insert(1, 10, stamp(100), handle(3));
  ASSERT_TRUE(c.peek(1, 10, &s, &out));
  EXPECT_EQ(s, stamp(100));
  EXPECT_EQ(out, handle(3));
}

TEST(InodeHandleCache, InsertReplacesAndEraseForgets) {
  InodeHandleCache c(64);
  c.insert(1, 10, stamp(100), handle(1));
  c.insert(1, 10, stamp(200), handle(2));
  FileHandle out;
  EXPECT_FALSE(c.find(1, 10, stamp(100), &out));
  c.insert(1, 10, stamp(200), handle(2));
  ASSERT_TRUE(c.find(1, 10, stamp(200), &out));
  EXPECT_EQ(out, handle(2));
  c.erase(1, 10);
  c.erase(1, 99);  // absent: no-op
  EXPECT_FALSE(c.find(1, 10, stamp(200), &out));
}

TEST(InodeHandleCache, StaysWithinCapacity) {
  InodeHandleCache c(32);
  for (std::uint64_t ino = 0; ino < 1000; ++ino) c.insert(1, ino, stamp(1), handle(1));
  EXPECT_LE(c.size(), 32u);
  EXPECT_GT(c.size(), 0u);
  InodeHandleCache off(0);
  off.insert(1, 1, stamp(1), handle(1));
  EXPECT_EQ(off.size(), 0u);
}

std::shared_ptr<DirSnapshot> listing(std::int64_t ctime, std::size_t n) {
  auto s = std::make_shared<DirSnapshot>();
  s->stamp = stamp(ctime);
  for (std::size_t i = 0; i < n; ++i)
    s->entries.push_back({std::string("f").append(std::to_string(i)), 100 + i, (i + 1) * 10});
  return s;
}

TEST(DirSnapshot, StartAfterFindsTheEntryFollowingACookie) {
  auto s = listing(1, 3);  // cookies 10, 20, 30
  EXPECT_EQ(s->start_after(0), 0);
  EXPECT_EQ(s->start_after(10), 1);
  EXPECT_EQ(s->start_after(30), 3);  // after the last: nothing left
  EXPECT_EQ(s->start_after(15), -1);  // not a cookie of this listing
  EXPECT_EQ(s->start_after(99), -1);
}

TEST(DirEntryCache, ListingIsServedOnlyForTheSameDirectoryStamp) {
  DirEntryCache c(100);
  c.insert(1, 2, listing(50, 3));
  auto hit = c.find(1, 2, stamp(50));
  ASSERT_NE(hit, nullptr);
  EXPECT_EQ(hit->entries.size(), 3u);
  EXPECT_EQ(c.find(1, 3, stamp(50)), nullptr);
  EXPECT_EQ(c.find(1, 2, stamp(51)), nullptr);  // the directory changed
  EXPECT_EQ(c.entries(), 0u);                    // and the old listing is gone
  EXPECT_EQ(c.find(1, 2, stamp(50)), nullptr);
}

TEST(DirEntryCache, BoundedByTotalEntriesOldestOut) {
  DirEntryCache c(10);
  c.insert(1, 1, listing(1, 4));
  c.insert(1, 2, listing(1, 4));
  ASSERT_NE(c.find(1, 1, stamp(1)), nullptr);  // 1 more recent than 2
  c.insert(1, 3, listing(1, 4));
  EXPECT_LE(c.entries(), 10u);
  EXPECT_NE(c.find(1, 1, stamp(1)), nullptr);
  EXPECT_EQ(c.find(1, 2, stamp(1)), nullptr);
  EXPECT_NE(c.find(1, 3, stamp(1)), nullptr);
  c.insert(1, 4, listing(1, 6));  // more than half the budget: not cached
  EXPECT_EQ(c.find(1, 4, stamp(1)), nullptr);
}

TEST(DirEntryCache, OneCallAtATimeBuildsADirectorysListing) {
  DirEntryCache c(10);
  {
    auto first = c.claim_build(1, 7);
    ASSERT_TRUE(first.has_value());
    EXPECT_FALSE(c.claim_build(1, 7).has_value());  // same directory: refused
    EXPECT_TRUE(c.claim_build(1, 8).has_value());   // another directory: free
    auto moved = std::move(*first);                 // the claim moves, still held
    first.reset();
    EXPECT_FALSE(c.claim_build(1, 7).has_value());
  }
  EXPECT_TRUE(c.claim_build(1, 7).has_value());  // released with its holder
}

TEST(DirEntryCache, ListingInsertedWithItsDirectoryGetsAttributesMovedByChanges) {
  testing::TempDir dir;
  testing::write_file(dir / "f", "x");
  UniqueFd fd(::open(dir.path().c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  DirEntryCache c(100);
  c.insert(1, 2, listing(50, 3), fd.get());
  auto hit = c.find(1, 2, stamp(50));
  ASSERT_NE(hit, nullptr);
  ASSERT_NE(hit->attrs, nullptr);
  EXPECT_EQ(hit->attrs->size(), 3u);
  const std::uint64_t g = hit->attrs->generation();
  EXPECT_EQ(c.find(1, 2, stamp(50))->attrs->generation(), g);  // nothing changed
  ASSERT_EQ(::chmod((dir / "f").c_str(), 0600), 0);
  // find() applies the change before it returns the listing.
  EXPECT_GT(c.find(1, 2, stamp(50))->attrs->generation(), g);
  // A listing inserted without a descriptor records no attributes.
  c.insert(1, 3, listing(50, 3));
  EXPECT_EQ(c.find(1, 3, stamp(50))->attrs, nullptr);
}

TEST(DirEntryCache, DroppedListingsRecordsAreRetired) {
  testing::TempDir dir;
  UniqueFd fd(::open(dir.path().c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  DirEntryCache c(100);
  c.insert(1, 2, listing(50, 3), fd.get());
  auto held = c.find(1, 2, stamp(50));  // a call still holding it
  ASSERT_NE(held->attrs->generation(), 0u);
  EXPECT_EQ(c.find(1, 2, stamp(51)), nullptr);  // the directory changed: dropped
  EXPECT_EQ(held->attrs->generation(), 0u);
  // Inserted again, the directory is watched again.
  c.insert(1, 2, listing(51, 3), fd.get());
  auto again = c.find(1, 2, stamp(51));
  const std::uint64_t g = again->attrs->generation();
  ASSERT_NE(g, 0u);
  testing::write_file(dir / "new", "x");
  EXPECT_GT(c.find(1, 2, stamp(51))->attrs->generation(), g);
}

TEST(DirEntryCache, DeletedDirectoryRetiresItsListingsRecords) {
  testing::TempDir dir;
  ASSERT_EQ(::mkdir((dir / "d").c_str(), 0755), 0);
  UniqueFd fd(::open((dir / "d").c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  DirEntryCache c(100);
  c.insert(1, 2, listing(50, 3), fd.get());
  ASSERT_EQ(::rmdir((dir / "d").c_str()), 0);
  fd.reset();  // the removed directory's inode goes with its last reference
  auto hit = c.find(1, 2, stamp(50));
  ASSERT_NE(hit, nullptr);
  EXPECT_EQ(hit->attrs->generation(), 0u);  // no watch left to trust
}

}  // namespace
}  // namespace nasd::storage
