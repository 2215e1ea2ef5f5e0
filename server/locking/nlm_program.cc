// NLM v4 and NSM v1 programs.  See nlm_program.h.
#include "server/locking/nlm_program.h"

#include <spdlog/spdlog.h>

#include "protocol/locking/nsm.h"
#include "server/exports/access.h"

namespace nasd::server {

using nlm4::Proc;
using nlm4::Stat;
using storage::Status;

namespace {

constexpr const char* kNlmNames[nlm4::kProcCount] = {
    "NULL", "TEST", "LOCK", "CANCEL", "UNLOCK", "GRANTED", "TEST_MSG", "LOCK_MSG",
    "CANCEL_MSG", "UNLOCK_MSG", "GRANTED_MSG", "TEST_RES", "LOCK_RES", "CANCEL_RES",
    "UNLOCK_RES", "GRANTED_RES", "PROC16", "PROC17", "PROC18", "PROC19", "SHARE", "UNSHARE",
    "NM_LOCK", "FREE_ALL"};

constexpr const char* kNsmNames[nsm::kProcCount] = {
    "SM_NULL", "SM_STAT", "SM_MON", "SM_UNMON", "SM_UNMON_ALL", "SM_SIMU_CRASH", "SM_NOTIFY"};

std::string to_string(nlm4::Bytes b) { return {b.begin(), b.end()}; }

LockOwner owner_of(const nlm4::Lock& l) {
  return LockOwner{LockClient::nlm(l.caller_name), l.svid, to_string(l.oh)};
}

boost::asio::ip::address unmapped(const boost::asio::ip::address& a) {
  if (a.is_v6() && a.to_v6().is_v4_mapped()) {
    return boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, a.to_v6());
  }
  return a;
}

/// Encodes with `fn` into a fresh vector (bodies of outgoing calls).
template <class Fn>
std::vector<std::uint8_t> encode_body(std::size_t max, Fn fn) {
  std::vector<std::uint8_t> buf(max);
  xdr::XdrEncoder out(buf);
  fn(out);
  buf.resize(out.ok() ? out.position() : 0);
  return buf;
}

template <class T>
DecodeResult decode_into(xdr::XdrDecoder& in, ArgSlot& args) {
  auto& a = args.emplace<T>();
  if (nlm4::decode(in, a)) return DecodeResult::kOk;
  args.reset();
  return DecodeResult::kGarbageArgs;
}

constexpr std::size_t kMaxBody = 4 * nlm4::kMaxNetobj + 256;

}  // namespace

NlmProgram::NlmProgram(LockManager& locks, NsmState& nsm, GracePeriod& grace,
                       CallbackClient& callbacks, storage::Backend* backend,
                       const ExportRegistry* exports)
    : locks_(locks), nsm_(nsm), grace_(grace), callbacks_(callbacks), backend_(backend),
      exports_(exports) {}

Stat NlmProgram::check_access(const CallContext& ctx, nlm4::Bytes fh_bytes) const {
  storage::FileHandle fh;
  if (!fh.assign(fh_bytes)) return Stat::kStaleFh;
  std::shared_ptr<const ExportTable> table = exports_->current();
  AccessGrant grant;
  switch (access_check(*backend_, *table, fh, AccessCaller{ctx.header, ctx.peer, ctx.peer_port},
                       &grant)) {
    case AccessDenial::kNone: return Stat::kGranted;
    case AccessDenial::kBadHandle: case AccessDenial::kStale: return Stat::kStaleFh;
    default: return Stat::kFailed;  // not listed, insecure port, flavor
  }
}

