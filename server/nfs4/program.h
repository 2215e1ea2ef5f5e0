// Nfs4Program: the NFS version 4 RPC program (100003 v4; minor versions 0,
// 1 and 2, RFC 7530 / RFC 8881 / RFC 7862) on top of a storage::Backend, as
// hooks for the pipeline stages (server/pipeline/program.h).  It shares the
// pipeline, pools, backend and export table with Nfs3Program; the pipeline
// dispatches by (program, version).
//
// Stages:
//   parse     decode(): the COMPOUND header and every operation's arguments,
//             once, into Nfs4DecodedOps in the packet's ArgSlot (at most
//             Nfs4Limits::max_ops; bounded, reused by the pooled packet so a
//             warm packet allocates nothing), through the operation table
//             (server/nfs4/op_table.h); the reply size and whether the
//             COMPOUND may run inline
//   validate  minor version (> 2: NFS4ERR_MINOR_VERS_MISMATCH), 4.0's op
//             count (NFS4ERR_RESOURCE; 4.1+ SEQUENCE answers TOO_MANY_OPS),
//             the export snapshot, and the export/access check of each
//             PUTFH / PUTROOTFH / PUTPUBFH (server/exports/access.h), whose
//             result the operation reports when it runs
//   persist   execute(): runs the operations in order with the current and
//             saved filehandle and stops at the first error (RFC 8881
//             §16.2.3).  4.1 COMPOUNDs start with SEQUENCE (or are a
//             session-less EXCHANGE_ID / CREATE_SESSION / DESTROY_SESSION /
//             BIND_CONN_TO_SESSION / DESTROY_CLIENTID), whose slot reply
//             cache replays a retried request byte for byte; 4.0 COMPOUNDs
//             sequence OPEN / OPEN_CONFIRM / OPEN_DOWNGRADE / CLOSE per
//             open-owner and LOCK / LOCKU per lock-owner with a one-reply
//             replay cache (RFC 7530 §9.1.7, §9.1.8).
//
// The operations nasd serves, and in which minor versions, are the rows of
// the operation table; every other operation of the minor version answers
// NFS4ERR_NOTSUPP, numbers outside it NFS4ERR_OP_ILLEGAL.  SEQUENCE enforces
// the session's ca_maxoperations (TOO_MANY_OPS) and ca_maxrequestsize
// (REQ_TOO_BIG); a result beyond ca_maxresponsesize is REP_TOO_BIG.  Each
// operation is counted in Nfs4OpMetrics when set.  Grace
// (Nfs4State::check_grace): only reclaims pass; other OPEN / LOCK / LOCKT
// and SETATTR of size get NFS4ERR_GRACE.  No delegations are handed out.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "protocol/nfs4/nfs4.h"
#include "server/exports/export_registry.h"
#include "server/nfs4/compound.h"
#include "server/nfs4/op_table.h"
#include "server/nfs4/pseudo.h"
#include "server/nfs4/state/state.h"
#include "server/pipeline/program.h"
#include "storage/backend.h"

namespace nasd::server {

class Nfs4OpMetrics;
class Nfs4Callbacks;

class Nfs4Program final : public Program {
 public:
  /// `writeverf` is returned by WRITE and COMMIT (new at every start).
  /// `ops`: the operation table (tests pass a copy with counting
  /// decoders); must outlive the program.
  Nfs4Program(storage::Backend& backend, const ExportRegistry& exports, Nfs4State& state,
              Nfs4Limits limits, storage::Verifier writeverf,
              const Nfs4OpTable& ops = nfs4_op_table());

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
  void set_id_domain(std::string domain) { svc_.idmap = Nfs4IdMap(std::move(domain)); }
  /// Callback paths (back channel, 4.0 callback probe); nullptr = none (no
  /// back channel granted).  Set before serving; must outlive the program.
  void set_callbacks(Nfs4Callbacks* cb) { svc_.callbacks = cb; }

  DecodeResult decode(const CallContext& ctx, xdr::XdrDecoder& in, ArgSlot& args) override;
  std::size_t max_reply_size(const CallContext& ctx, ArgSlot& args) override;
  bool validate(CallContext& ctx, ArgSlot& args, xdr::XdrEncoder& out) override;
  storage::Status execute(CallContext& ctx, ArgSlot& args, xdr::XdrEncoder& out) override;
  /// Inline COMPOUNDs (docs/architecture.md "Inline calls"): NULL, and a
  /// COMPOUND of at most kInlineMaxOps operations whose rows are
  /// kNfs4Inline (READ and READDIR of at most kInlineReadMax bytes; the
  /// 4.1+ SEQUENCE first), with at most one kNfs4InlineState operation
  /// (OPEN of an existing file, CLOSE) followed only by
  /// kNfs4AfterInlineState ones.
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
  static constexpr std::size_t kPerOpReply = Nfs4OpTable::kPerOpReply;

 private:
  std::shared_ptr<const PseudoFs> pseudo(const ExportTable& table);
  /// Validate-stage work on the decoded COMPOUND: the export snapshot and
  /// the access check of each PUTFH / PUTROOTFH / PUTPUBFH.
  void check_handles(const CallContext& ctx, Nfs4CompoundArgs& a);
  /// execute() (`nowait` false: never nullopt) and try_execute_inline()
  /// (`nowait` true).
  std::optional<storage::Status> run_compound(CallContext& ctx, ArgSlot& args,
                                              xdr::XdrEncoder& out, bool nowait);
  /// The status op `i` ends with before running (4.1 position rules, the
  /// parse stage's status, ROFS), or kOk to run it.
  nfs4::Nfsstat4 precheck(const Nfs4Compound& c, const Nfs4CompoundArgs& a, std::uint32_t i,
                          const Nfs4DecodedOp& d) const;
  /// Inline 4.1+: performs the SEQUENCE that was only peeked at (patching
  /// its result at c.sequence_pos) and clears c.pending_sequence; false when
  /// the attempt must be given up (slot taken meanwhile, a retry, or a
  /// back-channel probe to start), with nothing changed.
  bool perform_pending_sequence(Nfs4Compound& c, xdr::XdrEncoder& out);

  Nfs4Services svc_;
  const Nfs4OpTable& ops_;
  Nfs4OpMetrics* op_metrics_ = nullptr;
  std::mutex pseudo_mu_;
  std::shared_ptr<const ExportTable> pseudo_table_;
  std::shared_ptr<const PseudoFs> pseudo_;
};

}  // namespace nasd::server
