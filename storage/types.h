// Value types shared by the storage backends and the protocol services:
// file handles, attributes, credentials, and the storage status enum that the
// NFS services map once to NFS3ERR_* (RFC 1813 §2.6) / NFS4ERR_* statuses.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace nasd::storage {

/// Result of every storage call.  Errors are values on the hot path; each one
/// corresponds to an errno class and maps to exactly one NFS3 status.
enum class Status : std::uint8_t {
  kOk = 0,
  kPerm,          // EPERM        -> NFS3ERR_PERM
  kNoEnt,         // ENOENT       -> NFS3ERR_NOENT
  kIo,            // EIO          -> NFS3ERR_IO
  kNxio,          // ENXIO        -> NFS3ERR_NXIO
  kAccess,        // EACCES       -> NFS3ERR_ACCES
  kExist,         // EEXIST       -> NFS3ERR_EXIST
  kXdev,          // EXDEV        -> NFS3ERR_XDEV
  kNoDev,         // ENODEV       -> NFS3ERR_NODEV
  kNotDir,        // ENOTDIR      -> NFS3ERR_NOTDIR
  kIsDir,         // EISDIR       -> NFS3ERR_ISDIR
  kInval,         // EINVAL       -> NFS3ERR_INVAL
  kFBig,          // EFBIG        -> NFS3ERR_FBIG
  kNoSpc,         // ENOSPC       -> NFS3ERR_NOSPC
  kRoFs,          // EROFS        -> NFS3ERR_ROFS
  kMLink,         // EMLINK       -> NFS3ERR_MLINK
  kNameTooLong,   // ENAMETOOLONG -> NFS3ERR_NAMETOOLONG
  kNotEmpty,      // ENOTEMPTY    -> NFS3ERR_NOTEMPTY
  kDQuot,         // EDQUOT       -> NFS3ERR_DQUOT
  kStale,         // ESTALE: object gone / handle no longer valid -> NFS3ERR_STALE
  kBadHandle,     // handle malformed or forged -> NFS3ERR_BADHANDLE
  kNotSync,       // guard ctime mismatch on SETATTR -> NFS3ERR_NOT_SYNC
  kBadCookie,     // READDIR cookie/cookieverf invalid -> NFS3ERR_BAD_COOKIE
  kNotSupp,       // EOPNOTSUPP   -> NFS3ERR_NOTSUPP
  kTooSmall,      // reply buffer too small for one entry -> NFS3ERR_TOOSMALL
  kBadType,       // MKNOD of an unsupported type -> NFS3ERR_BADTYPE
  kJukebox,       // EAGAIN / resource busy, retry later -> NFS3ERR_JUKEBOX
  kWouldBlock,    // a Backend::try_* call would have to wait: run the ordinary call instead
                  // (never sent; if it were: NFS3ERR_JUKEBOX / NFS4ERR_DELAY)
  kServerFault,   // anything else -> NFS3ERR_SERVERFAULT (last: ServerMetrics counts up to it)
};

/// Maps an errno value to a Status (unknown values -> kServerFault, except
/// EIO-like ones -> kIo).
Status status_from_errno(int err);

/// Human-readable name, e.g. "NOENT" (for logs and metric labels).
const char* status_name(Status s);

/// Opaque file handle as sent on the wire (NFSv3: at most 64 bytes,
/// RFC 1813 §2.5; NFSv4: at most 128).  The layout is private to the backend.
struct FileHandle {
  static constexpr std::size_t kMaxSize = 64;
  std::uint8_t size = 0;
  std::array<std::uint8_t, kMaxSize> data{};

  std::span<const std::uint8_t> bytes() const { return {data.data(), size}; }
  /// Copies `b` in; false (and size 0) when b is empty or longer than kMaxSize.
  bool assign(std::span<const std::uint8_t> b);
  friend bool operator==(const FileHandle& a, const FileHandle& b) {
    return a.size == b.size && std::equal(a.data.begin(), a.data.begin() + a.size, b.data.begin());
  }
};

/// File types, numbered as NFSv3 ftype3 (RFC 1813 §2.5).
enum class FileType : std::uint32_t {
  kReg = 1, kDir = 2, kBlk = 3, kChr = 4, kLnk = 5, kSock = 6, kFifo = 7,
};

