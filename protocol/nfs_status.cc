// storage::Status -> nfsstat3 / mountstat3 / nfsstat4.  See nfs_status.h.
#include "protocol/nfs_status.h"

namespace nasd {

nfs3::Nfsstat3 to_nfsstat3(storage::Status s) {
  using storage::Status;
  using N = nfs3::Nfsstat3;
  switch (s) {
    case Status::kOk: return N::kOk;
    case Status::kPerm: return N::kPerm;
    case Status::kNoEnt: return N::kNoEnt;
    case Status::kIo: return N::kIo;
    case Status::kNxio: return N::kNxio;
    case Status::kAccess: return N::kAcces;
    case Status::kExist: return N::kExist;
    case Status::kXdev: return N::kXdev;
    case Status::kNoDev: return N::kNoDev;
    case Status::kNotDir: return N::kNotDir;
    case Status::kIsDir: return N::kIsDir;
    case Status::kInval: return N::kInval;
    case Status::kFBig: return N::kFBig;
    case Status::kNoSpc: return N::kNoSpc;
    case Status::kRoFs: return N::kRoFs;
    case Status::kMLink: return N::kMLink;
    case Status::kNameTooLong: return N::kNameTooLong;
    case Status::kNotEmpty: return N::kNotEmpty;
    case Status::kDQuot: return N::kDQuot;
    case Status::kStale: return N::kStale;
    case Status::kBadHandle: return N::kBadHandle;
    case Status::kNotSync: return N::kNotSync;
    case Status::kBadCookie: return N::kBadCookie;
    case Status::kNotSupp: return N::kNotSupp;
    case Status::kTooSmall: return N::kTooSmall;
    case Status::kBadType: return N::kBadType;
    case Status::kJukebox: return N::kJukebox;
    case Status::kWouldBlock: return N::kJukebox;  // never reaches a client (Backend::try_*)
    case Status::kServerFault: return N::kServerFault;
  }
  return N::kServerFault;
}

nfs4::Nfsstat4 to_nfsstat4(storage::Status s) {
  using storage::Status;
  using N = nfs4::Nfsstat4;
  switch (s) {
    case Status::kOk: return N::kOk;
    case Status::kPerm: return N::kPerm;
    case Status::kNoEnt: return N::kNoEnt;
    case Status::kIo: return N::kIo;
    case Status::kNxio: return N::kNxio;
    case Status::kAccess: return N::kAccess;
    case Status::kExist: return N::kExist;
    case Status::kXdev: return N::kXdev;
    case Status::kNoDev: return N::kNxio;
    case Status::kNotDir: return N::kNotDir;
    case Status::kIsDir: return N::kIsDir;
    case Status::kInval: return N::kInval;
    case Status::kFBig: return N::kFBig;
    case Status::kNoSpc: return N::kNoSpc;
    case Status::kRoFs: return N::kRoFs;
    case Status::kMLink: return N::kMLink;
    case Status::kNameTooLong: return N::kNameTooLong;
    case Status::kNotEmpty: return N::kNotEmpty;
    case Status::kDQuot: return N::kDQuot;
    case Status::kStale: return N::kStale;
    case Status::kBadHandle: return N::kBadHandle;
    case Status::kNotSync: return N::kNotSame;
    case Status::kBadCookie: return N::kBadCookie;
    case Status::kNotSupp: return N::kNotSupp;
    case Status::kTooSmall: return N::kTooSmall;
    case Status::kBadType: return N::kBadType;
    case Status::kJukebox: return N::kDelay;
    case Status::kWouldBlock: return N::kDelay;  // never reaches a client (Backend::try_*)
    case Status::kServerFault: return N::kServerFault;
  }
  return N::kServerFault;
}

mount3::Mountstat3 to_mountstat3(storage::Status s) {
  using storage::Status;
  using M = mount3::Mountstat3;
  switch (s) {
    case Status::kOk: return M::kOk;
    case Status::kPerm: return M::kPerm;
    case Status::kNoEnt: return M::kNoEnt;
    case Status::kStale: return M::kNoEnt;
    case Status::kIo: return M::kIo;
    case Status::kAccess: return M::kAcces;
    case Status::kNotDir: return M::kNotDir;
    case Status::kInval: return M::kInval;
    case Status::kNameTooLong: return M::kNameTooLong;
    case Status::kNotSupp: return M::kNotSupp;
    default: return M::kServerFault;
  }
}

}  // namespace nasd
