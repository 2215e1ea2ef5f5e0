// status_from_errno, status_name and FileHandle::assign.
#include "storage/types.h"

#include <gtest/gtest.h>

#include "tests/storage/test_util.h"  // Status printer (one definition for every test file)

#include <cerrno>
#include <cstring>
#include <vector>

namespace nasd::storage {
namespace {

TEST(StatusFromErrno, MapsCommonErrnoValues) {
  EXPECT_EQ(status_from_errno(0), Status::kOk);
  EXPECT_EQ(status_from_errno(ENOENT), Status::kNoEnt);
  EXPECT_EQ(status_from_errno(EACCES), Status::kAccess);
  EXPECT_EQ(status_from_errno(EEXIST), Status::kExist);
  EXPECT_EQ(status_from_errno(ENOTEMPTY), Status::kNotEmpty);
  EXPECT_EQ(status_from_errno(ESTALE), Status::kStale);
  EXPECT_EQ(status_from_errno(ENAMETOOLONG), Status::kNameTooLong);
  EXPECT_EQ(status_from_errno(EIO), Status::kIo);
  EXPECT_EQ(status_from_errno(EUCLEAN), Status::kIo);
}

TEST(StatusFromErrno, UnknownErrnoIsServerFault) {
  EXPECT_EQ(status_from_errno(ECHILD), Status::kServerFault);
  EXPECT_EQ(status_from_errno(12345), Status::kServerFault);
}

TEST(StatusName, NamesEveryStatusDistinctly) {
  EXPECT_STREQ(status_name(Status::kNoEnt), "NOENT");
  EXPECT_STREQ(status_name(Status::kBadHandle), "BADHANDLE");
  EXPECT_STREQ(status_name(static_cast<Status>(200)), "UNKNOWN");
  for (int a = 0; a <= static_cast<int>(Status::kServerFault); ++a)
    for (int b = a + 1; b <= static_cast<int>(Status::kServerFault); ++b)
      EXPECT_STRNE(status_name(static_cast<Status>(a)), status_name(static_cast<Status>(b)));
}

TEST(FileHandleAssign, CopiesBytesAndRejectsEmptyOrOversized) {
  FileHandle fh;
  std::vector<std::uint8_t> b = {1, 2, 3};
  ASSERT_TRUE(fh.assign(b));
  EXPECT_EQ(fh.size, 3);
  EXPECT_EQ(std::vector<std::uint8_t>(fh.bytes().begin(), fh.bytes().end()), b);

  EXPECT_FALSE(fh.assign({}));
  EXPECT_EQ(fh.size, 0);
  std::vector<std::uint8_t> big(FileHandle::kMaxSize + 1, 7);
  EXPECT_FALSE(fh.assign(big));
  EXPECT_EQ(fh.size, 0);
  std::vector<std::uint8_t> max(FileHandle::kMaxSize, 9);
  EXPECT_TRUE(fh.assign(max));
  EXPECT_EQ(fh.size, FileHandle::kMaxSize);
}

}  // namespace
}  // namespace nasd::storage
