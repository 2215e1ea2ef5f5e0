// LocalBackend: LOOKUP (with its hints), READLINK and the calls that change
// names: CREATE, MKDIR, SYMLINK, MKNOD, REMOVE, RMDIR, RENAME, LINK.  See local_backend.h.
#include "storage/local/local_backend.h"

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
#include "storage/local/local_util.h"

namespace nasd::storage {

using namespace local_detail;

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

}  // namespace nasd::storage
