// NFSv4.0 only (RFC 7530): SETCLIENTID, SETCLIENTID_CONFIRM, RENEW,
// OPEN_CONFIRM, and the owner seqid wrapper of the seqid-bearing
// operations (§9.1.7, §9.1.8).  4.0 COMPOUNDs have no SEQUENCE: OPEN,
// OPEN_CONFIRM, OPEN_DOWNGRADE and CLOSE are sequenced per open-owner, LOCK
// and LOCKU per lock-owner, each with a one-reply replay cache.  The
// SETCLIENTID callback address gets one CB_NULL probe after
// SETCLIENTID_CONFIRM (Nfs4Callbacks).
#include <cstring>

#include "server/nfs4/callback.h"
#include "server/nfs4/ops.h"

namespace nasd::server::nfs4ops {

using nfs4::Nfsstat4;
using nfs4::Op;

namespace {

/// The principal a 4.0 client record belongs to (RFC 7530 §16.33.5).
Nfs4Principal principal_of(const rpc::CallHeader& h) {
  Nfs4Principal p;
  p.flavor = static_cast<std::uint32_t>(h.flavor);
  if (h.flavor == rpc::AuthFlavor::kSys) p.uid = h.sys.uid;
  return p;
}

/// The state-owner an operation is sequenced by, and its seqid.
struct OwnerSeqid {
  Nfsstat4 status = Nfsstat4::kOk;    // of beginning the owner's operation
  Nfs4State::OwnerOp owner;
  std::uint32_t seqid = 0;
  bool lock_owner = false;            // `owner` is a lock-owner
  std::optional<Nfs4State::OwnerOp> new_lock_owner;  // open_to_lock_owner4's lock-owner
  std::uint32_t lock_seqid = 0;
};

/// Begins `d`'s owner operation (the seqid check): OPEN by its open-owner,
/// OPEN_CONFIRM / OPEN_DOWNGRADE / CLOSE and a LOCK opening a lock-owner
/// (open_to_lock_owner4, §16.10.4) by the open stateid's owner, a LOCK of
/// an existing lock-owner and LOCKU by the lock stateid's owner.
OwnerSeqid begin_owner(Nfs4State& state, const Nfs4DecodedOp& d) {
  OwnerSeqid o;
  auto by_stateid = [&](const nfs4::Stateid4& sid, std::uint32_t seq) {
    o.seqid = seq;
    o.status = state.begin_stateid_owner(sid, seq, &o.owner);
  };
  if (const auto* a = std::get_if<nfs4::OpenArgs>(&d.args)) {
    o.seqid = a->seqid;
    o.status = state.begin_open_owner(a->clientid, a->owner, a->seqid, &o.owner);
  } else if (const auto* a = std::get_if<nfs4::OpenConfirmArgs>(&d.args)) {
    by_stateid(a->stateid, a->seqid);
  } else if (const auto* a = std::get_if<nfs4::OpenDowngradeArgs>(&d.args)) {
    by_stateid(a->stateid, a->seqid);
  } else if (const auto* a = std::get_if<nfs4::CloseArgs>(&d.args)) {
    by_stateid(a->stateid, a->seqid);
  } else if (const auto* a = std::get_if<nfs4::LockArgs>(&d.args)) {
    if (a->new_lock_owner) {  // the open-owner's seqid; the lock-owner starts
      by_stateid(a->open_stateid, a->open_seqid);
      o.new_lock_owner.emplace();
      o.new_lock_owner->owner.assign(a->lock_owner.owner.begin(), a->lock_owner.owner.end());
      o.lock_seqid = a->lock_seqid;
    } else {
      o.lock_owner = true;
      o.seqid = a->lock_seqid;
      o.status = state.begin_lock_owner(a->lock_stateid, a->lock_seqid, &o.owner);
    }
  } else if (const auto* a = std::get_if<nfs4::LockuArgs>(&d.args)) {
    o.lock_owner = true;
    o.seqid = a->seqid;
    o.status = state.begin_lock_owner(a->lock_stateid, a->seqid, &o.owner);
  } else {
    o.status = Nfsstat4::kServerFault;  // a row flagged kNfs4OwnerSeqid without an owner
  }
  return o;
}

}  // namespace

Nfsstat4 run_with_owner_seqid(Nfs4Compound& c, const Nfs4DecodedOp& d, xdr::XdrEncoder& out) {
  auto& state = c.svc.state;
  OwnerSeqid o = begin_owner(state, d);
  if (o.status != Nfsstat4::kOk) return o.status;
  if (o.owner.replay) {
    // A retransmission (RFC 7530 §9.1.8): the cached reply, not a rerun.
    // The current filehandle becomes what the cached request left.
    if (o.owner.fh) {
      if (Nfsstat4 fst = set_fh(c, *o.owner.fh, &c.current); fst != Nfsstat4::kOk) return fst;
    }
    if (!o.owner.body.empty()) {
      auto dst = out.reserve(o.owner.body.size());
      if (dst.size() != o.owner.body.size()) return Nfsstat4::kServerFault;
      std::memcpy(dst.data(), o.owner.body.data(), dst.size());
    }
    return o.owner.status;
  }
  const std::size_t body_pos = out.position();
  const Nfsstat4 st = d.desc->run(c, d, out);
  std::span<const std::uint8_t> body;
  // Results with a body: OK, and the row's error with a body (LOCK4denied).
  if ((st == Nfsstat4::kOk || st == d.desc->body_on_error) && out.ok()) {
    body = out.written().subspan(body_pos);
  }
  if (o.lock_owner) {
    state.end_lock_owner_op(o.owner, o.seqid, st, body);
    return st;
  }
  std::optional<storage::FileHandle> fh;
  if (c.current.set) fh = c.current.fh;
  state.end_owner_op(o.owner, o.seqid, st, body, fh);
  if (o.new_lock_owner && st != Nfsstat4::kDelay) {  // its sequence starts at lock_seqid
    o.new_lock_owner->clientid = o.owner.clientid;
    state.end_lock_owner_op(*o.new_lock_owner, o.lock_seqid, st, body);
  }
  return st;
}

Nfsstat4 op_setclientid(Nfs4Compound& c, const Nfs4DecodedOp& d, xdr::XdrEncoder& out) {
  const auto& a = std::get<nfs4::SetclientidArgs>(d.args);
  auto& state = c.svc.state;
  // The callback (cb_program, cb_netid, cb_addr) is probed with CB_NULL
  // once confirmed (Nfs4Callbacks); callback_ident is unused (no
  // CB_COMPOUND is sent to a 4.0 client: no delegations).
  Nfs4State::SetclientidResult r;
  Nfsstat4 st = state.setclientid(a.id, a.verifier, principal_of(c.ctx.header), &r);
  if (st != Nfsstat4::kOk) {
    // NFS4ERR_CLID_INUSE carries a clientaddr4 (RFC 7530 §16.33.2): the
    // address of the other client is not kept, so send it empty.
    if (st == Nfsstat4::kClidInuse) {
      out.string("");
      out.string("");
    }
    return st;
  }
  if (c.svc.callbacks) {
    c.svc.callbacks->setclientid(r.clientid, a.cb_program, a.cb_netid, a.cb_addr,
                                 [&state](std::uint64_t id) { return state.has_client(id); });
  }
  out.u64(r.clientid);
  out.fixed_opaque(r.confirm);
  return Nfsstat4::kOk;
}

Nfsstat4 op_setclientid_confirm(Nfs4Compound& c, const Nfs4DecodedOp& d, xdr::XdrEncoder&) {
  const auto& a = std::get<nfs4::SetclientidConfirmArgs>(d.args);
  const Nfsstat4 st =
      c.svc.state.setclientid_confirm(a.clientid, a.confirm, principal_of(c.ctx.header));
  if (st == Nfsstat4::kOk && c.svc.callbacks) c.svc.callbacks->confirmed(a.clientid);
  return st;
}

Nfsstat4 op_renew(Nfs4Compound& c, const Nfs4DecodedOp& d, xdr::XdrEncoder&) {
  return c.svc.state.renew(std::get<nfs4::ClientidArgs>(d.args).clientid);
}

Nfsstat4 op_open_confirm(Nfs4Compound& c, const Nfs4DecodedOp& d, xdr::XdrEncoder& out) {
  const auto& a = std::get<nfs4::OpenConfirmArgs>(d.args);
  if (!c.current.set) return Nfsstat4::kNoFileHandle;
  if (c.current.pseudo) return Nfsstat4::kIsDir;
  nfs4::Stateid4 res;
  if (Nfsstat4 st = c.svc.state.open_confirm(a.stateid, c.current.fh, &res);
      st != Nfsstat4::kOk) {
    return st;
  }
  nfs4::encode_stateid(out, res);
  return Nfsstat4::kOk;
}

}  // namespace nasd::server::nfs4ops
