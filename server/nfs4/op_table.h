// Nfs4OpTable: the one table of NFSv4 operations (RFC 7530 §16, RFC 8881
// §18, RFC 7862 §15, RFC 8276 §8), indexed by nfs_opnum4.  Each row says
// what nasd knows of an operation: its name, flags, the minor versions that
// serve it, a reply-size estimate, the decoder the parse stage runs once,
// and the function the persist stage (or an inline COMPOUND) runs.  The
// COMPOUND executor (nfs4/program.cc) has no switch over operation numbers:
// adding an operation is one row, one run function and its tests.
//
// Where each check happens (stage):
//   parse     the op number against the minor version (OP_ILLEGAL), the
//             row (NOTSUPP when not implemented in that minor version), the
//             arguments (BADXDR); the reply size; whether it may run inline
//   validate  kNfs4ValidateFh: the export/access check of PUTFH, PUTROOTFH
//             and PUTPUBFH (server/exports/access.h); minor version and op
//             count limits of the whole COMPOUND
//   execute   4.1 position rules (SEQUENCE first, kNfs4Sessionless,
//             kNfs4SoleOp), kNfs4Modifies (ROFS), the 4.0 owner seqid
//             (kNfs4OwnerSeqid), then the run function
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "protocol/nfs4/nfs4.h"
#include "protocol/rpc/xdr.h"
#include "server/nfs4/op_args.h"

namespace nasd::server {

struct Nfs4Compound;

/// Row flags (Nfs4OpDesc::flags).
enum Nfs4OpFlag : std::uint32_t {
  /// Changes the file system: NFS4ERR_ROFS when the current filehandle is
  /// in the pseudo-filesystem or a read-only export.
  kNfs4Modifies = 1u << 0,
  /// May run in an inline COMPOUND (on the network thread, try_* backend
  /// calls); a READ / READDIR only when its reply is <= kInlineReadMax.
  kNfs4Inline = 1u << 1,
  /// Inline, but changes state so the attempt cannot be given up after it
  /// (OPEN, CLOSE): at most one, followed only by kNfs4AfterInlineState ops.
  kNfs4InlineState = 1u << 2,
  /// May follow an inline OPEN / CLOSE (GETFH, GETATTR, ACCESS).
  kNfs4AfterInlineState = 1u << 3,
  /// 4.1+: the session operation, first in every COMPOUND (SEQUENCE).
  kNfs4Sequence = 1u << 4,
  /// 4.1+: may start a COMPOUND without SEQUENCE (RFC 8881 §2.10.6.1.1).
  kNfs4Sessionless = 1u << 5,
  /// ... and must then be the only operation (NFS4ERR_NOT_ONLY_OP).
  kNfs4SoleOp = 1u << 6,
  /// 4.0: sequenced by its open- or lock-owner's seqid (RFC 7530 §9.1.7).
  kNfs4OwnerSeqid = 1u << 7,
  /// Every result has a body (SETATTR4res.attrsset): error results keep
  /// what the run function wrote, and when the operation did not run
  /// (BADXDR, ROFS, ...) the body is an empty bitmap4.
  kNfs4ErrorBody = 1u << 8,
  /// Only describes the current filehandle (GETFH, GETATTR): a LOOKUP
  /// followed by nothing else needs no descriptor of what it found.
  kNfs4Describes = 1u << 9,
  /// The validate stage checks the handle the operation sets (PUTFH,
  /// PUTROOTFH, PUTPUBFH: Nfs4PutfhArgs).
  kNfs4ValidateFh = 1u << 10,
  /// Served only when the program has callback paths (Nfs4Callbacks):
  /// without them NOTSUPP, as an operation without a row (BACKCHANNEL_CTL).
  kNfs4NeedsCallbacks = 1u << 11,
};

/// Runs one decoded operation; encodes its result body after the status
/// (on success; on error only with kNfs4ErrorBody or body_on_error) and
/// returns the status.
using Nfs4RunFn = nfs4::Nfsstat4 (*)(Nfs4Compound& c, const Nfs4DecodedOp& op,
                                     xdr::XdrEncoder& out);

/// One row of the table.
struct Nfs4OpDesc {
  const char* name = nullptr;   // "OPEN"; nullptr: not an operation number
  std::uint32_t flags = 0;      // Nfs4OpFlag bits
  std::uint8_t minor_min = 0;   // minor versions that serve the operation
  std::uint8_t minor_max = 0;
  /// Reply bytes besides the variable part (reply_extra), for sizing the
  /// reply buffer before the COMPOUND runs.
  std::uint32_t reply_bytes = 0;
  /// Decodes the arguments into an Nfs4OpArgs; false when truncated or
  /// malformed.  nullptr: nasd does not implement the operation (NOTSUPP).
  bool (*decode)(xdr::XdrDecoder& in, Nfs4OpArgs& args) = nullptr;
  /// Variable reply bytes (READ data, READDIR entries, ...); nullptr: none.
  std::size_t (*reply_extra)(const Nfs4OpArgs& args, std::uint32_t max_read) = nullptr;
  /// Extra condition for kNfs4Inline (OPEN: no create, CLAIM_NULL / CLAIM_FH).
  bool (*inline_if)(const Nfs4OpArgs& args) = nullptr;
  /// Inline: checked before a kNfs4InlineState op runs; false gives the
  /// attempt up (OPEN: the file must be in memory, ops_open.cc).
  bool (*inline_prepare)(Nfs4Compound& c, const Nfs4DecodedOp& op) = nullptr;
  /// This error status also keeps the body (LOCK / LOCKT: LOCK4denied;
  /// SETCLIENTID: clientaddr4 with CLID_INUSE); kOk: none.
  nfs4::Nfsstat4 body_on_error = nfs4::Nfsstat4::kOk;
  Nfs4RunFn run = nullptr;
};

/// The operations of NFSv4.0-4.2, one row per nfs_opnum4 0..75.
class Nfs4OpTable {
 public:
  static constexpr std::uint32_t kRows = 76;
  /// Reply bytes reserved per operation besides its variable part.
  static constexpr std::uint32_t kPerOpReply = 1024;

  /// What the parse stage makes of op number `op` in minor version
  /// `minor`: the row, or nullptr with *status NFS4ERR_OP_ILLEGAL (not an
  /// operation of that minor version) or NFS4ERR_NOTSUPP (one nasd does not
  /// serve in it).
  const Nfs4OpDesc* find(std::uint32_t op, std::uint32_t minor, nfs4::Nfsstat4* status) const;
  /// Operation name for logs and metrics ("OPEN"), "ILLEGAL" when unknown.
  const char* name(std::uint32_t op) const;

  /// The rows, indexed by nfs_opnum4 (0..75); a row without `decode` is an
  /// operation nasd does not serve, one without `name` no operation at all.
  std::array<Nfs4OpDesc, kRows> rows{};
};

/// The table nasd serves with (built once, immutable).
const Nfs4OpTable& nfs4_op_table();

}  // namespace nasd::server
