// Nfs4Program: the NFS version 4 RPC program (100003 v4; minor versions 0,
// 1 and 2, RFC 7530 / RFC 8881 / RFC 7862) on top of a storage::Backend, as hooks for the
// pipeline stages (server/program.h).  It shares the pipeline, pools, backend
// and export table with Nfs3Program; the pipeline dispatches by (program,
// version).
//
// Stages:
//   decode    COMPOUND header (tag, minorversion, op count); the operations
//             stay in the request buffer (which lives until the reply is
//             finished) and are walked once to size the reply buffer.  An
//             ArgSlot (1 KiB) could not hold a COMPOUND's decoded operations,
//             so execute() decodes each operation again just before it runs.
//   validate  minor version (> 2: NFS4ERR_MINOR_VERS_MISMATCH) and, for
//             minor version 0, the op count limit (NFS4ERR_RESOURCE); 4.1+
//             compounds get NFS4ERR_TOO_MANY_OPS from SEQUENCE.
//   execute   runs the operations in order with the current and saved
//             filehandle, stops at the first error (RFC 8881 §16.2.3).
//             4.1 compounds must start with SEQUENCE (or be a session-less
//             EXCHANGE_ID / CREATE_SESSION / DESTROY_SESSION /
//             BIND_CONN_TO_SESSION / DESTROY_CLIENTID); SEQUENCE's slot reply
//             cache replays a retried request byte for byte.  4.0
//             compounds have no SEQUENCE: SETCLIENTID / SETCLIENTID_CONFIRM
//             / RENEW manage the client, and OPEN / OPEN_CONFIRM /
//             OPEN_DOWNGRADE / CLOSE are sequenced per open-owner (LOCK / LOCKU per lock-owner) with a
//             one-reply replay cache (RFC 7530 §9.1.7, §9.1.8).  The
//             SETCLIENTID callback address gets one CB_NULL probe after
//             SETCLIENTID_CONFIRM (no delegations are handed out).
//
// Implemented operations: ACCESS, CLOSE, COMMIT, CREATE, GETATTR, GETFH, LINK,
// LOCK, LOCKT, LOCKU, RELEASE_LOCKOWNER (4.0 only; byte-range locks on the
// LockManager NLM shares), LOOKUP, LOOKUPP, OPEN (CLAIM_NULL, CLAIM_FH,
// CLAIM_PREVIOUS in grace; UNCHECKED4, GUARDED4,
// EXCLUSIVE4, EXCLUSIVE4_1), OPEN_DOWNGRADE, PUTFH, PUTPUBFH, PUTROOTFH, READ,
// READDIR, READLINK, REMOVE, RENAME, RESTOREFH, SAVEFH, SECINFO, SETATTR,
// WRITE, BIND_CONN_TO_SESSION, EXCHANGE_ID, CREATE_SESSION, DESTROY_SESSION,
// FREE_STATEID, SECINFO_NO_NAME, SEQUENCE, TEST_STATEID, DESTROY_CLIENTID,
// RECLAIM_COMPLETE; in 4.0 SETCLIENTID, SETCLIENTID_CONFIRM, RENEW,
// OPEN_CONFIRM (NFS4ERR_NOTSUPP in 4.1 and 4.2); and for minor version 2
// (nfs4_program_42.cc) SEEK, ALLOCATE, DEALLOCATE, COPY (intra-server,
// synchronous), CLONE, READ_PLUS, GETXATTR, SETXATTR, LISTXATTRS,
// REMOVEXATTR.  SEQUENCE enforces the session's ca_maxoperations
// (TOO_MANY_OPS) and ca_maxrequestsize (REQ_TOO_BIG); a result beyond
// ca_maxresponsesize is REP_TOO_BIG.  Each operation is counted in
// Nfs4OpMetrics when set.  Every other operation of the minor version answers
// NFS4ERR_NOTSUPP; numbers outside it NFS4ERR_OP_ILLEGAL.  READ and WRITE
// accept the anonymous and bypass stateids (the I/O itself is stateless).
// Grace (Nfs4State::check_grace): during the server's grace period only
// reclaims (OPEN CLAIM_PREVIOUS, LOCK reclaim) pass; other OPEN / LOCK /
// LOCKT and SETATTR of size get NFS4ERR_GRACE.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "protocol/nfs4.h"
#include "server/export_registry.h"
#include "server/nfs4_idmap.h"
#include "server/nfs4_pseudo.h"
#include "server/nfs4_state.h"
#include "server/program.h"
#include "storage/backend.h"

