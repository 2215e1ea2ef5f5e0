// LocalBackend under concurrent callers with different credentials: one
// thread's identity never leaks into another's permission checks.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "test_util.h"

namespace nasd::storage {
namespace {

using testing::BackendTest;
using testing::make_cred;

TEST_F(BackendTest, ConcurrentCallersKeepTheirOwnIdentity) {
  testing::write_file(exp_ / "secret", "only 1001", 0600);
  ASSERT_EQ(::chown((exp_ / "secret").c_str(), 1001, 1001), 0);
  FileHandle fh = lookup(root_, "secret");
  std::atomic<int> leaked{0}, refused{0};
  auto reader = [&](std::uint32_t uid, bool should_read) {
    for (int i = 0; i < 300; ++i) {
      std::vector<std::uint8_t> buf(64);
      std::uint32_t n = 0;
      bool eof = false;
      std::optional<Attr> a;
      Status s = be_->read(make_cred(uid, uid), fh, 0, buf, &n, &eof, &a);
      if (should_read && s != Status::kOk) ++refused;
      if (!should_read && s != Status::kAccess) ++leaked;
    }
  };
  std::vector<std::thread> threads;
  threads.emplace_back(reader, 1000, false);
  threads.emplace_back(reader, 1001, true);
  threads.emplace_back(reader, 0, true);
  threads.emplace_back(reader, 1002, false);
  for (auto& t : threads) t.join();
  EXPECT_EQ(leaked.load(), 0);
  EXPECT_EQ(refused.load(), 0);
}

TEST_F(BackendTest, ParallelWritersToDistinctRangesAllLand) {
  FileHandle fh;
  Attr a;
  WccData w;
  ASSERT_EQ(be_->create(testing::root_cred(), root_, "f", CreateMode::kGuarded, {}, {}, &fh, &a, &w),
            Status::kOk);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      std::vector<std::uint8_t> block(8192, static_cast<std::uint8_t>('A' + t));
      std::uint32_t count = 0;
      StableHow committed;
      WccData ww;
      for (int i = 0; i < 20; ++i)
        EXPECT_EQ(be_->write(testing::root_cred(), fh, static_cast<std::uint64_t>(t) * 8192, block,
                             StableHow::kUnstable, &count, &committed, &ww),
                  Status::kOk);
    });
  }
  for (auto& t : threads) t.join();
  std::vector<std::uint8_t> all(4 * 8192);
  std::uint32_t n = 0;
  bool eof = false;
  std::optional<Attr> ra;
  ASSERT_EQ(be_->read(testing::root_cred(), fh, 0, all, &n, &eof, &ra), Status::kOk);
  ASSERT_EQ(n, all.size());
  EXPECT_TRUE(eof);
  for (int t = 0; t < 4; ++t) EXPECT_EQ(all[static_cast<std::size_t>(t) * 8192 + 100], 'A' + t);
}

}  // namespace
}  // namespace nasd::storage
