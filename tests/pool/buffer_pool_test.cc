#include "pool/buffer_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace nasd::pool {
namespace {

TEST(BufferPool, TakesTheSmallestClassThatFits) {
  BufferPool pool(64u << 20);
  EXPECT_EQ(pool.try_take(1).capacity(), 1024u);
  EXPECT_EQ(pool.try_take(1024).capacity(), 1024u);
  EXPECT_EQ(pool.try_take(1025).capacity(), 4096u);
  EXPECT_EQ(pool.try_take((1u << 20) + 1).capacity(), (1u << 20) + (64u << 10));
  EXPECT_EQ(pool.try_take((1u << 20) + (64u << 10) + 1).capacity(), 2u << 20);
  EXPECT_EQ(pool.try_take((2u << 20) + 1).capacity(), (4u << 20) + (64u << 10));
}

TEST(BufferPool, FourMebibyteIoWithItsHeadersFitsTheLargestClass) {
  BufferPool pool(64u << 20);
  EXPECT_TRUE(pool.try_take((4u << 20) + 1024));
}

TEST(BufferPool, OneMebibyteIoWithItsHeadersTakesLessThanTwoMebibytes) {
  // A 1 MiB READ reply or WRITE call plus RPC/NFS headers (a few hundred bytes).
  BufferPool pool(64u << 20);
  EXPECT_LT(pool.try_take((1u << 20) + 512).capacity(), (1u << 20) + (1u << 17));
}

TEST(BufferPool, RefusesSizesAboveTheLargestClass) {
  BufferPool pool(64u << 20);
  EXPECT_FALSE(pool.try_take(BufferPool::kMaxBufferSize + 1));
  EXPECT_EQ(pool.stats().failures, 1u);
}

TEST(BufferPool, BufferReturnsWhenHandleIsDestroyed) {
  BufferPool pool(1u << 20);
  {
    auto b = pool.try_take(3000);
    ASSERT_TRUE(b);
    EXPECT_EQ(pool.stats().in_use_buffers, 1u);
    EXPECT_EQ(pool.stats().in_use_bytes, 4096u);
  }
  EXPECT_EQ(pool.stats().in_use_buffers, 0u);
  EXPECT_EQ(pool.stats().in_use_bytes, 0u);
}

TEST(BufferPool, MovedHandleReturnsOnce) {
  BufferPool pool(1u << 20);
  auto a = pool.try_take(100);
  PooledBuffer b = std::move(a);
  EXPECT_FALSE(a);
  EXPECT_TRUE(b);
  b.release();
  b.release();
  EXPECT_EQ(pool.stats().in_use_buffers, 0u);
}

TEST(BufferPool, RefusesTakesBeyondTheByteBudget) {
  BufferPool pool(3 * 4096);
  std::vector<PooledBuffer> held;
  for (int i = 0; i < 3; ++i) held.push_back(pool.try_take(4096));
  EXPECT_FALSE(pool.try_take(4096));
  EXPECT_FALSE(pool.try_take(1));  // 1 KiB would exceed 12 KiB too
  EXPECT_EQ(pool.stats().failures, 2u);
  held.pop_back();
  EXPECT_TRUE(pool.try_take(4096));
}

TEST(BufferPool, ReusesReturnedBuffersWithoutAllocating) {
  BufferPool pool(1u << 20);
  for (int i = 0; i < 100; ++i) pool.try_take(16000);
  auto s = pool.stats();
  EXPECT_EQ(s.takes, 100u);
  EXPECT_EQ(s.allocations, 1u);
  EXPECT_EQ(s.high_water_bytes, 16u << 10);
}

TEST(BufferPool, CacheNeverHoldsMoreThanTheBudget) {
  BufferPool pool(1u << 20);
  { auto big = pool.try_take(1u << 20); }  // cached: 1 MiB
  auto small = pool.try_take(1024);        // must evict the cached 1 MiB to fit
  ASSERT_TRUE(small);
  auto s = pool.stats();
  EXPECT_LE(s.in_use_bytes + s.cached_bytes, pool.capacity_bytes());
}

TEST(BufferPool, NotifiesWaiterWhenABufferComesBack) {
  BufferPool pool(4096);
  auto held = pool.try_take(4096);
  bool woken = false;
  pool.notify_on_release([&] { woken = true; });
  EXPECT_FALSE(woken);
  held.release();
  EXPECT_TRUE(woken);
}

TEST(BufferPool, ConcurrentTakesAndReturnsBalance) {
  BufferPool pool(8u << 20);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 2000; ++i) {
        auto b = pool.try_take(static_cast<std::size_t>(1 + (i * 7919) % 300000));
        if (b) b.data()[0] = 1;
      }
    });
  }
  for (auto& t : threads) t.join();
  auto s = pool.stats();
  EXPECT_EQ(s.in_use_buffers, 0u);
  EXPECT_EQ(s.in_use_bytes, 0u);
  EXPECT_LE(s.high_water_bytes, pool.capacity_bytes());
}

}  // namespace
}  // namespace nasd::pool