namespace nasd::server {

/// Limits the NFSv4 server advertises and enforces.
struct Nfs4Limits {
  std::uint32_t max_read = 1 << 20;   // bytes; maxread attribute, READ counts clamp to it
  std::uint32_t max_write = 1 << 20;  // bytes; longer WRITEs are shortened
  std::uint32_t max_ops = 64;         // operations per COMPOUND
};

class Nfs4OpMetrics;
class Nfs4Callbacks;

class Nfs4Program final : public Program {
 public:
  /// `writeverf` is returned by WRITE and COMMIT (new at every start).
  Nfs4Program(storage::Backend& backend, const ExportRegistry& exports, Nfs4State& state,
              Nfs4Limits limits, storage::Verifier writeverf);

  std::uint32_t number() const override { return nfs4::kProgram; }
  std::uint32_t low_version() const override { return nfs4::kVersion; }
  std::uint32_t high_version() const override { return nfs4::kVersion; }
  const char* name() const override { return "nfs4"; }
  const char* procedure_name(std::uint32_t proc) const override;
  std::uint32_t procedure_count() const override { return nfs4::kProcCount; }

  /// Per-operation series (nasd_nfs4_operations_total, ...); nullptr = none.
  /// Set before serving; `m` must outlive the program's use.
  void set_op_metrics(Nfs4OpMetrics* m) { op_metrics_ = m; }
  /// The id mapping domain of "name@domain" owner strings (--nfs4-domain;
  /// Nfs4IdMap::host_domain() until set).  Set before serving.
  void set_id_domain(std::string domain) { idmap_ = Nfs4IdMap(std::move(domain)); }
  /// Callback paths (back channel, 4.0 callback probe); nullptr = none (no
  /// back channel granted).  Set before serving; must outlive the program.
  void set_callbacks(Nfs4Callbacks* cb) { callbacks_ = cb; }

  DecodeResult decode(const CallContext& ctx, xdr::XdrDecoder& in, ArgSlot& args) override;
  std::size_t max_reply_size(const CallContext& ctx, ArgSlot& args) override;
  bool validate(CallContext& ctx, ArgSlot& args, xdr::XdrEncoder& out) override;
  storage::Status execute(CallContext& ctx, ArgSlot& args, xdr::XdrEncoder& out) override;
  /// Inline COMPOUNDs (docs/architecture.md "Inline calls"): NULL, and a
  /// COMPOUND of at most kInlineMaxOps operations that each only read: PUTFH, PUTROOTFH, PUTPUBFH,
  /// GETFH, SAVEFH, RESTOREFH, LOOKUP, GETATTR, ACCESS, READ and READDIR of
  /// at most kInlineReadMax bytes, and (4.1+) the SEQUENCE that opens it;
  /// also one OPEN of an existing file (CLAIM_NULL or CLAIM_FH, no create)
  /// or CLOSE, followed by nothing but GETFH, GETATTR and ACCESS.
  bool may_run_inline(const CallContext& ctx, const ArgSlot& args) const override;
  /// Runs such a COMPOUND with the Backend's try_* calls.  The SEQUENCE is
  /// checked first without touching the slot (Nfs4State::peek_sequence) and
  /// performed for real only once every other operation has run without
  /// waiting; anything that would wait (the backend, a retried or busy
  /// slot, a callback probe to start) gives nullopt with no state changed.
  std::optional<storage::Status> try_execute_inline(CallContext& ctx, ArgSlot& args,
                                                    xdr::XdrEncoder& out) override;

  /// Largest READ or READDIR an inline COMPOUND may carry, bytes (as NFSv3's).
  static constexpr std::uint32_t kInlineReadMax = 64u << 10;
  /// Most operations an inline COMPOUND may hold (longer ones take the
  /// persist stage); the Linux client's read-only COMPOUNDs hold 2 to 5.
  static constexpr std::uint32_t kInlineMaxOps = 16;
  /// Reply bytes reserved per operation besides READ data / READDIR entries.
  static constexpr std::size_t kPerOpReply = 1024;

