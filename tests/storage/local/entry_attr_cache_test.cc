// EntryAttrCache: a record is served only under the generation it was stored
// under, only while young enough, and never once the cache is retired.
#include "storage/local/entry_attr_cache.h"

#include <gtest/gtest.h>

namespace nasd::storage {
namespace {

Attr attr_of_size(std::uint64_t size) {
  Attr a;
  a.size = size;
  a.fileid = 42;
  return a;
}

FileHandle handle_of(std::uint8_t b) {
  FileHandle h;
  const std::uint8_t bytes[] = {b, b, b};
  h.assign(bytes);
  return h;
}

/// Whether `c` serves a record for entry `i` under generation `gen`, stored
/// at `not_before_ns` or later (the attributes themselves are not looked at).
bool served(EntryAttrCache& c, std::size_t i, std::uint64_t gen, std::int64_t not_before_ns) {
  Attr a;
  FileHandle h;
  return c.get(i, gen, not_before_ns, &a, &h);
}

TEST(EntryAttrCache, StoredRecordIsServedUnderItsGeneration) {
  EntryAttrCache c(4);
  const std::uint64_t g = c.generation();
  ASSERT_NE(g, 0u);
  Attr a;
  FileHandle h;
  EXPECT_FALSE(c.get(2, g, 0, &a, &h));  // nothing stored yet
  c.put(2, g, 1000, attr_of_size(7), handle_of(9));
  ASSERT_TRUE(c.get(2, g, 1000, &a, &h));
  EXPECT_EQ(a.size, 7u);
  EXPECT_EQ(h, handle_of(9));
  EXPECT_FALSE(c.get(1, g, 0, &a, &h));  // another entry
}

TEST(EntryAttrCache, InvalidateMakesEveryStoredRecordUnservable) {
  EntryAttrCache c(4);
  const std::uint64_t g = c.generation();
  c.put(0, g, 1000, attr_of_size(1), handle_of(1));
  c.invalidate();
  Attr a;
  FileHandle h;
  EXPECT_FALSE(c.get(0, g, 0, &a, &h));                 // the old generation
  EXPECT_FALSE(c.get(0, c.generation(), 0, &a, &h));    // the record is of the old one
  // A call that read the old generation before the change stores a record
  // that is never served.
  c.put(0, g, 2000, attr_of_size(2), handle_of(2));
  EXPECT_FALSE(c.get(0, c.generation(), 0, &a, &h));
  c.put(0, c.generation(), 3000, attr_of_size(3), handle_of(3));
  ASSERT_TRUE(c.get(0, c.generation(), 0, &a, &h));
  EXPECT_EQ(a.size, 3u);
}

TEST(EntryAttrCache, RecordOlderThanTheCallersBoundIsNotServed) {
  EntryAttrCache c(1);
  const std::uint64_t g = c.generation();
  c.put(0, g, 5000, attr_of_size(1), handle_of(1));
  EXPECT_TRUE(served(c, 0, g, 5000));
  EXPECT_FALSE(served(c, 0, g, 5001));
}

TEST(EntryAttrCache, RetiredCacheServesAndStoresNothing) {
  EntryAttrCache c(2);
  const std::uint64_t g = c.generation();
  c.put(0, g, 1000, attr_of_size(1), handle_of(1));
  c.retire();
  EXPECT_EQ(c.generation(), 0u);
  EXPECT_FALSE(served(c, 0, g, 0));
  c.put(1, 0, 1000, attr_of_size(1), handle_of(1));
  EXPECT_FALSE(served(c, 1, 0, 0));
}

TEST(EntryAttrCache, IndexOutOfRangeIsIgnored) {
  EntryAttrCache c(2);
  const std::uint64_t g = c.generation();
  c.put(2, g, 1000, attr_of_size(1), handle_of(1));
  EXPECT_FALSE(served(c, 2, g, 0));
  EXPECT_EQ(c.size(), 2u);
}

}  // namespace
}  // namespace nasd::storage
