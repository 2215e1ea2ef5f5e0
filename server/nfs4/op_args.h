// Nfs4OpArgs and Nfs4DecodedOp: one NFSv4 operation as the parse stage
// decoded it, kept in the packet until the COMPOUND is answered.
//
// Nfs4OpArgs is a variant over the argument structures of every operation
// nasd implements (protocol/nfs4/nfs4.h, protocol/nfs4/nfs4_v40.h), each listed once;
// operations that share a layout share an alternative (LOOKUP, REMOVE, LINK
// and SECINFO take NameArgs; RENEW and DESTROY_CLIENTID ClientidArgs; READ
// and READ_PLUS ReadArgs; GETXATTR and REMOVEXATTR GetxattrArgs).  Names,
// owners and WRITE data are views into the request buffer, which lives as
// long as the packet.  Every alternative of the operations an inline
// COMPOUND may hold is trivially destructible: decoding them allocates
// nothing.
#pragma once

#include <cstdint>
#include <variant>

#include "protocol/nfs4/nfs4.h"
#include "protocol/nfs4/nfs4_v40.h"
#include "server/nfs4/fh.h"

namespace nasd::server {

/// PUTFH4args (or, `root`, PUTROOTFH / PUTPUBFH, which have none) plus
/// what the validate stage found for the handle (the export/access check,
/// Nfs4Fh): `checked` false until it ran.
struct Nfs4PutfhArgs {
  nfs4::PutfhArgs wire;
  bool root = false;
  bool checked = false;
  nfs4::Nfsstat4 status = nfs4::Nfsstat4::kOk;  // of the check
  Nfs4Fh fh;                                     // the checked filehandle when kOk
};

using Nfs4OpArgs = std::variant<
    std::monostate, Nfs4PutfhArgs, nfs4::NameArgs, nfs4::GetattrArgs, nfs4::AccessArgs,
    nfs4::SetattrArgs, nfs4::ReadArgs, nfs4::WriteArgs, nfs4::CommitArgs, nfs4::CreateArgs,
    nfs4::RenameArgs, nfs4::ReaddirArgs, nfs4::OpenArgs, nfs4::CloseArgs,
    nfs4::OpenDowngradeArgs, nfs4::StateidArgs, nfs4::TestStateidArgs,
    nfs4::SecinfoNoNameArgs, nfs4::ExchangeIdArgs, nfs4::CreateSessionArgs,
    nfs4::SequenceArgs, nfs4::SessionArgs, nfs4::ClientidArgs, nfs4::ReclaimCompleteArgs,
    nfs4::BindConnArgs, nfs4::BackchannelCtlArgs, nfs4::LockArgs, nfs4::LocktArgs,
    nfs4::LockuArgs, nfs4::ReleaseLockownerArgs, nfs4::SetclientidArgs,
    nfs4::SetclientidConfirmArgs, nfs4::OpenConfirmArgs, nfs4::SeekArgs, nfs4::AllocateArgs,
    nfs4::CopyArgs, nfs4::CloneArgs, nfs4::GetxattrArgs, nfs4::SetxattrArgs,
    nfs4::ListxattrsArgs>;

struct Nfs4OpDesc;

/// One operation of a COMPOUND after the parse stage.  `status` kOk: `args`
/// holds the decoded arguments and `desc` the operation's table row.
/// Otherwise the operation is the last one decoded and answers `status`
/// without running: NFS4ERR_BADXDR (arguments, or the op number itself,
/// truncated or malformed), NFS4ERR_OP_ILLEGAL (a number outside the minor
/// version; `opnum` is then OP_ILLEGAL) or NFS4ERR_NOTSUPP (an operation of
/// the minor version nasd does not implement).
struct Nfs4DecodedOp {
  std::uint32_t opnum = 0;
  nfs4::Nfsstat4 status = nfs4::Nfsstat4::kOk;
  const Nfs4OpDesc* desc = nullptr;
  Nfs4OpArgs args;
};

}  // namespace nasd::server