  /// What the parse stage keeps of a COMPOUND (views into the request).
  struct CompoundArgs {
    nfs4::CompoundHeader header;
    std::span<const std::uint8_t> ops;   // the encoded operations
    std::size_t reply_estimate = 0;      // bytes
    std::size_t request_bytes = 0;       // COMPOUND arguments, bytes (REQ_TOO_BIG)
    bool inline_ok = false;              // every operation may run inline (may_run_inline)
    // Index of the first operation after which only GETFH and GETATTR follow
    // (what a LOOKUP there finds is only described, never used: op_lookup).
    std::uint32_t attrs_tail = 0;
  };

 private:
  struct Compound;  // per-call execution state (nfs4_program.cc)
  struct Fh;

  std::shared_ptr<const PseudoFs> pseudo(const ExportTable& table);
  /// execute() (`nowait` false: never nullopt) and try_execute_inline()
  /// (`nowait` true).
  std::optional<storage::Status> run_compound(CallContext& ctx, ArgSlot& args,
                                              xdr::XdrEncoder& out, bool nowait);
  /// What OPEN found of an existing file (CLAIM_NULL by name, CLAIM_FH /
  /// CLAIM_PREVIOUS the current filehandle): the file, the directory's
  /// change info, and kOk when it is a regular file the caller may open
  /// with the share access asked for (else the OPEN's error).
  struct OpenFound {
    nfs4::Nfsstat4 status = nfs4::Nfsstat4::kOk;
    storage::FileHandle file;
    storage::WccData dir_wcc;
  };
  /// Looks the file of OPEN `a` up and checks its type and access (RFC 8881
  /// §18.16.3), with the try_* calls when c.nowait; fills `out` but its
  /// status, which it returns.
  nfs4::Nfsstat4 find_open_file(Compound& c, const nfs4::OpenArgs& a, OpenFound* out);
  /// Inline OPEN: true when what `a` will ask of the backend (the file by
  /// name or handle, its access check) is in memory (the try_* calls) and
  /// Nfs4State will not write a client record for it.
  bool open_is_in_memory(Compound& c, const nfs4::OpenArgs& a);
  /// Inline 4.1+: performs the SEQUENCE that was only peeked at (patching
  /// its result at c.sequence_pos) and clears c.pending_sequence; false when
  /// the attempt must be given up (slot taken meanwhile, a retry, or a
  /// back-channel probe to start), with nothing changed.
  bool perform_pending_sequence(Compound& c, xdr::XdrEncoder& out);
  /// The backend calls of the operations an inline COMPOUND may hold: the
  /// try_* form when `c.nowait`, which sets `c.would_block` on kWouldBlock.
  storage::Status be_getattr(Compound& c, const storage::FileHandle& fh, storage::Attr* out);
  /// `attrs_only`: nothing but GETFH / GETATTR follows (try_lookup_for_attrs).
  storage::Status be_lookup(Compound& c, std::string_view name, storage::FileHandle* out,
                            storage::Attr* attr, std::optional<storage::Attr>* dir_attr,
                            bool attrs_only = false);
  storage::Status be_access(Compound& c, std::uint32_t requested, std::uint32_t* granted,
                            std::optional<storage::Attr>* attr);
  storage::Status be_read(Compound& c, std::uint64_t offset, std::span<std::uint8_t> dst,
                          std::uint32_t* got, bool* eof, std::optional<storage::Attr>* attr);
  /// READDIR's listing with attributes (plus) of the current filehandle.
  storage::Status be_readdir(Compound& c, std::uint64_t cookie,
                             const storage::Verifier& cookieverf,
                             const std::function<bool(const storage::DirEntry&)>& fits,
                             std::vector<storage::DirEntry>* entries, storage::Verifier* verf,
                             bool* eof, std::optional<storage::Attr>* dir_attr);
  nfs4::Nfsstat4 run_op(std::uint32_t op, xdr::XdrDecoder& in, Compound& c, xdr::XdrEncoder& out);
  // Minor version 0 (nfs4_program.cc, end): run_op_v40 wraps the open-owner
  // seqid ops (OPEN, OPEN_CONFIRM, OPEN_DOWNGRADE, CLOSE) in the owner's
  // seqid check and replay cache (RFC 7530 §9.1.7); run_v40_client_op runs
  // SETCLIENTID, SETCLIENTID_CONFIRM, RENEW and OPEN_CONFIRM.
  nfs4::Nfsstat4 run_op_v40(std::uint32_t op, xdr::XdrDecoder& in, Compound& c,
                            xdr::XdrEncoder& out);
  nfs4::Nfsstat4 run_v40_client_op(nfs4::Op op, xdr::XdrDecoder& in, Compound& c,
                                   xdr::XdrEncoder& out);

