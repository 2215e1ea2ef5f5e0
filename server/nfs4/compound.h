// Nfs4Services, Nfs4CompoundArgs and Nfs4Compound: what the NFSv4 operation
// functions (server/nfs4/ops_*.cc) work with.  Private to server/nfs4/.
//
//   Nfs4Services      the program's collaborators (backend, export registry,
//                     state, limits, id mapping, callbacks), one per
//                     Nfs4Program, read-only while serving
//   Nfs4CompoundArgs  what the parse stage made of one COMPOUND (in the
//                     packet's ArgSlot) and the export snapshot the validate
//                     stage took for it
//   Nfs4Compound      execution state of one COMPOUND (current and saved
//                     filehandle, current stateid, session slot, inline
//                     bookkeeping), on the stack of the thread running it
//
// The helpers below are the steps several operations share: the
// filehandle access check, the backend calls an inline COMPOUND may make
// (the try_* form when Nfs4Compound::nowait), attribute encoding and READ's
// data.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "protocol/nfs4/nfs4.h"
#include "protocol/nfs_status.h"
#include "server/exports/export_registry.h"
#include "server/nfs4/fh.h"
#include "server/nfs4/idmap.h"
#include "server/nfs4/op_args.h"
#include "server/nfs4/pseudo.h"
#include "server/nfs4/state/state.h"
#include "server/pipeline/program.h"
#include "storage/backend.h"

namespace nasd::server {

class Nfs4Callbacks;

/// Limits the NFSv4 server advertises and enforces.
struct Nfs4Limits {
  std::uint32_t max_read = 1 << 20;   // bytes; maxread attribute, READ counts clamp to it
  std::uint32_t max_write = 1 << 20;  // bytes; longer WRITEs are shortened
  std::uint32_t max_ops = 64;         // operations per COMPOUND (decoded at most)
};

/// The collaborators of every NFSv4 operation.
struct Nfs4Services {
  storage::Backend& backend;
  const ExportRegistry& exports;
  Nfs4State& state;
  Nfs4Limits limits;
  storage::Verifier writeverf;  // WRITE / COMMIT / COPY verifier (new at every start)
  storage::Time started;        // times of the pseudo-filesystem's directories
  Nfs4IdMap idmap;
  Nfs4Callbacks* callbacks = nullptr;  // nullptr: no back channel granted
};

/// A COMPOUND as the parse stage decoded it (RFC 8881 §16.2.1), in the
/// packet's ArgSlot; `ops` lives in the slot's array area.
struct Nfs4CompoundArgs {
  nfs4::CompoundHeader header;
  /// The decoded operations: all `header.numops` of them, or fewer when
  /// one could not be decoded (then it is the last, with its status) or
  /// numops exceeds Nfs4Limits::max_ops.
  std::span<Nfs4DecodedOp> ops;
  std::size_t reply_estimate = 0;   // bytes
  std::size_t request_bytes = 0;    // COMPOUND arguments, bytes (REQ_TOO_BIG)
  bool inline_ok = false;           // Program::may_run_inline
  /// Index of the first operation after which only GETFH and GETATTR
  /// follow (what a LOOKUP there finds is only described: ops_fh.cc).
  std::uint32_t attrs_tail = 0;
  /// The export table and its pseudo-filesystem, taken once by the
  /// validate stage (or by execute when validate did not run).
  std::shared_ptr<const ExportTable> table;
  std::shared_ptr<const PseudoFs> pseudo;
};

/// What OPEN found of an existing file (CLAIM_NULL by name, CLAIM_FH /
/// CLAIM_PREVIOUS the current filehandle): the file, the directory's change
/// info, and kOk when it is a regular file the caller may open with the
/// share access asked for (else the OPEN's error).
struct Nfs4OpenFound {
  nfs4::Nfsstat4 status = nfs4::Nfsstat4::kOk;
  storage::FileHandle file;
  storage::WccData dir_wcc;
};

/// Execution state of one COMPOUND.
struct Nfs4Compound {
  Nfs4Compound(Nfs4Services& s, CallContext& c) : svc(s), ctx(c) {}
  Nfs4Services& svc;
  CallContext& ctx;
  // The validate stage's snapshot, owned by Nfs4CompoundArgs (which outlives
  // the COMPOUND's execution): no reference count taken per COMPOUND.
  const ExportTable* table = nullptr;
  const PseudoFs* pseudo = nullptr;
  std::uint32_t minor = 1;
  Nfs4Fh current, saved;
  nfs4::Stateid4 current_stateid;
  bool has_current_stateid = false;
  bool in_session = false;
  nfs4::SessionId sessionid{};
  std::uint32_t slotid = 0;
  std::uint64_t clientid = 0;
  std::uint32_t max_ops = 0;
  bool replay = false;
  std::vector<std::uint8_t> replay_bytes;
  storage::Status storage_status = storage::Status::kOk;  // first failing backend call (metrics)
  // COMPOUND limits (RFC 8881 §18.46.3): the request's op count and size,
  // and the session's negotiated ca_maxrequestsize / ca_maxresponsesize.
  std::uint32_t numops = 0;
  std::size_t request_bytes = 0;
  std::uint32_t max_request = 0, max_response = 0;
  // Inline execution (Nfs4Program::try_execute_inline): backend calls use
  // the try_* forms; a kWouldBlock sets would_block and the attempt ends.
  // The SEQUENCE is only peeked at (its result encoded at sequence_pos) and
  // performed once the other operations are done (or before an inline
  // OPEN / CLOSE, which cannot be given up once it ran).
  bool nowait = false;
  bool would_block = false;
  std::optional<nfs4::SequenceArgs> pending_sequence;
  std::size_t sequence_pos = 0;
  // Inline OPEN: what open_is_in_memory() found, for OPEN to use.
  std::optional<Nfs4OpenFound> open_found;
  // The operation running (0-based) and Nfs4CompoundArgs::attrs_tail.
  std::uint32_t op_index = 0;
  std::uint32_t attrs_tail = 0;
  // The attributes a LOOKUP found for the current filehandle, kept for the
  // GETATTRs that follow it directly (only GETFH and GETATTR in between):
  // reset before any other operation runs.
  std::optional<storage::Attr> looked_up_attr;

