// LocalBackend's non-blocking attempts (Backend::try_*): the same answers
// as the ordinary calls when everything is in memory, kWouldBlock when it
// is not (handle not cached, data not in the page cache).
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <vector>

#include "tests/storage/test_util.h"

namespace nasd::storage {
namespace {

using testing::BackendTest;
using testing::make_cred;
using testing::root_cred;

class NowaitTest : public BackendTest {
 protected:
  /// A second backend on the same export and state dir: it accepts the
  /// same handles but has cached none of them.
  std::unique_ptr<LocalBackend> fresh_backend() {
    auto b = std::make_unique<LocalBackend>(state_.path());
    EXPECT_EQ(b->add_export(1, exp_.path()), Status::kOk);
    return b;
  }
};

TEST_F(NowaitTest, TryGetattrWouldBlockUntilTheHandleIsCached) {
  testing::write_file(exp_ / "f", "12345");
  const FileHandle fh = lookup(root_, "f");
  auto b = fresh_backend();
  Attr a;
  EXPECT_EQ(b->try_getattr(fh, &a), Status::kWouldBlock);
  Attr blocking;
  ASSERT_EQ(b->getattr(fh, &blocking), Status::kOk);  // opens and caches it
  ASSERT_EQ(b->try_getattr(fh, &a), Status::kOk);
  EXPECT_EQ(a.fileid, blocking.fileid);
  EXPECT_EQ(a.size, 5u);
}

TEST_F(NowaitTest, TryLookupFindsWhatLookupFinds) {
  testing::write_file(exp_ / "f", "data");
  const FileHandle expected = lookup(root_, "f");
  FileHandle fh;
  Attr a;
  std::optional<Attr> dir_attr;
  ASSERT_EQ(be_->try_lookup(root_cred(), root_, "f", &fh, &a, &dir_attr), Status::kOk);
  EXPECT_EQ(fh, expected);
  EXPECT_EQ(a.size, 4u);
  ASSERT_TRUE(dir_attr.has_value());
  EXPECT_EQ(dir_attr->type, FileType::kDir);
  ASSERT_EQ(be_->try_lookup(root_cred(), root_, "..", &fh, &a, &dir_attr), Status::kOk);
  EXPECT_EQ(fh, root_);  // ".." of the export root is the root
}

TEST_F(NowaitTest, TryLookupOfAMissingNameIsNoEntOnceTheKernelKnowsIt) {
  FileHandle fh;
  Attr a;
  std::optional<Attr> da;
  // The ordinary lookup leaves a negative dentry behind.
  ASSERT_EQ(be_->lookup(root_cred(), root_, "nope", &fh, &a, &da), Status::kNoEnt);
  EXPECT_EQ(be_->try_lookup(root_cred(), root_, "nope", &fh, &a, &da), Status::kNoEnt);
}

TEST_F(NowaitTest, TryLookupChecksSearchPermissionAsTheCaller) {
  ASSERT_EQ(::mkdir((exp_ / "private").c_str(), 0700), 0);
  testing::write_file(exp_ / "private/f", "x");
  const FileHandle dir = lookup(root_, "private");
  lookup(dir, "f");  // cached for root
  FileHandle fh;
  Attr a;
  std::optional<Attr> da;
  // Never found for the caller.  The kernel may leave a denial to the slow
  // path (an ACL check it will not do without blocking): then kWouldBlock,
  // and the ordinary call answers.
  const Status s = be_->try_lookup(make_cred(1000, 1000), dir, "f", &fh, &a, &da);
  EXPECT_TRUE(s == Status::kAccess || s == Status::kWouldBlock) << status_name(s);
  EXPECT_EQ(be_->lookup(make_cred(1000, 1000), dir, "f", &fh, &a, &da), Status::kAccess);
}

TEST_F(NowaitTest, TryLookupWouldBlockOnAnUncachedDirectoryHandle) {
  ASSERT_EQ(::mkdir((exp_ / "d").c_str(), 0755), 0);
  testing::write_file(exp_ / "d/f", "x");
  const FileHandle dir = lookup(root_, "d");
  auto b = fresh_backend();
  FileHandle fh;
  Attr a;
  std::optional<Attr> da;
  EXPECT_EQ(b->try_lookup(root_cred(), dir, "f", &fh, &a, &da), Status::kWouldBlock);
}

TEST_F(NowaitTest, LookupKeepsTheDescriptorForTheCallsThatFollow) {
  testing::write_file(exp_ / "f", "data");
  const FileHandle fh = lookup(root_, "f");
  auto b = fresh_backend();
  FileHandle found;
  Attr a;
  std::optional<Attr> da;
  ASSERT_EQ(b->getattr(root_, &a), Status::kOk);  // the directory's handle cached
  ASSERT_EQ(b->try_lookup(root_cred(), root_, "f", &found, &a, &da), Status::kOk);
  EXPECT_EQ(found, fh);
  // GETATTR of what LOOKUP found needs no open_by_handle_at.
  EXPECT_EQ(b->try_getattr(found, &a), Status::kOk);
}

TEST_F(NowaitTest, RepeatedTryLookupsAnswerWhatTheNameNamesNowAfterChangesBehindNasd) {
  // The second and later lookups of a name are answered by a statx alone
  // (lookup_hints.h); whatever happened to the name meanwhile, the answer
  // is the one a fresh lookup gives.
  testing::write_file(exp_ / "f", "data");
  testing::write_file(exp_ / "g", "longer data");
  for (int form = 0; form < 4; ++form) {
    // Both calls, with and without the directory's attributes (without,
    // the directory is not even stat'ed on the way).
    const bool attrs_only = form < 2, with_dir_attr = form % 2 == 0;
    SCOPED_TRACE(::testing::Message() << (attrs_only ? "try_lookup_for_attrs" : "try_lookup")
                                    << (with_dir_attr ? " with" : " without")
                                    << " directory attributes");
    auto try_lookup = [&](FileHandle* fh, Attr* a) {
      std::optional<Attr> da;
      std::optional<Attr>* dap = with_dir_attr ? &da : nullptr;
      return attrs_only ? be_->try_lookup_for_attrs(root_cred(), root_, "f", fh, a, dap)
                        : be_->try_lookup(root_cred(), root_, "f", fh, a, dap);
    };
    const FileHandle first = lookup(root_, "f");
    FileHandle fh;
    Attr a;
    for (int i = 0; i < 2; ++i) {
      ASSERT_EQ(try_lookup(&fh, &a), Status::kOk);
      EXPECT_EQ(fh, first);
      EXPECT_EQ(a.size, 4u);
    }
    ASSERT_EQ(::chmod((exp_ / "f").c_str(), 0600), 0);
    ASSERT_EQ(try_lookup(&fh, &a), Status::kOk);
    EXPECT_EQ(a.mode & 07777, 0600u);
    ASSERT_EQ(::rename((exp_ / "g").c_str(), (exp_ / "f").c_str()), 0);  // another inode
    ASSERT_EQ(try_lookup(&fh, &a), Status::kOk);
    EXPECT_NE(fh, first);
    EXPECT_EQ(fh, lookup(root_, "f"));
    EXPECT_EQ(a.size, 11u);
    testing::write_file(exp_ / "f", "longer data, longer");
    ASSERT_EQ(try_lookup(&fh, &a), Status::kOk);
    EXPECT_EQ(a.size, 19u);
    ASSERT_EQ(::unlink((exp_ / "f").c_str()), 0);
    const Status gone = try_lookup(&fh, &a);
    EXPECT_TRUE(gone == Status::kNoEnt || gone == Status::kWouldBlock) << status_name(gone);
    // Again for the next round.
    testing::write_file(exp_ / "f", "data");
    testing::write_file(exp_ / "g", "longer data");
  }
}

TEST_F(NowaitTest, TryLookupForAttrsChecksSearchPermissionAsTheCaller) {
  ASSERT_EQ(::mkdir((exp_ / "private").c_str(), 0700), 0);
  testing::write_file(exp_ / "private/f", "x");
  const FileHandle dir = lookup(root_, "private");
  FileHandle fh;
  Attr a;
  std::optional<Attr> da;
  // Twice as root: the name is then known to have been resolved from memory.
  ASSERT_EQ(be_->try_lookup_for_attrs(root_cred(), dir, "f", &fh, &a, &da), Status::kOk);
  ASSERT_EQ(be_->try_lookup_for_attrs(root_cred(), dir, "f", &fh, &a, &da), Status::kOk);
  const Status s = be_->try_lookup_for_attrs(make_cred(1000, 1000), dir, "f", &fh, &a, &da);
  EXPECT_TRUE(s == Status::kAccess || s == Status::kWouldBlock) << status_name(s);
  const Status no_dir_attr =
      be_->try_lookup_for_attrs(make_cred(1000, 1000), dir, "f", &fh, &a, nullptr);
  EXPECT_TRUE(no_dir_attr == Status::kAccess || no_dir_attr == Status::kWouldBlock)
      << status_name(no_dir_attr);
}

TEST_F(NowaitTest, TryLookupWithoutDirectoryAttributesInARegularFileIsNotDir) {
  testing::write_file(exp_ / "f", "x");
  const FileHandle file = lookup(root_, "f");
  FileHandle fh;
  Attr a;
  std::optional<Attr> da;
  EXPECT_EQ(be_->lookup(root_cred(), file, "g", &fh, &a, &da), Status::kNotDir);
  EXPECT_EQ(be_->try_lookup_for_attrs(root_cred(), file, "g", &fh, &a, nullptr), Status::kNotDir);
  EXPECT_EQ(be_->try_lookup(root_cred(), file, "g", &fh, &a, nullptr), Status::kNotDir);
}

TEST_F(NowaitTest, TryReadReturnsCachedDataAndEof) {
  testing::write_file(exp_ / "f", "hello world");
  const FileHandle fh = lookup(root_, "f");
  std::vector<std::uint8_t> buf(64);
  std::uint32_t count = 0;
  bool eof = false;
  std::optional<Attr> attr;
  ASSERT_EQ(be_->try_read(root_cred(), fh, 6, buf, &count, &eof, &attr), Status::kOk);
  EXPECT_EQ(count, 5u);
  EXPECT_TRUE(eof);
  EXPECT_EQ(std::string(buf.begin(), buf.begin() + count), "world");
  ASSERT_TRUE(attr.has_value());
  EXPECT_EQ(attr->size, 11u);
  // Past the end: nothing to read, nothing to wait for.
  ASSERT_EQ(be_->try_read(root_cred(), fh, 100, buf, &count, &eof, &attr), Status::kOk);
  EXPECT_EQ(count, 0u);
  EXPECT_TRUE(eof);
}

TEST_F(NowaitTest, TryReadIsDeniedLikeRead) {
  testing::write_file(exp_ / "secret", "s", 0600);
  const FileHandle fh = lookup(root_, "secret");
  std::vector<std::uint8_t> buf(16);
  std::uint32_t count = 0;
  bool eof = false;
  std::optional<Attr> attr;
  EXPECT_EQ(be_->try_read(make_cred(1000, 1000), fh, 0, buf, &count, &eof, &attr),
            Status::kAccess);
}

/// True when no page of the file's first `len` bytes is in the page cache.
bool evicted(const std::string& path, std::size_t len) {
  const int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) return false;
  ::fdatasync(fd);
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
  void* map = ::mmap(nullptr, len, PROT_READ, MAP_SHARED, fd, 0);
  ::close(fd);
  if (map == MAP_FAILED) return false;
  const std::size_t page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  std::vector<unsigned char> resident((len + page - 1) / page);
  const bool ok = ::mincore(map, len, resident.data()) == 0;
  ::munmap(map, len);
  if (!ok) return false;
  for (unsigned char r : resident) {
    if (r & 1) return false;
  }
  return true;
}

TEST_F(NowaitTest, TryReadWouldBlockWhenTheDataIsNotInThePageCache) {
  const std::string big(256 << 10, 'z');
  testing::write_file(exp_ / "cold", big);
  const FileHandle fh = lookup(root_, "cold");
  if (!evicted(exp_ / "cold", big.size())) {
    GTEST_SKIP() << "this filesystem keeps the file's pages (tmpfs?)";
  }
  std::vector<std::uint8_t> buf(4096);
  std::uint32_t count = 0;
  bool eof = false;
  std::optional<Attr> attr;
  EXPECT_EQ(be_->try_read(root_cred(), fh, 128 << 10, buf, &count, &eof, &attr),
            Status::kWouldBlock);
  ASSERT_EQ(be_->read(root_cred(), fh, 128 << 10, buf, &count, &eof, &attr), Status::kOk);
  EXPECT_EQ(count, 4096u);
  EXPECT_EQ(buf[0], 'z');
}

}  // namespace
}  // namespace nasd::storage
