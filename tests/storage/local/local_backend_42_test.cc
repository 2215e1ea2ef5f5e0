// LocalBackend: the NFSv4.2 calls (seek, allocate, deallocate, copy, clone)
// and the user-namespace xattr calls on a real directory, including the
// client-credential checks and the "user." confinement.
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "tests/storage/test_util.h"

namespace nasd::storage {
namespace {

using testing::BackendTest;
using testing::make_cred;
using testing::root_cred;

constexpr std::uint64_t kMiB = 1 << 20;

class Ops42Test : public BackendTest {
 protected:
  /// A file of `size` bytes of a repeating pattern, owned by uid/gid 1000.
  FileHandle make_file(const std::string& name, std::size_t size, mode_t mode = 0644) {
    std::string data(size, '\0');
    for (std::size_t i = 0; i < size; ++i) data[i] = static_cast<char>('a' + i % 23);
    testing::write_file(exp_ / name, data, mode);
    EXPECT_EQ(::chown((exp_ / name).c_str(), 1000, 1000), 0);
    return lookup(root_, name);
  }
  std::string contents(const std::string& name) {
    std::ifstream f(exp_ / name, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(f), {});
  }
  std::span<const std::uint8_t> bytes(const std::string& s) {
    return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
  }
  Credentials owner_ = make_cred(1000, 1000);
  Credentials other_ = make_cred(2000, 2000);
};

TEST_F(Ops42Test, PunchedHoleReadsAsZerosAndSeekFindsIt) {
  FileHandle f = make_file("f", 3 * kMiB);
  WccData w;
  ASSERT_EQ(be_->deallocate(owner_, f, kMiB, kMiB, &w), Status::kOk);
  ASSERT_TRUE(w.after.has_value());
  EXPECT_EQ(w.after->size, 3 * kMiB);  // KEEP_SIZE
  const std::string got = contents("f");
  EXPECT_EQ(got.substr(kMiB, kMiB), std::string(kMiB, '\0'));
  EXPECT_EQ(got[kMiB - 1], static_cast<char>('a' + (kMiB - 1) % 23));
  std::uint64_t pos = 0;
  bool eof = true;
  ASSERT_EQ(be_->seek(owner_, f, 0, /*data=*/false, &pos, &eof), Status::kOk);
  EXPECT_EQ(pos, kMiB);
  EXPECT_FALSE(eof);
  ASSERT_EQ(be_->seek(owner_, f, kMiB, /*data=*/true, &pos, &eof), Status::kOk);
  EXPECT_EQ(pos, 2 * kMiB);
  ASSERT_EQ(be_->seek(owner_, f, 2 * kMiB, /*data=*/false, &pos, &eof), Status::kOk);
  EXPECT_EQ(pos, 3 * kMiB);
  EXPECT_TRUE(eof);
  EXPECT_EQ(be_->seek(owner_, f, 3 * kMiB, /*data=*/true, &pos, &eof), Status::kNxio);
}

TEST_F(Ops42Test, AllocateGrowsTheFileAndNeedsWritePermission) {
  FileHandle f = make_file("f", 10);
  WccData w;
  ASSERT_EQ(be_->allocate(owner_, f, 0, 4 * kMiB, &w), Status::kOk);
  struct stat st {};
  ASSERT_EQ(::stat((exp_ / "f").c_str(), &st), 0);
  EXPECT_EQ(static_cast<std::uint64_t>(st.st_size), 4 * kMiB);
  EXPECT_GE(static_cast<std::uint64_t>(st.st_blocks) * 512, 4 * kMiB);
  EXPECT_EQ(be_->allocate(other_, f, 0, 8 * kMiB, &w), Status::kAccess);
  EXPECT_EQ(be_->allocate(owner_, root_, 0, 10, &w), Status::kIsDir);
}

TEST_F(Ops42Test, CopyCopiesTheRangeAndRefusesARangePastTheSourceEnd) {
  FileHandle src = make_file("src", 100000);
  FileHandle dst = make_file("dst", 0);
  std::uint64_t copied = 0;
  WccData w;
  ASSERT_EQ(be_->copy(owner_, src, 1000, dst, 10, 50000, &copied, &w), Status::kOk);
  EXPECT_EQ(copied, 50000u);
  const std::string s = contents("src"), d = contents("dst");
  ASSERT_EQ(d.size(), 50010u);
  EXPECT_EQ(d.substr(10), s.substr(1000, 50000));
  EXPECT_EQ(be_->copy(owner_, src, 99000, dst, 0, 2000, &copied, &w), Status::kInval);
  ASSERT_EQ(be_->copy(owner_, src, 99000, dst, 0, 0, &copied, &w), Status::kOk);  // to EOF
  EXPECT_EQ(copied, 1000u);
}

TEST_F(Ops42Test, CopyToAFileTheClientCannotWriteIsAccess) {
  FileHandle src = make_file("src", 100);
  FileHandle dst = make_file("dst", 0, 0644);
  std::uint64_t copied = 0;
  WccData w;
  EXPECT_EQ(be_->copy(other_, src, 0, dst, 0, 100, &copied, &w), Status::kAccess);
  EXPECT_EQ(copied, 0u);
}

TEST_F(Ops42Test, CloneEitherSharesTheDataOrIsNotSupp) {
  FileHandle src = make_file("src", 8192);
  FileHandle dst = make_file("dst", 0);
  WccData w;
  Status s = be_->clone(owner_, src, 0, dst, 0, 0, &w);
  if (s == Status::kNotSupp) {  // e.g. ext4: nothing may have changed
    EXPECT_EQ(contents("dst"), "");
    return;
  }
  ASSERT_EQ(s, Status::kOk);
  EXPECT_EQ(contents("dst"), contents("src"));
}

TEST_F(Ops42Test, XattrsLiveInTheUserNamespaceWithCreateAndReplaceSemantics) {
  FileHandle f = make_file("f", 10);
  WccData w;
  Status s = be_->setxattr(owner_, f, "color", bytes("blue"), XattrSetMode::kCreate, &w);
  if (s == Status::kNotSupp) GTEST_SKIP() << "no user xattrs on the test filesystem";
  ASSERT_EQ(s, Status::kOk);
  char buf[16] = {};
  ASSERT_EQ(::getxattr((exp_ / "f").c_str(), "user.color", buf, sizeof(buf)), 4);
  EXPECT_EQ(std::string(buf, 4), "blue");
  EXPECT_EQ(be_->setxattr(owner_, f, "color", bytes("red"), XattrSetMode::kCreate, &w),
            Status::kExist);
  EXPECT_EQ(be_->setxattr(owner_, f, "shape", bytes("x"), XattrSetMode::kReplace, &w),
            Status::kNoEnt);
  ASSERT_EQ(be_->setxattr(owner_, f, "color", bytes("red"), XattrSetMode::kReplace, &w),
            Status::kOk);
  std::vector<std::uint8_t> v;
  ASSERT_EQ(be_->getxattr(owner_, f, "color", &v), Status::kOk);
  EXPECT_EQ(std::string(v.begin(), v.end()), "red");
  ASSERT_EQ(be_->setxattr(owner_, f, "shape", bytes(""), XattrSetMode::kEither, &w), Status::kOk);
  std::vector<std::string> names;
  ASSERT_EQ(be_->listxattrs(owner_, f, &names), Status::kOk);
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"color", "shape"}));
  ASSERT_EQ(be_->removexattr(owner_, f, "color", &w), Status::kOk);
  EXPECT_EQ(be_->getxattr(owner_, f, "color", &v), Status::kNoEnt);
  EXPECT_EQ(be_->removexattr(owner_, f, "color", &w), Status::kNoEnt);
}

