// NFSv4 byte-range locks: LOCK, LOCKT, LOCKU (RFC 8881 §18.10-18.12) and
// RELEASE_LOCKOWNER (RFC 7530 §16.37, 4.0 only).  The locks themselves are
// the LockManager's, shared with NLM (Nfs4State).
#include "server/nfs4/ops.h"

namespace nasd::server::nfs4ops {

using nfs4::Nfsstat4;

namespace {

/// LOCK / LOCKT / LOCKU need a file: NOFILEHANDLE, or ISDIR in the
/// pseudo-filesystem.
Nfsstat4 need_lockable(const Nfs4Compound& c) {
  if (Nfsstat4 st = c.need_fh(); st != Nfsstat4::kOk) return st;
  return c.current.pseudo ? Nfsstat4::kIsDir : Nfsstat4::kOk;
}

}  // namespace

Nfsstat4 op_lock(Nfs4Compound& c, const Nfs4DecodedOp& d, xdr::XdrEncoder& out) {
  nfs4::LockArgs a = std::get<nfs4::LockArgs>(d.args);  // a copy: stateids substituted
  if (Nfsstat4 st = need_lockable(c); st != Nfsstat4::kOk) return st;
  // The current stateid may stand for the open / lock stateid (4.1+).
  nfs4::Stateid4& sid = a.new_lock_owner ? a.open_stateid : a.lock_stateid;
  if (Nfsstat4 st = c.stateid(sid, true, &sid); st != Nfsstat4::kOk) return st;
  nfs4::Stateid4 res;
  nfs4::LockDenied denied;
  Nfsstat4 st = c.svc.state.lock(c.in_session ? c.clientid : 0, a, c.current.fh, &res, &denied);
  if (st == Nfsstat4::kDenied) {
    nfs4::encode_lock_denied(out, denied);
    return st;
  }
  if (st != Nfsstat4::kOk) return st;
  c.current_stateid = res;
  c.has_current_stateid = true;
  nfs4::encode_stateid(out, res);
  return Nfsstat4::kOk;
}

Nfsstat4 op_lockt(Nfs4Compound& c, const Nfs4DecodedOp& d, xdr::XdrEncoder& out) {
  const auto& a = std::get<nfs4::LocktArgs>(d.args);
  if (Nfsstat4 st = need_lockable(c); st != Nfsstat4::kOk) return st;
  nfs4::LockDenied denied;
  Nfsstat4 st =
      c.svc.state.lockt(c.in_session ? c.clientid : a.owner.clientid, a, c.current.fh, &denied);
  if (st == Nfsstat4::kDenied) nfs4::encode_lock_denied(out, denied);
  return st;
}

Nfsstat4 op_locku(Nfs4Compound& c, const Nfs4DecodedOp& d, xdr::XdrEncoder& out) {
  nfs4::LockuArgs a = std::get<nfs4::LockuArgs>(d.args);  // a copy: stateid substituted
  if (Nfsstat4 st = need_lockable(c); st != Nfsstat4::kOk) return st;
  if (Nfsstat4 st = c.stateid(a.lock_stateid, true, &a.lock_stateid); st != Nfsstat4::kOk) {
    return st;
  }
  nfs4::Stateid4 res;
  if (Nfsstat4 st = c.svc.state.locku(a, c.current.fh, &res, c.minor); st != Nfsstat4::kOk) {
    return st;
  }
  c.current_stateid = res;
  c.has_current_stateid = true;
  nfs4::encode_stateid(out, res);
  return Nfsstat4::kOk;
}

Nfsstat4 op_release_lockowner(Nfs4Compound& c, const Nfs4DecodedOp& d, xdr::XdrEncoder&) {
  // Minor version 0 only (the table's row): RFC 8881 §17 marks it MNI for
  // 4.1, where FREE_STATEID releases lock state.
  return c.svc.state.release_lockowner(std::get<nfs4::ReleaseLockownerArgs>(d.args).owner);
}

}  // namespace nasd::server::nfs4ops
