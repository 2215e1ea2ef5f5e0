// Private to the local back end (storage/local/*.cc): system-call helpers
// shared by its files (statx into stat + InodeStamp, open beneath an export
// root, page-cache reads, the handle key file).  Not part of any interface.
#pragma once

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <vector>

#include <spdlog/spdlog.h>

#include "storage/local/cred_guard.h"

#include "storage/local/local_backend.h"

namespace nasd::storage::local_detail {


// The client's identity could not be taken (e.g. uid 0xffffffff, which the
// kernel treats as "no change"): refuse the operation.
constexpr Status kNoIdentity = Status::kPerm;

inline Status errno_status() { return status_from_errno(errno); }

/// Kernel handle buffer for name_to_handle_at/open_by_handle_at.
struct KernelHandle {
  union {
    struct file_handle fh;
    std::uint8_t raw[sizeof(struct file_handle) + MAX_HANDLE_SZ];
  };
  KernelHandle() { std::memset(raw, 0, sizeof(raw)); }
};

inline Time to_time(const struct timespec& ts) {
  return Time{static_cast<std::uint32_t>(ts.tv_sec), static_cast<std::uint32_t>(ts.tv_nsec)};
}

inline FileType type_of(mode_t m) {
  switch (m & S_IFMT) {
    case S_IFDIR: return FileType::kDir;
    case S_IFBLK: return FileType::kBlk;
    case S_IFCHR: return FileType::kChr;
    case S_IFLNK: return FileType::kLnk;
    case S_IFSOCK: return FileType::kSock;
    case S_IFIFO: return FileType::kFifo;
    default: return FileType::kReg;
  }
}

inline Attr to_attr(const struct stat& st) {
  Attr a;
  a.type = type_of(st.st_mode);
  a.mode = st.st_mode & 07777;
  a.nlink = static_cast<std::uint32_t>(st.st_nlink);
  a.uid = st.st_uid;
  a.gid = st.st_gid;
  a.size = static_cast<std::uint64_t>(st.st_size);
  a.used = static_cast<std::uint64_t>(st.st_blocks) * 512;
  a.rdev_major = major(st.st_rdev);
  a.rdev_minor = minor(st.st_rdev);
  a.fsid = st.st_dev;
  a.fileid = st.st_ino;
  a.atime = to_time(st.st_atim);
  a.mtime = to_time(st.st_mtim);
  a.ctime = to_time(st.st_ctim);
  return a;
}

inline WccAttr wcc_of(const struct stat& st) {
  return WccAttr{static_cast<std::uint64_t>(st.st_size), to_time(st.st_mtim), to_time(st.st_ctim)};
}

/// statx of `name` relative to `dirfd` (`flags`: AT_EMPTY_PATH,
/// AT_SYMLINK_NOFOLLOW) into a struct stat, and the InodeStamp of the same
/// result when `stamp` is given.  False with errno set on failure.
inline bool stat_x(int dirfd, const char* name, int flags, struct stat* st, InodeStamp* stamp) {
  struct statx sx {};
  if (::statx(dirfd, name, flags | AT_STATX_SYNC_AS_STAT, STATX_BASIC_STATS | STATX_BTIME, &sx) != 0)
    return false;
  *st = {};
  st->st_dev = makedev(sx.stx_dev_major, sx.stx_dev_minor);
  st->st_ino = sx.stx_ino;
  st->st_mode = sx.stx_mode;
  st->st_nlink = sx.stx_nlink;
  st->st_uid = sx.stx_uid;
  st->st_gid = sx.stx_gid;
  st->st_rdev = makedev(sx.stx_rdev_major, sx.stx_rdev_minor);
  st->st_size = static_cast<off_t>(sx.stx_size);
  st->st_blksize = static_cast<blksize_t>(sx.stx_blksize);
  st->st_blocks = static_cast<blkcnt_t>(sx.stx_blocks);
  st->st_atim = {sx.stx_atime.tv_sec, sx.stx_atime.tv_nsec};
  st->st_mtim = {sx.stx_mtime.tv_sec, sx.stx_mtime.tv_nsec};
  st->st_ctim = {sx.stx_ctime.tv_sec, sx.stx_ctime.tv_nsec};
  if (stamp) {
    *stamp = InodeStamp{};
    if (sx.stx_mask & STATX_BTIME) {
      stamp->btime_sec = sx.stx_btime.tv_sec;
      stamp->btime_nsec = sx.stx_btime.tv_nsec;
    }
    stamp->ctime_sec = sx.stx_ctime.tv_sec;
    stamp->ctime_nsec = sx.stx_ctime.tv_nsec;
    stamp->type = sx.stx_mode & S_IFMT;
  }
  return true;
}

inline bool fd_stat(int fd, struct stat* st, InodeStamp* stamp = nullptr) {
  return stat_x(fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, st, stamp);
}

/// post_op_attr of an fd (nullopt when it cannot be stat'ed).
inline std::optional<Attr> post_attr(int fd) {
  struct stat st {};
  if (!fd_stat(fd, &st)) return std::nullopt;
  return to_attr(st);
}

inline std::string proc_path(int fd) { return "/proc/self/fd/" + std::to_string(fd); }

/// One path component from a client: '/' or NUL -> kAccess, "" -> kNoEnt,
/// > NAME_MAX bytes -> kNameTooLong.
inline Status check_name(std::string_view name) {
  if (name.empty()) return Status::kNoEnt;
  if (name.find('/') != std::string_view::npos || name.find('\0') != std::string_view::npos)
    return Status::kAccess;
  if (name.size() > NAME_MAX) return Status::kNameTooLong;
  return Status::kOk;
}

inline bool is_dot_or_dotdot(std::string_view name) { return name == "." || name == ".."; }

/// openat2 for exactly one component below `dirfd`, never following symlinks
/// or leaving the directory / filesystem.
inline int open_beneath(int dirfd, const char* name, std::uint64_t flags, std::uint64_t resolve = 0) {
  struct open_how how {};
  how.flags = flags | O_CLOEXEC;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV |
                resolve;
  return static_cast<int>(syscall(SYS_openat2, dirfd, name, &how, sizeof(how)));
}

/// Reads up to dst.size() bytes at `offset` from the page cache only
/// (preadv2 RWF_NOWAIT).  Returns the byte count, or -EAGAIN when any of the
/// bytes up to min(offset + dst.size(), `size`) is not cached (a short
/// answer would cost the client another READ) or the file system cannot
/// tell (no RWF_NOWAIT support), or -errno.
inline long read_cached(int fd, std::uint64_t offset, std::span<std::uint8_t> dst, off_t size) {
  const std::uint64_t end = static_cast<std::uint64_t>(std::max<off_t>(size, 0));
  const std::size_t want =
      offset >= end ? 0 : static_cast<std::size_t>(std::min<std::uint64_t>(dst.size(), end - offset));
  std::size_t got = 0;
  while (got < want) {
    struct iovec iov = {dst.data() + got, want - got};
    const ssize_t n = ::preadv2(fd, &iov, 1, static_cast<off_t>(offset + got), RWF_NOWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      // EOPNOTSUPP: no RWF_NOWAIT here (tmpfs); EINVAL: not on this kernel or
      // a bad offset.  Either way the ordinary read gives the real answer.
      if (errno == EOPNOTSUPP || errno == EINVAL) return -EAGAIN;
      return -errno;
    }
    if (n == 0) break;  // the file shrank meanwhile: end of file
    got += static_cast<std::size_t>(n);
  }
  return static_cast<long>(got);
}

inline SipKey random_key() {
  SipKey key{};
  std::size_t got = 0;
  while (got < key.size()) {
    ssize_t n = ::getrandom(key.data() + got, key.size() - got, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw std::runtime_error(std::string("getrandom: ") + std::strerror(errno));
    }
    got += static_cast<std::size_t>(n);
  }
  return key;
}

/// Reads <state_dir>/handle.key, or creates it (0600) with a fresh random key.
inline SipKey load_or_create_key(const std::string& state_dir) {
  if (state_dir.empty()) return random_key();
  if (::mkdir(state_dir.c_str(), 0700) != 0 && errno != EEXIST)
    throw std::runtime_error("cannot create state dir " + state_dir + ": " + std::strerror(errno));
  const std::string path = state_dir + "/handle.key";
  SipKey key{};
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.valid()) {
    ssize_t n = ::read(fd.get(), key.data(), key.size());
    char extra;
    if (n != static_cast<ssize_t>(key.size()) || ::read(fd.get(), &extra, 1) != 0)
      throw std::runtime_error(path + ": not a 16-byte handle key");
    return key;
  }
  if (errno != ENOENT) throw std::runtime_error("cannot open " + path + ": " + std::strerror(errno));
  key = random_key();
  // Write to a temporary name and rename, so a crash never leaves a short key.
  const std::string tmp = path + ".tmp";
  UniqueFd out(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (!out.valid() || ::fchmod(out.get(), 0600) != 0 ||
      ::write(out.get(), key.data(), key.size()) != static_cast<ssize_t>(key.size()) ||
      ::fsync(out.get()) != 0 || ::rename(tmp.c_str(), path.c_str()) != 0)
    throw std::runtime_error("cannot write " + path + ": " + std::strerror(errno));
  return key;
}


/// CLOCK_MONOTONIC_COARSE in ns (LookupHints ages).
inline std::int64_t coarse_now_ns() {
  struct timespec t {};
  ::clock_gettime(CLOCK_MONOTONIC_COARSE, &t);
  return static_cast<std::int64_t>(t.tv_sec) * 1000000000LL + t.tv_nsec;
}

}  // namespace nasd::storage::local_detail
