// NFSv4 program hooks and the COMPOUND executor.  See program.h.
#include "server/nfs4/program.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <cstring>

#include "server/nfs4/callback.h"
#include "server/nfs4/metrics.h"

namespace nasd::server {

using nfs4::Nfsstat4;
using storage::Status;

namespace {

storage::Time now_time() {
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                std::chrono::system_clock::now().time_since_epoch())
                .count();
  return {static_cast<std::uint32_t>(ns / 1000000000), static_cast<std::uint32_t>(ns % 1000000000)};
}

/// Tracks whether a COMPOUND may run inline while the parse stage decodes
/// it (Program::may_run_inline; the rules are the table's flags).
class InlineScan {
 public:
  InlineScan(std::uint32_t minor, std::uint32_t numops, std::uint32_t decodable)
      : minor_(minor),
        ok_(minor <= nfs4::kMaxMinorVersion && numops > 0 && decodable == numops &&
            numops <= Nfs4Program::kInlineMaxOps) {}

  /// Operation `i` (decoded, `extra` variable reply bytes).
  void add(std::uint32_t i, const Nfs4OpDesc& desc, const Nfs4OpArgs& args, std::size_t extra) {
    if (!ok_) return;
    if (changed_state_) {  // after an inline OPEN / CLOSE: only these
      ok_ = desc.flags & kNfs4AfterInlineState;
    } else if (desc.flags & kNfs4Sequence) {
      ok_ = minor_ >= 1 && i == 0;
    } else if (desc.flags & kNfs4Inline) {
      ok_ = (minor_ == 0 || i > 0) &&  // 4.1+: SEQUENCE comes first
            extra <= Nfs4Program::kInlineReadMax && (!desc.inline_if || desc.inline_if(args));
      if (desc.flags & kNfs4InlineState) changed_state_ = true;
    } else {
      ok_ = false;
    }
  }
  /// After the scan: every operation decoded and may run inline.
  bool ok(bool all_decoded) const { return ok_ && all_decoded; }

 private:
  std::uint32_t minor_;
  bool ok_;
  bool changed_state_ = false;
};

}  // namespace

Nfs4Program::Nfs4Program(storage::Backend& backend, const ExportRegistry& exports,
                         Nfs4State& state, Nfs4Limits limits, storage::Verifier writeverf,
                         const Nfs4OpTable& ops)
    : svc_{backend, exports, state, limits, writeverf, now_time(), Nfs4IdMap(), nullptr},
      ops_(ops) {}

const char* Nfs4Program::procedure_name(std::uint32_t proc) const {
  return proc == nfs4::kProcNull ? "NULL" : proc == nfs4::kProcCompound ? "COMPOUND" : nullptr;
}

std::shared_ptr<const PseudoFs> Nfs4Program::pseudo(const ExportTable& table) {
  std::lock_guard lock(pseudo_mu_);
  auto current = svc_.exports.current();
  if (!pseudo_ || pseudo_table_.get() != &table) {
    pseudo_ = std::make_shared<const PseudoFs>(table);
    pseudo_table_ = current.get() == &table ? current : nullptr;
  }
  return pseudo_;
}

