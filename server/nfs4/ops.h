// The run functions of the NFSv4 operations, one per operation, grouped in
// files by family; the table (op_table.cc) points at them.  Each has the
// Nfs4RunFn signature: it reads its arguments from the decoded operation,
// encodes its result body and returns its status.  Private to server/nfs4/.
#pragma once

#include "server/nfs4/compound.h"
#include "server/nfs4/op_table.h"

namespace nasd::server::nfs4ops {

/// Most segments in one READ_PLUS reply (RFC 7862 §15.10: the client reads
/// on from the end of the last one).
constexpr std::uint32_t kReadPlusSegments = 16;

#define NASD_NFS4_OP(fn) \
  nfs4::Nfsstat4 fn(Nfs4Compound& c, const Nfs4DecodedOp& d, xdr::XdrEncoder& out)

// ops_fh.cc: filehandles and attributes (RFC 8881 §18.1, .7, .8, .13-.14,
// .19-.21, .27-.29).
/// PUTFH, PUTROOTFH and PUTPUBFH (the public filehandle is the root).
NASD_NFS4_OP(op_putfh);
NASD_NFS4_OP(op_getfh);
NASD_NFS4_OP(op_savefh);
NASD_NFS4_OP(op_restorefh);
NASD_NFS4_OP(op_lookup);
NASD_NFS4_OP(op_lookupp);
NASD_NFS4_OP(op_getattr);
NASD_NFS4_OP(op_access);
NASD_NFS4_OP(op_secinfo);
NASD_NFS4_OP(op_secinfo_no_name);

// ops_namespace.cc: names and directories (§18.4, .9, .24-.26, .30).
NASD_NFS4_OP(op_setattr);
NASD_NFS4_OP(op_create);
NASD_NFS4_OP(op_remove);
NASD_NFS4_OP(op_rename);
NASD_NFS4_OP(op_link);
NASD_NFS4_OP(op_readlink);
NASD_NFS4_OP(op_readdir);

// ops_io.cc: READ, WRITE, COMMIT (§18.22, .32, .3).
NASD_NFS4_OP(op_read);
NASD_NFS4_OP(op_write);
NASD_NFS4_OP(op_commit);

// ops_open.cc: opens (§18.16, .18, .2).
NASD_NFS4_OP(op_open);
NASD_NFS4_OP(op_open_downgrade);
NASD_NFS4_OP(op_close);

// ops_lock.cc: byte-range locks (§18.10-.12; RFC 7530 §16.37).
NASD_NFS4_OP(op_lock);
NASD_NFS4_OP(op_lockt);
NASD_NFS4_OP(op_locku);
NASD_NFS4_OP(op_release_lockowner);

// ops_session.cc: 4.1 clients, sessions and stateids (§18.33-.50).
NASD_NFS4_OP(op_sequence);
NASD_NFS4_OP(op_exchange_id);
NASD_NFS4_OP(op_create_session);
NASD_NFS4_OP(op_destroy_session);
NASD_NFS4_OP(op_destroy_clientid);
NASD_NFS4_OP(op_bind_conn_to_session);
NASD_NFS4_OP(op_backchannel_ctl);
NASD_NFS4_OP(op_reclaim_complete);
NASD_NFS4_OP(op_test_stateid);
NASD_NFS4_OP(op_free_stateid);

// ops_v40.cc: 4.0 client records and OPEN_CONFIRM (RFC 7530 §16.33, .34,
// .30, .18).
NASD_NFS4_OP(op_setclientid);
NASD_NFS4_OP(op_setclientid_confirm);
NASD_NFS4_OP(op_renew);
NASD_NFS4_OP(op_open_confirm);

// ops_42.cc: NFSv4.2 (RFC 7862 §15).
NASD_NFS4_OP(op_seek);
NASD_NFS4_OP(op_allocate);
NASD_NFS4_OP(op_deallocate);
NASD_NFS4_OP(op_copy);
NASD_NFS4_OP(op_clone);
NASD_NFS4_OP(op_read_plus);

// ops_xattr.cc: extended attributes (RFC 8276 §8.4).
NASD_NFS4_OP(op_getxattr);
NASD_NFS4_OP(op_setxattr);
NASD_NFS4_OP(op_listxattrs);
NASD_NFS4_OP(op_removexattr);

#undef NASD_NFS4_OP

}  // namespace nasd::server::nfs4ops
