// LocalBackend: the NFSv4.2 (RFC 7862) storage calls and the user-namespace
// extended attributes (RFC 8276).  See storage/local/local_backend.h for handles,
// confinement and credentials; these calls follow the same rules: handles
// are resolved as root to O_PATH fds, files are then opened for I/O as the
// client (open_for_io), and xattr calls run under a CredentialsGuard on the
// object reached through /proc/self/fd/N so the kernel checks the client's
// permissions.  Only the "user." namespace is reachable: the client's name
// is always prefixed here.
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <string>

#include "storage/local/cred_guard.h"
#include "storage/local/local_backend.h"

namespace nasd::storage {
namespace {

constexpr std::size_t kXattrNameMax = 255;       // XATTR_NAME_MAX, with the prefix
constexpr std::size_t kXattrValueMax = 65536;    // XATTR_SIZE_MAX
constexpr std::string_view kUserPrefix = "user.";

std::string proc_path(int fd) { return "/proc/self/fd/" + std::to_string(fd); }

Time to_time(const struct timespec& ts) {
  return Time{static_cast<std::uint32_t>(ts.tv_sec), static_cast<std::uint32_t>(ts.tv_nsec)};
}

WccAttr wcc_of(const struct stat& st) {
  return WccAttr{static_cast<std::uint64_t>(st.st_size), to_time(st.st_mtim), to_time(st.st_ctim)};
}

/// fallocate/copy/clone errno -> Status: "the filesystem cannot" is kNotSupp.
Status io_errno(int err) {
  if (err == EOPNOTSUPP || err == ENOSYS || err == ENOTTY) return Status::kNotSupp;
  return status_from_errno(err);
}

/// xattr errno -> Status: ENODATA (absent) is kNoEnt, ERANGE/E2BIG kFBig.
Status xattr_errno(int err) {
  switch (err) {
    case ENODATA: return Status::kNoEnt;
    case ERANGE: case E2BIG: return Status::kFBig;
    case EOPNOTSUPP: return Status::kNotSupp;
    default: return status_from_errno(err);
  }
}

/// "user." + name; kInval for an empty name, kNameTooLong past XATTR_NAME_MAX.
Status user_name(std::string_view name, std::string* out) {
  if (name.empty() || name.find('\0') != std::string_view::npos) return Status::kInval;
  if (name.size() + kUserPrefix.size() > kXattrNameMax) return Status::kNameTooLong;
  out->assign(kUserPrefix);
  out->append(name);
  return Status::kOk;
}

/// The attributes of `fd` for wcc "after" (nullopt when it cannot be stat'ed).
std::optional<Attr> after_of(int fd) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return std::nullopt;
  return LocalBackend::attr_of(st);
}
}  // namespace

Status LocalBackend::open_regular(const Credentials& cred, const FileHandle& fh, int flags,
                                  Resolved* r, UniqueFd* io, WccData* wcc) {
  if (Status s = resolve(fh, r); s != Status::kOk) return s;
  if (wcc) wcc->before = wcc_of(r->st);
  if (S_ISDIR(r->st.st_mode)) return Status::kIsDir;
  if (!S_ISREG(r->st.st_mode)) return Status::kInval;
  return open_for_io(cred, *r, flags, io);
}

Status LocalBackend::seek(const Credentials& cred, const FileHandle& fh, std::uint64_t offset,
                          bool data, std::uint64_t* result, bool* eof) {
  *result = 0;
  *eof = false;
  Resolved r;
  UniqueFd io;
  if (Status s = open_regular(cred, fh, O_RDONLY, &r, &io, nullptr); s != Status::kOk) return s;
  if (offset > static_cast<std::uint64_t>(INT64_MAX)) return Status::kNxio;
  off_t pos = ::lseek(io.get(), static_cast<off_t>(offset), data ? SEEK_DATA : SEEK_HOLE);
  if (pos < 0) return status_from_errno(errno);  // ENXIO: past EOF / no data after
  struct stat st {};
  if (::fstat(io.get(), &st) != 0) return status_from_errno(errno);
  *result = static_cast<std::uint64_t>(pos);
  *eof = pos >= st.st_size;
  return Status::kOk;
}