bool NlmProgram::validate(CallContext& ctx, ArgSlot& args, xdr::XdrEncoder& out) {
  if (backend_ == nullptr || exports_ == nullptr) return true;
  const auto proc = static_cast<Proc>(ctx.header.proc);
  nlm4::Bytes fh, cookie;
  switch (proc) {
    case Proc::kTest:
    case Proc::kTestMsg: {
      const auto& a = args.get<nlm4::TestArgs>();
      fh = a.lock.fh;
      cookie = a.cookie;
      break;
    }
    case Proc::kLock:
    case Proc::kLockMsg:
    case Proc::kNmLock: {
      const auto& a = args.get<nlm4::LockArgs>();
      fh = a.lock.fh;
      cookie = a.cookie;
      break;
    }
    case Proc::kCancel:
    case Proc::kCancelMsg: {
      const auto& a = args.get<nlm4::CancArgs>();
      fh = a.lock.fh;
      cookie = a.cookie;
      break;
    }
    case Proc::kUnlock:
    case Proc::kUnlockMsg: {
      const auto& a = args.get<nlm4::UnlockArgs>();
      fh = a.lock.fh;
      cookie = a.cookie;
      break;
    }
    case Proc::kShare:
    case Proc::kUnshare: {
      const auto& a = args.get<nlm4::ShareArgs>();
      fh = a.share.fh;
      cookie = a.cookie;
      break;
    }
    default:
      return true;
  }
  const Stat stat = check_access(ctx, fh);
  if (stat == Stat::kGranted) return true;
  switch (proc) {
    case Proc::kTest:
      nlm4::encode(out, nlm4::TestRes{cookie, stat, {}});
      break;
    case Proc::kShare:
    case Proc::kUnshare:
      nlm4::encode_shareres(out, cookie, stat, 0);
      break;
    case Proc::kLock:
    case Proc::kNmLock:
    case Proc::kCancel:
    case Proc::kUnlock:
      nlm4::encode(out, nlm4::Res{cookie, stat});
      break;
    default: {  // a _MSG call: void reply, the refusal goes back as its _RES
      const Proc res_proc = static_cast<Proc>(ctx.header.proc + 5);
      if (proc == Proc::kTestMsg) {
        nlm4::TestRes r{cookie, stat, {}};
        send_res(ctx.peer, res_proc,
                 encode_body(kMaxBody, [&](xdr::XdrEncoder& o) { nlm4::encode(o, r); }));
      } else {
        nlm4::Res r{cookie, stat};
        send_res(ctx.peer, res_proc,
                 encode_body(kMaxBody, [&](xdr::XdrEncoder& o) { nlm4::encode(o, r); }));
      }
      break;
    }
  }
  return false;
}

const char* NlmProgram::procedure_name(std::uint32_t proc) const {
  return proc < nlm4::kProcCount ? kNlmNames[proc] : nullptr;
}

DecodeResult NlmProgram::decode(const CallContext& ctx, xdr::XdrDecoder& in, ArgSlot& args) {
  switch (static_cast<Proc>(ctx.header.proc)) {
    case Proc::kNull:
      args.reset();
      return DecodeResult::kOk;
    case Proc::kTest:
    case Proc::kTestMsg:
    case Proc::kGranted:
    case Proc::kGrantedMsg:
      return decode_into<nlm4::TestArgs>(in, args);
    case Proc::kLock:
    case Proc::kLockMsg:
    case Proc::kNmLock:
      return decode_into<nlm4::LockArgs>(in, args);
    case Proc::kCancel:
    case Proc::kCancelMsg:
      return decode_into<nlm4::CancArgs>(in, args);
    case Proc::kUnlock:
    case Proc::kUnlockMsg:
      return decode_into<nlm4::UnlockArgs>(in, args);
    case Proc::kTestRes:
      return decode_into<nlm4::TestRes>(in, args);
    case Proc::kLockRes:
    case Proc::kCancelRes:
    case Proc::kUnlockRes:
    case Proc::kGrantedRes:
      return decode_into<nlm4::Res>(in, args);
    case Proc::kShare:
    case Proc::kUnshare:
      return decode_into<nlm4::ShareArgs>(in, args);
    case Proc::kFreeAll:
      return decode_into<nlm4::NotifyArgs>(in, args);
    default:
      return DecodeResult::kProcUnavail;
  }
}

std::size_t NlmProgram::max_reply_size(const CallContext&, ArgSlot&) { return kMaxBody; }

Stat NlmProgram::do_test(const CallContext&, const nlm4::TestArgs& a, nlm4::Holder& holder,
                         std::string& holder_oh) {
  if (grace_.active()) return Stat::kDeniedGracePeriod;
  const auto [start, end] = lock_range(a.lock.l_offset, a.lock.l_len);
  auto c = locks_.test(lock_file_key(a.lock.fh), owner_of(a.lock),
                       a.exclusive ? LockType::kExclusive : LockType::kShared, start, end);
  if (!c) return Stat::kGranted;
  holder_oh = c->owner.opaque;
  holder.exclusive = c->type == LockType::kExclusive;
  holder.svid = static_cast<std::uint32_t>(c->owner.id);
  holder.oh = {reinterpret_cast<const std::uint8_t*>(holder_oh.data()), holder_oh.size()};
  holder.l_offset = c->start;
  holder.l_len = c->end == kToEof ? 0 : c->end - c->start + 1;
  return Stat::kDenied;
}

