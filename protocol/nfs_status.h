// The one mapping of storage::Status to the wire statuses: NFSv3, MOUNT v3
// and NFSv4 (RFC 1813 §2.6 nfsstat3, appendix I §5.1 mountstat3, RFC 8881
// §15.1 nfsstat4).
#pragma once

#include "protocol/nfs3/mount3.h"
#include "protocol/nfs3/nfs3.h"
#include "protocol/nfs4/nfs4.h"
#include "storage/types.h"

namespace nasd {

/// storage::Status -> nfsstat3 (RFC 1813 §2.6); each Status maps to exactly
/// one nfsstat3, anything unexpected to NFS3ERR_SERVERFAULT.
nfs3::Nfsstat3 to_nfsstat3(storage::Status s);

/// storage::Status -> nfsstat4 (RFC 8881 §15.1); kJukebox -> NFS4ERR_DELAY,
/// kNotSync -> NFS4ERR_NOT_SAME, kNoDev -> NFS4ERR_NXIO.
nfs4::Nfsstat4 to_nfsstat4(storage::Status s);

/// storage::Status -> mountstat3 (appendix I §5.1); statuses without a MOUNT
/// equivalent become MNT3ERR_SERVERFAULT (kStale: MNT3ERR_NOENT).
mount3::Mountstat3 to_mountstat3(storage::Status s);

}  // namespace nasd
