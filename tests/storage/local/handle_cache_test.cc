// HandleCache: lookups, least-recently-used eviction, erase, shared descriptors.
#include "storage/local/handle_cache.h"

#include <fcntl.h>

#include <gtest/gtest.h>

#include <vector>

namespace nasd::storage {
namespace {

std::vector<std::uint8_t> key(std::uint8_t n) { return {1, 2, 3, n}; }

std::shared_ptr<const UniqueFd> open_null() {
  return std::make_shared<const UniqueFd>(::open("/dev/null", O_RDONLY | O_CLOEXEC));
}

TEST(HandleCache, FindsWhatWasInsertedAndNothingElse) {
  HandleCache c(4);
  auto fd = open_null();
  c.insert(key(1), fd);
  EXPECT_EQ(c.find(key(1)), fd);
  EXPECT_EQ(c.find(key(2)), nullptr);
  EXPECT_EQ(c.size(), 1u);
}

TEST(HandleCache, EvictsTheLeastRecentlyUsedWhenFull) {
  HandleCache c(2);
  c.insert(key(1), open_null());
  c.insert(key(2), open_null());
  ASSERT_NE(c.find(key(1)), nullptr);  // 1 is now more recent than 2
  c.insert(key(3), open_null());
  EXPECT_EQ(c.size(), 2u);
  EXPECT_NE(c.find(key(1)), nullptr);
  EXPECT_EQ(c.find(key(2)), nullptr);
  EXPECT_NE(c.find(key(3)), nullptr);
}

TEST(HandleCache, EvictedDescriptorStaysOpenForItsHolder) {
  HandleCache c(1);
  c.insert(key(1), open_null());
  auto held = c.find(key(1));
  c.insert(key(2), open_null());
  ASSERT_EQ(c.find(key(1)), nullptr);
  EXPECT_GE(::fcntl(held->get(), F_GETFD), 0);  // still open
}

TEST(HandleCache, EraseAndClearForget) {
  HandleCache c(4);
  c.insert(key(1), open_null());
  c.insert(key(2), open_null());
  c.erase(key(1));
  c.erase(key(9));  // absent: no-op
  EXPECT_EQ(c.find(key(1)), nullptr);
  EXPECT_NE(c.find(key(2)), nullptr);
  c.clear();
  EXPECT_EQ(c.size(), 0u);
}

TEST(HandleCache, CapacityZeroCachesNothing) {
  HandleCache c(0);
  c.insert(key(1), open_null());
  EXPECT_EQ(c.find(key(1)), nullptr);
  EXPECT_EQ(c.size(), 0u);
}

}  // namespace
}  // namespace nasd::storage