  /// Records the first failing backend status (metrics) and maps it.
  nfs4::Nfsstat4 storage(storage::Status s) {
    if (s != storage::Status::kOk && storage_status == storage::Status::kOk) storage_status = s;
    return to_nfsstat4(s);
  }
  /// NFS4ERR_NOFILEHANDLE unless a current filehandle is set.
  nfs4::Nfsstat4 need_fh() const {
    return current.set ? nfs4::Nfsstat4::kOk : nfs4::Nfsstat4::kNoFileHandle;
  }
  /// The stateid an operation names, with the current stateid substituted
  /// for the special value in 4.1+ (RFC 8881 §16.2.3.1.2).  `strict`: a
  /// current-stateid value with none set is BAD_STATEID (else it is used
  /// as sent).
  nfs4::Nfsstat4 stateid(const nfs4::Stateid4& sent, bool strict, nfs4::Stateid4* out) const;
};

namespace nfs4ops {

// ACCESS4 bits (RFC 8881 §18.1.3): the Backend's (storage/types.h), and the
// masks of each minor version (RFC 8276 §8.4.5 adds the xattr bits in 4.2).
using storage::kAccessDelete, storage::kAccessExecute, storage::kAccessExtend,
    storage::kAccessLookup, storage::kAccessModify, storage::kAccessRead;
constexpr std::uint32_t kAccessAll = 0x3f;     // ACCESS4_READ .. ACCESS4_EXECUTE
constexpr std::uint32_t kAccessAll42 = 0x1ff;  // .. ACCESS4_XALIST

/// component4 checks (RFC 8881 §18.*.3 "objname"): empty -> INVAL, "." and
/// ".." -> BADNAME, '/' or NUL -> BADCHAR, > 255 bytes -> NAMETOOLONG.
nfs4::Nfsstat4 check_name(std::string_view name);

/// The access check of a filehandle (server/exports/access.h) into `out`:
/// a pseudo-filesystem handle is found in `pseudo`; otherwise BADHANDLE,
/// STALE, ACCESS (client not listed, insecure port) or WRONGSEC (flavor).
/// Changes nothing else; safe in the validate stage.
nfs4::Nfsstat4 resolve_fh(Nfs4Services& svc, const ExportTable& table, const PseudoFs& pseudo,
                          const CallContext& ctx, const storage::FileHandle& fh, Nfs4Fh* out);
/// resolve_fh() for the COMPOUND, and the export becomes the call's
/// (per-export metrics: the last export named).
nfs4::Nfsstat4 set_fh(Nfs4Compound& c, const storage::FileHandle& fh, Nfs4Fh* out);
/// The handle PUTROOTFH / PUTPUBFH set: the pseudo root, or the root of
/// the export at "/" (the backend's root handle; its error as a Status).
storage::Status root_fh(Nfs4Services& svc, const PseudoFs& pseudo, storage::FileHandle* out);
/// PUTROOTFH / PUTPUBFH run without the validate stage's check.
nfs4::Nfsstat4 put_root(Nfs4Compound& c);
/// LOOKUP of `name` from the current filehandle (crossing into an export
/// from the pseudo-filesystem).
nfs4::Nfsstat4 lookup(Nfs4Compound& c, std::string_view name);

/// Encodes the fattr4 of `fh` for the attributes in `req` (RFC 8881 §5.6).
/// `known`: the object's attributes when the caller already has them;
/// else they are read through the handle.  Errors: the backend status.
nfs4::Nfsstat4 encode_attrs(Nfs4Compound& c, const Nfs4Fh& fh, const nfs4::Bitmap4& req,
                            xdr::XdrEncoder& out, const storage::Attr* known = nullptr);
/// Reads up to `count` bytes at `offset` of the current file into `out` as
/// XDR opaque data<>: READ's data and READ_PLUS's data segments.  *got:
/// bytes read; *eof: the read reached the end of the file.
nfs4::Nfsstat4 read_data(Nfs4Compound& c, std::uint64_t offset, std::uint32_t count,
                         xdr::XdrEncoder& out, std::uint32_t* got, bool* eof);

// The backend calls of the operations an inline COMPOUND may hold: the
// try_* form when c.nowait, which sets c.would_block on kWouldBlock.
storage::Status be_getattr(Nfs4Compound& c, const storage::FileHandle& fh, storage::Attr* out);
/// `attrs_only`: nothing but GETFH / GETATTR follows (try_lookup_for_attrs).
storage::Status be_lookup(Nfs4Compound& c, std::string_view name, storage::FileHandle* out,
                          storage::Attr* attr, std::optional<storage::Attr>* dir_attr,
                          bool attrs_only = false);
storage::Status be_access(Nfs4Compound& c, const storage::FileHandle& fh,
                          std::uint32_t requested, std::uint32_t* granted,
                          std::optional<storage::Attr>* attr);
storage::Status be_read(Nfs4Compound& c, std::uint64_t offset, std::span<std::uint8_t> dst,
                        std::uint32_t* got, bool* eof, std::optional<storage::Attr>* attr);
storage::Status be_readdir(Nfs4Compound& c, std::uint64_t cookie,
                           const storage::Verifier& cookieverf,
                           const std::function<bool(const storage::DirEntry&)>& fits,
                           std::vector<storage::DirEntry>* entries, storage::Verifier* verf,
                           bool* eof, std::optional<storage::Attr>* dir_attr);

/// Inline OPEN (ops_open.cc): true when what OPEN `d` asks of the backend
/// (the file by name or handle, its access check) is in memory and
/// Nfs4State writes no client record for it; the result is kept in
/// c.open_found.  False: the COMPOUND goes to the persist stage.
bool open_is_in_memory(Nfs4Compound& c, const Nfs4DecodedOp& d);

/// 4.0 seqid-bearing operations (ops_v40.cc): runs `d` through its
/// state-owner's seqid check and one-reply replay cache (RFC 7530 §9.1.7,
/// §9.1.8); a retransmission answers the cached reply.
nfs4::Nfsstat4 run_with_owner_seqid(Nfs4Compound& c, const Nfs4DecodedOp& d,
                                    xdr::XdrEncoder& out);

}  // namespace nfs4ops
}  // namespace nasd::server