DecodeResult Nfs4Program::decode(const CallContext& ctx, xdr::XdrDecoder& in, ArgSlot& args) {
  if (ctx.header.proc == nfs4::kProcNull) {
    args.reset();
    return DecodeResult::kOk;
  }
  if (ctx.header.proc != nfs4::kProcCompound) return DecodeResult::kProcUnavail;
  auto& a = args.emplace<Nfs4CompoundArgs>();
  if (!nfs4::decode_compound_header(in, a.header)) {
    args.reset();
    return DecodeResult::kGarbageArgs;
  }
  a.request_bytes = in.position() + in.rest().size();
  const std::uint32_t numops = a.header.numops;
  const std::uint32_t minor = a.header.minorversion;
  const std::uint32_t n = std::min(numops, svc_.limits.max_ops);
  std::span<Nfs4DecodedOp> ops = args.emplace_array<Nfs4DecodedOp>(n);
  // Each operation once: its number, its row, its arguments.  Decoding
  // stops at the first operation that cannot run (execution stops there
  // too), which keeps its status.
  std::size_t est = 64 + a.header.tag.size();
  InlineScan inl(minor, numops, n);
  std::uint32_t i = 0;
  bool all = true;
  for (; i < n; ++i) {
    Nfs4DecodedOp& d = ops[i];
    d.opnum = in.u32();
    if (!in.ok()) {
      d.opnum = static_cast<std::uint32_t>(nfs4::Op::kIllegal);
      d.status = Nfsstat4::kBadXdr;
    } else if (d.desc = ops_.find(d.opnum, minor, &d.status); !d.desc) {
      if (d.status == Nfsstat4::kOpIllegal) d.opnum = static_cast<std::uint32_t>(nfs4::Op::kIllegal);
    } else if ((d.desc->flags & kNfs4NeedsCallbacks) && !svc_.callbacks) {
      d.desc = nullptr;
      d.status = Nfsstat4::kNotSupp;
    } else if (!d.desc->decode(in, d.args)) {
      d.status = Nfsstat4::kBadXdr;
    }
    if (d.status != Nfsstat4::kOk) {  // the last result: a status alone
      est += Nfs4OpTable::kPerOpReply;
      all = false;
      ++i;
      break;
    }
    const std::size_t extra =
        d.desc->reply_extra ? d.desc->reply_extra(d.args, svc_.limits.max_read) : 0;
    est += d.desc->reply_bytes + extra;
    if (!(d.desc->flags & kNfs4Describes)) a.attrs_tail = i;
    inl.add(i, *d.desc, d.args, extra);
  }
  a.ops = ops.first(i);
  a.reply_estimate = est;
  a.inline_ok = inl.ok(all);
  if (!all || i != numops) a.attrs_tail = numops;  // not all decoded: none
  return DecodeResult::kOk;
}

std::size_t Nfs4Program::max_reply_size(const CallContext& ctx, ArgSlot& args) {
  if (ctx.header.proc == nfs4::kProcNull) return 0;
  return args.get<Nfs4CompoundArgs>().reply_estimate;
}

void Nfs4Program::check_handles(const CallContext& ctx, Nfs4CompoundArgs& a) {
  a.table = svc_.exports.current();
  a.pseudo = pseudo(*a.table);
  for (Nfs4DecodedOp& d : a.ops) {
    if (d.status != Nfsstat4::kOk || !(d.desc->flags & kNfs4ValidateFh)) continue;
    auto& p = std::get<Nfs4PutfhArgs>(d.args);
    storage::FileHandle fh;
    if (p.root) {  // PUTROOTFH / PUTPUBFH
      const Status s = nfs4ops::root_fh(svc_, *a.pseudo, &fh);
      if (s != Status::kOk) continue;  // the backend's error: reported when it runs
    } else if (!fh.assign(p.wire.fh)) {
      p.status = Nfsstat4::kBadHandle;
      p.checked = true;
      continue;
    }
    p.status = nfs4ops::resolve_fh(svc_, *a.table, *a.pseudo, ctx, fh, &p.fh);
    p.checked = true;
  }
}

bool Nfs4Program::validate(CallContext& ctx, ArgSlot& args, xdr::XdrEncoder& out) {
  if (args.empty()) return true;  // NULL
  auto& a = args.get<Nfs4CompoundArgs>();
  Nfsstat4 st = Nfsstat4::kOk;
  if (a.header.minorversion > nfs4::kMaxMinorVersion) {
    st = Nfsstat4::kMinorVersMismatch;
  } else if (a.header.minorversion == 0 && a.header.numops > svc_.limits.max_ops) {
    st = Nfsstat4::kResource;  // 4.0; in 4.1+ SEQUENCE answers TOO_MANY_OPS (§18.46.3)
  }
  if (st == Nfsstat4::kOk) {
    check_handles(ctx, a);
    return true;
  }
  out.u32(static_cast<std::uint32_t>(st));
  out.string(a.header.tag);
  out.u32(0);  // no results
  return false;
}

bool Nfs4Program::may_run_inline(const CallContext&, const ArgSlot& args) const {
  return args.empty() || args.get<Nfs4CompoundArgs>().inline_ok;  // NULL, or read-only ops
}

std::optional<storage::Status> Nfs4Program::try_execute_inline(CallContext& ctx, ArgSlot& args,
                                                               xdr::XdrEncoder& out) {
  const auto bytes_read = ctx.data_bytes_read;  // a READ of an abandoned attempt
  auto status = run_compound(ctx, args, out, /*nowait=*/true);
  if (!status) ctx.data_bytes_read = bytes_read;
  return status;
}

