// LocalBackend: GETATTR, SETATTR, ACCESS.  See local_backend.h.
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

}  // namespace nasd::storage