Stat NlmProgram::do_lock(const CallContext& ctx, const nlm4::LockArgs& a, bool monitor) {
  if (grace_.active() && !a.reclaim) return Stat::kDeniedGracePeriod;
  const auto [start, end] = lock_range(a.lock.l_offset, a.lock.l_len);
  const std::string fh = lock_file_key(a.lock.fh);
  const LockOwner owner = owner_of(a.lock);
  const LockType type = a.exclusive ? LockType::kExclusive : LockType::kShared;
  const auto host = unmapped(ctx.peer);
  std::uint64_t cookie = 0;
  if (a.block) {
    std::lock_guard lock(mu_);
    for (auto& [id, b] : blocked_) {
      if (b.caller_name == owner.client.host && b.svid == a.lock.svid && b.offset == a.lock.l_offset &&
          b.length == a.lock.l_len && b.exclusive == a.exclusive &&
          std::equal(b.fh.begin(), b.fh.end(), a.lock.fh.begin(), a.lock.fh.end())) {
        cookie = id;
        b.host = host;
        break;
      }
    }
    if (cookie == 0) {
      cookie = next_cookie_++;
      blocked_[cookie] = Blocked{host, owner.client.host, {a.lock.fh.begin(), a.lock.fh.end()},
                                 {a.lock.oh.begin(), a.lock.oh.end()}, a.lock.svid,
                                 a.lock.l_offset, a.lock.l_len, a.exclusive};
    }
  }
  std::vector<GrantedWaiter> woken;
  const LockStatus s = locks_.lock(fh, owner, type, start, end, a.block, cookie, nullptr, &woken);
  if (s != LockStatus::kBlocked && cookie != 0) {
    std::lock_guard lock(mu_);
    blocked_.erase(cookie);
  }
  notify_granted(std::move(woken));
  if (a.reclaim) {
    spdlog::info("nlm: reclaim by {} (svid {}) {}", owner.client.host, a.lock.svid,
                 s == LockStatus::kGranted ? "granted" : "refused");
  }
  if (monitor && (s == LockStatus::kGranted || s == LockStatus::kBlocked)) {
    nsm_.monitor({owner.client.host, host});
  }
  switch (s) {
    case LockStatus::kGranted: return Stat::kGranted;
    case LockStatus::kDenied: return Stat::kDenied;
    case LockStatus::kBlocked: return Stat::kBlocked;
    case LockStatus::kNoLocks: return Stat::kDeniedNoLocks;
  }
  return Stat::kFailed;
}

Stat NlmProgram::do_cancel(const nlm4::CancArgs& a) {
  const auto [start, end] = lock_range(a.lock.l_offset, a.lock.l_len);
  const LockOwner owner = owner_of(a.lock);
  locks_.cancel(lock_file_key(a.lock.fh), owner,
                a.exclusive ? LockType::kExclusive : LockType::kShared, start, end);
  std::lock_guard lock(mu_);
  std::erase_if(blocked_, [&](const auto& kv) {
    const Blocked& b = kv.second;
    return b.caller_name == owner.client.host && b.svid == a.lock.svid &&
           b.offset == a.lock.l_offset && b.length == a.lock.l_len &&
           std::equal(b.fh.begin(), b.fh.end(), a.lock.fh.begin(), a.lock.fh.end());
  });
  return Stat::kGranted;
}

Stat NlmProgram::do_unlock(const nlm4::UnlockArgs& a) {
  // Plain variables, not a structured binding: clang 14 (the fuzz build)
  // cannot capture bindings in the lambda below.
  const auto range = lock_range(a.lock.l_offset, a.lock.l_len);
  const auto start = range.first, end = range.second;
  notify_granted(locks_.unlock(lock_file_key(a.lock.fh), owner_of(a.lock), start, end));
  {
    // The lock manager dropped this owner's overlapping queued requests.
    std::lock_guard lock(mu_);
    std::erase_if(blocked_, [&](const auto& kv) {
      const Blocked& b = kv.second;
      const auto [bs, be] = lock_range(b.offset, b.length);
      return b.caller_name == a.lock.caller_name && b.svid == a.lock.svid && bs <= end &&
             start <= be && std::equal(b.fh.begin(), b.fh.end(), a.lock.fh.begin(), a.lock.fh.end());
    });
  }
  return Stat::kGranted;
}