storage::Status Nfs4Program::execute(CallContext& ctx, ArgSlot& args, xdr::XdrEncoder& out) {
  return *run_compound(ctx, args, out, /*nowait=*/false);
}

bool Nfs4Program::perform_pending_sequence(Nfs4Compound& c, xdr::XdrEncoder& out) {
  // It can still find the slot taken meanwhile (a retransmission on another
  // thread): then nothing was changed and the persist stage runs the whole
  // COMPOUND.
  const nfs4::SequenceArgs& sa = *c.pending_sequence;
  bool probe_wanted = false;
  const std::uint32_t cb_flags =
      svc_.callbacks ? svc_.callbacks->sequence_flags(sa.sessionid, &probe_wanted) : 0;
  if (probe_wanted) return false;
  Nfs4State::SequenceResult r;
  if (svc_.state.sequence(sa, &r) != Nfsstat4::kOk || r.replay) return false;
  // SEQUENCE4resok after sessionid, sequenceid and slotid (RFC 8881 §18.46.2).
  out.patch_u32(c.sequence_pos + 24, r.highest_slotid);
  out.patch_u32(c.sequence_pos + 28, r.target_highest_slotid);
  out.patch_u32(c.sequence_pos + 32, r.status_flags | cb_flags);
  c.pending_sequence.reset();
  return true;
}

Nfsstat4 Nfs4Program::precheck(const Nfs4Compound& c, const Nfs4CompoundArgs& a,
                               std::uint32_t i, const Nfs4DecodedOp& d) const {
  if (d.status == Nfsstat4::kOpIllegal ||
      (d.status == Nfsstat4::kBadXdr && d.opnum == static_cast<std::uint32_t>(nfs4::Op::kIllegal))) {
    return d.status;  // not an operation of this minor version, or no number at all
  }
  // 4.1+: SEQUENCE first, or a session-less operation (alone when it must
  // be); SEQUENCE nowhere else (RFC 8881 §2.10.6.1, §18.46.3).
  const std::uint32_t flags = d.desc ? d.desc->flags : 0;
  const bool sequence = d.opnum == static_cast<std::uint32_t>(nfs4::Op::kSequence);
  if (c.minor >= 1 && i == 0) {
    const bool sessionless = flags & kNfs4Sessionless;
    if (!sequence && !sessionless) return Nfsstat4::kOpNotInSession;
    if ((flags & kNfs4SoleOp) && a.header.numops > 1) return Nfsstat4::kNotOnlyOp;
  } else if (c.minor >= 1 && sequence) {
    return Nfsstat4::kSequencePos;
  }
  if (d.status != Nfsstat4::kOk) return d.status;  // BADXDR, NOTSUPP
  if ((flags & kNfs4Modifies) && c.current.set &&
      (c.current.pseudo || c.current.options.read_only)) {
    return Nfsstat4::kRoFs;
  }
  return Nfsstat4::kOk;
}