namespace nasd::pool {
namespace {

// Regression: takes that allocate fresh memory drop the lock; the budget must
// already count them, or concurrent takes overshoot the capacity.
TEST(BufferPool, ConcurrentFreshTakesNeverExceedTheBudget) {
  for (int round = 0; round < 20; ++round) {
    BufferPool pool(2 * (16u << 10));
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&] {
        for (int i = 0; i < 200; ++i) {
          auto b = pool.try_take(5000);  // 16 KiB class: at most two fit
          if (b) b.data()[0] = 1;
        }
      });
    }
    for (auto& t : threads) t.join();
    EXPECT_LE(pool.stats().high_water_bytes, pool.capacity_bytes());
  }
}

}  // namespace
}  // namespace nasd::pool

namespace nasd::pool {
namespace {

TEST(BufferPoolCache, KeepsAtMostTheConfiguredBytesPerClass) {
  BufferPool pool(64u << 20, PoolCacheLimits{.per_class_bytes = 3 * (16u << 10)});
  {
    std::vector<PooledBuffer> held;
    for (int i = 0; i < 10; ++i) held.push_back(pool.try_take(16u << 10));
  }  // ten 16 KiB buffers come back; three fit the cache
  auto s = pool.stats();
  EXPECT_EQ(s.cached_buffers, 3u);
  EXPECT_EQ(s.cached_bytes, 3 * (16u << 10));
  EXPECT_EQ(s.in_use_buffers, 0u);
}

TEST(BufferPoolCache, ClassesAreBoundedSeparately) {
  BufferPool pool(64u << 20, PoolCacheLimits{.per_class_bytes = 8u << 10});
  {
    std::vector<PooledBuffer> held;
    for (int i = 0; i < 4; ++i) held.push_back(pool.try_take(4096));  // 4 KiB class: two fit
    for (int i = 0; i < 4; ++i) held.push_back(pool.try_take(1024));  // 1 KiB class: all four fit
    held.push_back(pool.try_take(1u << 20));                         // larger than the bound: none
  }
  EXPECT_EQ(pool.stats().cached_bytes, 2 * 4096u + 4 * 1024u);
}

TEST(BufferPoolCache, ZeroBoundCachesNothing) {
  BufferPool pool(64u << 20, PoolCacheLimits{.per_class_bytes = 0});
  for (int i = 0; i < 3; ++i) pool.try_take(4096);
  auto s = pool.stats();
  EXPECT_EQ(s.cached_bytes, 0u);
  EXPECT_EQ(s.allocations, 3u);
}

TEST(BufferPoolCache, CachedBuffersWithinTheBoundAreReused) {
  BufferPool pool(64u << 20, PoolCacheLimits{.per_class_bytes = 4u << 20});
  for (int i = 0; i < 50; ++i) {
    auto b = pool.try_take(1u << 20);  // mapped class
    ASSERT_TRUE(b);
    b.data()[b.capacity() - 1] = 7;  // the whole buffer is writable
  }
  EXPECT_EQ(pool.stats().allocations, 1u);
}

TEST(BufferPoolLargeBudget, RefusesLargeTakesBeyondItWhileSmallOnesGoOn) {
  const std::size_t big = (1u << 20) + (64u << 10);  // a 1 MiB WRITE call
  BufferPool pool(64u << 20, {}, 3 * big);
  std::vector<PooledBuffer> held;
  for (int i = 0; i < 3; ++i) {
    held.push_back(pool.try_take(big));
    ASSERT_TRUE(held.back());
  }
  EXPECT_FALSE(pool.try_take(big));         // the large budget is spent
  EXPECT_FALSE(pool.try_take(256u << 10));  // 256 KiB counts as large too
  EXPECT_TRUE(pool.try_take(64u << 10));    // small calls still get buffers
  EXPECT_EQ(pool.stats().large_in_use_bytes, 3 * big);
  held.pop_back();
  EXPECT_TRUE(pool.try_take(big));          // one came back: room for one
}

TEST(BufferPoolLargeBudget, CachedLargeBuffersCountAgainstIt) {
  // Handed-out plus cached large buffers stay within the budget, so the
  // memory they take is the same at 64 and at 4,096 calls in flight.
  const std::size_t big = 1u << 20;
  BufferPool pool(64u << 20, PoolCacheLimits{.per_class_bytes = 16u << 20}, 4 * big);
  {
    std::vector<PooledBuffer> held;
    for (int i = 0; i < 4; ++i) held.push_back(pool.try_take(big));
  }
  EXPECT_EQ(pool.stats().large_cached_bytes, 4 * big);
  {
    // A different large class needs fresh memory: cached 1 MiB buffers make room.
    auto b = pool.try_take(2u << 20);
    ASSERT_TRUE(b);
    auto s = pool.stats();
    EXPECT_LE(s.large_in_use_bytes + s.large_cached_bytes, 4 * big);
    EXPECT_EQ(s.large_cached_bytes, 2 * big);
  }
  auto s = pool.stats();
  EXPECT_LE(s.large_cached_bytes, 4 * big);
  EXPECT_EQ(s.large_in_use_bytes, 0u);
}

TEST(BufferPoolLargeBudget, CanEverTakeSaysWhetherWaitingCouldHelp) {
  BufferPool pool(64u << 20, {}, 2u << 20);
  EXPECT_TRUE(pool.can_ever_take(2u << 20));
  EXPECT_FALSE(pool.can_ever_take((2u << 20) + 1));  // its class exceeds the large budget
  EXPECT_FALSE(pool.can_ever_take(BufferPool::kMaxBufferSize + 1));
  EXPECT_TRUE(pool.can_ever_take(100));
  BufferPool small(8192);
  EXPECT_FALSE(small.can_ever_take(16u << 10));  // beyond the whole budget
}

TEST(BufferPoolTrim, ReleasesBuffersUnusedSinceTheLastTrim) {
  BufferPool pool(64u << 20);
  {
    std::vector<PooledBuffer> held;
    for (int i = 0; i < 4; ++i) held.push_back(pool.try_take(1u << 20));
  }
  ASSERT_EQ(pool.stats().cached_buffers, 4u);
  // First trim: the buffers were cached after the period began (they were in
  // use during it), so they stay.
  EXPECT_EQ(pool.trim(), 0u);
  EXPECT_EQ(pool.stats().cached_buffers, 4u);
  // No take during the next period: all four were idle.
  EXPECT_EQ(pool.trim(), 4u * (1u << 20));
  auto s = pool.stats();
  EXPECT_EQ(s.cached_buffers, 0u);
  EXPECT_EQ(s.cached_bytes, 0u);
  EXPECT_EQ(s.trimmed_buffers, 4u);
}

TEST(BufferPoolTrim, KeepsBuffersThatTakesStillNeed) {
  BufferPool pool(64u << 20);
  {
    std::vector<PooledBuffer> held;
    for (int i = 0; i < 4; ++i) held.push_back(pool.try_take(16u << 10));
  }
  pool.trim();  // the period starts with four cached
  {
    // The load needs two at once: two of the four stay in use.
    auto a = pool.try_take(16u << 10);
    auto b = pool.try_take(16u << 10);
  }
  EXPECT_EQ(pool.trim(), 2u * (16u << 10));  // only the two never taken go
  EXPECT_EQ(pool.stats().cached_buffers, 2u);
  EXPECT_EQ(pool.stats().allocations, 4u);
}

TEST(BufferPoolTrim, TrimmedPoolStillServesTakes) {
  BufferPool pool(8u << 20);
  pool.try_take(100000);
  pool.trim();
  pool.trim();
  ASSERT_EQ(pool.stats().cached_buffers, 0u);
  auto b = pool.try_take(100000);
  ASSERT_TRUE(b);
  EXPECT_EQ(pool.stats().allocations, 2u);
}

TEST(PoolTrimmer, WithoutAPeriodStartsNoThreadAndNeverTrims) {
  BufferPool pool(8u << 20);
  pool.try_take(4096);
  { PoolTrimmer trimmer({&pool}, std::chrono::milliseconds(0)); }
  EXPECT_EQ(pool.stats().cached_buffers, 1u);
}

TEST(PoolTrimmer, StopsPromptlyWhenDestroyed) {
  // A day-long period: destruction must not wait for it.
  BufferPool pool(8u << 20);
  { PoolTrimmer trimmer({&pool}, std::chrono::hours(24)); }
  EXPECT_EQ(pool.stats().trimmed_buffers, 0u);
}

}  // namespace
}  // namespace nasd::pool

namespace nasd::pool {
namespace {

TEST(BufferPoolTrim, ConcurrentTrimsTakesAndReturnsBalance) {
  BufferPool pool(16u << 20, PoolCacheLimits{.per_class_bytes = 2u << 20});
  std::atomic<bool> done{false};
  std::thread trimmer([&] {
    while (!done.load()) pool.trim();
  });
  std::vector<std::thread> threads;
  for (int t = 0; t < 3; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 2000; ++i) {
        auto b = pool.try_take(static_cast<std::size_t>(1 + (i * 7919) % 300000));
        if (b) b.data()[b.capacity() - 1] = 1;
      }
    });
  }
  for (auto& t : threads) t.join();
  done = true;
  trimmer.join();
  auto s = pool.stats();
  EXPECT_EQ(s.in_use_buffers, 0u);
  EXPECT_EQ(s.in_use_bytes, 0u);
  pool.trim();
  pool.trim();
  s = pool.stats();
  EXPECT_EQ(s.cached_buffers, 0u);
  EXPECT_EQ(s.cached_bytes, 0u);
}

}  // namespace
}  // namespace nasd::pool