void NlmProgram::notify_granted(std::vector<GrantedWaiter> granted) {
  for (GrantedWaiter& g : granted) {
    Blocked b;
    {
      std::lock_guard lock(mu_);
      auto it = blocked_.find(g.cookie);
      if (it == blocked_.end()) continue;  // e.g. an NFSv4 waiter one day
      b = std::move(it->second);
      blocked_.erase(it);
    }
    CallbackClient::Call call;
    call.host = b.host;
    call.prog = nlm4::kProgram;
    call.vers = nlm4::kVersion;
    call.proc = static_cast<std::uint32_t>(Proc::kGranted);
    const std::uint64_t id = g.cookie;
    call.args = [b, id](const boost::asio::ip::address&) {
      return encode_body(kMaxBody, [&](xdr::XdrEncoder& out) {
        std::uint8_t cookie[8];
        for (int i = 0; i < 8; ++i) cookie[i] = static_cast<std::uint8_t>(id >> (56 - 8 * i));
        nlm4::TestArgs args;
        args.cookie = cookie;
        args.exclusive = b.exclusive;
        args.lock.caller_name = b.caller_name;
        args.lock.fh = b.fh;
        args.lock.oh = b.oh;
        args.lock.svid = b.svid;
        args.lock.l_offset = b.offset;
        args.lock.l_len = b.length;
        nlm4::encode(out, args);
      });
    };
    // A client that answers anything but GRANTED no longer waits: give the
    // lock back so it does not stay held by nobody.
    call.done = [this, file = g.file, lk = g.lock](std::optional<std::span<const std::uint8_t>> r) {
      if (!r) return;  // unreachable client: it re-polls with LOCK and finds it held
      xdr::XdrDecoder in(*r);
      nlm4::Res res;
      if (nlm4::decode(in, res) && res.stat != Stat::kGranted) {
        spdlog::info("nlm: {} refused GRANTED ({}); releasing", lk.owner.client.host,
                     static_cast<unsigned>(res.stat));
        notify_granted(locks_.unlock(file, lk.owner, lk.start, lk.end));
      }
    };
    if (!callbacks_.submit(std::move(call))) {
      spdlog::warn("nlm: callback queue full; {} learns of its lock by polling", b.caller_name);
    }
  }
}

void NlmProgram::send_res(const boost::asio::ip::address& host, Proc res_proc,
                          std::vector<std::uint8_t> body) {
  CallbackClient::Call call;
  call.host = unmapped(host);
  call.prog = nlm4::kProgram;
  call.vers = nlm4::kVersion;
  call.proc = static_cast<std::uint32_t>(res_proc);
  call.args = [body = std::move(body)](const boost::asio::ip::address&) { return body; };
  call.attempts = 2;
  callbacks_.submit(std::move(call));
}

