// LockManager: ranges, merge/split, conflicts, owners, blocking queue,
// free_client, share reservations.
#include "server/locking/lock_manager.h"

#include <gtest/gtest.h>

namespace nasd::server {
namespace {

const LockOwner kA{"hostA", 1, "1@hostA"};
const LockOwner kA2{"hostA", 2, "2@hostA"};  // another process on the same host
const LockOwner kB{"hostB", 1, "1@hostB"};
constexpr auto kW = LockType::kExclusive;
constexpr auto kR = LockType::kShared;

struct Range {
  std::uint64_t start, end;
  LockType type;
  friend bool operator==(const Range&, const Range&) = default;
};

std::vector<Range> ranges(const LockManager& m, const std::string& f) {
  std::vector<Range> out;
  for (const Lock& l : m.locks(f)) out.push_back({l.start, l.end, l.type});
  return out;
}

TEST(LockRange, LengthZeroMeansToEndOfFile) {
  EXPECT_EQ(lock_range(10, 0), std::make_pair(std::uint64_t{10}, kToEof));
  EXPECT_EQ(lock_range(10, 5), std::make_pair(std::uint64_t{10}, std::uint64_t{14}));
  EXPECT_EQ(lock_range(kToEof - 1, 100), std::make_pair(kToEof - 1, kToEof));  // overflow clamps
}

TEST(LockManager, ConflictingExclusiveLockOfAnotherOwnerIsDenied) {
  LockManager m;
  EXPECT_EQ(LockStatus::kGranted, m.lock("f", kA, kW, 0, 99, false, 0));
  Lock c;
  EXPECT_EQ(LockStatus::kDenied, m.lock("f", kB, kW, 50, 149, false, 0, &c));
  EXPECT_TRUE(c.owner.same(kA));
  EXPECT_EQ(0u, c.start);
  EXPECT_EQ(99u, c.end);
  EXPECT_EQ(LockStatus::kDenied, m.lock("f", kA2, kR, 99, 99, false, 0));  // other process, same host
}

TEST(LockManager, DisjointRangesAndOtherFilesDoNotConflict) {
  LockManager m;
  EXPECT_EQ(LockStatus::kGranted, m.lock("f", kA, kW, 0, 99, false, 0));
  EXPECT_EQ(LockStatus::kGranted, m.lock("f", kB, kW, 100, 199, false, 0));
  EXPECT_EQ(LockStatus::kGranted, m.lock("g", kB, kW, 0, kToEof, false, 0));
}

TEST(LockManager, SharedLocksCoexistButBlockExclusive) {
  LockManager m;
  EXPECT_EQ(LockStatus::kGranted, m.lock("f", kA, kR, 0, kToEof, false, 0));
  EXPECT_EQ(LockStatus::kGranted, m.lock("f", kB, kR, 10, 20, false, 0));
  EXPECT_EQ(LockStatus::kDenied, m.lock("f", kA2, kW, 15, 15, false, 0));
}

TEST(LockManager, SameOwnerNeverConflictsAndUpgradesInPlace) {
  LockManager m;
  EXPECT_EQ(LockStatus::kGranted, m.lock("f", kA, kR, 0, 99, false, 0));
  EXPECT_EQ(LockStatus::kGranted, m.lock("f", kA, kW, 40, 59, false, 0));
  EXPECT_EQ((std::vector<Range>{{0, 39, kR}, {40, 59, kW}, {60, 99, kR}}), ranges(m, "f"));
}

TEST(LockManager, AdjacentAndOverlappingRangesOfOneOwnerMerge) {
  LockManager m;
  m.lock("f", kA, kW, 0, 9, false, 0);
  m.lock("f", kA, kW, 10, 19, false, 0);
  m.lock("f", kA, kW, 15, 29, false, 0);
  EXPECT_EQ((std::vector<Range>{{0, 29, kW}}), ranges(m, "f"));
  EXPECT_EQ(1u, m.lock_count());
}

TEST(LockManager, UnlockInTheMiddleSplitsTheRange) {
  LockManager m;
  m.lock("f", kA, kW, 0, 99, false, 0);
  m.unlock("f", kA, 40, 59);
  EXPECT_EQ((std::vector<Range>{{0, 39, kW}, {60, 99, kW}}), ranges(m, "f"));
  EXPECT_EQ(2u, m.lock_count());
  EXPECT_EQ(LockStatus::kGranted, m.lock("f", kB, kW, 40, 59, false, 0));
}

TEST(LockManager, UnlockOfAnotherOwnersLockChangesNothing) {
  LockManager m;
  m.lock("f", kA, kW, 0, 99, false, 0);
  m.unlock("f", kB, 0, kToEof);
  m.unlock("f", kA2, 0, kToEof);
  EXPECT_EQ((std::vector<Range>{{0, 99, kW}}), ranges(m, "f"));
}

TEST(LockManager, TestReportsTheHolderWithoutTakingTheLock) {
  LockManager m;
  EXPECT_FALSE(m.test("f", kB, kW, 0, 9).has_value());
  m.lock("f", kA, kR, 5, 9, false, 0);
  auto c = m.test("f", kB, kW, 0, 9);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ("1@hostA", c->owner.opaque);
  EXPECT_EQ(kR, c->type);
  EXPECT_FALSE(m.test("f", kB, kR, 0, 9).has_value());
  EXPECT_FALSE(m.test("f", kA, kW, 0, 9).has_value());  // own lock
  EXPECT_EQ(1u, m.lock_count());
}

TEST(LockManager, BlockedRequestsAreGrantedInFifoOrderOnUnlock) {
  LockManager m;
  m.lock("f", kA, kW, 0, kToEof, false, 0);
  EXPECT_EQ(LockStatus::kBlocked, m.lock("f", kB, kW, 0, 9, true, 11));
  EXPECT_EQ(LockStatus::kBlocked, m.lock("f", kA2, kW, 5, 14, true, 12));
  EXPECT_EQ(2u, m.waiter_count());
  auto granted = m.unlock("f", kA, 0, kToEof);
  ASSERT_EQ(1u, granted.size());  // the second overlaps the first: still waits
  EXPECT_EQ(11u, granted[0].cookie);
  EXPECT_EQ("f", granted[0].file);
  EXPECT_TRUE(granted[0].lock.owner.same(kB));
  EXPECT_EQ(1u, m.waiter_count());
  granted = m.unlock("f", kB, 0, 9);
  ASSERT_EQ(1u, granted.size());
  EXPECT_EQ(12u, granted[0].cookie);
  EXPECT_EQ(0u, m.waiter_count());
  EXPECT_EQ((std::vector<Range>{{5, 14, kW}}), ranges(m, "f"));
}

TEST(LockManager, RepeatedBlockingRequestIsQueuedOnce) {
  LockManager m;
  m.lock("f", kA, kW, 0, 9, false, 0);
  EXPECT_EQ(LockStatus::kBlocked, m.lock("f", kB, kW, 0, 9, true, 1));
  EXPECT_EQ(LockStatus::kBlocked, m.lock("f", kB, kW, 0, 9, true, 1));
  EXPECT_EQ(1u, m.waiter_count());
}

TEST(LockManager, CancelRemovesTheQueuedRequest) {
  LockManager m;
  m.lock("f", kA, kW, 0, 9, false, 0);
  m.lock("f", kB, kW, 0, 9, true, 1);
  EXPECT_FALSE(m.cancel("f", kB, kW, 0, 8));  // not the same request
  EXPECT_TRUE(m.cancel("f", kB, kW, 0, 9));
  EXPECT_EQ(0u, m.waiter_count());
  EXPECT_TRUE(m.unlock("f", kA, 0, 9).empty());
  EXPECT_EQ(0u, m.lock_count());
}

TEST(LockManager, UnlockWithdrawsTheOwnersOverlappingQueuedRequest) {
  LockManager m;
  m.lock("f", kA, kW, 0, kToEof, false, 0);
  m.lock("f", kB, kW, 0, 9, true, 1);
  m.lock("f", kA2, kW, 0, 9, true, 2);
  EXPECT_TRUE(m.unlock("f", kB, 0, kToEof).empty());  // B gave up waiting
  EXPECT_EQ(1u, m.waiter_count());
  auto granted = m.unlock("f", kA, 0, kToEof);
  ASSERT_EQ(1u, granted.size());
  EXPECT_EQ(2u, granted[0].cookie);
}

TEST(LockManager, FreeClientDropsItsLocksAndWaitersAndGrantsOthers) {
  LockManager m;
  m.lock("f", kA, kW, 0, 9, false, 0);
  m.lock("g", kA2, kR, 0, kToEof, false, 0);
  m.lock("g", kA, kW, 0, 0, true, 5);  // hostA process 1 waits behind hostA process 2
  m.lock("f", kB, kW, 0, 9, true, 7);
  EXPECT_TRUE(m.client_holds_locks("hostA"));
  auto granted = m.free_client("hostA");
  ASSERT_EQ(1u, granted.size());
  EXPECT_EQ(7u, granted[0].cookie);
  EXPECT_FALSE(m.client_holds_locks("hostA"));
  EXPECT_TRUE(m.client_holds_locks("hostB"));
  EXPECT_EQ(0u, m.waiter_count());
  EXPECT_EQ(1u, m.lock_count());
}

TEST(LockManager, DowngradeWakesSharedWaiters) {
  LockManager m;
  m.lock("f", kA, kW, 0, 99, false, 0);
  m.lock("f", kB, kR, 0, 99, true, 3);
  std::vector<GrantedWaiter> woken;
  EXPECT_EQ(LockStatus::kGranted, m.lock("f", kA, kR, 0, 99, false, 0, nullptr, &woken));
  ASSERT_EQ(1u, woken.size());
  EXPECT_EQ(3u, woken[0].cookie);
}

TEST(LockManager, ShareReservationsConflictOnAccessAgainstDeny) {
  LockManager m;
  EXPECT_TRUE(m.share("f", Share{kA, /*access=*/1, /*deny=*/2}));   // read, deny write
  EXPECT_FALSE(m.share("f", Share{kB, 2, 0}));                      // write: denied
  EXPECT_TRUE(m.share("f", Share{kB, 1, 0}));                       // read: fine
  EXPECT_FALSE(m.share("f", Share{kA2, 1, 1}));                     // deny read: A, B read
  m.unshare("f", kB);
  EXPECT_FALSE(m.share("f", Share{kA2, 1, 1}));                     // A still reads
  m.unshare("f", kA);
  EXPECT_TRUE(m.share("f", Share{kA2, 1, 1}));
  EXPECT_FALSE(m.client_holds_locks("hostB"));
}

}  // namespace
}  // namespace nasd::server
