// NFSv4.0 client records (SETCLIENTID / SETCLIENTID_CONFIRM / RENEW),
// open-owners and lock-owners with their seqid and replay cache,
// OPEN_CONFIRM and the 4.0 stateid rules (RFC 7530 §9.1, §16.10, §16.12,
// §16.18, §16.29, §16.33, §16.34).  See
// state.h.
//
// Callbacks: SETCLIENTID's callback (cb_client4, callback_ident) is not even
// stored: this server hands out no delegations, so it never calls back, and a
// "callback update" SETCLIENTID only changes the confirm verifier.
#include <cstring>

#include "server/nfs4/state/bytes.h"
#include "server/nfs4/state/state.h"

namespace nasd::server {

using nfs4::Nfsstat4;

namespace {

using nfs4_bytes::be32;
using nfs4_bytes::to_string;

/// The seqid check of a state-owner (open- or lock-owner) for `seqid`:
/// kBadSeqid, or kOk with r->replay and, for a replay, the cached status
/// and body in `r` (RFC 7530 §9.1.7, §9.1.8).
Nfsstat4 check_seqid(const OwnerSeqid& owner, std::uint32_t seqid, Nfs4State::OwnerOp* r) {
  r->replay = false;
  switch (owner.check(seqid)) {
    case OwnerSeqid::Check::kBad:
      return Nfsstat4::kBadSeqid;
    case OwnerSeqid::Check::kReplay: {
      r->replay = true;
      r->status = owner.reply_status();
      auto body = owner.reply_body();
      r->body.assign(body.begin(), body.end());
      return Nfsstat4::kOk;
    }
    case OwnerSeqid::Check::kNew:
      break;
  }
  return Nfsstat4::kOk;
}

}  // namespace

// ------------------------------------------------------------ clients

Nfsstat4 Nfs4State::client_v40_locked(std::uint64_t clientid, Client** out) {
  if (static_cast<std::uint32_t>(clientid >> 32) != config_.boot) return Nfsstat4::kStaleClientid;
  Client* c = client_locked(clientid);
  if (!c) return expired_.contains(clientid) ? Nfsstat4::kExpired : Nfsstat4::kStaleClientid;
  if (!c->v40 || !c->confirmed) return Nfsstat4::kStaleClientid;
  *out = c;
  return Nfsstat4::kOk;
}

Nfsstat4 Nfs4State::renew_v40_locked(std::uint64_t clientid, Client** out) {
  const auto now = now_();
  expire_locked(now);
  if (Nfsstat4 st = client_v40_locked(clientid, out); st != Nfsstat4::kOk) return st;
  (*out)->renewed = now;
  return Nfsstat4::kOk;
}

void Nfs4State::note_expired_locked(const Client& c) {
  if (!c.v40 || !c.confirmed) return;
  if (expired_.insert(c.clientid).second) expired_order_.push_back(c.clientid);
  while (expired_order_.size() > kExpiredMax) {
    expired_.erase(expired_order_.front());
    expired_order_.pop_front();
  }
}

Nfsstat4 Nfs4State::setclientid(std::span<const std::uint8_t> id,
                                const nfs4::Verifier4& verifier, const Nfs4Principal& principal,
                                SetclientidResult* r) {
  std::lock_guard lock(mu_);
  const auto now = now_();
  expire_locked(now);
  const std::string key = kV40Prefix + to_string(id);
  Client* conf = nullptr;
  Client* unconf = nullptr;
  for (auto& [cid, c] : clients_) {
    if (c.v40 && c.ownerid == key) (c.confirmed ? conf : unconf) = &c;
  }
  if (conf && conf->principal != principal) {
    // Another principal uses this id: refused while the confirmed client
    // holds state under a live lease (RFC 7530 §16.33.5, first case).
    const bool has_state = conf->opens > 0 || conf->owners > 0;
    if (has_state && now - conf->renewed <= config_.lease) return Nfsstat4::kClidInuse;
  }
  // Any unconfirmed record of this id is replaced (§16.33.5: "removes").
  if (unconf) drop_client_locked(unconf->clientid);
  nfs4::Verifier4 confirm{};
  const std::uint64_t n = next_confirm_++;
  for (int i = 0; i < 8; ++i) confirm[i] = static_cast<std::uint8_t>(n >> (56 - 8 * i));
  confirm[0] ^= static_cast<std::uint8_t>(config_.boot);  // differs across instances
  if (conf && conf->principal == principal && conf->verifier == verifier) {
    // Same client, same incarnation: a callback update.  The clientid stays;
    // SETCLIENTID_CONFIRM with the new confirm verifier applies it.
    conf->update_confirm = confirm;
    *r = {conf->clientid, confirm};
    return Nfsstat4::kOk;
  }
  // A new client, a rebooted one (new verifier: its confirmed record and
  // state go when the new clientid is confirmed), or another principal
  // taking over an id without state.
  if (clients_.size() >= config_.max_clients) return Nfsstat4::kResource;
  Client c;
  c.clientid = (std::uint64_t{config_.boot} << 32) | next_client_++;
  c.ownerid = key;
  c.verifier = verifier;
  c.v40 = true;
  c.principal = principal;
  c.confirm = confirm;
  c.renewed = now;
  *r = {c.clientid, confirm};
  clients_.emplace(c.clientid, std::move(c));
  return Nfsstat4::kOk;
}

Nfsstat4 Nfs4State::setclientid_confirm(std::uint64_t clientid, const nfs4::Verifier4& confirm,
                                        const Nfs4Principal& principal) {
  std::lock_guard lock(mu_);
  const auto now = now_();
  expire_locked(now);
  if (static_cast<std::uint32_t>(clientid >> 32) != config_.boot) return Nfsstat4::kStaleClientid;
  Client* c = client_locked(clientid);
  if (!c || !c->v40) return Nfsstat4::kStaleClientid;
  if (c->principal != principal) return Nfsstat4::kClidInuse;
  if (c->confirmed) {
    if (c->update_confirm && *c->update_confirm == confirm) {  // callback update
      c->update_confirm.reset();
      c->confirm = confirm;
      c->renewed = now;
      return Nfsstat4::kOk;
    }
    if (c->confirm == confirm) {  // a retransmission of the confirm
      c->renewed = now;
      return Nfsstat4::kOk;
    }
    return Nfsstat4::kStaleClientid;
  }
  if (c->confirm != confirm) return Nfsstat4::kStaleClientid;
  // The client (re)starts: a previous confirmed record of the same id and
  // all of its state go away (RFC 7530 §16.34.5).
  std::vector<std::uint64_t> old;
  for (const auto& [cid, o] : clients_) {
    if (o.v40 && o.confirmed && o.ownerid == c->ownerid) old.push_back(cid);
  }
  for (auto cid : old) drop_client_locked(cid);
  c = client_locked(clientid);
  c->confirmed = true;
  c->renewed = now;
  return Nfsstat4::kOk;
}

Nfsstat4 Nfs4State::renew(std::uint64_t clientid) {
  std::lock_guard lock(mu_);
  Client* c = nullptr;
  return renew_v40_locked(clientid, &c);
}

// ------------------------------------------------------------ open-owners

void Nfs4State::drop_owners_locked(std::uint64_t clientid) {
  auto it = owners_.lower_bound(OwnerKey{clientid, std::string()});
  while (it != owners_.end() && it->first.first == clientid) {
    if (it->second.closed) closed_.erase(*it->second.closed);
    it = owners_.erase(it);
  }
}

void Nfs4State::note_closed_locked(const OpenState& o, const Other& other) {
  auto it = owners_.find(OwnerKey{o.clientid, o.owner});
  if (it == owners_.end()) return;
  if (it->second.closed) closed_.erase(*it->second.closed);
  it->second.closed = other;
  closed_[other] = it->first;
}

Nfsstat4 Nfs4State::begin_owner_locked(const OwnerKey& key, std::uint32_t seqid, OwnerOp* r) {
  Client* c = client_locked(key.first);
  if (!c) return Nfsstat4::kStaleClientid;
  auto it = owners_.find(key);
  if (it == owners_.end()) {
    if (c->owners >= config_.max_opens_per_client) return Nfsstat4::kResource;
    it = owners_.emplace(key, OpenOwner{}).first;
    ++c->owners;
  }
  OpenOwner& o = it->second;
  if (o.busy) return Nfsstat4::kDelay;  // the same owner's request is still running
  r->clientid = key.first;
  r->owner = key.second;
  if (Nfsstat4 st = check_seqid(o.seqid, seqid, r); st != Nfsstat4::kOk) return st;
  if (r->replay) {
    r->fh = o.fh;
    return Nfsstat4::kOk;
  }
  // The client moved past its last request: a CLOSE before it can no
  // longer be retransmitted.
  if (o.closed) {
    closed_.erase(*o.closed);
    o.closed.reset();
  }
  o.busy = true;
  return Nfsstat4::kOk;
}

Nfsstat4 Nfs4State::begin_open_owner(std::uint64_t clientid, std::span<const std::uint8_t> owner,
                                     std::uint32_t seqid, OwnerOp* r) {
  std::lock_guard lock(mu_);
  Client* c = nullptr;
  if (Nfsstat4 st = renew_v40_locked(clientid, &c); st != Nfsstat4::kOk) return st;
  OwnerKey key{clientid, to_string(owner)};
  auto it = owners_.find(key);
  if (it != owners_.end() && !it->second.confirmed && !it->second.busy &&
      it->second.seqid.started() && it->second.seqid.check(seqid) != OwnerSeqid::Check::kReplay) {
    // An unconfirmed open-owner opening again: the client gave up on the
    // unconfirmed open; start the owner afresh (RFC 7530 §16.18.5).
    for (auto o = opens_.begin(); o != opens_.end();) {
      if (o->second.clientid == clientid && o->second.owner == key.second) {
        auto range = opens_by_fh_.equal_range(o->second.fh);
        for (auto f = range.first; f != range.second; ++f) {
          if (f->second == o->first) {
            opens_by_fh_.erase(f);
            break;
          }
        }
        --c->opens;
        o = opens_.erase(o);
      } else {
        ++o;
      }
    }
    if (it->second.closed) closed_.erase(*it->second.closed);
    it->second = OpenOwner{};
  }
  return begin_owner_locked(key, seqid, r);
}

Nfsstat4 Nfs4State::begin_stateid_owner(const nfs4::Stateid4& s, std::uint32_t seqid,
                                        OwnerOp* r) {
  std::lock_guard lock(mu_);
  const auto now = now_();
  expire_locked(now);
  if (be32(s.other.data()) != config_.boot) return Nfsstat4::kStaleStateid;
  OwnerKey key;
  if (auto it = opens_.find(s.other); it != opens_.end()) {
    key = {it->second.clientid, it->second.owner};
  } else if (auto cl = closed_.find(s.other); cl != closed_.end()) {
    key = cl->second;
  } else {
    return unknown_stateid_locked(s.other);
  }
  Client* c = client_locked(key.first);
  if (!c) return Nfsstat4::kBadStateid;
  c->renewed = now;
  return begin_owner_locked(key, seqid, r);
}

void Nfs4State::end_owner_op(const OwnerOp& op, std::uint32_t seqid, Nfsstat4 status,
                             std::span<const std::uint8_t> body,
                             const std::optional<storage::FileHandle>& fh) {
  std::lock_guard lock(mu_);
  auto it = owners_.find(OwnerKey{op.clientid, op.owner});
  if (it == owners_.end()) return;  // the client went away meanwhile
  OpenOwner& o = it->second;
  o.busy = false;
  o.seqid.record(seqid, status, body);
  if (OwnerSeqid::bumps_seqid(status)) o.fh = fh;
  if (!o.seqid.started()) {  // a new owner whose first request did not count
    if (Client* c = client_locked(op.clientid)) --c->owners;
    owners_.erase(it);
  }
}

// ------------------------------------------------------------ lock-owners

Nfsstat4 Nfs4State::begin_lock_owner(const nfs4::Stateid4& s, std::uint32_t seqid, OwnerOp* r) {
  std::lock_guard lock(mu_);
  const auto now = now_();
  expire_locked(now);
  if (be32(s.other.data()) != config_.boot) return Nfsstat4::kStaleStateid;
  auto it = lock_states_.find(s.other);
  if (it == lock_states_.end()) return unknown_stateid_locked(s.other);
  Client* c = client_locked(it->second.clientid);
  if (!c) return Nfsstat4::kBadStateid;
  auto rec = lock_owner_ids_.find({it->second.clientid, it->second.owner});
  if (rec == lock_owner_ids_.end()) return Nfsstat4::kBadStateid;
  LockOwnerRec& o = rec->second;
  if (o.busy) return Nfsstat4::kDelay;  // the same owner's request is still running
  c->renewed = now;
  r->clientid = it->second.clientid;
  r->owner = it->second.owner;
  r->fh.reset();  // LOCK and LOCKU leave the current filehandle alone
  if (Nfsstat4 st = check_seqid(o.seqid, seqid, r); st != Nfsstat4::kOk || r->replay) return st;
  o.busy = true;
  return Nfsstat4::kOk;
}

void Nfs4State::end_lock_owner_op(const OwnerOp& op, std::uint32_t seqid, Nfsstat4 status,
                                  std::span<const std::uint8_t> body) {
  std::lock_guard lock(mu_);
  auto it = lock_owner_ids_.find({op.clientid, op.owner});
  if (it == lock_owner_ids_.end()) return;  // refused new lock-owner, or the client went
  it->second.busy = false;
  it->second.seqid.record(seqid, status, body);
}

bool Nfs4State::open_needs_confirm(std::uint64_t clientid, std::span<const std::uint8_t> owner,
                                   const nfs4::Stateid4& sid, bool reclaim) {
  std::lock_guard lock(mu_);
  auto it = owners_.find(OwnerKey{clientid, to_string(owner)});
  if (it == owners_.end() || it->second.confirmed) return false;
  if (reclaim) {  // CLAIM_PREVIOUS: the owner was confirmed before the restart
    it->second.confirmed = true;
    return false;
  }
  if (auto o = opens_.find(sid.other); o != opens_.end()) o->second.confirmed = false;
  return true;
}

Nfsstat4 Nfs4State::find_open_v40_locked(const nfs4::Stateid4& s, OpenState** out,
                                         bool unconfirmed_ok) {
  // RFC 7530 §9.1.4: another instance's stateid is stale; an older seqid is
  // OLD_STATEID, a newer one (never handed out) BAD_STATEID; seqid 0 has no
  // special meaning in 4.0.
  if (be32(s.other.data()) != config_.boot) return Nfsstat4::kStaleStateid;
  auto it = opens_.find(s.other);
  if (it == opens_.end()) return unknown_stateid_locked(s.other);
  if (s.seqid < it->second.seqid) return Nfsstat4::kOldStateid;
  if (s.seqid > it->second.seqid) return Nfsstat4::kBadStateid;
  if (!unconfirmed_ok && !it->second.confirmed) return Nfsstat4::kBadStateid;
  *out = &it->second;
  return Nfsstat4::kOk;
}

Nfsstat4 Nfs4State::open_confirm(const nfs4::Stateid4& s, const storage::FileHandle& fh,
                                 nfs4::Stateid4* out) {
  std::lock_guard lock(mu_);
  OpenState* o = nullptr;
  if (Nfsstat4 st = find_open_v40_locked(s, &o, true); st != Nfsstat4::kOk) return st;
  if (o->fh != to_string(fh.bytes())) return Nfsstat4::kBadStateid;
  auto ow = owners_.find(OwnerKey{o->clientid, o->owner});
  if (o->confirmed || ow == owners_.end() || ow->second.confirmed) return Nfsstat4::kBadStateid;
  ow->second.confirmed = true;
  o->confirmed = true;
  ++o->seqid;
  out->seqid = o->seqid;
  out->other = s.other;
  return Nfsstat4::kOk;
}

}  // namespace nasd::server
