// UringIo: positional write/read/fsync round trips, from several threads.
#include "storage/local/uring_io.h"

#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "storage/unique_fd.h"
#include "tests/storage/test_util.h"

namespace nasd::storage {
namespace {

class UringIoBoth : public ::testing::TestWithParam<bool> {};

TEST_P(UringIoBoth, WriteThenReadBackAtOffset) {
  testing::TempDir dir;
  UniqueFd fd(::open((dir / "f").c_str(), O_RDWR | O_CREAT, 0644));
  ASSERT_TRUE(fd.valid());
  UringIo io(GetParam());
  if (!GetParam()) {
    EXPECT_TRUE(io.using_fallback());
  }
  std::string msg = "hello uring";
  std::span<const std::uint8_t> src(reinterpret_cast<const std::uint8_t*>(msg.data()), msg.size());
  EXPECT_EQ(io.write(fd.get(), 100, src, 0), static_cast<long>(msg.size()));
  EXPECT_EQ(io.fsync(fd.get(), false), 0);
  EXPECT_EQ(io.fsync(fd.get(), true), 0);
  std::vector<std::uint8_t> dst(64);
  long n = io.read(fd.get(), 100, dst);
  ASSERT_EQ(n, static_cast<long>(msg.size()));  // short: end of file
  EXPECT_EQ(std::string(dst.begin(), dst.begin() + n), msg);
  EXPECT_EQ(::lseek(fd.get(), 0, SEEK_END), 100 + static_cast<off_t>(msg.size()));
  EXPECT_EQ(io.write(fd.get(), 0, src, RWF_DSYNC), static_cast<long>(msg.size()));
}

TEST_P(UringIoBoth, ErrorsComeBackAsNegativeErrno) {
  testing::TempDir dir;
  UniqueFd ro(::open((dir / "f").c_str(), O_RDONLY | O_CREAT, 0644));
  ASSERT_TRUE(ro.valid());
  UringIo io(GetParam());
  std::uint8_t b[1] = {1};
  EXPECT_EQ(io.write(ro.get(), 0, b, 0), -EBADF);
  std::vector<std::uint8_t> dst(8);
  EXPECT_EQ(io.read(-1, 0, dst), -EBADF);
  EXPECT_EQ(io.fsync(-1, false), -EBADF);
}

INSTANTIATE_TEST_SUITE_P(RingAndFallback, UringIoBoth, ::testing::Values(true, false),
                         [](const auto& info) { return info.param ? "Ring" : "Fallback"; });

TEST(UringIo, ThreadsUseTheirOwnRings) {
  testing::TempDir dir;
  UniqueFd fd(::open((dir / "f").c_str(), O_RDWR | O_CREAT, 0644));
  ASSERT_TRUE(fd.valid());
  UringIo io;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      std::vector<std::uint8_t> block(4096, static_cast<std::uint8_t>('a' + t));
      for (int i = 0; i < 50; ++i) io.write(fd.get(), static_cast<std::uint64_t>(t) * 4096, block, 0);
    });
  }
  for (auto& th : threads) th.join();
  std::vector<std::uint8_t> all(4 * 4096);
  ASSERT_EQ(io.read(fd.get(), 0, all), static_cast<long>(all.size()));
  for (int t = 0; t < 4; ++t) EXPECT_EQ(all[static_cast<std::size_t>(t) * 4096 + 17], 'a' + t);
}

}  // namespace
}  // namespace nasd::storage
