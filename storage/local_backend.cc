// LocalBackend, see storage/local_backend.h.
#include "storage/local_backend.h"

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

#include "storage/cred_guard.h"

namespace nasd::storage {
namespace {

// The client's identity could not be taken (e.g. uid 0xffffffff, which the
// kernel treats as "no change"): refuse the operation.
constexpr Status kNoIdentity = Status::kPerm;

Status errno_status() { return status_from_errno(errno); }

/// Kernel handle buffer for name_to_handle_at/open_by_handle_at.
struct KernelHandle {
  union {
    struct file_handle fh;
    std::uint8_t raw[sizeof(struct file_handle) + MAX_HANDLE_SZ];
  };
  KernelHandle() { std::memset(raw, 0, sizeof(raw)); }
};

Time to_time(const struct timespec& ts) {
  return Time{static_cast<std::uint32_t>(ts.tv_sec), static_cast<std::uint32_t>(ts.tv_nsec)};
}

FileType type_of(mode_t m) {
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

Attr to_attr(const struct stat& st) {
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

WccAttr wcc_of(const struct stat& st) {
  return WccAttr{static_cast<std::uint64_t>(st.st_size), to_time(st.st_mtim), to_time(st.st_ctim)};
}

/// statx of `name` relative to `dirfd` (`flags`: AT_EMPTY_PATH,
/// AT_SYMLINK_NOFOLLOW) into a struct stat, and the InodeStamp of the same
/// result when `stamp` is given.  False with errno set on failure.
bool stat_x(int dirfd, const char* name, int flags, struct stat* st, InodeStamp* stamp) {
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

bool fd_stat(int fd, struct stat* st, InodeStamp* stamp = nullptr) {
  return stat_x(fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, st, stamp);
}

/// post_op_attr of an fd (nullopt when it cannot be stat'ed).
std::optional<Attr> post_attr(int fd) {
  struct stat st {};
  if (!fd_stat(fd, &st)) return std::nullopt;
  return to_attr(st);
}

std::string proc_path(int fd) { return "/proc/self/fd/" + std::to_string(fd); }

/// One path component from a client: '/' or NUL -> kAccess, "" -> kNoEnt,
/// > NAME_MAX bytes -> kNameTooLong.
Status check_name(std::string_view name) {
  if (name.empty()) return Status::kNoEnt;
  if (name.find('/') != std::string_view::npos || name.find('\0') != std::string_view::npos)
    return Status::kAccess;
  if (name.size() > NAME_MAX) return Status::kNameTooLong;
  return Status::kOk;
}

bool is_dot_or_dotdot(std::string_view name) { return name == "." || name == ".."; }

/// openat2 for exactly one component below `dirfd`, never following symlinks
/// or leaving the directory / filesystem.
int open_beneath(int dirfd, const char* name, std::uint64_t flags, std::uint64_t resolve = 0) {
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
long read_cached(int fd, std::uint64_t offset, std::span<std::uint8_t> dst, off_t size) {
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

SipKey random_key() {
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
SipKey load_or_create_key(const std::string& state_dir) {
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

}  // namespace

LocalBackend::LocalBackend(std::string state_dir)
    : codec_(std::make_unique<HandleCodec>(load_or_create_key(state_dir))) {}

LocalBackend::~LocalBackend() = default;

Status LocalBackend::add_export(std::uint32_t export_id, const std::string& path) {
  auto exp = std::make_unique<ExportRoot>();
  exp->id = export_id;
  // A real (not O_PATH) fd: open_by_handle_at refuses O_PATH mount fds.
  exp->fd.reset(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!exp->fd.valid()) {
    Status s = errno_status();
    spdlog::error("storage: export {} path {}: {}", export_id, path, std::strerror(errno));
    return s;
  }
  struct stat st {};
  if (!fd_stat(exp->fd.get(), &st)) return errno_status();
  exp->dev = st.st_dev;
  exp->ino = st.st_ino;
  FileHandle probe;
  if (Status s = make_handle(*exp, exp->fd.get(), "", &probe); s != Status::kOk) {
    spdlog::error("storage: export {} path {}: no persistent file handles ({})", export_id, path,
                  status_name(s));
    return s;
  }
  std::unique_lock lock(exports_mu_);
  if (exports_.count(export_id)) {
    spdlog::error("storage: export id {} registered twice ({})", export_id, path);
    return Status::kExist;
  }
  exports_.emplace(export_id, std::move(exp));
  return Status::kOk;
}

const LocalBackend::ExportRoot* LocalBackend::find_export(std::uint32_t id) {
  std::shared_lock lock(exports_mu_);
  auto it = exports_.find(id);
  return it == exports_.end() ? nullptr : it->second.get();
}

Status LocalBackend::make_handle(const ExportRoot& exp, int dirfd, const char* name,
                                 FileHandle* out) const {
  KernelHandle kh;
  kh.fh.handle_bytes = HandleCodec::kMaxKernelBytes;
  int mount_id = 0;
  int flags = name[0] == '\0' ? AT_EMPTY_PATH : 0;
  if (::name_to_handle_at(dirfd, name, &kh.fh, &mount_id, flags) != 0) {
    if (errno == EOVERFLOW) return Status::kNotSupp;  // handle too large for NFSv3
    return errno_status();
  }
  return codec_->encode(exp.id, kh.fh.handle_type, {kh.fh.f_handle, kh.fh.handle_bytes}, out);
}

Status LocalBackend::resolve(const FileHandle& fh, Resolved* out, Wait wait) {
  DecodedHandle d;
  if (Status s = codec_->decode(fh, &d); s != Status::kOk) return s;
  out->exp = find_export(d.export_id);
  if (!out->exp) return Status::kStale;
  if (auto cached = handle_cache_.find(fh.bytes())) {
    out->fd.share(std::move(cached));
    if (fd_stat(out->fd.get(), &out->st, &out->stamp) && out->st.st_dev == out->exp->dev) {
      if (out->st.st_nlink > 0) return Status::kOk;
      handle_cache_.erase(fh.bytes());  // removed since (the cache kept the inode alive)
      out->fd.reset();
      return Status::kStale;
    }
    handle_cache_.erase(fh.bytes());
    out->fd.reset();
  }
  // open_by_handle_at may read the inode from disk.
  if (wait == Wait::kNever) return Status::kWouldBlock;
  KernelHandle kh;
  kh.fh.handle_bytes = static_cast<unsigned>(d.kernel_bytes.size());
  kh.fh.handle_type = d.handle_type;
  std::memcpy(kh.fh.f_handle, d.kernel_bytes.data(), d.kernel_bytes.size());
  // As root: open_by_handle_at needs CAP_DAC_READ_SEARCH.
  out->fd.reset(::open_by_handle_at(out->exp->fd.get(), &kh.fh, O_PATH | O_NOFOLLOW | O_CLOEXEC));
  if (!out->fd.valid()) {
    if (errno == ESTALE || errno == ENOENT) return Status::kStale;
    return errno_status();
  }
  if (!fd_stat(out->fd.get(), &out->st, &out->stamp)) return errno_status();
  if (out->st.st_dev != out->exp->dev) return Status::kStale;
  // No links left: removed, only kept alive by someone's open descriptor.
  if (out->st.st_nlink == 0) return Status::kStale;
  handle_cache_.insert(fh.bytes(), out->fd.shared());
  return Status::kOk;
}

void LocalBackend::forget_child(const ExportRoot& exp, int dirfd, std::string_view name) {
  if (handle_cache_.capacity() == 0 || handle_cache_.size() == 0) return;
  FileHandle h;
  if (make_handle(exp, dirfd, std::string(name).c_str(), &h) == Status::kOk) {
    handle_cache_.erase(h.bytes());
  }
}

Status LocalBackend::resolve_dir(const FileHandle& fh, Resolved* out) {
  if (Status s = resolve(fh, out); s != Status::kOk) return s;
  return S_ISDIR(out->st.st_mode) ? Status::kOk : Status::kNotDir;
}

Status LocalBackend::open_child(const Resolved& dir, const std::string& name, Resolved* out,
                                Wait wait) {
  out->exp = dir.exp;
  if (name == ".." && dir.is_root()) {
    out->fd.reset(::openat(dir.fd.get(), ".", O_PATH | O_DIRECTORY | O_CLOEXEC));
  } else if (name == "..") {
    // RESOLVE_BENEATH refuses "..", and the parent of a directory inside the
    // export (other than the root) is inside the export too.
    out->fd.reset(::openat(dir.fd.get(), "..", O_PATH | O_DIRECTORY | O_CLOEXEC));
  } else {
    out->fd.reset(open_beneath(dir.fd.get(), name.c_str(), O_PATH | O_NOFOLLOW,
                               wait == Wait::kNever ? RESOLVE_CACHED : 0));
  }
  if (!out->fd.valid()) {
    // RESOLVE_CACHED: the walk would have needed the disk.
    if (wait == Wait::kNever && errno == EAGAIN) return Status::kWouldBlock;
    return errno_status();
  }
  if (!fd_stat(out->fd.get(), &out->st, &out->stamp)) return errno_status();
  if (out->st.st_dev != dir.exp->dev) return Status::kXdev;
  return Status::kOk;
}

Status LocalBackend::handle_of(const Resolved& obj, FileHandle* out) {
  if (inode_handles_.find(obj.st.st_dev, obj.st.st_ino, obj.stamp, out)) return Status::kOk;
  if (Status s = make_handle(*obj.exp, obj.fd.get(), "", out); s != Status::kOk) return s;
  // The stamp and the handle both come from the open descriptor: same inode.
  inode_handles_.insert(obj.st.st_dev, obj.st.st_ino, obj.stamp, *out);
  return Status::kOk;
}

Status LocalBackend::finish_new(const Credentials& cred, Resolved& dir, const std::string& name,
                                FileHandle* out, Attr* obj_attr, Resolved* child) {
  {
    CredentialsGuard g(cred);
    if (!g.ok()) return kNoIdentity;
    if (Status s = open_child(dir, name, child); s != Status::kOk) return s;
  }
  if (Status s = handle_of(*child, out); s != Status::kOk) return s;
  if (obj_attr) *obj_attr = to_attr(child->st);
  return Status::kOk;
}

Status LocalBackend::open_for_io(const Credentials& cred, const Resolved& obj, int flags,
                                 UniqueFd* out) {
  // No O_NOFOLLOW: the magic link must be followed to reach the object.
  // Callers only pass regular files and directories here.
  const std::string path = proc_path(obj.fd.get());
  int err = 0;
  {
    CredentialsGuard g(cred);
    if (!g.ok()) return kNoIdentity;
    out->reset(::open(path.c_str(), flags | O_CLOEXEC));
    if (!out->valid()) err = errno;  // before the guard's syscalls run
  }
  if (out->valid()) return Status::kOk;
  if (err == EACCES && S_ISREG(obj.st.st_mode) && cred.uid == obj.st.st_uid) {
    // Owner override (as knfsd): the owner may always read/write its file.
    out->reset(::open(path.c_str(), flags | O_CLOEXEC));
    if (out->valid()) return Status::kOk;
    err = errno;
  }
  return status_from_errno(err);
}

Status LocalBackend::apply_attrs(const Credentials& cred, Resolved& obj, const SetAttr& a,
                                 bool with_size) {
  if (!a.uid && !a.gid && !a.mode && !(with_size && a.size) && a.atime_how == TimeHow::kDontChange &&
      a.mtime_how == TimeHow::kDontChange)
    return Status::kOk;  // nothing to apply: obj.st stays as the caller stat'ed it
  const int fd = obj.fd.get();
  const bool is_link = S_ISLNK(obj.st.st_mode);
  {
    CredentialsGuard g(cred);
    if (!g.ok()) return kNoIdentity;
    // Owner/group first: chown clears set-id bits that a following chmod may set.
    if (a.uid || a.gid) {
      uid_t u = a.uid ? *a.uid : static_cast<uid_t>(-1);
      gid_t gr = a.gid ? *a.gid : static_cast<gid_t>(-1);
      if (::fchownat(fd, "", u, gr, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) != 0) return errno_status();
    }
    if (a.mode) {
      if (is_link) return Status::kNotSupp;  // Linux symlinks have no mode
      if (::chmod(proc_path(fd).c_str(), *a.mode & 07777) != 0) return errno_status();
    }
  }
  if (with_size && a.size) {
    if (S_ISDIR(obj.st.st_mode)) return Status::kIsDir;
    if (!S_ISREG(obj.st.st_mode)) return Status::kInval;
    UniqueFd wfd;
    if (Status s = open_for_io(cred, obj, O_WRONLY, &wfd); s != Status::kOk) return s;
    if (::ftruncate(wfd.get(), static_cast<off_t>(*a.size)) != 0) return errno_status();
  }
  if (a.atime_how != TimeHow::kDontChange || a.mtime_how != TimeHow::kDontChange) {
    struct timespec ts[2];
    auto set = [](TimeHow how, const Time& t, struct timespec* out) {
      if (how == TimeHow::kServerTime) {
        *out = {0, UTIME_NOW};
      } else if (how == TimeHow::kClientTime) {
        *out = {static_cast<time_t>(t.seconds), static_cast<long>(t.nseconds % 1000000000u)};
      } else {
        *out = {0, UTIME_OMIT};
      }
    };
    set(a.atime_how, a.atime, &ts[0]);
    set(a.mtime_how, a.mtime, &ts[1]);
    CredentialsGuard g(cred);
    if (!g.ok()) return kNoIdentity;
    if (::utimensat(fd, "", ts, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) != 0) return errno_status();
  }
  if (!fd_stat(fd, &obj.st, &obj.stamp)) return errno_status();
  return Status::kOk;
}

Attr LocalBackend::attr_of(const struct stat& st) { return to_attr(st); }

Verifier LocalBackend::cookieverf_for(const struct stat& dir_st) const {
  std::uint8_t msg[2 + sizeof(std::uint64_t) * 2] = {'c', 'v'};
  std::uint64_t dev = dir_st.st_dev, ino = dir_st.st_ino;
  std::memcpy(msg + 2, &dev, sizeof(dev));
  std::memcpy(msg + 2 + sizeof(dev), &ino, sizeof(ino));
  std::uint64_t m = codec_->mac({msg, sizeof(msg)});
  if (m == 0) m = 1;
  Verifier v{};
  for (int i = 0; i < 8; ++i) v[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(m >> (8 * i));
  return v;
}

// ---------------------------------------------------------------------------

Status LocalBackend::root_handle(std::uint32_t export_id, FileHandle* out) {
  const ExportRoot* exp = find_export(export_id);
  if (!exp) return Status::kStale;
  struct stat st {};
  if (!fd_stat(exp->fd.get(), &st) || st.st_nlink == 0) return Status::kStale;
  return make_handle(*exp, exp->fd.get(), "", out);
}

Status LocalBackend::export_of(const FileHandle& fh, std::uint32_t* export_id) {
  DecodedHandle d;
  if (Status s = codec_->decode(fh, &d); s != Status::kOk) return s;
  if (!find_export(d.export_id)) return Status::kStale;
  *export_id = d.export_id;
  return Status::kOk;
}

Status LocalBackend::getattr(const FileHandle& fh, Attr* out) {
  return getattr_as(fh, out, Wait::kMay);
}

Status LocalBackend::try_getattr(const FileHandle& fh, Attr* out) {
  return getattr_as(fh, out, Wait::kNever);
}

Status LocalBackend::getattr_as(const FileHandle& fh, Attr* out, Wait wait) {
  Resolved r;
  if (Status s = resolve(fh, &r, wait); s != Status::kOk) return s;
  *out = to_attr(r.st);
  return Status::kOk;
}

Status LocalBackend::setattr(const Credentials& cred, const FileHandle& fh, const SetAttr& attrs,
                             const std::optional<Time>& guard_ctime, WccData* wcc) {
  Resolved r;
  if (Status s = resolve(fh, &r); s != Status::kOk) return s;
  wcc->before = wcc_of(r.st);
  if (guard_ctime && !(*guard_ctime == to_time(r.st.st_ctim))) {
    wcc->after = to_attr(r.st);
    return Status::kNotSync;
  }
  Status s = apply_attrs(cred, r, attrs, /*with_size=*/true);
  wcc->after = post_attr(r.fd.get());
  return s;
}

Status LocalBackend::lookup(const Credentials& cred, const FileHandle& dir, std::string_view name,
                            FileHandle* out, Attr* obj_attr, std::optional<Attr>* dir_attr) {
  return lookup_as(cred, dir, name, out, obj_attr, dir_attr, Wait::kMay);
}

Status LocalBackend::try_lookup(const Credentials& cred, const FileHandle& dir,
                                std::string_view name, FileHandle* out, Attr* obj_attr,
                                std::optional<Attr>* dir_attr) {
  return lookup_as(cred, dir, name, out, obj_attr, dir_attr, Wait::kNever);
}

Status LocalBackend::try_lookup_for_attrs(const Credentials& cred, const FileHandle& dir,
                                          std::string_view name, FileHandle* out, Attr* obj_attr,
                                          std::optional<Attr>* dir_attr) {
  return lookup_as(cred, dir, name, out, obj_attr, dir_attr, Wait::kNever, /*then_calls=*/false);
}

namespace {
std::int64_t coarse_now_ns() {
  struct timespec t {};
  ::clock_gettime(CLOCK_MONOTONIC_COARSE, &t);
  return static_cast<std::int64_t>(t.tv_sec) * 1000000000LL + t.tv_nsec;
}
}  // namespace

bool LocalBackend::cached_fd(const FileHandle& fh, Resolved* out) {
  DecodedHandle d;
  if (codec_->decode(fh, &d) != Status::kOk) return false;
  out->exp = find_export(d.export_id);
  if (!out->exp) return false;
  auto cached = handle_cache_.find(fh.bytes());
  if (!cached) return false;
  out->fd.share(std::move(cached));
  return true;
}

Status LocalBackend::lookup_hinted(const Credentials& cred, const FileHandle& dir,
                                   const Resolved& d, const std::string& name, bool then_calls,
                                   FileHandle* out, Attr* obj_attr) {
  std::uint64_t hinted_ino = 0;
  if (!lookup_hints_.find(dir.bytes(), name, coarse_now_ns(), &hinted_ino)) {
    return Status::kWouldBlock;
  }
  // When calls on the object follow, only if the handle cache still keeps
  // its descriptor for them.
  InodeStamp cached_stamp;
  FileHandle hinted;
  if (then_calls && !(inode_handles_.peek(d.exp->dev, hinted_ino, &cached_stamp, &hinted) &&
                      handle_cache_.find(hinted.bytes()) != nullptr)) {
    return Status::kWouldBlock;
  }
  CredentialsGuard g(cred);
  if (!g.ok()) return kNoIdentity;
  // One statx as the client names it: the handle is the one cached for the
  // inode it finds, checked against the same statx.  Any failure (the name
  // gone, not a directory, no search permission) is left to the full path,
  // which answers it with the directory's own checks.
  struct stat st {};
  InodeStamp stamp;
  if (!stat_x(d.fd.get(), name.c_str(), AT_SYMLINK_NOFOLLOW, &st, &stamp) ||
      st.st_dev != d.exp->dev || !inode_handles_.find(st.st_dev, st.st_ino, stamp, out) ||
      (then_calls && !(*out == hinted))) {
    return Status::kWouldBlock;
  }
  if (obj_attr) *obj_attr = to_attr(st);
  return Status::kOk;
}

Status LocalBackend::lookup_as(const Credentials& cred, const FileHandle& dir,
                               std::string_view name, FileHandle* out, Attr* obj_attr,
                               std::optional<Attr>* dir_attr, Wait wait, bool then_calls) {
  if (Status s = check_name(name); s != Status::kOk) return s;
  const std::string n(name);
  const bool dots = is_dot_or_dotdot(n);
  if (wait == Wait::kNever && !dots && !dir_attr) {
    // Resolved from the dentry cache a moment ago (lookup_hints.h): with no
    // directory attributes to return, the directory's cached descriptor is
    // all it takes, not even its fstat.
    Resolved d;
    if (cached_fd(dir, &d) &&
        lookup_hinted(cred, dir, d, n, then_calls, out, obj_attr) == Status::kOk) {
      return Status::kOk;
    }
  }
  Resolved d;
  if (Status s = resolve(dir, &d, wait); s != Status::kOk) return s;
  if (dir_attr) *dir_attr = to_attr(d.st);
  if (!S_ISDIR(d.st.st_mode)) return Status::kNotDir;
  if (wait == Wait::kNever && !dots && dir_attr &&
      lookup_hinted(cred, dir, d, n, then_calls, out, obj_attr) == Status::kOk) {
    return Status::kOk;
  }
  Resolved child;
  {
    CredentialsGuard g(cred);
    if (!g.ok()) return kNoIdentity;
    if (!dots && wait == Wait::kMay) {
      // Known inode: one statx as the client names it (fresh attributes),
      // its cached handle (checked against the same statx) spares the open.
      struct stat st {};
      InodeStamp stamp;
      if (!stat_x(d.fd.get(), n.c_str(), AT_SYMLINK_NOFOLLOW, &st, &stamp)) return errno_status();
      if (st.st_dev == d.exp->dev && inode_handles_.find(st.st_dev, st.st_ino, stamp, out)) {
        lookup_hints_.note(dir.bytes(), n, st.st_ino, coarse_now_ns());
        if (obj_attr) *obj_attr = to_attr(st);
        return Status::kOk;
      }
    }
    // kNever: a statx by name could read the directory from disk; the
    // RESOLVE_CACHED open cannot.
    if (Status s = open_child(d, n, &child, wait); s != Status::kOk) return s;
  }
  if (Status s = handle_of(child, out); s != Status::kOk) return s;
  if (!dots) lookup_hints_.note(dir.bytes(), n, child.st.st_ino, coarse_now_ns());
  // A LOOKUP is mostly followed by calls on what it found (GETATTR, ACCESS,
  // READ): keep the descriptor, so they resolve without open_by_handle_at.
  handle_cache_.insert(out->bytes(), child.fd.shared());
  if (obj_attr) *obj_attr = to_attr(child.st);
  return Status::kOk;
}

Status LocalBackend::access(const Credentials& cred, const FileHandle& fh, std::uint32_t requested,
                            std::uint32_t* granted, std::optional<Attr>* attr) {
  return access_as(cred, fh, requested, granted, attr, Wait::kMay);
}

Status LocalBackend::try_access(const Credentials& cred, const FileHandle& fh,
                                std::uint32_t requested, std::uint32_t* granted,
                                std::optional<Attr>* attr) {
  return access_as(cred, fh, requested, granted, attr, Wait::kNever);
}

Status LocalBackend::access_as(const Credentials& cred, const FileHandle& fh,
                               std::uint32_t requested, std::uint32_t* granted,
                               std::optional<Attr>* attr, Wait wait) {
  Resolved r;
  if (Status s = resolve(fh, &r, wait); s != Status::kOk) return s;
  if (attr) *attr = to_attr(r.st);
  const bool dir = S_ISDIR(r.st.st_mode);
  CredentialsGuard g(cred);
  if (!g.ok()) return kNoIdentity;
  auto may = [&](int mode) {
    return ::faccessat(r.fd.get(), "", mode, AT_EACCESS | AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) == 0;
  };
  std::uint32_t g_bits = 0;
  if ((requested & kAccessRead) && may(R_OK)) g_bits |= kAccessRead;
  if (requested & (kAccessModify | kAccessExtend | kAccessDelete)) {
    if (may(W_OK)) {
      g_bits |= requested & (kAccessModify | kAccessExtend);
      if (dir) g_bits |= requested & kAccessDelete;
    }
  }
  if (dir) {
    if ((requested & kAccessLookup) && may(X_OK)) g_bits |= kAccessLookup;
  } else if ((requested & kAccessExecute) && may(X_OK)) {
    g_bits |= kAccessExecute;
  }
  *granted = g_bits;
  return Status::kOk;
}

Status LocalBackend::readlink(const Credentials& /*cred*/, const FileHandle& fh, std::string* target,
                              std::optional<Attr>* attr) {
  Resolved r;
  if (Status s = resolve(fh, &r); s != Status::kOk) return s;
  if (attr) *attr = to_attr(r.st);
  if (!S_ISLNK(r.st.st_mode)) return Status::kInval;
  std::vector<char> buf(PATH_MAX);
  ssize_t n = ::readlinkat(r.fd.get(), "", buf.data(), buf.size());
  if (n < 0) return errno_status();
  target->assign(buf.data(), static_cast<std::size_t>(n));
  return Status::kOk;
}

Status LocalBackend::read(const Credentials& cred, const FileHandle& fh, std::uint64_t offset,
                          std::span<std::uint8_t> dst, std::uint32_t* count, bool* eof,
                          std::optional<Attr>* attr) {
  return read_as(cred, fh, offset, dst, count, eof, attr, Wait::kMay);
}

Status LocalBackend::try_read(const Credentials& cred, const FileHandle& fh, std::uint64_t offset,
                              std::span<std::uint8_t> dst, std::uint32_t* count, bool* eof,
                              std::optional<Attr>* attr) {
  return read_as(cred, fh, offset, dst, count, eof, attr, Wait::kNever);
}

Status LocalBackend::read_as(const Credentials& cred, const FileHandle& fh, std::uint64_t offset,
                             std::span<std::uint8_t> dst, std::uint32_t* count, bool* eof,
                             std::optional<Attr>* attr, Wait wait) {
  *count = 0;
  *eof = false;
  Resolved r;
  if (Status s = resolve(fh, &r, wait); s != Status::kOk) return s;
  if (attr) *attr = to_attr(r.st);
  if (S_ISDIR(r.st.st_mode)) return Status::kIsDir;
  if (!S_ISREG(r.st.st_mode)) return Status::kInval;
  UniqueFd io;
  if (Status s = open_for_io(cred, r, O_RDONLY, &io); s != Status::kOk) return s;
  if (dst.size() > UINT32_MAX) dst = dst.first(UINT32_MAX);
  long n;
  if (wait == Wait::kNever) {
    n = read_cached(io.get(), offset, dst, r.st.st_size);
    if (n == -EAGAIN) return Status::kWouldBlock;
  } else {
    n = io_.read(io.get(), offset, dst);
  }
  if (n < 0) return status_from_errno(static_cast<int>(-n));
  *count = static_cast<std::uint32_t>(n);
  struct stat st {};
  if (::fstat(io.get(), &st) == 0) {
    if (attr) *attr = to_attr(st);
    *eof = offset + static_cast<std::uint64_t>(n) >= static_cast<std::uint64_t>(st.st_size);
  } else {
    *eof = static_cast<std::size_t>(n) < dst.size();
  }
  return Status::kOk;
}

Status LocalBackend::write(const Credentials& cred, const FileHandle& fh, std::uint64_t offset,
                           std::span<const std::uint8_t> data, StableHow stable,
                           std::uint32_t* count, StableHow* committed, WccData* wcc) {
  *count = 0;
  Resolved r;
  if (Status s = resolve(fh, &r); s != Status::kOk) return s;
  wcc->before = wcc_of(r.st);
  if (S_ISDIR(r.st.st_mode)) return Status::kIsDir;
  if (!S_ISREG(r.st.st_mode)) return Status::kInval;
  if (offset > static_cast<std::uint64_t>(INT64_MAX) - data.size()) return Status::kFBig;
  UniqueFd io;
  Status s = open_for_io(cred, r, O_WRONLY, &io);
  if (s == Status::kOk) {
    if (data.size() > UINT32_MAX) data = data.first(UINT32_MAX);
    int flags = stable == StableHow::kFileSync ? RWF_SYNC
                : stable == StableHow::kDataSync ? RWF_DSYNC
                                                 : 0;
    long n = io_.write(io.get(), offset, data, flags);
    if (n < 0) {
      s = status_from_errno(static_cast<int>(-n));
    } else {
      *count = static_cast<std::uint32_t>(n);
      *committed = stable;
    }
  }
  wcc->after = post_attr(io.valid() ? io.get() : r.fd.get());
  return s;
}

Status LocalBackend::create(const Credentials& cred, const FileHandle& dir, std::string_view name,
                            CreateMode mode, const SetAttr& attrs, const Verifier& verf,
                            FileHandle* out, Attr* obj_attr, WccData* dir_wcc) {
  if (Status s = check_name(name); s != Status::kOk) return s;
  if (is_dot_or_dotdot(name)) return Status::kExist;
  Resolved d;
  if (Status s = resolve_dir(dir, &d); s != Status::kOk) return s;
  dir_wcc->before = wcc_of(d.st);
  const std::string n(name);
  const std::uint32_t verf_atime = static_cast<std::uint32_t>(verf[0]) << 24 | verf[1] << 16 | verf[2] << 8 | verf[3];
  const std::uint32_t verf_mtime = static_cast<std::uint32_t>(verf[4]) << 24 | verf[5] << 16 | verf[6] << 8 | verf[7];
  const mode_t perm = mode == CreateMode::kExclusive ? 0600 : (attrs.mode.value_or(0644) & 07777);

  bool created = false;
  Status s = Status::kOk;
  {
    CredentialsGuard g(cred);
    if (!g.ok()) return kNoIdentity;
    // mknodat(S_IFREG) never follows a symlink and fails with EEXIST on any
    // existing name, unlike open(O_CREAT).
    auto dir_lock = dir_locks_.lock(d.st);
    if (::mknodat(d.fd.get(), n.c_str(), S_IFREG | perm, 0) == 0) {
      created = true;
    } else if (errno != EEXIST || mode == CreateMode::kGuarded) {
      s = errno_status();
    }
  }
  Resolved child;
  if (s == Status::kOk) s = finish_new(cred, d, n, out, nullptr, &child);
  if (s == Status::kOk && !created) {
    if (!S_ISREG(child.st.st_mode)) {
      s = Status::kExist;
    } else if (mode == CreateMode::kExclusive) {
      // A retry of the same EXCLUSIVE create finds its verifier in the times.
      bool same = static_cast<std::uint32_t>(child.st.st_atim.tv_sec) == verf_atime &&
                  static_cast<std::uint32_t>(child.st.st_mtim.tv_sec) == verf_mtime;
      if (!same) s = Status::kExist;
    } else if (attrs.size) {  // UNCHECKED on an existing file: only the size applies
      SetAttr only_size;
      only_size.size = attrs.size;
      s = apply_attrs(cred, child, only_size, true);
    }
  } else if (s == Status::kOk && created) {
    if (mode == CreateMode::kExclusive) {
      SetAttr times;
      times.atime_how = times.mtime_how = TimeHow::kClientTime;
      times.atime = Time{verf_atime, 0};
      times.mtime = Time{verf_mtime, 0};
      s = apply_attrs(cred, child, times, false);
    } else {
      SetAttr rest = attrs;
      // The process umask may have cleared bits the client asked for.
      if (rest.mode && (child.st.st_mode & 07777) == *rest.mode) rest.mode.reset();
      s = apply_attrs(cred, child, rest, true);
    }
  }
  if (s == Status::kOk && obj_attr) *obj_attr = to_attr(child.st);
  dir_wcc->after = post_attr(d.fd.get());
  return s;
}

Status LocalBackend::mkdir(const Credentials& cred, const FileHandle& dir, std::string_view name,
                           const SetAttr& attrs, FileHandle* out, Attr* obj_attr,
                           WccData* dir_wcc) {
  if (Status s = check_name(name); s != Status::kOk) return s;
  if (is_dot_or_dotdot(name)) return Status::kExist;
  Resolved d;
  if (Status s = resolve_dir(dir, &d); s != Status::kOk) return s;
  dir_wcc->before = wcc_of(d.st);
  const std::string n(name);
  Status s = Status::kOk;
  {
    CredentialsGuard g(cred);
    if (!g.ok()) return kNoIdentity;
    auto dir_lock = dir_locks_.lock(d.st);
    if (::mkdirat(d.fd.get(), n.c_str(), attrs.mode.value_or(0755) & 07777) != 0) s = errno_status();
  }
  Resolved child;
  if (s == Status::kOk) s = finish_new(cred, d, n, out, nullptr, &child);
  if (s == Status::kOk) {
    SetAttr rest = attrs;
    rest.size.reset();
    if (rest.mode && (child.st.st_mode & 0777) == (*rest.mode & 0777) &&
        (*rest.mode & ~child.st.st_mode & 07000) == 0)
      rest.mode.reset();
    else if (rest.mode)
      *rest.mode |= child.st.st_mode & S_ISGID;  // keep the inherited setgid bit
    s = apply_attrs(cred, child, rest, false);
  }
  if (s == Status::kOk && obj_attr) *obj_attr = to_attr(child.st);
  dir_wcc->after = post_attr(d.fd.get());
  return s;
}

Status LocalBackend::symlink(const Credentials& cred, const FileHandle& dir, std::string_view name,
                             std::string_view target, const SetAttr& attrs, FileHandle* out,
                             Attr* obj_attr, WccData* dir_wcc) {
  if (Status s = check_name(name); s != Status::kOk) return s;
  if (is_dot_or_dotdot(name)) return Status::kExist;
  if (target.find('\0') != std::string_view::npos) return Status::kInval;
  if (target.size() >= PATH_MAX) return Status::kNameTooLong;
  Resolved d;
  if (Status s = resolve_dir(dir, &d); s != Status::kOk) return s;
  dir_wcc->before = wcc_of(d.st);
  const std::string n(name), t(target);
  Status s = Status::kOk;
  {
    CredentialsGuard g(cred);
    if (!g.ok()) return kNoIdentity;
    auto dir_lock = dir_locks_.lock(d.st);
    if (::symlinkat(t.c_str(), d.fd.get(), n.c_str()) != 0) s = errno_status();
  }
  Resolved child;
  if (s == Status::kOk) s = finish_new(cred, d, n, out, nullptr, &child);
  if (s == Status::kOk) {
    SetAttr rest = attrs;  // symlinks have no mode or size of their own
    rest.mode.reset();
    rest.size.reset();
    s = apply_attrs(cred, child, rest, false);
  }
  if (s == Status::kOk && obj_attr) *obj_attr = to_attr(child.st);
  dir_wcc->after = post_attr(d.fd.get());
  return s;
}

Status LocalBackend::mknod(const Credentials& cred, const FileHandle& dir, std::string_view name,
                           FileType type, const SetAttr& attrs, std::uint32_t rdev_major,
                           std::uint32_t rdev_minor, FileHandle* out, Attr* obj_attr,
                           WccData* dir_wcc) {
  mode_t fmt;
  dev_t rdev = 0;
  switch (type) {
    case FileType::kChr: fmt = S_IFCHR; rdev = makedev(rdev_major, rdev_minor); break;
    case FileType::kBlk: fmt = S_IFBLK; rdev = makedev(rdev_major, rdev_minor); break;
    case FileType::kSock: fmt = S_IFSOCK; break;
    case FileType::kFifo: fmt = S_IFIFO; break;
    default: return Status::kBadType;
  }
  if (Status s = check_name(name); s != Status::kOk) return s;
  if (is_dot_or_dotdot(name)) return Status::kExist;
  Resolved d;
  if (Status s = resolve_dir(dir, &d); s != Status::kOk) return s;
  dir_wcc->before = wcc_of(d.st);
  const std::string n(name);
  const mode_t perm = attrs.mode.value_or(0644) & 07777;
  Status s = Status::kOk;
  {
    CredentialsGuard g(cred);
    if (!g.ok()) return kNoIdentity;
    auto dir_lock = dir_locks_.lock(d.st);
    if (::mknodat(d.fd.get(), n.c_str(), fmt | perm, rdev) != 0) s = errno_status();
  }
  Resolved child;
  if (s == Status::kOk) s = finish_new(cred, d, n, out, nullptr, &child);
  if (s == Status::kOk) {
    SetAttr rest = attrs;
    rest.size.reset();
    if (rest.mode && (child.st.st_mode & 07777) == *rest.mode) rest.mode.reset();
    s = apply_attrs(cred, child, rest, false);
  }
  if (s == Status::kOk && obj_attr) *obj_attr = to_attr(child.st);
  dir_wcc->after = post_attr(d.fd.get());
  return s;
}

Status LocalBackend::remove(const Credentials& cred, const FileHandle& dir, std::string_view name,
                            WccData* dir_wcc) {
  if (Status s = check_name(name); s != Status::kOk) return s;
  if (is_dot_or_dotdot(name)) return Status::kInval;
  Resolved d;
  if (Status s = resolve_dir(dir, &d); s != Status::kOk) return s;
  dir_wcc->before = wcc_of(d.st);
  forget_child(*d.exp, d.fd.get(), name);
  Status s = Status::kOk;
  {
    CredentialsGuard g(cred);
    if (!g.ok()) return kNoIdentity;
    auto dir_lock = dir_locks_.lock(d.st);
    if (::unlinkat(d.fd.get(), std::string(name).c_str(), 0) != 0) s = errno_status();
  }
  dir_wcc->after = post_attr(d.fd.get());
  return s;
}

Status LocalBackend::rmdir(const Credentials& cred, const FileHandle& dir, std::string_view name,
                           WccData* dir_wcc) {
  if (Status s = check_name(name); s != Status::kOk) return s;
  if (name == ".") return Status::kInval;
  if (name == "..") return Status::kNotEmpty;
  Resolved d;
  if (Status s = resolve_dir(dir, &d); s != Status::kOk) return s;
  dir_wcc->before = wcc_of(d.st);
  forget_child(*d.exp, d.fd.get(), name);
  Status s = Status::kOk;
  {
    CredentialsGuard g(cred);
    if (!g.ok()) return kNoIdentity;
    auto dir_lock = dir_locks_.lock(d.st);
    if (::unlinkat(d.fd.get(), std::string(name).c_str(), AT_REMOVEDIR) != 0)
      s = errno == EEXIST ? Status::kNotEmpty : errno_status();
  }
  dir_wcc->after = post_attr(d.fd.get());
  return s;
}

Status LocalBackend::rename(const Credentials& cred, const FileHandle& from_dir,
                            std::string_view from_name, const FileHandle& to_dir,
                            std::string_view to_name, WccData* from_wcc, WccData* to_wcc) {
  if (Status s = check_name(from_name); s != Status::kOk) return s;
  if (Status s = check_name(to_name); s != Status::kOk) return s;
  if (is_dot_or_dotdot(from_name) || is_dot_or_dotdot(to_name)) return Status::kInval;
  Resolved f, t;
  if (Status s = resolve_dir(from_dir, &f); s != Status::kOk) return s;
  if (Status s = resolve_dir(to_dir, &t); s != Status::kOk) return s;
  if (f.exp != t.exp) return Status::kXdev;
  from_wcc->before = wcc_of(f.st);
  to_wcc->before = wcc_of(t.st);
  forget_child(*t.exp, t.fd.get(), to_name);  // replaced by the rename, if it exists
  Status s = Status::kOk;
  {
    CredentialsGuard g(cred);
    if (!g.ok()) return kNoIdentity;
    auto dir_locks = dir_locks_.lock_two(f.st, t.st);
    if (::renameat(f.fd.get(), std::string(from_name).c_str(), t.fd.get(),
                   std::string(to_name).c_str()) != 0)
      s = errno_status();
  }
  from_wcc->after = post_attr(f.fd.get());
  to_wcc->after = post_attr(t.fd.get());
  return s;
}

Status LocalBackend::link(const Credentials& cred, const FileHandle& file, const FileHandle& dir,
                          std::string_view name, std::optional<Attr>* file_attr,
                          WccData* dir_wcc) {
  if (Status s = check_name(name); s != Status::kOk) return s;
  if (is_dot_or_dotdot(name)) return Status::kExist;
  Resolved f, d;
  if (Status s = resolve(file, &f); s != Status::kOk) return s;
  if (Status s = resolve_dir(dir, &d); s != Status::kOk) return s;
  if (f.exp != d.exp) return Status::kXdev;
  if (S_ISDIR(f.st.st_mode)) return Status::kIsDir;
  dir_wcc->before = wcc_of(d.st);
  Status s = Status::kOk;
  {
    CredentialsGuard g(cred);
    if (!g.ok()) return kNoIdentity;
    // linkat(AT_EMPTY_PATH) would need CAP_DAC_READ_SEARCH; the /proc path
    // with AT_SYMLINK_FOLLOW links the fd's inode without it.
    auto dir_lock = dir_locks_.lock(d.st);
    if (::linkat(AT_FDCWD, proc_path(f.fd.get()).c_str(), d.fd.get(), std::string(name).c_str(),
                 AT_SYMLINK_FOLLOW) != 0)
      s = errno_status();
  }
  if (file_attr) *file_attr = post_attr(f.fd.get());
  dir_wcc->after = post_attr(d.fd.get());
  return s;
}

Status LocalBackend::readdir(const Credentials& cred, const FileHandle& dir, std::uint64_t cookie,
                             const Verifier& cookieverf, bool plus,
                             const std::function<bool(const DirEntry&)>& fits,
                             std::vector<DirEntry>* entries, Verifier* verf_out, bool* eof,
                             std::optional<Attr>* dir_attr) {
  return readdir_as(cred, dir, cookie, cookieverf, plus, fits, entries, verf_out, eof, dir_attr,
                    Wait::kMay);
}

Status LocalBackend::try_readdir(const Credentials& cred, const FileHandle& dir,
                                 std::uint64_t cookie, const Verifier& cookieverf, bool plus,
                                 const std::function<bool(const DirEntry&)>& fits,
                                 std::vector<DirEntry>* entries, Verifier* verf_out, bool* eof,
                                 std::optional<Attr>* dir_attr) {
  return readdir_as(cred, dir, cookie, cookieverf, plus, fits, entries, verf_out, eof, dir_attr,
                    Wait::kNever);
}

Status LocalBackend::readdir_as(const Credentials& cred, const FileHandle& dir,
                                std::uint64_t cookie, const Verifier& cookieverf, bool plus,
                                const std::function<bool(const DirEntry&)>& fits,
                                std::vector<DirEntry>* entries, Verifier* verf_out, bool* eof,
                                std::optional<Attr>* dir_attr, Wait wait) {
  *eof = false;
  const bool nowait = wait == Wait::kNever;
  struct timespec before {};  // taken before the directory's stat (see read_listing)
  if (!nowait) ::clock_gettime(CLOCK_REALTIME, &before);
  Resolved d;
  if (Status s = resolve(dir, &d, wait); s != Status::kOk) return s;
  if (dir_attr) *dir_attr = to_attr(d.st);
  if (!S_ISDIR(d.st.st_mode)) return Status::kNotDir;
  const Verifier verf = cookieverf_for(d.st);
  const Verifier zero{};
  if (cookie != 0 && cookieverf != zero && cookieverf != verf) return Status::kBadCookie;
  if (cookie > static_cast<std::uint64_t>(INT64_MAX)) return Status::kBadCookie;
  *verf_out = verf;

  // The listing cached for this very directory state, or a fresh read.
  // Only READDIRPLUS reads records, so only it needs the watches drained.
  std::shared_ptr<const DirSnapshot> snap =
      dir_cache_.find(d.st.st_dev, d.st.st_ino, d.stamp, /*drain_watches=*/plus);
  std::ptrdiff_t start = snap ? snap->start_after(cookie) : -1;
  const bool from_cache = start >= 0;
  if (!from_cache && nowait) return Status::kWouldBlock;  // reading it could wait on disk
  UniqueFd rd;
  if (!from_cache) {
    snap.reset();
    if (Status s = open_for_io(cred, d, O_RDONLY | O_DIRECTORY, &rd); s != Status::kOk) return s;
    snap = read_listing(rd.get(), d, before, plus);
    start = snap ? snap->start_after(cookie) : -1;
    if (start < 0) {  // not cached, or a cookie it does not have: read on from the cookie
      snap.reset();
      if (::lseek(rd.get(), static_cast<off_t>(cookie), SEEK_SET) < 0) return Status::kBadCookie;
    }
  }

  FileHandle root_fh;
  if (plus && d.is_root()) {
    if (Status s = make_handle(*d.exp, d.exp->fd.get(), "", &root_fh); s != Status::kOk) return s;
  }
  CredentialsGuard g(cred);  // per-entry statx/open/name_to_handle_at run as the client
  if (!g.ok()) return kNoIdentity;
  // A cached listing is only shown to a client that may read the directory
  // now (the fresh read checked it by opening as the client).
  if (from_cache &&
      ::faccessat(d.fd.get(), "", R_OK, AT_EACCESS | AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) != 0)
    return errno_status();
  const int dirfd = rd.valid() ? rd.get() : d.fd.get();
  // READDIRPLUS attributes recorded by earlier calls (entry_attr_cache.h):
  // the generation is read after find() drained the directory's watch, and
  // only a client that may search the directory (as a fresh statx by name
  // needs) is served from it.
  EntryAttrCache* recorded = plus && snap ? snap->attrs.get() : nullptr;
  const std::uint64_t recorded_gen = recorded ? recorded->generation() : 0;
  if (recorded_gen == 0 ||
      ::faccessat(d.fd.get(), "", X_OK, AT_EACCESS | AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) != 0)
    recorded = nullptr;
  std::int64_t now_ns = 0;
  if (recorded) {
    struct timespec mono {};
    ::clock_gettime(CLOCK_MONOTONIC, &mono);
    now_ns = static_cast<std::int64_t>(mono.tv_sec) * 1000000000LL + mono.tv_nsec;
  }
  const std::size_t first = entries->size();
  bool would_block = false;  // nowait: an entry needs a statx by name
  // Appends one entry (`idx`: its index in `snap`, -1 when read from the
  // directory); false when it does not fit.
  auto add = [&](const char* name, std::uint64_t ino, std::uint64_t off, std::ptrdiff_t idx) {
    DirEntry e;
    e.name = name;
    e.fileid = ino;
    e.cookie = off;
    const bool dotdot_at_root = d.is_root() && e.name == "..";
    if (dotdot_at_root) e.fileid = d.exp->ino;
    if (plus) {
      if (dotdot_at_root) {
        e.attr = to_attr(d.st);
        e.handle = root_fh;
      } else if (e.name == ".") {
        e.attr = to_attr(d.st);  // the directory itself, stat'ed by this call
        e.handle = dir;
      } else if (recorded && idx >= 0 &&
                 recorded->get(static_cast<std::size_t>(idx), recorded_gen,
                               now_ns - kEntryAttrMaxAgeNs, &e.attr.emplace(),
                               &e.handle.emplace())) {
        // served from the record
      } else if (nowait && e.name != "..") {
        // A statx by name may read the disk.  ".." may not: a directory's
        // parent is pinned in memory while the directory is.
        would_block = true;
        return false;
      } else {
        e.attr.reset();
        e.handle.reset();
        plus_entry(d, dirfd, ino, &e);
        // Only what the directory's watch reports changes of (dir_watch.h).
        if (recorded && idx >= 0 && e.attr && e.handle && e.attr->type != FileType::kDir &&
            e.attr->nlink <= 1)
          recorded->put(static_cast<std::size_t>(idx), recorded_gen, now_ns, *e.attr, *e.handle);
      }
    }
    if (!fits(e)) return false;
    entries->push_back(std::move(e));
    return true;
  };
  if (snap) {
    for (std::size_t i = static_cast<std::size_t>(start); i < snap->entries.size(); ++i) {
      const DirSnapshot::Entry& se = snap->entries[i];
      if (!add(se.name.c_str(), se.ino, se.off, static_cast<std::ptrdiff_t>(i))) {
        if (would_block) return Status::kWouldBlock;
        return entries->size() == first ? Status::kTooSmall : Status::kOk;
      }
    }
    *eof = true;
    return Status::kOk;
  }
  std::vector<std::uint8_t> buf(16384);
  for (;;) {
    long n = syscall(SYS_getdents64, rd.get(), buf.data(), buf.size());
    if (n < 0) return errno_status();
    if (n == 0) {
      *eof = true;
      return Status::kOk;
    }
    for (long pos = 0; pos < n;) {
      auto* de = reinterpret_cast<struct dirent64*>(buf.data() + pos);
      pos += de->d_reclen;
      if (!add(de->d_name, de->d_ino, static_cast<std::uint64_t>(de->d_off), -1))
        return entries->size() == first ? Status::kTooSmall : Status::kOk;
    }
  }
}

std::shared_ptr<const DirSnapshot> LocalBackend::read_listing(int fd, const Resolved& d,
                                                              const struct timespec& before,
                                                              bool with_attrs) {
  // Only a directory unchanged for longer than the timestamp granularity:
  // any change after our stat then gets a ctime different from d.stamp's.
  const std::int64_t ctime_ns = d.stamp.ctime_sec * 1000000000LL + d.stamp.ctime_nsec;
  const std::int64_t before_ns = static_cast<std::int64_t>(before.tv_sec) * 1000000000LL + before.tv_nsec;
  if (dir_cache_.max_listing() == 0 || ctime_ns >= before_ns - kDirQuietNs) return nullptr;
  const auto claim = dir_cache_.claim_build(d.st.st_dev, d.st.st_ino);
  if (!claim) return nullptr;  // another call is reading this listing right now
  auto snap = std::make_shared<DirSnapshot>();
  snap->stamp = d.stamp;
  std::vector<std::uint8_t> buf(65536);
  for (;;) {
    long n = syscall(SYS_getdents64, fd, buf.data(), buf.size());
    if (n < 0) return nullptr;
    if (n == 0) break;
    for (long pos = 0; pos < n;) {
      auto* de = reinterpret_cast<struct dirent64*>(buf.data() + pos);
      pos += de->d_reclen;
      const auto off = static_cast<std::uint64_t>(de->d_off);
      // Cookies must identify entries: strictly increasing, else not cached.
      if (!snap->entries.empty() && off <= snap->entries.back().off) return nullptr;
      if (snap->entries.size() >= dir_cache_.max_listing()) return nullptr;
      snap->entries.push_back(DirSnapshot::Entry{de->d_name, de->d_ino, off});
    }
  }
  dir_cache_.insert(d.st.st_dev, d.st.st_ino, snap, with_attrs ? d.fd.get() : -1);
  return snap;
}

void LocalBackend::plus_entry(const Resolved& d, int dirfd, std::uint64_t d_ino, DirEntry* e) {
  // Runs as the client.  An inode met before: one statx by name, and the
  // cached handle when the statx's stamp still matches.
  InodeStamp cached;
  FileHandle h;
  if (inode_handles_.peek(d.exp->dev, d_ino, &cached, &h)) {
    struct stat st {};
    InodeStamp stamp;
    if (!stat_x(dirfd, e->name.c_str(), AT_SYMLINK_NOFOLLOW, &st, &stamp)) return;
    if (st.st_dev != d.exp->dev) return;  // a mount point: no attributes, no handle
    if (st.st_ino == d_ino && stamp == cached) {
      e->attr = to_attr(st);
      e->handle = h;
      return;
    }
  }
  // Otherwise open it, so attributes and handle are of the same object.
  Resolved c;
  c.exp = d.exp;
  if (e->name == "..") {  // below the root (the root's ".." is answered by the caller)
    c.fd.reset(::openat(dirfd, "..", O_PATH | O_DIRECTORY | O_CLOEXEC));
  } else {
    c.fd.reset(open_beneath(dirfd, e->name.c_str(), O_PATH | O_NOFOLLOW));
  }
  if (!c.fd.valid() || !fd_stat(c.fd.get(), &c.st, &c.stamp) || c.st.st_dev != d.exp->dev) return;
  e->attr = to_attr(c.st);
  if (handle_of(c, &h) == Status::kOk) e->handle = h;
}

Status LocalBackend::fsstat(const FileHandle& fh, FsStat* out, std::optional<Attr>* attr) {
  Resolved r;
  if (Status s = resolve(fh, &r); s != Status::kOk) return s;
  if (attr) *attr = to_attr(r.st);
  struct statvfs sf {};
  if (::fstatvfs(r.fd.get(), &sf) != 0) return errno_status();
  const std::uint64_t bs = sf.f_frsize ? static_cast<std::uint64_t>(sf.f_frsize)
                                       : static_cast<std::uint64_t>(sf.f_bsize);
  out->total_bytes = sf.f_blocks * bs;
  out->free_bytes = sf.f_bfree * bs;
  out->avail_bytes = sf.f_bavail * bs;
  out->total_files = sf.f_files;
  out->free_files = sf.f_ffree;
  out->avail_files = sf.f_favail;
  return Status::kOk;
}

Status LocalBackend::commit(const Credentials& /*cred*/, const FileHandle& fh,
                            std::uint64_t /*offset*/, std::uint32_t /*count*/, WccData* wcc) {
  Resolved r;
  if (Status s = resolve(fh, &r); s != Status::kOk) return s;
  wcc->before = wcc_of(r.st);
  if (!S_ISREG(r.st.st_mode) && !S_ISDIR(r.st.st_mode)) return Status::kInval;
  // COMMIT changes no data, so it runs as root: fsync needs a real fd, and
  // opening read-only as the client could fail for a write-only file.
  UniqueFd io(::open(proc_path(r.fd.get()).c_str(), O_RDONLY | O_CLOEXEC));
  if (!io.valid()) return errno_status();
  int rc = io_.fsync(io.get(), /*datasync=*/false);
  wcc->after = post_attr(io.get());
  return rc == 0 ? Status::kOk : status_from_errno(-rc);
}

}  // namespace nasd::storage
