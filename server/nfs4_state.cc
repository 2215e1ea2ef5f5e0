// NFSv4.1 client, session and open state.  See nfs4_state.h.
#include "server/nfs4_state.h"

#include "server/nfs4_bytes.h"

#include <algorithm>
#include <cstring>

namespace nasd::server {

using nfs4::Nfsstat4;

namespace {

using nfs4_bytes::be32;
using nfs4_bytes::put_be32;
using nfs4_bytes::to_string;

constexpr std::uint32_t kDenyAccess = 3;

}  // namespace

std::size_t Nfs4State::OtherHash::operator()(const Other& o) const {
  std::uint64_t a, b;
  std::memcpy(&a, o.data(), 8);
  std::uint32_t c;
  std::memcpy(&c, o.data() + 8, 4);
  b = c;
  return std::hash<std::uint64_t>()(a * 31 + b);
}

std::size_t Nfs4State::SessionHash::operator()(const nfs4::SessionId& s) const {
  std::uint64_t a, b;
  std::memcpy(&a, s.data(), 8);
  std::memcpy(&b, s.data() + 8, 8);
  return std::hash<std::uint64_t>()(a ^ (b * 0x9e3779b97f4a7c15ULL));
}

Nfs4State::Nfs4State(Config config, std::function<Clock::time_point()> now)
    : config_(config), now_(std::move(now)) {}

Nfs4State::Client* Nfs4State::client_locked(std::uint64_t clientid) {
  auto it = clients_.find(clientid);
  return it == clients_.end() ? nullptr : &it->second;
}

void Nfs4State::drop_client_locked(std::uint64_t clientid) {
  auto it = clients_.find(clientid);
  if (it == clients_.end()) return;
  for (const auto& sid : it->second.sessions) sessions_.erase(sid);
  drop_owners_locked(clientid);
  for (auto o = opens_.begin(); o != opens_.end();) {
    if (o->second.clientid == clientid) {
      auto range = opens_by_fh_.equal_range(o->second.fh);
      for (auto f = range.first; f != range.second; ++f) {
        if (f->second == o->first) {
          opens_by_fh_.erase(f);
          break;
        }
      }
      o = opens_.erase(o);
    } else {
      ++o;
    }
  }
  clients_.erase(it);
}

void Nfs4State::expire_locked(Clock::time_point now) {
  // Sweeping is O(clients): do it at most once a second.
  if (now - last_sweep_ < std::chrono::seconds(1) && last_sweep_ != Clock::time_point{}) return;
  last_sweep_ = now;
  std::vector<std::uint64_t> dead;
  for (const auto& [id, c] : clients_) {
    if (c.busy_slots == 0 && now - c.renewed > config_.lease) dead.push_back(id);
  }
  for (auto id : dead) {
    note_expired_locked(clients_.at(id));
    drop_client_locked(id);
  }
}

void Nfs4State::expire() {
  std::lock_guard lock(mu_);
  last_sweep_ = {};
  expire_locked(now_());
}

std::size_t Nfs4State::client_count() const {
  std::lock_guard lock(mu_);
  return clients_.size();
}

std::size_t Nfs4State::open_count() const {
  std::lock_guard lock(mu_);
  return opens_.size();
}

Nfsstat4 Nfs4State::exchange_id(const nfs4::ExchangeIdArgs& a, ExchangeIdResult* r) {
  std::lock_guard lock(mu_);
  const auto now = now_();
  expire_locked(now);
  const std::string owner = to_string(a.ownerid);
  Client* confirmed = nullptr;
  Client* unconfirmed = nullptr;
  for (auto& [id, c] : clients_) {
    if (c.ownerid != owner) continue;
    (c.confirmed ? confirmed : unconfirmed) = &c;
  }
  constexpr std::uint32_t kUpdConfirmedRecA = 0x40000000;
  if (a.flags & kUpdConfirmedRecA) {  // update of a confirmed record (§18.35.5 cases 6-7)
    if (!confirmed) return Nfsstat4::kNoEnt;
    if (confirmed->verifier != a.verifier) return Nfsstat4::kNotSame;
    confirmed->renewed = now;
    *r = {confirmed->clientid, confirmed->cs_sequence, true};
    return Nfsstat4::kOk;
  }
  if (confirmed && confirmed->verifier == a.verifier) {  // case 2: same client again
    confirmed->renewed = now;
    *r = {confirmed->clientid, confirmed->cs_sequence, true};
    return Nfsstat4::kOk;
  }
  // New client, or a rebooted one (case 5: its old record goes when the new
  // one is confirmed by CREATE_SESSION), or a new unconfirmed attempt (case 4).
  if (unconfirmed) drop_client_locked(unconfirmed->clientid);
  if (clients_.size() >= config_.max_clients) return Nfsstat4::kResource;
  Client c;
  c.clientid = (std::uint64_t{config_.boot} << 32) | next_client_++;
  c.ownerid = owner;
  c.verifier = a.verifier;
  c.renewed = now;
  *r = {c.clientid, c.cs_sequence, false};
  clients_.emplace(c.clientid, std::move(c));
  return Nfsstat4::kOk;
}

Nfsstat4 Nfs4State::create_session(const nfs4::CreateSessionArgs& a, CreateSessionResult* r) {
  std::lock_guard lock(mu_);
  const auto now = now_();
  expire_locked(now);
  Client* c = client_locked(a.clientid);
  if (!c) return Nfsstat4::kStaleClientid;
  if (a.sequence + 1 == c->cs_sequence && c->last_session) {  // retry (§18.36.4)
    *r = *c->last_session;
    return Nfsstat4::kOk;
  }
  if (a.sequence != c->cs_sequence) return Nfsstat4::kSeqMisordered;
  if (c->sessions.size() >= config_.max_sessions_per_client) return Nfsstat4::kResource;
  if (a.fore.maxrequestsize < 512 || a.fore.maxresponsesize < 512 || a.fore.maxoperations < 2 ||
      a.fore.maxrequests < 1) {
    return Nfsstat4::kTooSmall;
  }
  if (!c->confirmed) {
    // A rebooted client's old record is replaced now (case 5 of §18.35.5).
    std::vector<std::uint64_t> old;
    for (const auto& [id, o] : clients_) {
      if (o.confirmed && o.ownerid == c->ownerid) old.push_back(id);
    }
    for (auto id : old) drop_client_locked(id);
    c = client_locked(a.clientid);
    c->confirmed = true;
  }
  c->renewed = now;
  CreateSessionResult res;
  put_be32(res.sessionid.data(), static_cast<std::uint32_t>(a.clientid >> 32));
  put_be32(res.sessionid.data() + 4, static_cast<std::uint32_t>(a.clientid));
  put_be32(res.sessionid.data() + 8, config_.boot);
  put_be32(res.sessionid.data() + 12, next_session_++);
  res.sequence = a.sequence;
  // No CONN_BACK_CHAN and no PERSIST: no callbacks are promised.
  res.flags = 0;
  res.fore.headerpadsize = 0;
  res.fore.maxrequestsize = std::min(a.fore.maxrequestsize, config_.max_request);
  res.fore.maxresponsesize = std::min(a.fore.maxresponsesize, config_.max_response);
  res.fore.maxresponsesize_cached =
      std::min(a.fore.maxresponsesize_cached, config_.max_cached_reply);
  res.fore.maxoperations = std::min(a.fore.maxoperations, config_.max_ops);
  res.fore.maxrequests = std::min(a.fore.maxrequests, config_.max_slots);
  res.back = a.back;
  res.back.rdma_ird.reset();
  res.back.maxrequests = std::min<std::uint32_t>(a.back.maxrequests, 1);
  Session s;
  s.id = res.sessionid;
  s.clientid = a.clientid;
  s.slots.resize(res.fore.maxrequests);
  s.max_ops = res.fore.maxoperations;
  s.max_request = res.fore.maxrequestsize;
  s.max_response = res.fore.maxresponsesize;
  // Replies up to the negotiated size are cached; at least a few hundred
  // bytes so the usual SEQUENCE+PUTFH+GETATTR answers replay exactly.
  s.max_cached = std::max<std::uint32_t>(res.fore.maxresponsesize_cached, 1024);
  s.max_cached = std::min(s.max_cached, config_.max_cached_reply);
  sessions_.emplace(s.id, std::move(s));
  c->sessions.push_back(res.sessionid);
  ++c->cs_sequence;
  c->last_session = res;
  *r = res;
  return Nfsstat4::kOk;
}

Nfsstat4 Nfs4State::destroy_session(const nfs4::SessionId& id) {
  std::lock_guard lock(mu_);
  auto it = sessions_.find(id);
  if (it == sessions_.end()) return Nfsstat4::kBadSession;
  if (Client* c = client_locked(it->second.clientid)) {
    std::erase(c->sessions, id);
  }
  sessions_.erase(it);
  return Nfsstat4::kOk;
}

Nfsstat4 Nfs4State::destroy_clientid(std::uint64_t clientid) {
  std::lock_guard lock(mu_);
  Client* c = client_locked(clientid);
  if (!c) return Nfsstat4::kStaleClientid;
  if (!c->sessions.empty()) return Nfsstat4::kClientidBusy;
  drop_client_locked(clientid);
  return Nfsstat4::kOk;
}

Nfsstat4 Nfs4State::bind_conn(const nfs4::SessionId& id) {
  std::lock_guard lock(mu_);
  return sessions_.contains(id) ? Nfsstat4::kOk : Nfsstat4::kBadSession;
}

Nfsstat4 Nfs4State::reclaim_complete(std::uint64_t clientid) {
  std::lock_guard lock(mu_);
  Client* c = client_locked(clientid);
  if (!c) return Nfsstat4::kStaleClientid;
  if (c->reclaim_complete) return Nfsstat4::kCompleteAlready;
  c->reclaim_complete = true;
  return Nfsstat4::kOk;
}

Nfsstat4 Nfs4State::sequence(const nfs4::SequenceArgs& a, SequenceResult* r) {
  std::lock_guard lock(mu_);
  const auto now = now_();
  expire_locked(now);
  auto it = sessions_.find(a.sessionid);
  if (it == sessions_.end()) return Nfsstat4::kBadSession;
  Session& s = it->second;
  Client* c = client_locked(s.clientid);
  if (!c) return Nfsstat4::kBadSession;
  if (a.slotid >= s.slots.size()) return Nfsstat4::kBadSlot;
  Slot& slot = s.slots[a.slotid];
  r->clientid = s.clientid;
  r->highest_slotid = static_cast<std::uint32_t>(s.slots.size() - 1);
  r->target_highest_slotid = r->highest_slotid;
  r->status_flags = 0;
  r->max_ops = s.max_ops;
  r->max_cached = s.max_cached;
  r->max_request = s.max_request;
  r->max_response = s.max_response;
  r->replay = false;
  if (a.sequenceid == slot.seqid) {  // a retry of the slot's last request
    if (slot.busy) return Nfsstat4::kDelay;
    if (!slot.cached) return Nfsstat4::kRetryUncachedRep;
    r->replay = true;
    r->cached = slot.reply;
    c->renewed = now;
    return Nfsstat4::kOk;
  }
  if (a.sequenceid != slot.seqid + 1) return Nfsstat4::kSeqMisordered;
  if (slot.busy) return Nfsstat4::kDelay;  // cannot happen: seqid was checked
  slot.seqid = a.sequenceid;
  slot.busy = true;
  slot.cached = false;
  slot.reply.clear();
  ++c->busy_slots;
  c->renewed = now;
  return Nfsstat4::kOk;
}

void Nfs4State::complete_slot(const nfs4::SessionId& id, std::uint32_t slotid,
                              std::span<const std::uint8_t> reply, bool cacheable) {
  std::lock_guard lock(mu_);
  auto it = sessions_.find(id);
  if (it == sessions_.end() || slotid >= it->second.slots.size()) return;
  Slot& slot = it->second.slots[slotid];
  if (!slot.busy) return;
  slot.busy = false;
  if (cacheable && reply.size() <= it->second.max_cached) {
    slot.reply.assign(reply.begin(), reply.end());
    slot.cached = true;
  }
  if (Client* c = client_locked(it->second.clientid)) --c->busy_slots;
}

// ------------------------------------------------------------ open state

Nfsstat4 Nfs4State::find_open_locked(const nfs4::Stateid4& s, OpenState** out) {
  if (be32(s.other.data()) != config_.boot) return Nfsstat4::kStaleStateid;
  auto it = opens_.find(s.other);
  if (it == opens_.end()) return Nfsstat4::kBadStateid;
  if (s.seqid != 0 && s.seqid < it->second.seqid) return Nfsstat4::kOldStateid;
  if (s.seqid > it->second.seqid) return Nfsstat4::kBadStateid;
  *out = &it->second;
  return Nfsstat4::kOk;
}

Nfsstat4 Nfs4State::open(std::uint64_t clientid, std::span<const std::uint8_t> owner,
                         const storage::FileHandle& fh, std::uint32_t access, std::uint32_t deny,
                         nfs4::Stateid4* out) {
  std::lock_guard lock(mu_);
  Client* c = client_locked(clientid);
  if (!c) return Nfsstat4::kStaleClientid;
  if (access == 0 || access > 3 || deny > kDenyAccess) return Nfsstat4::kInval;
  const std::string key = to_string(fh.bytes());
  const std::string own = to_string(owner);
  OpenState* mine = nullptr;
  Other mine_other{};
  auto range = opens_by_fh_.equal_range(key);
  for (auto f = range.first; f != range.second; ++f) {
    OpenState& o = opens_.at(f->second);
    if (o.clientid == clientid && o.owner == own) {
      mine = &o;
      mine_other = f->second;
      continue;
    }
    if ((access & o.deny) || (deny & o.access)) return Nfsstat4::kShareDenied;
  }
  if (mine) {  // upgrade (§18.16.3: the union of the share modes)
    mine->access |= access;
    mine->deny |= deny;
    ++mine->seqid;
    out->seqid = mine->seqid;
    out->other = mine_other;
    return Nfsstat4::kOk;
  }
  if (c->opens >= config_.max_opens_per_client) return Nfsstat4::kResource;
  Other other{};
  put_be32(other.data(), config_.boot);
  const std::uint64_t n = next_open_++;
  for (int i = 0; i < 8; ++i) other[4 + i] = static_cast<std::uint8_t>(n >> (56 - 8 * i));
  OpenState o;
  o.clientid = clientid;
  o.owner = own;
  o.fh = key;
  o.access = access;
  o.deny = deny;
  opens_.emplace(other, std::move(o));
  opens_by_fh_.emplace(key, other);
  ++c->opens;
  out->seqid = 1;
  out->other = other;
  return Nfsstat4::kOk;
}

Nfsstat4 Nfs4State::check_stateid(const nfs4::Stateid4& s, const storage::FileHandle& fh,
                                  bool write, std::uint32_t minor) {
  if (s.is_anonymous() || s.is_bypass()) return Nfsstat4::kOk;
  std::lock_guard lock(mu_);
  OpenState* o = nullptr;
  Nfsstat4 st = minor == 0 ? find_open_v40_locked(s, &o) : find_open_locked(s, &o);
  if (st != Nfsstat4::kOk) return st;
  if (o->fh != to_string(fh.bytes())) return Nfsstat4::kBadStateid;
  if (write && !(o->access & nfs4::kShareAccessWrite)) return Nfsstat4::kOpenMode;
  if (Client* c = client_locked(o->clientid)) c->renewed = now_();
  return Nfsstat4::kOk;
}

Nfsstat4 Nfs4State::close(const nfs4::Stateid4& s, const storage::FileHandle& fh,
                          std::uint32_t minor) {
  std::lock_guard lock(mu_);
  OpenState* o = nullptr;
  Nfsstat4 st = minor == 0 ? find_open_v40_locked(s, &o) : find_open_locked(s, &o);
  if (st != Nfsstat4::kOk) return st;
  if (o->fh != to_string(fh.bytes())) return Nfsstat4::kBadStateid;
  if (minor == 0) note_closed_locked(*o, s.other);
  auto range = opens_by_fh_.equal_range(o->fh);
  for (auto f = range.first; f != range.second; ++f) {
    if (f->second == s.other) {
      opens_by_fh_.erase(f);
      break;
    }
  }
  if (Client* c = client_locked(o->clientid)) --c->opens;
  opens_.erase(s.other);
  return Nfsstat4::kOk;
}

Nfsstat4 Nfs4State::open_downgrade(const nfs4::Stateid4& s, const storage::FileHandle& fh,
                                   std::uint32_t access, std::uint32_t deny,
                                   nfs4::Stateid4* out, std::uint32_t minor) {
  std::lock_guard lock(mu_);
  OpenState* o = nullptr;
  Nfsstat4 st = minor == 0 ? find_open_v40_locked(s, &o) : find_open_locked(s, &o);
  if (st != Nfsstat4::kOk) return st;
  if (o->fh != to_string(fh.bytes())) return Nfsstat4::kBadStateid;
  if (access == 0 || (access & ~o->access) || (deny & ~o->deny)) return Nfsstat4::kInval;
  o->access = access;
  o->deny = deny;
  ++o->seqid;
  out->seqid = o->seqid;
  out->other = s.other;
  return Nfsstat4::kOk;
}

Nfsstat4 Nfs4State::test_stateid(std::uint64_t clientid, const nfs4::Stateid4& s) {
  if (s.is_anonymous() || s.is_bypass() || s.is_current()) return Nfsstat4::kBadStateid;
  std::lock_guard lock(mu_);
  OpenState* o = nullptr;
  if (Nfsstat4 st = find_open_locked(s, &o); st != Nfsstat4::kOk) return st;
  if (o->clientid != clientid) return Nfsstat4::kBadStateid;
  return Nfsstat4::kOk;
}

Nfsstat4 Nfs4State::free_stateid(std::uint64_t clientid, const nfs4::Stateid4& s) {
  Nfsstat4 st = test_stateid(clientid, s);
  return st == Nfsstat4::kOk ? Nfsstat4::kLocksHeld : st;
}

}  // namespace nasd::server