Status NlmProgram::execute(CallContext& ctx, ArgSlot& args, xdr::XdrEncoder& out) {
  spdlog::debug("nlm {} from {} over {}", procedure_name(ctx.header.proc), ctx.peer.to_string(),
                ctx.datagram ? "udp" : "tcp");
  switch (static_cast<Proc>(ctx.header.proc)) {
    case Proc::kNull:
      return Status::kOk;
    case Proc::kTest:
    case Proc::kTestMsg: {
      const auto& a = args.get<nlm4::TestArgs>();
      nlm4::TestRes res;
      std::string oh;
      res.cookie = a.cookie;
      res.stat = do_test(ctx, a, res.holder, oh);
      if (ctx.header.proc == static_cast<std::uint32_t>(Proc::kTest)) {
        nlm4::encode(out, res);
      } else {
        send_res(ctx.peer, Proc::kTestRes,
                 encode_body(kMaxBody, [&](xdr::XdrEncoder& o) { nlm4::encode(o, res); }));
      }
      return Status::kOk;
    }
    case Proc::kLock:
    case Proc::kLockMsg:
    case Proc::kNmLock: {
      auto a = args.get<nlm4::LockArgs>();
      const bool nm = ctx.header.proc == static_cast<std::uint32_t>(Proc::kNmLock);
      if (nm) a.block = false;  // NM_LOCK: non-monitored, never blocks
      nlm4::Res res{a.cookie, do_lock(ctx, a, !nm)};
      if (ctx.header.proc == static_cast<std::uint32_t>(Proc::kLockMsg)) {
        send_res(ctx.peer, Proc::kLockRes,
                 encode_body(kMaxBody, [&](xdr::XdrEncoder& o) { nlm4::encode(o, res); }));
      } else {
        nlm4::encode(out, res);
      }
      return Status::kOk;
    }
    case Proc::kCancel:
    case Proc::kCancelMsg: {
      const auto& a = args.get<nlm4::CancArgs>();
      nlm4::Res res{a.cookie, do_cancel(a)};
      if (ctx.header.proc == static_cast<std::uint32_t>(Proc::kCancel)) {
        nlm4::encode(out, res);
      } else {
        send_res(ctx.peer, Proc::kCancelRes,
                 encode_body(kMaxBody, [&](xdr::XdrEncoder& o) { nlm4::encode(o, res); }));
      }
      return Status::kOk;
    }
    case Proc::kUnlock:
    case Proc::kUnlockMsg: {
      const auto& a = args.get<nlm4::UnlockArgs>();
      nlm4::Res res{a.cookie, do_unlock(a)};
      if (ctx.header.proc == static_cast<std::uint32_t>(Proc::kUnlock)) {
        nlm4::encode(out, res);
      } else {
        send_res(ctx.peer, Proc::kUnlockRes,
                 encode_body(kMaxBody, [&](xdr::XdrEncoder& o) { nlm4::encode(o, res); }));
      }
      return Status::kOk;
    }
    case Proc::kGranted:
    case Proc::kGrantedMsg: {
      // nasd is no lock client: nothing of ours waits for a grant.
      const auto& a = args.get<nlm4::TestArgs>();
      nlm4::Res res{a.cookie, Stat::kDenied};
      if (ctx.header.proc == static_cast<std::uint32_t>(Proc::kGranted)) {
        nlm4::encode(out, res);
      } else {
        send_res(ctx.peer, Proc::kGrantedRes,
                 encode_body(kMaxBody, [&](xdr::XdrEncoder& o) { nlm4::encode(o, res); }));
      }
      return Status::kOk;
    }
    case Proc::kTestRes:
    case Proc::kLockRes:
    case Proc::kCancelRes:
    case Proc::kUnlockRes:
    case Proc::kGrantedRes:
      // Answers to calls nasd does not make asynchronously (GRANTED goes
      // out synchronously): accepted and ignored.
      return Status::kOk;
    case Proc::kShare: {
      const auto& a = args.get<nlm4::ShareArgs>();
      Stat stat;
      if (grace_.active() && !a.reclaim) {
        stat = Stat::kDeniedGracePeriod;
      } else {
        Share s{LockOwner{LockClient::nlm(a.share.caller_name), 0, to_string(a.share.oh)},
                a.share.access & 3u, a.share.mode & 3u};
        stat = locks_.share(lock_file_key(a.share.fh), s) ? Stat::kGranted : Stat::kDenied;
        if (stat == Stat::kGranted) nsm_.monitor({s.owner.client.host, unmapped(ctx.peer)});
      }
      nlm4::encode_shareres(out, a.cookie, stat, 0);
      return Status::kOk;
    }
    case Proc::kUnshare: {
      const auto& a = args.get<nlm4::ShareArgs>();
      locks_.unshare(lock_file_key(a.share.fh),
                     LockOwner{LockClient::nlm(a.share.caller_name), 0, to_string(a.share.oh)});
      nlm4::encode_shareres(out, a.cookie, Stat::kGranted, 0);
      return Status::kOk;
    }
    case Proc::kFreeAll: {
      const auto& a = args.get<nlm4::NotifyArgs>();
      const std::string name(a.name);
      notify_granted(locks_.free_client(LockClient::nlm(name)));
      {
        std::lock_guard lock(mu_);
        std::erase_if(blocked_, [&](const auto& kv) { return kv.second.caller_name == name; });
      }
      nsm_.unmonitor(name);
      return Status::kOk;
    }
  }
  return Status::kServerFault;
}

void NlmProgram::host_rebooted(std::string_view name, const boost::asio::ip::address& address) {
  std::vector<std::string> names{std::string(name)};
  const auto addr = unmapped(address);
  for (const MonitoredHost& h : nsm_.monitored()) {
    if (unmapped(h.address) == addr && h.name != name) names.push_back(h.name);
  }
  for (const std::string& n : names) {
    spdlog::info("nlm: client {} rebooted; freeing its locks", n);
    {
      std::lock_guard lock(mu_);
      std::erase_if(blocked_, [&](const auto& kv) { return kv.second.caller_name == n; });
    }
    notify_granted(locks_.free_client(LockClient::nlm(n)));
    nsm_.unmonitor(n);
  }
}

