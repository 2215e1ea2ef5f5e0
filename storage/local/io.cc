// LocalBackend: READ (io_uring or RWF_NOWAIT from the page cache), WRITE,
// COMMIT, FSSTAT.  See local_backend.h.
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