std::optional<storage::Status> Nfs4Program::run_compound(CallContext& ctx, ArgSlot& args,
                                                         xdr::XdrEncoder& out, bool nowait) {
  if (args.empty()) return Status::kOk;  // NULL
  auto& a = args.get<Nfs4CompoundArgs>();
  if (!a.table) check_handles(ctx, a);  // validate() did not run (direct callers)
  Nfs4Compound c(svc_, ctx);
  c.nowait = nowait;
  c.table = a.table.get();
  c.pseudo = a.pseudo.get();
  c.minor = a.header.minorversion;
  c.numops = a.header.numops;
  c.request_bytes = a.request_bytes;
  c.attrs_tail = a.attrs_tail;
  const std::size_t body = out.position();
  out.u32(0);  // status, patched
  out.string(a.header.tag);
  const std::size_t numres_pos = out.position();
  out.u32(0);
  Nfsstat4 last = Nfsstat4::kOk;
  std::uint32_t nres = 0;
  // Inline: operation metrics are recorded once the COMPOUND is answered
  // (no allocation: inline COMPOUNDs hold at most kInlineMaxOps operations).
  struct OpSample {
    std::uint32_t opnum = 0;
    Nfsstat4 st = Nfsstat4::kOk;
    double seconds = 0;
  };
  std::array<OpSample, kInlineMaxOps> samples;
  std::size_t nsamples = 0;
  for (std::uint32_t i = 0; i < a.header.numops; ++i) {
    if (i >= a.ops.size()) {
      // Beyond Nfs4Limits::max_ops (4.1+: a session allowing more than the
      // server decodes): the COMPOUND is too long.
      out.u32(static_cast<std::uint32_t>(nfs4::Op::kIllegal));
      out.u32(static_cast<std::uint32_t>(Nfsstat4::kTooManyOps));
      ++nres;
      last = Nfsstat4::kTooManyOps;
      break;
    }
    const Nfs4DecodedOp& d = a.ops[i];
    Nfsstat4 st = precheck(c, a, i, d);
    out.u32(d.opnum);
    const std::size_t status_pos = out.position();
    out.u32(0);
    const auto op_start = std::chrono::steady_clock::now();
    const bool run = st == Nfsstat4::kOk;
    if (run && c.nowait && (d.desc->flags & kNfs4InlineState)) {
      // An inline OPEN / CLOSE changes state, after which the attempt can
      // no longer be given up.  So first everything that could make it wait
      // is checked (inline_prepare: OPEN's file in memory, no client record
      // to write) and the SEQUENCE performed; then the rest of the COMPOUND
      // runs to its end with the ordinary backend calls, which find what
      // the checks just found in memory.
      if (d.desc->inline_prepare && !d.desc->inline_prepare(c, d)) return std::nullopt;
      if (c.pending_sequence && !perform_pending_sequence(c, out)) return std::nullopt;
      c.nowait = false;
    }
    c.op_index = i;
    if (!d.desc || !(d.desc->flags & kNfs4Describes)) c.looked_up_attr.reset();
    if (run) {
      st = c.minor == 0 && (d.desc->flags & kNfs4OwnerSeqid)
               ? nfs4ops::run_with_owner_seqid(c, d, out)
               : d.desc->run(c, d, out);
    }
    if (c.would_block) return std::nullopt;  // nothing changed: the persist stage runs it
    // A full table (clients, sessions, opens, lock-owners, locks): RESOURCE
    // in 4.0; 4.1 has no RESOURCE (RFC 8881 §15.1.1.3) and the operations'
    // error lists allow DELAY, "try again later".
    if (st == Nfsstat4::kResource && c.minor >= 1) st = Nfsstat4::kDelay;
    if (st == Nfsstat4::kOk && c.in_session && c.max_response &&
        out.position() - body > c.max_response) {
      st = Nfsstat4::kRepTooBig;  // this result would not fit ca_maxresponsesize
    }
    if (op_metrics_) {
      const double secs =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - op_start).count();
      if (c.nowait) {
        samples[nsamples++] = {d.opnum, st, secs};  // nowait: numops <= kInlineMaxOps
      } else {
        op_metrics_->record(d.opnum, st, secs);
      }
    }
    if (c.replay) {
      // SEQUENCE found a retried request: send the cached reply again.
      out.rewind(body);
      auto dst = out.reserve(c.replay_bytes.size());
      if (dst.size() == c.replay_bytes.size() && !dst.empty()) {
        std::memcpy(dst.data(), c.replay_bytes.data(), dst.size());
      }
      return Status::kOk;
    }
    // Error results carry no body, except where the row says so.
    const bool error_body =
        d.desc && ((d.desc->flags & kNfs4ErrorBody) || (run && st == d.desc->body_on_error));
    if (st != Nfsstat4::kOk && !error_body) out.rewind(status_pos + 4);
    if (!run && error_body) out.u32(0);  // SETATTR4res.attrsset: an empty bitmap4
    out.patch_u32(status_pos, static_cast<std::uint32_t>(st));
    ++nres;
    if (st != Nfsstat4::kOk) {
      last = st;
      break;
    }
  }
  out.patch_u32(body, static_cast<std::uint32_t>(last));
  out.patch_u32(numres_pos, nres);
  // Inline: every operation ran without waiting; now the SEQUENCE for real.
  if (c.pending_sequence && !perform_pending_sequence(c, out)) return std::nullopt;
  if (op_metrics_) {
    for (std::size_t k = 0; k < nsamples; ++k) {
      op_metrics_->record(samples[k].opnum, samples[k].st, samples[k].seconds);
    }
  }
  if (c.in_session) {
    // A reply that overflowed becomes SYSTEM_ERR in the pipeline: not cached.
    svc_.state.complete_slot(c.sessionid, c.slotid, out.written().subspan(body), out.ok());
  }
  if (last == Nfsstat4::kOk) return Status::kOk;
  return c.storage_status != Status::kOk ? c.storage_status : Status::kInval;
}

}  // namespace nasd::server