Status LocalBackend::allocate(const Credentials& cred, const FileHandle& fh, std::uint64_t offset,
                              std::uint64_t length, WccData* wcc) {
  if (offset > static_cast<std::uint64_t>(INT64_MAX) ||
      length > static_cast<std::uint64_t>(INT64_MAX) - offset) {
    return Status::kFBig;
  }
  Resolved r;
  UniqueFd io;
  if (Status s = open_regular(cred, fh, O_WRONLY, &r, &io, wcc); s != Status::kOk) return s;
  Status s = Status::kOk;
  if (::fallocate(io.get(), 0, static_cast<off_t>(offset), static_cast<off_t>(length)) != 0) {
    s = io_errno(errno);
  }
  wcc->after = after_of(io.get());
  return s;
}

Status LocalBackend::deallocate(const Credentials& cred, const FileHandle& fh,
                                std::uint64_t offset, std::uint64_t length, WccData* wcc) {
  if (offset > static_cast<std::uint64_t>(INT64_MAX)) return Status::kInval;
  // A range reaching past what off_t holds is cut at the largest offset.
  length = std::min(length, static_cast<std::uint64_t>(INT64_MAX) - offset);
  Resolved r;
  UniqueFd io;
  if (Status s = open_regular(cred, fh, O_WRONLY, &r, &io, wcc); s != Status::kOk) return s;
  Status s = Status::kOk;
  if (length > 0 && ::fallocate(io.get(), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                                static_cast<off_t>(offset), static_cast<off_t>(length)) != 0) {
    s = io_errno(errno);
  }
  wcc->after = after_of(io.get());
  return s;
}

Status LocalBackend::copy(const Credentials& cred, const FileHandle& src, std::uint64_t src_offset,
                          const FileHandle& dst, std::uint64_t dst_offset, std::uint64_t count,
                          std::uint64_t* copied, WccData* dst_wcc) {
  *copied = 0;
  Resolved rs, rd;
  UniqueFd in, out;
  if (Status s = open_regular(cred, src, O_RDONLY, &rs, &in, nullptr); s != Status::kOk) return s;
  if (Status s = open_regular(cred, dst, O_WRONLY, &rd, &out, dst_wcc); s != Status::kOk) return s;
  if (rs.exp != rd.exp) return Status::kXdev;
  struct stat st {};
  if (::fstat(in.get(), &st) != 0) return status_from_errno(errno);
  const auto size = static_cast<std::uint64_t>(st.st_size);
  if (src_offset > size) return Status::kInval;
  if (count == 0) count = size - src_offset;
  if (count > size - src_offset) return Status::kInval;
  if (dst_offset > static_cast<std::uint64_t>(INT64_MAX) - count) return Status::kFBig;
  auto in_off = static_cast<loff_t>(src_offset);
  auto out_off = static_cast<loff_t>(dst_offset);
  Status s = Status::kOk;
  while (*copied < count) {
    const std::size_t chunk =
        static_cast<std::size_t>(std::min<std::uint64_t>(count - *copied, 1u << 30));
    ssize_t n = ::copy_file_range(in.get(), &in_off, out.get(), &out_off, chunk, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      s = io_errno(errno);
      break;
    }
    if (n == 0) break;  // the source shrank meanwhile
    *copied += static_cast<std::uint64_t>(n);
  }
  dst_wcc->after = after_of(out.get());
  return *copied > 0 ? Status::kOk : s;
}

Status LocalBackend::clone(const Credentials& cred, const FileHandle& src,
                           std::uint64_t src_offset, const FileHandle& dst,
                           std::uint64_t dst_offset, std::uint64_t count, WccData* dst_wcc) {
  Resolved rs, rd;
  UniqueFd in, out;
  if (Status s = open_regular(cred, src, O_RDONLY, &rs, &in, nullptr); s != Status::kOk) return s;
  if (Status s = open_regular(cred, dst, O_WRONLY, &rd, &out, dst_wcc); s != Status::kOk) return s;
  if (rs.exp != rd.exp) return Status::kXdev;
  struct file_clone_range range {};
  range.src_fd = in.get();
  range.src_offset = src_offset;
  range.src_length = count;  // 0: to the end of the source (FICLONERANGE's rule too)
  range.dest_offset = dst_offset;
  Status s = Status::kOk;
  if (::ioctl(out.get(), FICLONERANGE, &range) != 0) s = io_errno(errno);
  dst_wcc->after = after_of(out.get());
  return s;
}

Status LocalBackend::resolve_xattr_target(const FileHandle& fh, Resolved* r) {
  if (Status s = resolve(fh, r); s != Status::kOk) return s;
  // user.* xattrs exist on regular files and directories only (xattr(7));
  // refusing the rest also keeps the magic link below away from symlinks.
  if (!S_ISREG(r->st.st_mode) && !S_ISDIR(r->st.st_mode)) return Status::kNotSupp;
  return Status::kOk;
}

