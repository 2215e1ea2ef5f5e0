// NFSv4.1 client, session and open state.  See state.h.
#include "server/nfs4/state/state.h"

#include "server/nfs4/state/bytes.h"

#include <algorithm>
#include <cstdio>
#include <cstring>

#include <spdlog/spdlog.h>

#include "server/nfs4/state/recovery.h"
#include "server/locking/nsm_state.h"

namespace nasd::server {

using nfs4::Nfsstat4;

namespace {

using nfs4_bytes::be32;
using nfs4_bytes::put_be32;
using nfs4_bytes::to_string;

constexpr std::uint32_t kDenyAccess = 3;

/// [start, end] of an NFSv4 offset/length (RFC 8881 §18.10.3): length 0 and
/// ranges past 2^64 - 1 are kInval; all ones means to end of file.
Nfsstat4 lock_range4(std::uint64_t offset, std::uint64_t length, std::uint64_t* start,
                     std::uint64_t* end) {
  if (length == 0) return Nfsstat4::kInval;
  *start = offset;
  if (length == ~std::uint64_t{0}) {
    *end = kToEof;
    return Nfsstat4::kOk;
  }
  if (length - 1 > kToEof - offset) return Nfsstat4::kInval;
  *end = offset + length - 1;
  return Nfsstat4::kOk;
}

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
  // Lock state: the lock stateids, lock-owners and every lock it holds.
  for (auto l = lock_states_.begin(); l != lock_states_.end();) {
    l = l->second.clientid == clientid ? lock_states_.erase(l) : std::next(l);
  }
  std::erase_if(lock_index_, [&](const auto& e) { return std::get<0>(e.first) == clientid; });
  std::erase_if(lock_owner_ids_, [&](const auto& e) { return e.first.first == clientid; });
  if (locks_) {
    auto woken = locks_->free_client(LockClient::nfs4(clientid));
    if (!woken.empty() && on_granted_) on_granted_(std::move(woken));
  }
  if (records_ && it->second.recorded) records_->remove(it->second.ownerid);
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
  // No PERSIST; CONN_BACK_CHAN is granted by Nfs4Program when the
  // connection can carry callbacks (Nfs4Callbacks).
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

bool Nfs4State::has_session(const nfs4::SessionId& id) const {
  std::lock_guard lock(mu_);
  return sessions_.contains(id);
}

bool Nfs4State::has_client(std::uint64_t clientid) const {
  std::lock_guard lock(mu_);
  return clients_.contains(clientid);
}

Nfsstat4 Nfs4State::reclaim_complete(std::uint64_t clientid) {
  std::lock_guard lock(mu_);
  Client* c = client_locked(clientid);
  if (!c) return Nfsstat4::kStaleClientid;
  if (c->reclaim_complete) return Nfsstat4::kCompleteAlready;
  c->reclaim_complete = true;
  if (records_ && records_->previous(c->ownerid)) {
    reclaimed_.insert(c->ownerid);
    spdlog::info("nfs4: RECLAIM_COMPLETE from a previous client ({} of {})", reclaimed_.size(),
                 records_->previous_count());
    maybe_end_grace_locked();
  }
  return Nfsstat4::kOk;
}

void Nfs4State::session_limits(const Session& s, SequenceResult* r) {
  r->clientid = s.clientid;
  r->highest_slotid = static_cast<std::uint32_t>(s.slots.size() - 1);
  r->target_highest_slotid = r->highest_slotid;
  r->status_flags = 0;
  r->max_ops = s.max_ops;
  r->max_cached = s.max_cached;
  r->max_request = s.max_request;
  r->max_response = s.max_response;
  r->replay = false;
}

Nfsstat4 Nfs4State::peek_sequence(const nfs4::SequenceArgs& a, SequenceResult* r) {
  std::lock_guard lock(mu_);
  auto it = sessions_.find(a.sessionid);
  if (it == sessions_.end()) return Nfsstat4::kDelay;
  const Session& s = it->second;
  if (!client_locked(s.clientid) || a.slotid >= s.slots.size()) return Nfsstat4::kDelay;
  const Slot& slot = s.slots[a.slotid];
  if (slot.busy || a.sequenceid != slot.seqid + 1) return Nfsstat4::kDelay;
  session_limits(s, r);
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
  session_limits(s, r);
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
  if (be32(s.other.data()) != config_.boot) return stale_stateid(1);
  auto it = opens_.find(s.other);
  if (it == opens_.end()) return unknown_stateid_locked(s.other);
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
  const Other other = new_other_locked(clientid);
  OpenState o;
  o.clientid = clientid;
  o.owner = own;
  o.fh = key;
  o.access = access;
  o.deny = deny;
  opens_.emplace(other, std::move(o));
  opens_by_fh_.emplace(key, other);
  ++c->opens;
  record_client_locked(*c);
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
  if (st == Nfsstat4::kBadStateid && lock_states_.contains(s.other)) {
    // A lock stateid: I/O with the access of the open it derives from.
    LockState* l = nullptr;
    if (st = find_lock_locked(s, &l, minor); st != Nfsstat4::kOk) return st;
    auto it = opens_.find(l->open);
    if (it == opens_.end()) return Nfsstat4::kBadStateid;
    o = &it->second;
  } else if (st != Nfsstat4::kOk) {
    return st;
  }
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
  // Locks of lock-owners derived from this open must go first (RFC 8881
  // §18.2.4 / RFC 7530 §16.2.4: NFS4ERR_LOCKS_HELD); their lock stateids
  // without locks go with the open.
  std::vector<Other> derived;
  for (const auto& [other, l] : lock_states_) {
    if (l.open != s.other) continue;
    if (holds_locks_locked(l)) return Nfsstat4::kLocksHeld;
    derived.push_back(other);
  }
  for (const auto& other : derived) erase_lock_state_locked(other);
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
  if (lock_states_.contains(s.other)) {
    LockState* l = nullptr;
    if (Nfsstat4 st = find_lock_locked(s, &l); st != Nfsstat4::kOk) return st;
    return l->clientid == clientid ? Nfsstat4::kOk : Nfsstat4::kBadStateid;
  }
  OpenState* o = nullptr;
  if (Nfsstat4 st = find_open_locked(s, &o); st != Nfsstat4::kOk) return st;
  if (o->clientid != clientid) return Nfsstat4::kBadStateid;
  return Nfsstat4::kOk;
}

Nfsstat4 Nfs4State::free_stateid(std::uint64_t clientid, const nfs4::Stateid4& s) {
  Nfsstat4 st = test_stateid(clientid, s);
  if (st != Nfsstat4::kOk) return st;
  std::lock_guard lock(mu_);
  auto it = lock_states_.find(s.other);
  if (it == lock_states_.end()) return Nfsstat4::kLocksHeld;  // an open: CLOSE it
  if (holds_locks_locked(it->second)) return Nfsstat4::kLocksHeld;
  erase_lock_state_locked(s.other);
  return Nfsstat4::kOk;
}

// ------------------------------------------------------------ byte-range locks

Nfs4State::Other Nfs4State::new_other_locked(std::uint64_t clientid) {
  // boot (4 bytes) | the client's number (4) | a counter (4): a stateid
  // whose state is gone still names its client (EXPIRED, RFC 7530 §9.6.3).
  // The counter wraps after 2^32 stateids of one server run; a clash needs
  // a stateid of the same client alive that long.
  Other other{};
  put_be32(other.data(), config_.boot);
  put_be32(other.data() + 4, static_cast<std::uint32_t>(clientid));
  put_be32(other.data() + 8, static_cast<std::uint32_t>(next_open_++));
  return other;
}

void Nfs4State::set_lock_manager(LockManager* locks,
                                 std::function<void(std::vector<GrantedWaiter>)> on_granted) {
  std::lock_guard lock(mu_);
  locks_ = locks;
  on_granted_ = std::move(on_granted);
}

void Nfs4State::set_recovery(GracePeriod* grace, Nfs4ClientRecords* records) {
  std::lock_guard lock(mu_);
  grace_ = grace;
  records_ = records;
  if (records_ && records_->previous_count() > 0) {
    spdlog::info("nfs4: {} client(s) of the previous run may reclaim state in the grace period",
                 records_->previous_count());
  }
  maybe_end_grace_locked();
}

void Nfs4State::maybe_end_grace_locked() {
  if (!grace_ || grace_released_) return;
  const std::size_t expected = records_ ? records_->previous_count() : 0;
  if (reclaimed_.size() < expected) return;
  grace_released_ = true;
  grace_->end();
}

void Nfs4State::record_client_locked(Client& c) {
  if (c.recorded || !records_) return;
  c.recorded = true;
  records_->add(c.ownerid);  // a small file written once per client
}

bool Nfs4State::in_grace() const { return grace_ && grace_->active(); }

bool Nfs4State::open_writes_record(std::uint64_t clientid) {
  std::lock_guard lock(mu_);
  if (!records_) return false;
  Client* c = client_locked(clientid);
  if (!c) return false;
  if (!c->recorded) return true;
  return !stale_forgotten_ && grace_ && !grace_->active();  // check_grace_locked()
}

Nfsstat4 Nfs4State::check_grace_locked(const Client& c, bool reclaim) {
  const bool grace = grace_ && grace_->active();
  if (!grace && grace_ && records_ && !stale_forgotten_) {
    stale_forgotten_ = true;  // previous clients that did not come back
    records_->forget_stale();
  }
  if (!reclaim) return grace ? Nfsstat4::kGrace : Nfsstat4::kOk;
  if (!grace || c.reclaim_complete) return Nfsstat4::kNoGrace;
  if (!records_ || !records_->previous(c.ownerid)) return Nfsstat4::kReclaimBad;
  return Nfsstat4::kOk;
}

Nfsstat4 Nfs4State::check_grace(std::uint64_t clientid, bool reclaim) {
  std::lock_guard lock(mu_);
  Client* c = client_locked(clientid);
  if (!c) return Nfsstat4::kStaleClientid;
  return check_grace_locked(*c, reclaim);
}

Nfsstat4 Nfs4State::unknown_stateid_locked(const Other& other) const {
  const std::uint64_t clientid = std::uint64_t{config_.boot} << 32 | be32(other.data() + 4);
  return expired_.contains(clientid) ? Nfsstat4::kExpired : Nfsstat4::kBadStateid;
}

Nfsstat4 Nfs4State::stale_stateid(std::uint32_t minor) {
  return minor == 0 ? Nfsstat4::kStaleStateid : Nfsstat4::kBadStateid;
}

Nfsstat4 Nfs4State::find_lock_locked(const nfs4::Stateid4& s, LockState** out,
                                     std::uint32_t minor) {
  if (be32(s.other.data()) != config_.boot) return stale_stateid(minor);
  auto it = lock_states_.find(s.other);
  if (it == lock_states_.end()) return unknown_stateid_locked(s.other);
  // Seqid 0 means "the current one" in 4.1 only (RFC 8881 §8.2.2).
  if ((minor == 0 || s.seqid != 0) && s.seqid < it->second.seqid) return Nfsstat4::kOldStateid;
  if (s.seqid > it->second.seqid) return Nfsstat4::kBadStateid;
  *out = &it->second;
  return Nfsstat4::kOk;
}

LockOwner Nfs4State::lock_owner_of(const LockState& l) const {
  return LockOwner{LockClient::nfs4(l.clientid), l.owner_id, l.owner};
}

bool Nfs4State::holds_locks_locked(const LockState& l) const {
  if (!locks_) return false;
  const LockOwner me = lock_owner_of(l);
  for (const Lock& k : locks_->locks(l.fh)) {
    if (k.owner.same(me)) return true;
  }
  return false;
}

void Nfs4State::erase_lock_state_locked(const Other& other) {
  auto it = lock_states_.find(other);
  if (it == lock_states_.end()) return;
  const LockState& l = it->second;
  lock_index_.erase({l.clientid, l.owner, l.fh});
  if (Client* c = client_locked(l.clientid)) --c->lock_states;
  const std::uint64_t clientid = l.clientid;
  const std::string owner = l.owner;
  lock_states_.erase(it);
  // The lock-owner goes with its last lock stateid.
  for (const auto& [key, o] : lock_index_) {
    if (std::get<0>(key) == clientid && std::get<1>(key) == owner) return;
  }
  lock_owner_ids_.erase({clientid, owner});
}

void Nfs4State::fill_denied(const Lock& conflict, nfs4::LockDenied* denied) const {
  denied->offset = conflict.start;
  denied->length = conflict.end == kToEof ? ~std::uint64_t{0} : conflict.end - conflict.start + 1;
  denied->locktype = conflict.type == LockType::kExclusive ? nfs4::kWriteLt : nfs4::kReadLt;
  const LockClient& who = conflict.owner.client;
  if (who.kind == LockClient::Kind::kNfs4) {
    denied->clientid = who.clientid;
    denied->owner.assign(conflict.owner.opaque.begin(), conflict.owner.opaque.end());
  } else {  // an NLM owner: no clientid; the owner named by host and svid
    denied->clientid = 0;
    const std::string text = who.host + "/" + std::to_string(conflict.owner.id);
    denied->owner.assign(text.begin(), text.end());
  }
  if (denied->owner.size() > nfs4::kOpaqueMax) denied->owner.resize(nfs4::kOpaqueMax);
}

Nfsstat4 Nfs4State::lock(std::uint64_t session_clientid, const nfs4::LockArgs& a,
                         const storage::FileHandle& fh, nfs4::Stateid4* out,
                         nfs4::LockDenied* denied) {
  std::lock_guard lock(mu_);
  if (!locks_) return Nfsstat4::kLockNotSupp;
  std::uint64_t start = 0, end = 0;
  if (Nfsstat4 st = lock_range4(a.offset, a.length, &start, &end); st != Nfsstat4::kOk) return st;
  const std::string key = lock_file_key(fh.bytes());
  const bool write = a.locktype == nfs4::kWriteLt || a.locktype == nfs4::kWritewLt;
  // NFSv4.0: a new lock-owner's open_seqid has been checked (and the reply
  // is cached) by the open-owner's seqid machinery, an existing one's
  // lock_seqid by the lock-owner's (begin_lock_owner()), both in
  // Nfs4Program::run_op_v40 before this runs.  In 4.1 the seqids are
  // ignored by definition (RFC 8881 §18.10.3).
  const std::uint32_t minor = session_clientid == 0 ? 0 : 1;
  LockState* l = nullptr;
  Other other{};
  bool created = false;
  if (a.new_lock_owner) {
    OpenState* o = nullptr;
    Nfsstat4 ost = minor == 0 ? find_open_v40_locked(a.open_stateid, &o)
                              : find_open_locked(a.open_stateid, &o);
    if (ost != Nfsstat4::kOk) return ost;
    if (o->fh != key) return Nfsstat4::kBadStateid;
    if (session_clientid != 0 && o->clientid != session_clientid) return Nfsstat4::kBadStateid;
    Client* c = client_locked(o->clientid);
    if (!c) return Nfsstat4::kStaleClientid;
    if (Nfsstat4 st = check_grace_locked(*c, a.reclaim); st != Nfsstat4::kOk) return st;
    if (write && !(o->access & nfs4::kShareAccessWrite)) return Nfsstat4::kOpenMode;
    const std::string owner = to_string(a.lock_owner.owner);
    auto idx = lock_index_.find({o->clientid, owner, key});
    if (minor == 0) {
      // RFC 7530 §16.10.5: open_to_lock_owner4 when the lock-owner already
      // has state for the file is BAD_SEQID (a retransmission was answered
      // from the open-owner's cache before this); a lock-owner known from
      // another file continues its own sequence.
      if (idx != lock_index_.end()) return Nfsstat4::kBadSeqid;
      auto rec = lock_owner_ids_.find({o->clientid, owner});
      if (rec != lock_owner_ids_.end()) {
        if (rec->second.busy) return Nfsstat4::kDelay;
        if (rec->second.seqid.check(a.lock_seqid) != OwnerSeqid::Check::kNew) {
          return Nfsstat4::kBadSeqid;
        }
      }
    }
    if (idx != lock_index_.end()) {
      // Already known: the client lost track (or 4.1 racing opens); go on
      // with the existing lock stateid.
      other = idx->second;
      l = &lock_states_.at(other);
    } else {
      if (c->lock_states >= config_.max_opens_per_client) return Nfsstat4::kResource;
      LockState n;
      n.clientid = o->clientid;
      n.owner = owner;
      n.fh = key;
      n.open = a.open_stateid.other;
      n.seqid = 0;  // becomes 1 on the grant below
      auto [oid, fresh] = lock_owner_ids_.try_emplace({o->clientid, owner}, next_lock_owner_);
      if (fresh) ++next_lock_owner_;
      n.owner_id = oid->second.id;
      other = new_other_locked(o->clientid);
      l = &lock_states_.emplace(other, std::move(n)).first->second;
      lock_index_.emplace(std::make_tuple(o->clientid, owner, key), other);
      ++c->lock_states;
      created = true;
    }
  } else {
    if (Nfsstat4 st = find_lock_locked(a.lock_stateid, &l, minor); st != Nfsstat4::kOk) {
      return st;
    }
    if (l->fh != key) return Nfsstat4::kBadStateid;
    if (session_clientid != 0 && l->clientid != session_clientid) return Nfsstat4::kBadStateid;
    Client* c = client_locked(l->clientid);
    if (!c) return Nfsstat4::kStaleClientid;
    if (Nfsstat4 st = check_grace_locked(*c, a.reclaim); st != Nfsstat4::kOk) return st;
    auto o = opens_.find(l->open);
    if (o == opens_.end()) return Nfsstat4::kBadStateid;
    if (write && !(o->second.access & nfs4::kShareAccessWrite)) return Nfsstat4::kOpenMode;
    other = a.lock_stateid.other;
  }
  Lock conflict;
  std::vector<GrantedWaiter> woken;
  const LockStatus ls =
      locks_->lock(key, lock_owner_of(*l), write ? LockType::kExclusive : LockType::kShared, start,
                   end, /*wait=*/false, 0, &conflict, &woken);
  if (!woken.empty() && on_granted_) on_granted_(std::move(woken));
  if (ls != LockStatus::kGranted) {
    if (created) erase_lock_state_locked(other);
    if (ls == LockStatus::kNoLocks) return Nfsstat4::kResource;
    fill_denied(conflict, denied);
    return Nfsstat4::kDenied;
  }
  ++l->seqid;
  out->seqid = l->seqid;
  out->other = other;
  return Nfsstat4::kOk;
}

Nfsstat4 Nfs4State::lockt(std::uint64_t clientid, const nfs4::LocktArgs& a,
                          const storage::FileHandle& fh, nfs4::LockDenied* denied) {
  std::lock_guard lock(mu_);
  if (!locks_) return Nfsstat4::kLockNotSupp;
  Client* c = client_locked(clientid);
  if (!c) return expired_.contains(clientid) ? Nfsstat4::kExpired : Nfsstat4::kStaleClientid;
  if (grace_ && grace_->active()) return Nfsstat4::kGrace;
  std::uint64_t start = 0, end = 0;
  if (Nfsstat4 st = lock_range4(a.offset, a.length, &start, &end); st != Nfsstat4::kOk) return st;
  LockOwner me{LockClient::nfs4(clientid), 0, {}};  // id 0: no lock-owner has it
  if (auto it = lock_owner_ids_.find({clientid, to_string(a.owner.owner)});
      it != lock_owner_ids_.end()) {
    me.id = it->second.id;
  }
  const bool write = a.locktype == nfs4::kWriteLt || a.locktype == nfs4::kWritewLt;
  auto conflict = locks_->test(lock_file_key(fh.bytes()), me,
                               write ? LockType::kExclusive : LockType::kShared, start, end);
  if (!conflict) return Nfsstat4::kOk;
  fill_denied(*conflict, denied);
  return Nfsstat4::kDenied;
}

Nfsstat4 Nfs4State::locku(const nfs4::LockuArgs& a, const storage::FileHandle& fh,
                          nfs4::Stateid4* out, std::uint32_t minor) {
  std::lock_guard lock(mu_);
  if (!locks_) return Nfsstat4::kLockNotSupp;
  // NFSv4.0: a.seqid was checked by begin_lock_owner() (see lock()).
  LockState* l = nullptr;
  if (Nfsstat4 st = find_lock_locked(a.lock_stateid, &l, minor); st != Nfsstat4::kOk) return st;
  if (l->fh != lock_file_key(fh.bytes())) return Nfsstat4::kBadStateid;
  std::uint64_t start = 0, end = 0;
  if (Nfsstat4 st = lock_range4(a.offset, a.length, &start, &end); st != Nfsstat4::kOk) return st;
  auto woken = locks_->unlock(l->fh, lock_owner_of(*l), start, end);
  if (!woken.empty() && on_granted_) on_granted_(std::move(woken));
  ++l->seqid;
  out->seqid = l->seqid;
  out->other = a.lock_stateid.other;
  return Nfsstat4::kOk;
}

Nfsstat4 Nfs4State::release_lockowner(const nfs4::LockOwner4& owner) {
  std::lock_guard lock(mu_);
  if (!client_locked(owner.clientid)) {
    return expired_.contains(owner.clientid) ? Nfsstat4::kExpired : Nfsstat4::kStaleClientid;
  }
  const std::string own = to_string(owner.owner);
  std::vector<Other> mine;
  for (const auto& [key, other] : lock_index_) {
    if (std::get<0>(key) != owner.clientid || std::get<1>(key) != own) continue;
    if (holds_locks_locked(lock_states_.at(other))) return Nfsstat4::kLocksHeld;
    mine.push_back(other);
  }
  for (const auto& other : mine) erase_lock_state_locked(other);
  lock_owner_ids_.erase({owner.clientid, own});
  return Nfsstat4::kOk;
}

std::size_t Nfs4State::lock_stateid_count() const {
  std::lock_guard lock(mu_);
  return lock_states_.size();
}

}  // namespace nasd::server