/// Seconds + nanoseconds since the epoch (nfstime3).
struct Time {
  std::uint32_t seconds = 0;
  std::uint32_t nseconds = 0;
  friend bool operator==(const Time&, const Time&) = default;
};

/// File attributes (fattr3, RFC 1813 §2.6).  Sizes in bytes.
struct Attr {
  FileType type = FileType::kReg;
  std::uint32_t mode = 0;  // permission bits only (07777)
  std::uint32_t nlink = 0;
  std::uint32_t uid = 0;
  std::uint32_t gid = 0;
  std::uint64_t size = 0;
  std::uint64_t used = 0;  // bytes allocated on disk
  std::uint32_t rdev_major = 0;
  std::uint32_t rdev_minor = 0;
  std::uint64_t fsid = 0;
  std::uint64_t fileid = 0;  // inode number
  Time atime, mtime, ctime;
};

/// The subset of attributes that a weak cache consistency check needs
/// (wcc_attr, RFC 1813 §2.6).
struct WccAttr {
  std::uint64_t size = 0;
  Time mtime, ctime;
};

/// pre_op_attr + post_op_attr of one object (wcc_data, RFC 1813 §2.6).
/// Backends fill `before` just before and `after` just after the change.
struct WccData {
  std::optional<WccAttr> before;
  std::optional<Attr> after;
};

/// Which time to set in SETATTR/CREATE (time_how, RFC 1813 §2.6).
enum class TimeHow : std::uint8_t { kDontChange = 0, kServerTime = 1, kClientTime = 2 };

/// sattr3 (RFC 1813 §2.6): each field set only when present.
struct SetAttr {
  std::optional<std::uint32_t> mode;
  std::optional<std::uint32_t> uid;
  std::optional<std::uint32_t> gid;
  std::optional<std::uint64_t> size;
  TimeHow atime_how = TimeHow::kDontChange;
  Time atime;
  TimeHow mtime_how = TimeHow::kDontChange;
  Time mtime;
};

/// Access bits of Backend::access: ACCESS3_* (RFC 1813 §3.3.4), which
/// ACCESS4_* (RFC 8881 §18.1.3) repeats with the same values.  Defined here
/// once; protocol/nfs3/nfs3.h and the NFSv4 operations use these.
constexpr std::uint32_t kAccessRead = 0x01, kAccessLookup = 0x02, kAccessModify = 0x04,
                        kAccessExtend = 0x08, kAccessDelete = 0x10, kAccessExecute = 0x20;

/// The effective identity of a request after export squashing (AUTH_SYS,
/// RFC 5531 appendix A).  Backends run the filesystem call with these as the
/// thread's fsuid/fsgid/supplementary groups so the kernel checks permissions.
struct Credentials {
  static constexpr std::size_t kMaxGroups = 16;
  std::uint32_t uid = 65534;
  std::uint32_t gid = 65534;
  std::uint8_t ngroups = 0;
  std::array<std::uint32_t, kMaxGroups> groups{};
};

/// stable_how (RFC 1813 §3.3.7).
enum class StableHow : std::uint32_t { kUnstable = 0, kDataSync = 1, kFileSync = 2 };

/// createmode3 (RFC 1813 §3.3.8).
enum class CreateMode : std::uint32_t { kUnchecked = 0, kGuarded = 1, kExclusive = 2 };

/// createverf3 / writeverf3 / cookieverf3: 8 opaque bytes.
using Verifier = std::array<std::uint8_t, 8>;

/// One READDIR/READDIRPLUS entry (entry3 / entryplus3).
struct DirEntry {
  std::uint64_t fileid = 0;
  std::string name;
  std::uint64_t cookie = 0;           // resume point after this entry
  std::optional<Attr> attr;           // READDIRPLUS only
  std::optional<FileHandle> handle;   // READDIRPLUS only
};

/// FSSTAT result (RFC 1813 §3.3.18), bytes and file counts.
struct FsStat {
  std::uint64_t total_bytes = 0, free_bytes = 0, avail_bytes = 0;
  std::uint64_t total_files = 0, free_files = 0, avail_files = 0;
};

}  // namespace nasd::storage
