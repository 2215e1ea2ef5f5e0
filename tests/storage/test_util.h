// Helpers for storage tests: temporary directories and a LocalBackend fixture.
#pragma once

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "storage/local/local_backend.h"

namespace nasd::storage::testing {

/// A fresh directory under /tmp (mkdtemp), removed recursively at scope exit.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = "/tmp/nasd-storage-XXXXXX";
    if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& rel) const { return path_ + "/" + rel; }

 private:
  std::string path_;
};

inline void write_file(const std::string& path, const std::string& content, mode_t mode = 0644) {
  std::ofstream(path) << content;
  ::chmod(path.c_str(), mode);
}

inline Credentials make_cred(std::uint32_t uid, std::uint32_t gid) {
  Credentials c;
  c.uid = uid;
  c.gid = gid;
  return c;
}

inline Credentials root_cred() { return make_cred(0, 0); }

/// A LocalBackend with export 1 = a temporary directory, and its root handle.
class BackendTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::umask(022);
    be_ = std::make_unique<LocalBackend>(state_.path());
    ASSERT_EQ(be_->add_export(1, exp_.path()), Status::kOk);
    ASSERT_EQ(be_->root_handle(1, &root_), Status::kOk);
    // Let unprivileged test identities traverse the export.
    ::chmod(exp_.path().c_str(), 0755);
  }

  /// LOOKUP as root; fails the test on error.
  FileHandle lookup(const FileHandle& dir, const std::string& name) {
    FileHandle fh;
    Attr a;
    std::optional<Attr> da;
    EXPECT_EQ(be_->lookup(root_cred(), dir, name, &fh, &a, &da), Status::kOk) << name;
    return fh;
  }

  TempDir state_;
  TempDir exp_;
  std::unique_ptr<LocalBackend> be_;
  FileHandle root_;
};

}  // namespace nasd::storage::testing

namespace nasd::storage {
/// gtest printer: statuses by name in failure messages.
inline void PrintTo(Status s, std::ostream* os) { *os << status_name(s); }
}  // namespace nasd::storage
