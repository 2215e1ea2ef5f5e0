// LookupHints: a small, lossy table of names recently resolved from the
// dentry cache (storage/local/lookup_hints.h).
#include "storage/local/lookup_hints.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace nasd::storage {
namespace {

constexpr std::int64_t kSec = 1'000'000'000;

/// A stand-in directory file handle (its bytes are all LookupHints uses).
std::vector<std::uint8_t> dir(std::uint8_t a, std::uint8_t b) { return {a, 0, b, 0, 7, 7}; }

TEST(LookupHintsTest, ANoteIsFoundUntilItIsOlderThanTheTtl) {
  LookupHints h(1024, 5 * kSec);
  h.note(dir(1, 2), "f", 77, 100 * kSec);
  std::uint64_t ino = 0;
  ASSERT_TRUE(h.find(dir(1, 2), "f", 100 * kSec, &ino));
  EXPECT_EQ(ino, 77u);
  EXPECT_TRUE(h.find(dir(1, 2), "f", 105 * kSec, &ino));
  EXPECT_FALSE(h.find(dir(1, 2), "f", 105 * kSec + 1, &ino));
  EXPECT_FALSE(h.find(dir(1, 2), "f", 99 * kSec, &ino));  // noted in the future: not trusted
}

TEST(LookupHintsTest, OtherNamesAndOtherDirectoriesAreNotFound) {
  LookupHints h(1024, 5 * kSec);
  h.note(dir(1, 2), "f", 77, kSec);
  std::uint64_t ino = 0;
  EXPECT_FALSE(h.find(dir(1, 2), "g", kSec, &ino));
  EXPECT_FALSE(h.find(dir(1, 3), "f", kSec, &ino));
  EXPECT_FALSE(h.find(dir(9, 2), "f", kSec, &ino));
}

TEST(LookupHintsTest, WhereTheHandleEndsAndTheNameBeginsMatters) {
  LookupHints h(1024, 5 * kSec);
  const std::vector<std::uint8_t> ab{'a', 'b'}, a{'a'};
  h.note(ab, "c", 77, kSec);
  std::uint64_t ino = 0;
  EXPECT_FALSE(h.find(a, "bc", kSec, &ino));
  EXPECT_TRUE(h.find(ab, "c", kSec, &ino));
}

TEST(LookupHintsTest, ANewNoteReplacesTheOldOne) {
  LookupHints h(1024, 5 * kSec);
  h.note(dir(1, 2), "f", 77, kSec);
  h.note(dir(1, 2), "f", 78, 2 * kSec);
  std::uint64_t ino = 0;
  ASSERT_TRUE(h.find(dir(1, 2), "f", 2 * kSec, &ino));
  EXPECT_EQ(ino, 78u);
}

std::string name_of(int i) {
  std::string n = "f";
  n += std::to_string(i);
  return n;
}

TEST(LookupHintsTest, TheTableIsBoundedAndLossy) {
  LookupHints h(64, 5 * kSec);
  for (int i = 0; i < 1000; ++i) h.note(dir(1, 2), name_of(i), i, kSec);
  int found = 0;
  std::uint64_t ino = 0;
  for (int i = 0; i < 1000; ++i) {
    if (h.find(dir(1, 2), name_of(i), kSec, &ino)) {
      ++found;
      EXPECT_EQ(ino, static_cast<std::uint64_t>(i));  // never another name's inode
    }
  }
  EXPECT_GT(found, 0);
  EXPECT_LE(found, 64);
}

TEST(LookupHintsTest, ZeroSlotsFindNothing) {
  LookupHints h(0, 5 * kSec);
  h.note(dir(1, 2), "f", 77, kSec);
  std::uint64_t ino = 0;
  EXPECT_FALSE(h.find(dir(1, 2), "f", kSec, &ino));
}

}  // namespace
}  // namespace nasd::storage