Status LocalBackend::getxattr(const Credentials& cred, const FileHandle& fh,
                              std::string_view name, std::vector<std::uint8_t>* value) {
  value->clear();
  std::string key;
  if (Status s = user_name(name, &key); s != Status::kOk) return s;
  Resolved r;
  if (Status s = resolve_xattr_target(fh, &r); s != Status::kOk) return s;
  const std::string path = proc_path(r.fd.get());
  CredentialsGuard g(cred);
  if (!g.ok()) return Status::kPerm;
  // The value may change between the size probe and the read: retry on ERANGE.
  for (int attempt = 0; attempt < 4; ++attempt) {
    ssize_t n = ::getxattr(path.c_str(), key.c_str(), nullptr, 0);
    if (n < 0) return xattr_errno(errno);
    value->resize(static_cast<std::size_t>(n));
    n = ::getxattr(path.c_str(), key.c_str(), value->data(), value->size());
    if (n >= 0) {
      value->resize(static_cast<std::size_t>(n));
      return Status::kOk;
    }
    if (errno != ERANGE) return xattr_errno(errno);
  }
  return Status::kJukebox;
}

Status LocalBackend::setxattr(const Credentials& cred, const FileHandle& fh, std::string_view name,
                              std::span<const std::uint8_t> value, XattrSetMode mode,
                              WccData* wcc) {
  std::string key;
  if (Status s = user_name(name, &key); s != Status::kOk) return s;
  if (value.size() > kXattrValueMax) return Status::kFBig;
  Resolved r;
  if (Status s = resolve_xattr_target(fh, &r); s != Status::kOk) return s;
  wcc->before = wcc_of(r.st);
  const int flags = mode == XattrSetMode::kCreate    ? XATTR_CREATE
                    : mode == XattrSetMode::kReplace ? XATTR_REPLACE
                                                     : 0;
  Status s = Status::kOk;
  {
    CredentialsGuard g(cred);
    if (!g.ok()) return Status::kPerm;
    if (::setxattr(proc_path(r.fd.get()).c_str(), key.c_str(), value.data(), value.size(),
                   flags) != 0) {
      s = xattr_errno(errno);
    }
  }
  wcc->after = after_of(r.fd.get());
  return s;
}

Status LocalBackend::listxattrs(const Credentials& cred, const FileHandle& fh,
                                std::vector<std::string>* names) {
  names->clear();
  Resolved r;
  if (Status s = resolve_xattr_target(fh, &r); s != Status::kOk) return s;
  const std::string path = proc_path(r.fd.get());
  std::vector<char> buf;
  CredentialsGuard g(cred);
  if (!g.ok()) return Status::kPerm;
  for (int attempt = 0;; ++attempt) {
    ssize_t n = ::listxattr(path.c_str(), nullptr, 0);
    if (n < 0) return xattr_errno(errno);
    buf.resize(static_cast<std::size_t>(n));
    n = ::listxattr(path.c_str(), buf.data(), buf.size());
    if (n >= 0) {
      buf.resize(static_cast<std::size_t>(n));
      break;
    }
    if (errno != ERANGE || attempt == 3) return xattr_errno(errno);
  }
  for (std::size_t i = 0; i < buf.size();) {
    std::string_view n(buf.data() + i, ::strnlen(buf.data() + i, buf.size() - i));
    i += n.size() + 1;
    if (n.size() > kUserPrefix.size() && n.substr(0, kUserPrefix.size()) == kUserPrefix) {
      names->emplace_back(n.substr(kUserPrefix.size()));
    }
  }
  return Status::kOk;
}

Status LocalBackend::removexattr(const Credentials& cred, const FileHandle& fh,
                                 std::string_view name, WccData* wcc) {
  std::string key;
  if (Status s = user_name(name, &key); s != Status::kOk) return s;
  Resolved r;
  if (Status s = resolve_xattr_target(fh, &r); s != Status::kOk) return s;
  wcc->before = wcc_of(r.st);
  Status s = Status::kOk;
  {
    CredentialsGuard g(cred);
    if (!g.ok()) return Status::kPerm;
    if (::removexattr(proc_path(r.fd.get()).c_str(), key.c_str()) != 0) s = xattr_errno(errno);
  }
  wcc->after = after_of(r.fd.get());
  return s;
}

}  // namespace nasd::storage
