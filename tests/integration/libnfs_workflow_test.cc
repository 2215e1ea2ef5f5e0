// Client workflows through libnfs's high-level synchronous API (the way an
// application uses NFS), checked against the export on disk.
#include <fcntl.h>

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

#include "tests/integration/integration_fixture.h"

namespace nasd::integration {
namespace {

/// An nfs_context mounted on one export via URL options (no portmapper).
class LibnfsSession {
 public:
  LibnfsSession(const NasdProcess& nasd, const std::filesystem::path& dir,
                std::optional<std::pair<int, int>> ids = std::nullopt)
      : nfs_(nfs_init_context()) {
    if (nfs_ == nullptr) throw std::runtime_error("nfs_init_context failed");
    nfs_set_timeout(nfs_, 10000);
    if (ids) {
      nfs_set_uid(nfs_, ids->first);
      nfs_set_gid(nfs_, ids->second);
    }
    nfs_url* url = nfs_parse_url_dir(nfs_, nasd.url(dir).c_str());
    if (url == nullptr) throw std::runtime_error(std::string("URL: ") + nfs_get_error(nfs_));
    int rc = nfs_mount(nfs_, url->server, url->path);
    nfs_destroy_url(url);
    if (rc != 0) throw std::runtime_error(std::string("nfs_mount: ") + nfs_get_error(nfs_));
  }
  ~LibnfsSession() {
    nfs_umount(nfs_);
    nfs_destroy_context(nfs_);
  }
  LibnfsSession(const LibnfsSession&) = delete;
  LibnfsSession& operator=(const LibnfsSession&) = delete;

  nfs_context* get() { return nfs_; }
  std::string error() { return nfs_get_error(nfs_); }

  /// Writes the whole of `data` to `path` (created or truncated).
  int write_file(const std::string& path, const std::string& data) {
    nfsfh* fh = nullptr;
    int rc = nfs_open(nfs_, path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, &fh);
    if (rc != 0) return rc;
    std::size_t off = 0;
    while (off < data.size()) {
      std::size_t n = std::min<std::size_t>(data.size() - off, 200000);
      int w = nfs_pwrite(nfs_, fh, off, n, const_cast<char*>(data.data() + off));
      if (w <= 0) {
        nfs_close(nfs_, fh);
        return w < 0 ? w : -EIO;
      }
      off += static_cast<std::size_t>(w);
    }
    rc = nfs_fsync(nfs_, fh);
    nfs_close(nfs_, fh);
    return rc;
  }

  /// Reads `path` to its end; nullopt on error (error() says why).
  std::optional<std::string> read_file(const std::string& path) {
    nfsfh* fh = nullptr;
    if (nfs_open(nfs_, path.c_str(), O_RDONLY, &fh) != 0) return std::nullopt;
    std::string out;
    std::vector<char> buf(131072);
    for (;;) {
      int n = nfs_pread(nfs_, fh, out.size(), buf.size(), buf.data());
      if (n < 0) {
        nfs_close(nfs_, fh);
        return std::nullopt;
      }
      if (n == 0) break;
      out.append(buf.data(), static_cast<std::size_t>(n));
    }
    nfs_close(nfs_, fh);
    return out;
  }

  /// Names in directory `path`; nullopt on error.
  std::optional<std::set<std::string>> list(const std::string& path) {
    nfsdir* dir = nullptr;
    if (nfs_opendir(nfs_, path.c_str(), &dir) != 0) return std::nullopt;
    std::set<std::string> names;
    while (nfsdirent* e = nfs_readdir(nfs_, dir)) names.insert(e->name);
    nfs_closedir(nfs_, dir);
    return names;
  }