TEST_F(Ops42Test, XattrsFollowTheFilePermissions) {
  FileHandle f = make_file("f", 10, 0600);
  WccData w;
  Status s = be_->setxattr(owner_, f, "k", bytes("v"), XattrSetMode::kEither, &w);
  if (s == Status::kNotSupp) GTEST_SKIP() << "no user xattrs on the test filesystem";
  ASSERT_EQ(s, Status::kOk);
  std::vector<std::uint8_t> v;
  EXPECT_EQ(be_->getxattr(other_, f, "k", &v), Status::kAccess);
  EXPECT_EQ(be_->setxattr(other_, f, "k", bytes("w"), XattrSetMode::kEither, &w), Status::kAccess);
}

TEST_F(Ops42Test, XattrNamesCannotLeaveTheUserNamespace) {
  FileHandle f = make_file("f", 10);
  WccData w;
  std::vector<std::uint8_t> v;
  // Prefixed with "user." by the backend: "trusted.x" becomes "user.trusted.x".
  Status s = be_->setxattr(root_cred(), f, "trusted.x", bytes("v"), XattrSetMode::kEither, &w);
  if (s == Status::kNotSupp) GTEST_SKIP() << "no user xattrs on the test filesystem";
  ASSERT_EQ(s, Status::kOk);
  EXPECT_LT(::getxattr((exp_ / "f").c_str(), "trusted.x", nullptr, 0), 0);
  EXPECT_GT(::getxattr((exp_ / "f").c_str(), "user.trusted.x", nullptr, 0), 0);
  EXPECT_EQ(be_->getxattr(root_cred(), f, "", &v), Status::kInval);
  EXPECT_EQ(be_->getxattr(root_cred(), f, std::string(260, 'n'), &v), Status::kNameTooLong);
  std::vector<std::uint8_t> big(65537);
  EXPECT_EQ(be_->setxattr(root_cred(), f, "big", big, XattrSetMode::kEither, &w), Status::kFBig);
}

}  // namespace
}  // namespace nasd::storage
