// NFSv4.1 clients, sessions and stateids: SEQUENCE, EXCHANGE_ID,
// CREATE_SESSION, DESTROY_SESSION, DESTROY_CLIENTID, BIND_CONN_TO_SESSION,
// BACKCHANNEL_CTL, RECLAIM_COMPLETE, TEST_STATEID, FREE_STATEID (RFC 8881
// §18.33-18.51).  The records are Nfs4State's; the back channel
// Nfs4Callbacks'.
#include "server/nfs4/callback.h"
#include "server/nfs4/ops.h"
#include "server/pipeline/packet.h"

namespace nasd::server::nfs4ops {

using nfs4::Nfsstat4;

namespace {

constexpr std::uint32_t kExchgidUseNonPnfs = 0x00010000, kExchgidConfirmedR = 0x80000000;

/// The back channel of the connection the call came on (nullptr: none).
std::shared_ptr<RpcBackChannel> connection_back_channel(const Nfs4Compound& c) {
  return c.ctx.connection ? c.ctx.connection->back_channel() : nullptr;
}

}  // namespace

Nfsstat4 op_sequence(Nfs4Compound& c, const Nfs4DecodedOp& d, xdr::XdrEncoder& out) {
  const auto& a = std::get<nfs4::SequenceArgs>(d.args);
  auto& state = c.svc.state;
  Nfs4State::SequenceResult r;
  if (c.nowait) {
    // Inline: only look at the slot now; the executor performs the
    // SEQUENCE once the rest has run.  Anything but a new request on a live
    // session, or a limit exceeded, is for the persist stage.
    if (state.peek_sequence(a, &r) != Nfsstat4::kOk || c.numops > r.max_ops ||
        (r.max_request && c.request_bytes > r.max_request)) {
      c.would_block = true;
      return Nfsstat4::kDelay;
    }
    c.pending_sequence = a;
    c.sequence_pos = out.position();
  } else if (Nfsstat4 st = state.sequence(a, &r); st != Nfsstat4::kOk) {
    return st;
  }
  if (r.replay) {
    c.replay = true;
    c.replay_bytes = std::move(r.cached);
    return Nfsstat4::kOk;
  }
  c.in_session = true;
  c.sessionid = a.sessionid;
  c.slotid = a.slotid;
  c.clientid = r.clientid;
  c.max_ops = r.max_ops;
  c.max_request = r.max_request;
  c.max_response = r.max_response;
  // The session's limits (RFC 8881 §18.46.3, §2.10.6.4); the slot is in
  // use now, so the error reply completes it like any other.
  if (c.numops > c.max_ops) return Nfsstat4::kTooManyOps;
  if (c.max_request && c.request_bytes > c.max_request) return Nfsstat4::kReqTooBig;
  out.fixed_opaque(a.sessionid);
  out.u32(a.sequenceid);
  out.u32(a.slotid);
  out.u32(r.highest_slotid);
  out.u32(r.target_highest_slotid);
  if (c.nowait) {
    out.u32(0);  // status flags: patched when the SEQUENCE is performed
  } else {
    auto* cb = c.svc.callbacks;
    out.u32(r.status_flags | (cb ? cb->sequence_flags(a.sessionid) : 0));
  }
  return Nfsstat4::kOk;
}

Nfsstat4 op_exchange_id(Nfs4Compound& c, const Nfs4DecodedOp& d, xdr::XdrEncoder& out) {
  const auto& a = std::get<nfs4::ExchangeIdArgs>(d.args);
  if (a.state_protect != 0) return Nfsstat4::kNotSupp;  // only SP4_NONE for now
  Nfs4State::ExchangeIdResult r;
  if (Nfsstat4 st = c.svc.state.exchange_id(a, &r); st != Nfsstat4::kOk) return st;
  out.u64(r.clientid);
  out.u32(r.sequenceid);
  out.u32(kExchgidUseNonPnfs | (r.confirmed ? kExchgidConfirmedR : 0));
  out.u32(0);             // SP4_NONE
  out.u64(0);             // so_minor_id
  out.string("nasd");     // so_major_id
  out.string("nasd");     // server scope
  out.u32(0);             // no nfs_impl_id4
  return Nfsstat4::kOk;
}

Nfsstat4 op_create_session(Nfs4Compound& c, const Nfs4DecodedOp& d, xdr::XdrEncoder& out) {
  const auto& a = std::get<nfs4::CreateSessionArgs>(d.args);
  auto& state = c.svc.state;
  Nfs4State::CreateSessionResult r;
  if (Nfsstat4 st = state.create_session(a, &r); st != Nfsstat4::kOk) return st;
  if (auto* cb = c.svc.callbacks) {  // the back channel (RFC 8881 §18.36.3)
    const bool back = a.flags & nfs4::kCreateSessionConnBackChan;
    r.flags |= cb->session_created(
        r.sessionid, a.clientid, c.minor, a.flags, a.cb_program, a.sec,
        back ? connection_back_channel(c) : nullptr,
        [&state](const nfs4::SessionId& id) { return state.has_session(id); });
  }
  out.fixed_opaque(r.sessionid);
  out.u32(r.sequence);
  out.u32(r.flags);
  nfs4::encode_channel_attrs(out, r.fore);
  nfs4::encode_channel_attrs(out, r.back);
  return Nfsstat4::kOk;
}

Nfsstat4 op_destroy_session(Nfs4Compound& c, const Nfs4DecodedOp& d, xdr::XdrEncoder&) {
  const auto& a = std::get<nfs4::SessionArgs>(d.args);
  const Nfsstat4 st = c.svc.state.destroy_session(a.sessionid);
  if (st == Nfsstat4::kOk && c.svc.callbacks) c.svc.callbacks->session_destroyed(a.sessionid);
  return st;
}

Nfsstat4 op_destroy_clientid(Nfs4Compound& c, const Nfs4DecodedOp& d, xdr::XdrEncoder&) {
  return c.svc.state.destroy_clientid(std::get<nfs4::ClientidArgs>(d.args).clientid);
}

Nfsstat4 op_bind_conn_to_session(Nfs4Compound& c, const Nfs4DecodedOp& d, xdr::XdrEncoder& out) {
  const auto& a = std::get<nfs4::BindConnArgs>(d.args);
  if (Nfsstat4 st = c.svc.state.bind_conn(a.sessionid); st != Nfsstat4::kOk) return st;
  std::uint32_t dir = nfs4::kCdfs4Fore;
  if (c.svc.callbacks && a.dir != nfs4::kCdfc4Fore && c.ctx.connection) {
    dir = c.svc.callbacks->bind_conn(a.sessionid, a.dir, connection_back_channel(c));
  }
  out.fixed_opaque(a.sessionid);
  out.u32(dir);
  out.boolean(false);
  return Nfsstat4::kOk;
}

Nfsstat4 op_backchannel_ctl(Nfs4Compound& c, const Nfs4DecodedOp& d, xdr::XdrEncoder&) {
  const auto& a = std::get<nfs4::BackchannelCtlArgs>(d.args);
  c.svc.callbacks->backchannel_ctl(c.sessionid, a.cb_program, a.sec);
  return Nfsstat4::kOk;
}

Nfsstat4 op_reclaim_complete(Nfs4Compound& c, const Nfs4DecodedOp& d, xdr::XdrEncoder&) {
  if (std::get<nfs4::ReclaimCompleteArgs>(d.args).one_fs) {
    return Nfsstat4::kOk;  // per-fs reclaim: nothing to track
  }
  return c.svc.state.reclaim_complete(c.clientid);
}

Nfsstat4 op_test_stateid(Nfs4Compound& c, const Nfs4DecodedOp& d, xdr::XdrEncoder& out) {
  const auto& a = std::get<nfs4::TestStateidArgs>(d.args);
  out.u32(static_cast<std::uint32_t>(a.stateids.size()));
  for (const auto& s : a.stateids) {
    out.u32(static_cast<std::uint32_t>(c.svc.state.test_stateid(c.clientid, s)));
  }
  return Nfsstat4::kOk;
}

Nfsstat4 op_free_stateid(Nfs4Compound& c, const Nfs4DecodedOp& d, xdr::XdrEncoder&) {
  return c.svc.state.free_stateid(c.clientid, std::get<nfs4::StateidArgs>(d.args).stateid);
}

}  // namespace nasd::server::nfs4ops