std::size_t NlmProgram::blocked_count() const {
  std::lock_guard lock(mu_);
  return blocked_.size();
}

// ------------------------------------------------------------------ NSM

NsmProgram::NsmProgram(NsmState& state, NlmProgram& nlm) : state_(state), nlm_(nlm) {}

std::uint32_t NsmProgram::number() const { return nsm::kProgram; }
std::uint32_t NsmProgram::low_version() const { return nsm::kVersion; }
std::uint32_t NsmProgram::high_version() const { return nsm::kVersion; }
std::uint32_t NsmProgram::procedure_count() const { return nsm::kProcCount; }

const char* NsmProgram::procedure_name(std::uint32_t proc) const {
  return proc < nsm::kProcCount ? kNsmNames[proc] : nullptr;
}

DecodeResult NsmProgram::decode(const CallContext& ctx, xdr::XdrDecoder& in, ArgSlot& args) {
  bool ok = true;
  switch (static_cast<nsm::Proc>(ctx.header.proc)) {
    case nsm::Proc::kNull:
    case nsm::Proc::kSimuCrash:
      args.reset();
      return DecodeResult::kOk;
    case nsm::Proc::kStat:
      ok = nsm::decode(in, args.emplace<nsm::SmName>());
      break;
    case nsm::Proc::kMon:
      ok = nsm::decode(in, args.emplace<nsm::Mon>());
      break;
    case nsm::Proc::kUnmon:
      ok = nsm::decode(in, args.emplace<nsm::MonId>());
      break;
    case nsm::Proc::kUnmonAll:
      ok = nsm::decode(in, args.emplace<nsm::MyId>());
      break;
    case nsm::Proc::kNotify:
      ok = nsm::decode(in, args.emplace<nsm::StatChge>());
      break;
    default:
      return DecodeResult::kProcUnavail;
  }
  if (ok) return DecodeResult::kOk;
  args.reset();
  return DecodeResult::kGarbageArgs;
}

Status NsmProgram::execute(CallContext& ctx, ArgSlot& args, xdr::XdrEncoder& out) {
  spdlog::debug("nsm {} from {} over {}", procedure_name(ctx.header.proc), ctx.peer.to_string(),
                ctx.datagram ? "udp" : "tcp");
  switch (static_cast<nsm::Proc>(ctx.header.proc)) {
    case nsm::Proc::kNull:
    case nsm::Proc::kSimuCrash:
      return Status::kOk;
    case nsm::Proc::kStat:
    case nsm::Proc::kMon:
      nsm::encode_stat_res(out, nsm::Res::kSucc, state_.state());
      return Status::kOk;
    case nsm::Proc::kUnmon:
    case nsm::Proc::kUnmonAll:
      nsm::encode_stat(out, state_.state());
      return Status::kOk;
    case nsm::Proc::kNotify: {
      const auto& a = args.get<nsm::StatChge>();
      nlm_.host_rebooted(a.mon_name, ctx.peer);
      return Status::kOk;
    }
  }
  return Status::kServerFault;
}

void notify_previous_clients(NsmState& nsm, CallbackClient& callbacks, GracePeriod& grace) {
  const auto& clients = nsm.previous_clients();
  if (clients.empty()) {
    grace.end();  // nobody can reclaim: no reason to hold new locks back
    return;
  }
  spdlog::info("nsm: state {}; notifying {} client(s) that held locks", nsm.state(),
               clients.size());
  for (const MonitoredHost& h : clients) {
    CallbackClient::Call call;
    call.host = h.address;
    call.prog = nsm::kProgram;
    call.vers = nsm::kVersion;
    call.proc = static_cast<std::uint32_t>(nsm::Proc::kNotify);
    const std::int32_t state = nsm.state();
    call.args = [state](const boost::asio::ip::address& local) {
      return encode_body(64 + nsm::kMaxStrLen, [&](xdr::XdrEncoder& out) {
        const std::string mon_name = local.to_string();
        nsm::encode(out, nsm::StatChge{mon_name, state});
      });
    };
    call.done = [&nsm, name = h.name](std::optional<std::span<const std::uint8_t>> r) {
      spdlog::info("nsm: SM_NOTIFY to {} {}", name, r ? "delivered" : "failed");
      nsm.forget_previous(name);
    };
    call.attempts = 5;
    callbacks.submit(std::move(call));
  }
}

}  // namespace nasd::server
