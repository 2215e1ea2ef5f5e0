// CredentialsGuard: the thread's fs identity inside and after the guard.
#include "storage/local/cred_guard.h"

#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <future>
#include <thread>

#include "tests/storage/test_util.h"

namespace nasd::storage {
namespace {

using testing::TempDir;

long fsuid_now() { return syscall(SYS_setfsuid, static_cast<uid_t>(-1)); }
long fsgid_now() { return syscall(SYS_setfsgid, static_cast<gid_t>(-1)); }

TEST(CredentialsGuard, SetsFsIdsAndReturnsToFsuidRoot) {
  Credentials c = testing::make_cred(1000, 1001);
  {
    CredentialsGuard g(c);
    ASSERT_TRUE(g.ok());
    EXPECT_EQ(fsuid_now(), 1000);
    EXPECT_EQ(fsgid_now(), 1001);
  }
  EXPECT_EQ(fsuid_now(), 0);
  CredentialsGuard::restore_root();
  EXPECT_EQ(fsgid_now(), 0);
  EXPECT_EQ(::getgroups(0, nullptr), 0);
}

TEST(CredentialsGuard, RootGuardAfterAnUnprivilegedOneActsAsRootWithItsOwnGid) {
  TempDir dir;
  const std::string f = dir / "root-only";
  testing::write_file(f, "x", 0600);
  {
    CredentialsGuard g(testing::make_cred(1000, 1000));
    ASSERT_TRUE(g.ok());
    EXPECT_LT(::open(f.c_str(), O_RDONLY | O_CLOEXEC), 0);
  }
  {
    CredentialsGuard g(testing::make_cred(0, 1001));
    ASSERT_TRUE(g.ok());
    EXPECT_EQ(fsuid_now(), 0);
    EXPECT_EQ(fsgid_now(), 1001);
    const int fd = ::open(f.c_str(), O_RDONLY | O_CLOEXEC);  // root's capabilities
    EXPECT_GE(fd, 0);
    if (fd >= 0) ::close(fd);
  }
  EXPECT_EQ(fsuid_now(), 0);
  CredentialsGuard::restore_root();
}

TEST(CredentialsGuard, NextIdentityGetsItsOwnGidAndGroupsNotThePreviousOnes) {
  TempDir dir;
  ::chmod(dir.path().c_str(), 0755);
  const std::string f = dir / "group-2000";
  testing::write_file(f, "x", 0640);
  ASSERT_EQ(::chown(f.c_str(), 1001, 2000), 0);
  Credentials with_group = testing::make_cred(1000, 1000);
  with_group.groups[0] = 2000;
  with_group.ngroups = 1;
  {
    CredentialsGuard g(with_group);
    ASSERT_TRUE(g.ok());
    int fd = ::open(f.c_str(), O_RDONLY);
    EXPECT_GE(fd, 0);
    if (fd >= 0) ::close(fd);
  }
  {
    // Another caller without group 2000: the group must not linger.
    CredentialsGuard g(testing::make_cred(1002, 1002));
    ASSERT_TRUE(g.ok());
    EXPECT_EQ(::getgroups(0, nullptr), 0);
    EXPECT_EQ(fsgid_now(), 1002);
    int fd = ::open(f.c_str(), O_RDONLY);
    EXPECT_EQ(fd, -1);
    if (fd >= 0) ::close(fd);
  }
  CredentialsGuard::restore_root();
}

TEST(CredentialsGuard, UnprivilegedIdentityCannotReadOthersPrivateFile) {
  TempDir dir;
  ::chmod(dir.path().c_str(), 0755);
  const std::string f = dir / "secret";
  testing::write_file(f, "x", 0600);
  ASSERT_EQ(::chown(f.c_str(), 1001, 1001), 0);
  {
    CredentialsGuard g(testing::make_cred(1000, 1000));
    ASSERT_TRUE(g.ok());
    int fd = ::open(f.c_str(), O_RDONLY);
    EXPECT_EQ(fd, -1);
    EXPECT_EQ(errno, EACCES);
    if (fd >= 0) ::close(fd);
  }
  int fd = ::open(f.c_str(), O_RDONLY);  // root again
  EXPECT_GE(fd, 0);
  if (fd >= 0) ::close(fd);
}

TEST(CredentialsGuard, SupplementaryGroupGrantsAccess) {
  TempDir dir;
  ::chmod(dir.path().c_str(), 0755);
  const std::string f = dir / "group-readable";
  testing::write_file(f, "x", 0640);
  ASSERT_EQ(::chown(f.c_str(), 1001, 2000), 0);
  Credentials c = testing::make_cred(1000, 1000);
  c.ngroups = 1;
  c.groups[0] = 2000;
  CredentialsGuard g(c);
  ASSERT_TRUE(g.ok());
  int fd = ::open(f.c_str(), O_RDONLY);
  EXPECT_GE(fd, 0);
  if (fd >= 0) ::close(fd);
}

TEST(CredentialsGuard, AffectsOnlyTheCallingThread) {
  // The other thread starts before the guard (a new thread inherits the
  // creator's credentials) and samples its fsuid while the guard is held.
  std::promise<void> guarded;
  std::promise<long> sampled;
  std::thread t([&] {
    guarded.get_future().wait();
    sampled.set_value(fsuid_now());
  });
  {
    CredentialsGuard g(testing::make_cred(1000, 1000));
    ASSERT_TRUE(g.ok());
    guarded.set_value();
    EXPECT_EQ(sampled.get_future().get(), 0);
    EXPECT_EQ(fsuid_now(), 1000);
  }
  t.join();
}

}  // namespace
}  // namespace nasd::storage
