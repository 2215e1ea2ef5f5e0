#include "storage/local/directory_locks.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

namespace nasd::storage {
namespace {

struct stat dir_stat(ino_t ino, dev_t dev = 1) {
  struct stat st {};
  st.st_ino = ino;
  st.st_dev = dev;
  return st;
}

TEST(DirectoryLocks, OneDirectoryIsChangedByOneThreadAtATime) {
  DirectoryLocks locks;
  const struct stat dir = dir_stat(42);
  std::atomic<int> inside{0};
  std::atomic<int> most{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 2000; ++i) {
        auto held = locks.lock(dir);
        const int now = ++inside;
        int seen = most.load();
        while (now > seen && !most.compare_exchange_weak(seen, now)) {
        }
        --inside;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(most.load(), 1);
}

TEST(DirectoryLocks, RenameTakesBothDirectoriesOrOneWhenTheyShareAStripe) {
  DirectoryLocks locks;
  const struct stat a = dir_stat(1), b = dir_stat(2);
  {
    auto [first, second] = locks.lock_two(a, b);
    EXPECT_TRUE(first.owns_lock());
    std::atomic<bool> got_a{false}, got_b{false};
    std::thread other([&] {
      { auto l = locks.lock(a); got_a = true; }
      { auto l = locks.lock(b); got_b = true; }
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    EXPECT_FALSE(got_a.load()) << "a was not locked by the rename";
    first.unlock();
    if (second.owns_lock()) second.unlock();
    other.join();
    EXPECT_TRUE(got_a.load() && got_b.load());
  }
  // The same directory twice (a rename within one directory): one lock, no
  // self-deadlock.
  auto [one, none] = locks.lock_two(a, a);
  EXPECT_TRUE(one.owns_lock());
  EXPECT_FALSE(none.owns_lock());
}

TEST(DirectoryLocks, RenamesInOppositeDirectionsDoNotDeadlock) {
  DirectoryLocks locks;
  std::vector<struct stat> dirs;
  for (ino_t i = 1; i <= 200; ++i) dirs.push_back(dir_stat(i));
  std::thread forward([&] {
    for (int r = 0; r < 50; ++r)
      for (std::size_t i = 0; i + 1 < dirs.size(); ++i) auto l = locks.lock_two(dirs[i], dirs[i + 1]);
  });
  std::thread backward([&] {
    for (int r = 0; r < 50; ++r)
      for (std::size_t i = 0; i + 1 < dirs.size(); ++i) auto l = locks.lock_two(dirs[i + 1], dirs[i]);
  });
  forward.join();
  backward.join();
  SUCCEED();  // reaching here is the assertion: a lock-order inversion would hang
}

}  // namespace
}  // namespace nasd::storage