 private:
  nfs_context* nfs_;
};

std::string disk_content(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

using LibnfsWorkflowTest = NasdTest;

TEST_F(LibnfsWorkflowTest, LargeFileWrittenAndReadBackIsIdentical) {
  LibnfsSession s(*nasd_, nasd_->export_dir());
  std::string data(3 * 1024 * 1024 + 123, '\0');
  std::uint32_t x = 12345;
  for (auto& c : data) {
    x = x * 1103515245u + 12345u;
    c = static_cast<char>(x >> 24);
  }
  ASSERT_EQ(0, s.write_file("/big.bin", data)) << s.error();
  auto back = s.read_file("/big.bin");
  ASSERT_TRUE(back.has_value()) << s.error();
  EXPECT_EQ(data.size(), back->size());
  EXPECT_TRUE(*back == data);
  EXPECT_TRUE(disk_content(nasd_->export_dir() / "big.bin") == data);
  nfs_stat_64 st{};
  ASSERT_EQ(0, nfs_stat64(s.get(), "/big.bin", &st)) << s.error();
  EXPECT_EQ(data.size(), st.nfs_size);
}

TEST_F(LibnfsWorkflowTest, DirectoryTreeCanBeBuiltListedRenamedAndRemoved) {
  LibnfsSession s(*nasd_, nasd_->export_dir());
  ASSERT_EQ(0, nfs_mkdir(s.get(), "/proj")) << s.error();
  ASSERT_EQ(0, nfs_mkdir(s.get(), "/proj/src")) << s.error();
  ASSERT_EQ(0, s.write_file("/proj/src/main.c", "int main(){}\n")) << s.error();
  ASSERT_EQ(0, s.write_file("/proj/README", "readme\n")) << s.error();
  ASSERT_EQ(0, nfs_symlink(s.get(), "src/main.c", "/proj/entry")) << s.error();
  ASSERT_EQ(0, nfs_link(s.get(), "/proj/README", "/proj/README.link")) << s.error();

  auto names = s.list("/proj");
  ASSERT_TRUE(names.has_value()) << s.error();
  EXPECT_EQ((std::set<std::string>{".", "..", "src", "README", "entry", "README.link"}), *names);
  char target[256] = {};
  ASSERT_EQ(0, nfs_readlink(s.get(), "/proj/entry", target, sizeof(target))) << s.error();
  EXPECT_STREQ("src/main.c", target);

  ASSERT_EQ(0, nfs_rename(s.get(), "/proj/src", "/proj/lib")) << s.error();
  EXPECT_EQ("int main(){}\n", s.read_file("/proj/lib/main.c").value_or("<error>"));
  EXPECT_TRUE(std::filesystem::exists(nasd_->export_dir() / "proj/lib/main.c"));

  EXPECT_EQ(-ENOTEMPTY, nfs_rmdir(s.get(), "/proj/lib"));
  ASSERT_EQ(0, nfs_unlink(s.get(), "/proj/lib/main.c")) << s.error();
  ASSERT_EQ(0, nfs_rmdir(s.get(), "/proj/lib")) << s.error();
  for (const char* f : {"/proj/README", "/proj/README.link", "/proj/entry"}) {
    ASSERT_EQ(0, nfs_unlink(s.get(), f)) << f << ": " << s.error();
  }
  ASSERT_EQ(0, nfs_rmdir(s.get(), "/proj")) << s.error();
  EXPECT_TRUE(std::filesystem::is_empty(nasd_->export_dir()));
}

TEST_F(LibnfsWorkflowTest, TruncateAndAppendChangeTheFileOnDisk) {
  LibnfsSession s(*nasd_, nasd_->export_dir());
  ASSERT_EQ(0, s.write_file("/t.txt", "0123456789")) << s.error();
  nfsfh* fh = nullptr;
  ASSERT_EQ(0, nfs_open(s.get(), "/t.txt", O_RDWR, &fh)) << s.error();
  ASSERT_EQ(0, nfs_ftruncate(s.get(), fh, 4)) << s.error();
  char tail[] = "XY";
  ASSERT_EQ(2, nfs_pwrite(s.get(), fh, 4, 2, tail)) << s.error();
  ASSERT_EQ(0, nfs_fsync(s.get(), fh)) << s.error();
  nfs_close(s.get(), fh);
  EXPECT_EQ("0123XY", disk_content(nasd_->export_dir() / "t.txt"));
}

TEST_F(LibnfsWorkflowTest, NonRootUserIsRefusedAnotherUsersPrivateFile) {
  write_file(nasd_->export_dir() / "secret", "top secret");
  ASSERT_EQ(0, ::chown((nasd_->export_dir() / "secret").c_str(), 3001, 3001));
  ASSERT_EQ(0, ::chmod((nasd_->export_dir() / "secret").c_str(), 0600));
  LibnfsSession stranger(*nasd_, nasd_->export_dir(), std::make_pair(3002, 3002));
  EXPECT_FALSE(stranger.read_file("/secret").has_value());
  LibnfsSession owner(*nasd_, nasd_->export_dir(), std::make_pair(3001, 3001));
  EXPECT_EQ("top secret", owner.read_file("/secret").value_or("<error>"));
}

TEST_F(LibnfsWorkflowTest, ReadOnlyExportRefusesWritesWithErofs) {
  write_file(nasd_->ro_dir() / "r", "ro data");
  LibnfsSession s(*nasd_, nasd_->ro_dir());
  EXPECT_EQ("ro data", s.read_file("/r").value_or("<error>"));
  EXPECT_EQ(-EROFS, nfs_mkdir(s.get(), "/d"));
  EXPECT_EQ(-EROFS, nfs_unlink(s.get(), "/r"));
  EXPECT_TRUE(std::filesystem::exists(nasd_->ro_dir() / "r"));
}

TEST_F(LibnfsWorkflowTest, LargeDirectoryIsListedCompletely) {
  constexpr int kFiles = 1500;
  std::filesystem::create_directory(nasd_->export_dir() / "lots");
  for (int i = 0; i < kFiles; ++i) {
    std::ofstream(nasd_->export_dir() / "lots" / ("file-with-a-longish-name-" + std::to_string(i)));
  }
  LibnfsSession s(*nasd_, nasd_->export_dir());
  auto names = s.list("/lots");
  ASSERT_TRUE(names.has_value()) << s.error();
  EXPECT_EQ(static_cast<std::size_t>(kFiles + 2), names->size());
  for (int i = 0; i < kFiles; ++i) {
    EXPECT_TRUE(names->count("file-with-a-longish-name-" + std::to_string(i))) << i;
  }
}

}  // namespace
}  // namespace nasd::integration
