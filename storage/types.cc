// Status helpers and FileHandle::assign (see storage/types.h).
#include "storage/types.h"

#include <cerrno>
#include <cstring>

namespace nasd::storage {

Status status_from_errno(int err) {
  switch (err) {
    case 0: return Status::kOk;
    case EPERM: return Status::kPerm;
    case ENOENT: return Status::kNoEnt;
    case EIO:
    case EUCLEAN:
    case EBADMSG:
    case ENODATA:
    case EREMOTEIO: return Status::kIo;
    case ENXIO: return Status::kNxio;
    case EACCES: return Status::kAccess;
    case EEXIST: return Status::kExist;
    case EXDEV: return Status::kXdev;
    case ENODEV: return Status::kNoDev;
    case ENOTDIR: return Status::kNotDir;
    case EISDIR: return Status::kIsDir;
    case EINVAL: return Status::kInval;
    case EFBIG:
    case EOVERFLOW: return Status::kFBig;
    case ENOSPC: return Status::kNoSpc;
    case EROFS: return Status::kRoFs;
    case EMLINK: return Status::kMLink;
    case ENAMETOOLONG: return Status::kNameTooLong;
    case ENOTEMPTY: return Status::kNotEmpty;
    case EDQUOT: return Status::kDQuot;
    case ESTALE: return Status::kStale;
    case EOPNOTSUPP: return Status::kNotSupp;
    // Transient resource shortage: the client should retry later.
    case EAGAIN:
    case ENOMEM:
    case EMFILE:
    case ENFILE:
    case EBUSY:
    case EINTR: return Status::kJukebox;
    // A symlink where none may be followed: refuse like an access violation.
    case ELOOP: return Status::kAccess;
    case ETXTBSY: return Status::kAccess;
    default: return Status::kServerFault;
  }
}

const char* status_name(Status s) {
  switch (s) {
    case Status::kOk: return "OK";
    case Status::kPerm: return "PERM";
    case Status::kNoEnt: return "NOENT";
    case Status::kIo: return "IO";
    case Status::kNxio: return "NXIO";
    case Status::kAccess: return "ACCES";
    case Status::kExist: return "EXIST";
    case Status::kXdev: return "XDEV";
    case Status::kNoDev: return "NODEV";
    case Status::kNotDir: return "NOTDIR";
    case Status::kIsDir: return "ISDIR";
    case Status::kInval: return "INVAL";
    case Status::kFBig: return "FBIG";
    case Status::kNoSpc: return "NOSPC";
    case Status::kRoFs: return "ROFS";
    case Status::kMLink: return "MLINK";
    case Status::kNameTooLong: return "NAMETOOLONG";
    case Status::kNotEmpty: return "NOTEMPTY";
    case Status::kDQuot: return "DQUOT";
    case Status::kStale: return "STALE";
    case Status::kBadHandle: return "BADHANDLE";
    case Status::kNotSync: return "NOT_SYNC";
    case Status::kBadCookie: return "BAD_COOKIE";
    case Status::kNotSupp: return "NOTSUPP";
    case Status::kTooSmall: return "TOOSMALL";
    case Status::kBadType: return "BADTYPE";
    case Status::kJukebox: return "JUKEBOX";
    case Status::kServerFault: return "SERVERFAULT";
    case Status::kWouldBlock: return "WOULDBLOCK";
  }
  return "UNKNOWN";
}

bool FileHandle::assign(std::span<const std::uint8_t> b) {
  if (b.empty() || b.size() > kMaxSize) {
    size = 0;
    return false;
  }
  std::memcpy(data.data(), b.data(), b.size());
  std::fill(data.begin() + static_cast<std::ptrdiff_t>(b.size()), data.end(), 0);
  size = static_cast<std::uint8_t>(b.size());
  return true;
}

}  // namespace nasd::storage
