// DirWatch: changes to a watched directory's entries are reported by the
// time the changing call returns; a removed or deleted directory's watch is
// reported gone.
#include "storage/local/dir_watch.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "tests/storage/test_util.h"

namespace nasd::storage {
namespace {

using testing::TempDir;
using testing::write_file;

struct Events {
  std::vector<int> changed, gone;
  bool overflow = false;
};

Events drain(DirWatch& w) {
  Events ev;
  w.drain([&](int wd, bool gone) { (gone ? ev.gone : ev.changed).push_back(wd); },
          [&] { ev.overflow = true; });
  return ev;
}

TEST(DirWatch, QuietDirectoryReportsNothing) {
  TempDir dir;
  write_file(dir / "f", "x");
  DirWatch w;
  ASSERT_TRUE(w.valid());
  UniqueFd fd(::open(dir.path().c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  ASSERT_GE(w.add(fd.get()), 0);
  Events ev = drain(w);
  EXPECT_TRUE(ev.changed.empty());
  EXPECT_TRUE(ev.gone.empty());
  EXPECT_FALSE(ev.overflow);
}

TEST(DirWatch, WriteChmodAndTruncateOfAnEntryAreReportedForItsDirectory) {
  TempDir dir;
  write_file(dir / "f", "x");
  DirWatch w;
  UniqueFd fd(::open(dir.path().c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  const int wd = w.add(fd.get());
  ASSERT_GE(wd, 0);
  EXPECT_EQ(w.add(fd.get()), wd);  // the same directory: the same watch

  {
    UniqueFd f(::open((dir / "f").c_str(), O_WRONLY | O_APPEND | O_CLOEXEC));
    ASSERT_EQ(::write(f.get(), "y", 1), 1);
  }
  Events ev = drain(w);
  ASSERT_FALSE(ev.changed.empty());
  EXPECT_EQ(ev.changed.front(), wd);

  ASSERT_EQ(::chmod((dir / "f").c_str(), 0600), 0);
  ev = drain(w);
  ASSERT_FALSE(ev.changed.empty());
  EXPECT_EQ(ev.changed.front(), wd);

  ASSERT_EQ(::truncate((dir / "f").c_str(), 0), 0);
  ev = drain(w);
  ASSERT_FALSE(ev.changed.empty());
  EXPECT_TRUE(drain(w).changed.empty());  // drained: nothing left
}

TEST(DirWatch, RemovedWatchAndDeletedDirectoryAreReportedGone) {
  TempDir dir;
  ASSERT_EQ(::mkdir((dir / "a").c_str(), 0755), 0);
  ASSERT_EQ(::mkdir((dir / "b").c_str(), 0755), 0);
  DirWatch w;
  UniqueFd a(::open((dir / "a").c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  UniqueFd b(::open((dir / "b").c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  const int wa = w.add(a.get()), wb = w.add(b.get());
  ASSERT_GE(wa, 0);
  ASSERT_GE(wb, 0);
  w.remove(wa);
  ASSERT_EQ(::rmdir((dir / "b").c_str()), 0);
  b.reset();  // the removed directory's inode goes with its last reference
  Events ev = drain(w);
  EXPECT_NE(std::find(ev.gone.begin(), ev.gone.end(), wa), ev.gone.end());
  EXPECT_NE(std::find(ev.gone.begin(), ev.gone.end(), wb), ev.gone.end());
}

TEST(DirWatch, AddFailsForSomethingThatIsNotADirectory) {
  TempDir dir;
  write_file(dir / "f", "x");
  DirWatch w;
  UniqueFd f(::open((dir / "f").c_str(), O_PATH | O_CLOEXEC));
  EXPECT_EQ(w.add(f.get()), -1);
}

}  // namespace
}  // namespace nasd::storage