  // Operation handlers; each encodes its result body after the status on
  // success (SETATTR also on failure) and returns the status.
  nfs4::Nfsstat4 set_fh(Compound& c, const storage::FileHandle& fh, Fh* out);
  nfs4::Nfsstat4 put_root(Compound& c);
  nfs4::Nfsstat4 op_lookup(Compound& c, std::string_view name);
  nfs4::Nfsstat4 op_lookupp(Compound& c);
  /// Encodes the fattr4 of `fh` for the attributes in `req` (RFC 8881
  /// §5.6).  `known`: the object's attributes when the caller already has
  /// them (READDIR's entries, stat'd by the backend listing); else they are
  /// read through the handle.  Errors: the backend status, mapped.
  nfs4::Nfsstat4 encode_attrs(Compound& c, const Fh& fh, const nfs4::Bitmap4& req,
                              xdr::XdrEncoder& out, const storage::Attr* known = nullptr);
  nfs4::Nfsstat4 op_read(Compound& c, const nfs4::ReadArgs& a, xdr::XdrEncoder& out);
  /// Reads up to `count` bytes at `offset` of the current file into `out`
  /// as XDR opaque data<> (length, bytes, zero padding): READ's data and
  /// READ_PLUS's data segments.  *got: bytes read; *eof: the read reached
  /// the end of the file.  Storage errors as their NFSv4 status.
  nfs4::Nfsstat4 read_data(Compound& c, std::uint64_t offset, std::uint32_t count,
                           xdr::XdrEncoder& out, std::uint32_t* got, bool* eof);
  nfs4::Nfsstat4 op_readdir(Compound& c, const nfs4::ReaddirArgs& a, xdr::XdrEncoder& out);
  nfs4::Nfsstat4 op_open(Compound& c, const nfs4::OpenArgs& a, xdr::XdrEncoder& out);
  nfs4::Nfsstat4 op_create(Compound& c, const nfs4::CreateArgs& a, xdr::XdrEncoder& out);

  // NFSv4.2 (RFC 7862) and xattr (RFC 8276) operations, nfs4_program_42.cc.
  // run_op_42 answers NFS4ERR_NOTSUPP for every operation it does not know.
  nfs4::Nfsstat4 run_op_42(std::uint32_t op, xdr::XdrDecoder& in, Compound& c,
                           xdr::XdrEncoder& out);
  /// Stateid of an I/O operation: the current stateid substituted, then
  /// checked against the file like READ / WRITE do.
  nfs4::Nfsstat4 check_io_stateid(Compound& c, const nfs4::Stateid4& sid,
                                  const storage::FileHandle& fh, bool write);
  /// The current filehandle must be a regular file of an export (pseudo
  /// directories: ISDIR); with `saved`, the saved one too, same export.
  nfs4::Nfsstat4 need_file(Compound& c, bool saved);
  nfs4::Nfsstat4 op_seek(Compound& c, const nfs4::SeekArgs& a, xdr::XdrEncoder& out);
  nfs4::Nfsstat4 op_allocate(Compound& c, const nfs4::AllocateArgs& a, bool deallocate);
  nfs4::Nfsstat4 op_copy(Compound& c, const nfs4::CopyArgs& a, xdr::XdrEncoder& out);
  nfs4::Nfsstat4 op_clone(Compound& c, const nfs4::CloneArgs& a);
  nfs4::Nfsstat4 op_read_plus(Compound& c, const nfs4::ReadPlusArgs& a, xdr::XdrEncoder& out);
  nfs4::Nfsstat4 op_xattr(nfs4::Op op, xdr::XdrDecoder& in, Compound& c, xdr::XdrEncoder& out);

  storage::Backend& backend_;
  const ExportRegistry& exports_;
  Nfs4State& state_;
  Nfs4Limits limits_;
  storage::Verifier writeverf_;
  storage::Time started_;
  Nfs4OpMetrics* op_metrics_ = nullptr;
  Nfs4IdMap idmap_;
  Nfs4Callbacks* callbacks_ = nullptr;
  std::mutex pseudo_mu_;
  std::shared_ptr<const ExportTable> pseudo_table_;
  std::shared_ptr<const PseudoFs> pseudo_;
};

}  // namespace nasd::server
