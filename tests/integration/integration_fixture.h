// Common gtest fixture for the integration suites: a fresh nasd process per
// test, MOUNT helpers and a few on-disk helpers.
#pragma once

#include <sys/stat.h>

#include <filesystem>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "tests/integration/nasd_process.h"
#include "tests/integration/rpc_client.h"

namespace nasd::integration {

/// Readable names for nfsstat3 / mountstat3 in assertion messages.
inline std::string nfsstat_name(int s) {
  switch (s) {
    case NFS3_OK: return "NFS3_OK";
    case NFS3ERR_PERM: return "NFS3ERR_PERM";
    case NFS3ERR_NOENT: return "NFS3ERR_NOENT";
    case NFS3ERR_IO: return "NFS3ERR_IO";
    case NFS3ERR_ACCES: return "NFS3ERR_ACCES";
    case NFS3ERR_EXIST: return "NFS3ERR_EXIST";
    case NFS3ERR_XDEV: return "NFS3ERR_XDEV";
    case NFS3ERR_NOTDIR: return "NFS3ERR_NOTDIR";
    case NFS3ERR_ISDIR: return "NFS3ERR_ISDIR";
    case NFS3ERR_INVAL: return "NFS3ERR_INVAL";
    case NFS3ERR_ROFS: return "NFS3ERR_ROFS";
    case NFS3ERR_NAMETOOLONG: return "NFS3ERR_NAMETOOLONG";
    case NFS3ERR_NOTEMPTY: return "NFS3ERR_NOTEMPTY";
    case NFS3ERR_STALE: return "NFS3ERR_STALE";
    case NFS3ERR_BADHANDLE: return "NFS3ERR_BADHANDLE";
    case NFS3ERR_NOT_SYNC: return "NFS3ERR_NOT_SYNC";
    case NFS3ERR_BAD_COOKIE: return "NFS3ERR_BAD_COOKIE";
    case NFS3ERR_NOTSUPP: return "NFS3ERR_NOTSUPP";
    case NFS3ERR_SERVERFAULT: return "NFS3ERR_SERVERFAULT";
    default: return "nfsstat3(" + std::to_string(s) + ")";
  }
}

#define EXPECT_NFS(expected, actual) EXPECT_EQ(nfsstat_name(expected), nfsstat_name(actual))
#define ASSERT_NFS(expected, actual) ASSERT_EQ(nfsstat_name(expected), nfsstat_name(actual))

class NasdTest : public ::testing::Test {
 protected:
  void SetUp() override { nasd_ = std::make_unique<NasdProcess>(); }
  void TearDown() override { nasd_.reset(); }

  /// MNT of `dir`; fails the test unless MNT3_OK.
  Fh mount_root(const std::filesystem::path& dir) {
    MountClient m(nasd_->mount_port());
    auto [status, fh] = m.mnt(dir.string());
    EXPECT_EQ(MNT3_OK, status) << "MNT " << dir;
    return fh;
  }

  /// Writes `content` to `path` on disk (as the test process, root).
  static void write_file(const std::filesystem::path& path, const std::string& content);
  /// stat(2) of `path`; fails the test when it does not exist.
  static struct stat stat_of(const std::filesystem::path& path);

  std::unique_ptr<NasdProcess> nasd_;
};

}  // namespace nasd::integration
