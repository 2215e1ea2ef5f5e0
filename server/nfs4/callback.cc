// NFSv4 callback paths.  See callback.h.
#include "server/nfs4/callback.h"

#include <charconv>
#include <map>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/registry.h>
#include <spdlog/spdlog.h>

#include "protocol/nfs4/nfs4_cb.h"
#include "server/transport/rpc_callback.h"

namespace nasd::server {

namespace {

using Outcome = RpcBackChannel::Outcome;

enum CbProc : std::size_t { kCbNull = 0, kCbSequence = 1 };

struct SessionIdHash {
  std::size_t operator()(const nfs4::SessionId& s) const {
    std::size_t h = 1469598103934665603ull;
    for (auto b : s) h = (h ^ b) * 1099511628211ull;
    return h;
  }
};

std::string hex(const nfs4::SessionId& id) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string s;
  for (auto b : id) {
    s += kDigits[b >> 4];
    s += kDigits[b & 15];
  }
  return s;
}

rpc::CallCredential credential_of(const nfs4::CallbackSec& s) {
  rpc::CallCredential c;
  c.flavor = s.flavor == 1 ? rpc::AuthFlavor::kSys : rpc::AuthFlavor::kNone;
  c.stamp = s.stamp;
  c.uid = s.uid;
  c.gid = s.gid;
  c.machinename = s.machinename;
  c.gids = s.gids;
  return c;
}

}  // namespace

struct Nfs4Callbacks::Impl : std::enable_shared_from_this<Impl> {
  struct Session {
    std::uint64_t clientid = 0;
    std::uint32_t minor = 1;
    bool wanted = false;                        // the client asked for a back channel
    std::uint32_t cb_program = 0;
    std::optional<nfs4::CallbackSec> sec;       // nullopt: no usable flavor
    std::shared_ptr<RpcBackChannel> conn;       // the bound back-channel connection
    std::uint32_t cb_seqid = 1;                 // next csa_sequenceid of slot 0 (§20.9.3)
    Path path = Path::kNone;
    bool probe_needed = false;
    bool probing = false;
    std::uint64_t generation = 0;               // bumped by every binding change
  };
  struct Client40 {
    std::uint32_t cb_program = 0;
    std::optional<boost::asio::ip::address> host;  // nullopt: unusable address
    std::uint16_t port = 0;
    Path path = Path::kNone;
  };

  Config config;
  CallbackClient* v40 = nullptr;
  std::array<std::array<prometheus::Counter*, 3>, 2> counters{};  // [proc][outcome]
  mutable std::mutex mu;
  std::unordered_map<nfs4::SessionId, Session, SessionIdHash> sessions;
  std::map<std::uint64_t, Client40> clients;

  void count(CbProc proc, Outcome o) {
    if (auto* c = counters[proc][static_cast<std::size_t>(o)]) c->Increment();
  }

  /// A session's back channel is down (mu held).
  static bool down_locked(const Session& s) {
    if (!s.wanted) return false;
    if (!s.conn || s.conn->closed() || !s.sec) return true;
    return s.path == Path::kDown;
  }

  /// Marks the binding changed (mu held): the next SEQUENCE probes again.
  static void rebound_locked(Session& s) {
    ++s.generation;
    s.probe_needed = true;
    s.path = Path::kProbing;
  }

  /// Ends a probe; `why` says what failed (empty: it succeeded).
  void finish(const nfs4::SessionId& id, std::uint64_t generation, const std::string& why) {
    const bool ok = why.empty();
    std::lock_guard lock(mu);
    auto it = sessions.find(id);
    if (it == sessions.end()) return;
    Session& s = it->second;
    if (s.generation != generation) return;  // rebound meanwhile: a new probe follows
    s.probing = false;
    s.path = ok ? Path::kUp : Path::kDown;
    spdlog::info("nfs4: back channel of session {} (client {:x}) {}{}", hex(id), s.clientid,
                 ok ? "up (CB_NULL, CB_SEQUENCE ok)" : "down: ", ok ? "" : why);
  }

  /// Starts the probe (no lock held): CB_NULL, then CB_SEQUENCE.
  void probe(const nfs4::SessionId& id, std::uint64_t generation,
             std::shared_ptr<RpcBackChannel> conn, std::uint32_t program,
             const nfs4::CallbackSec& sec) {
    std::weak_ptr<Impl> weak = weak_from_this();
    const auto cred = credential_of(sec);
    const bool sent = conn->call(
        program, nfs4::kCbVersion, nfs4::kCbProcNull, cred, {}, config.timeout,
        [weak, id, generation, weak_conn = std::weak_ptr<RpcBackChannel>(conn), program,
         sec](Outcome o, std::span<const std::uint8_t>) {
          auto self = weak.lock();
          if (!self) return;
          self->count(kCbNull, o);
          auto channel = weak_conn.lock();
          if (o != Outcome::kOk || !channel) {
            return self->finish(id, generation, o == Outcome::kTimeout ? "CB_NULL timed out"
                                                                       : "CB_NULL failed");
          }
          self->cb_sequence(id, generation, channel, program, sec);
        });
    if (!sent) {
      count(kCbNull, Outcome::kError);
      finish(id, generation, "CB_NULL not sent");
    }
  }

  void cb_sequence(const nfs4::SessionId& id, std::uint64_t generation,
                   const std::shared_ptr<RpcBackChannel>& conn, std::uint32_t program,
                   const nfs4::CallbackSec& sec) {
    nfs4::CbSequenceArgs a;
    std::uint32_t minor;
    {
      std::lock_guard lock(mu);
      auto it = sessions.find(id);
      if (it == sessions.end() || it->second.generation != generation) return;
      a.sessionid = id;
      a.sequenceid = it->second.cb_seqid;
      minor = it->second.minor;
    }
    a.slotid = 0;
    a.highest_slotid = 0;
    std::array<std::uint8_t, 128> buf{};
    xdr::XdrEncoder out(buf);
    nfs4::encode_cb_sequence_compound(out, minor, 0, a);
    std::weak_ptr<Impl> weak = weak_from_this();
    const std::uint32_t seqid = a.sequenceid;
    const bool sent = conn->call(
        program, nfs4::kCbVersion, nfs4::kCbProcCompound, credential_of(sec), out.written(),
        config.timeout,
        [weak, id, generation, seqid](Outcome o, std::span<const std::uint8_t> result) {
          auto self = weak.lock();
          if (!self) return;
          bool ok = false;
          std::string why = o == Outcome::kTimeout ? "CB_SEQUENCE timed out" : "CB_SEQUENCE failed";
          if (o == Outcome::kOk) {
            xdr::XdrDecoder in(result);
            nfs4::CbSequenceReply r;
            if (!nfs4::decode_cb_sequence_reply(in, r)) {
              why = "CB_COMPOUND reply malformed";
            } else if (r.status != nfs4::Nfsstat4::kOk) {
              why = "CB_SEQUENCE answered with nfsstat4 " +
                    std::to_string(static_cast<std::uint32_t>(r.status));
            } else if (r.sessionid != id || r.sequenceid != seqid || r.slotid != 0) {
              why = "CB_SEQUENCE answered for another session, slot or sequence id";
            } else {
              ok = true;
            }
            if (!ok) o = Outcome::kError;
          }
          self->count(kCbSequence, o);
          if (ok) {
            // The slot's request completed: the next one is new (§20.9.3).
            std::lock_guard lock(self->mu);
            if (auto it = self->sessions.find(id); it != self->sessions.end()) {
              if (it->second.cb_seqid == seqid) ++it->second.cb_seqid;
            }
          }
          self->finish(id, generation, ok ? std::string() : why);
        });
    if (!sent) {
      count(kCbSequence, Outcome::kError);
      finish(id, generation, "CB_SEQUENCE not sent");
    }
  }
};

Nfs4Callbacks::Nfs4Callbacks(prometheus::Registry* registry, CallbackClient* v40, Config config)
    : impl_(std::make_shared<Impl>()) {
  impl_->config = config;
  impl_->v40 = v40;
  if (registry) {
    auto& family = prometheus::BuildCounter()
                       .Name("nasd_nfs4_callbacks_total")
                       .Help("NFSv4 callbacks nasd made, by procedure and result")
                       .Register(*registry);
    const char* procs[] = {"CB_NULL", "CB_SEQUENCE"};
    const char* results[] = {"ok", "error", "timeout"};
    for (std::size_t p = 0; p < 2; ++p) {
      for (std::size_t r = 0; r < 3; ++r) {
        impl_->counters[p][r] = &family.Add({{"procedure", procs[p]}, {"result", results[r]}});
      }
    }
  }
}

Nfs4Callbacks::~Nfs4Callbacks() = default;

std::uint32_t Nfs4Callbacks::session_created(const nfs4::SessionId& id, std::uint64_t clientid,
                                             std::uint32_t minor, std::uint32_t flags,
                                             std::uint32_t cb_program,
                                             const std::optional<nfs4::CallbackSec>& sec,
                                             std::shared_ptr<RpcBackChannel> conn,
                                             const Alive& alive) {
  const bool back = (flags & nfs4::kCreateSessionConnBackChan) != 0 && conn && !conn->closed();
  std::lock_guard lock(impl_->mu);
  if (impl_->sessions.size() >= impl_->config.max_sessions && alive) {
    std::erase_if(impl_->sessions, [&](const auto& e) { return !alive(e.first); });
  }
  if (impl_->sessions.size() >= impl_->config.max_sessions) return 0;  // no callbacks promised
  Impl::Session s;
  s.clientid = clientid;
  s.minor = minor;
  s.cb_program = cb_program;
  s.sec = sec;
  if (back) {
    s.wanted = true;
    s.conn = std::move(conn);
    Impl::rebound_locked(s);
  }
  impl_->sessions.insert_or_assign(id, std::move(s));
  return back ? nfs4::kCreateSessionConnBackChan : 0;
}

std::uint32_t Nfs4Callbacks::bind_conn(const nfs4::SessionId& id, std::uint32_t dir,
                                       std::shared_ptr<RpcBackChannel> conn) {
  const bool can_back = conn && !conn->closed();
  std::uint32_t granted = nfs4::kCdfs4Fore;
  switch (dir) {
    case nfs4::kCdfc4Back: granted = can_back ? nfs4::kCdfs4Back : nfs4::kCdfs4Fore; break;
    case nfs4::kCdfc4ForeOrBoth:
    case nfs4::kCdfc4BackOrBoth: granted = can_back ? nfs4::kCdfs4Both : nfs4::kCdfs4Fore; break;
    default: granted = nfs4::kCdfs4Fore; break;
  }
  if (granted == nfs4::kCdfs4Fore) return granted;
  std::lock_guard lock(impl_->mu);
  auto it = impl_->sessions.find(id);
  if (it == impl_->sessions.end()) return nfs4::kCdfs4Fore;  // table full at creation
  Impl::Session& s = it->second;
  s.wanted = true;
  s.conn = std::move(conn);
  Impl::rebound_locked(s);
  return granted;
}

void Nfs4Callbacks::backchannel_ctl(const nfs4::SessionId& id, std::uint32_t cb_program,
                                    const std::optional<nfs4::CallbackSec>& sec) {
  std::lock_guard lock(impl_->mu);
  auto it = impl_->sessions.find(id);
  if (it == impl_->sessions.end()) return;
  it->second.cb_program = cb_program;
  it->second.sec = sec;
  if (it->second.wanted) Impl::rebound_locked(it->second);
}

std::uint32_t Nfs4Callbacks::sequence_flags(const nfs4::SessionId& id, bool* probe_wanted) {
  std::shared_ptr<RpcBackChannel> conn;
  std::uint64_t generation = 0;
  std::uint32_t program = 0;
  nfs4::CallbackSec sec;
  std::uint32_t flags = 0;
  {
    std::lock_guard lock(impl_->mu);
    auto it = impl_->sessions.find(id);
    if (it == impl_->sessions.end()) return 0;
    Impl::Session& s = it->second;
    if (!s.wanted) return 0;
    if (Impl::down_locked(s)) {
      flags = nfs4::kSeq4StatusCbPathDownSession;
      bool any_up = false;
      for (const auto& [other_id, o] : impl_->sessions) {
        if (o.clientid == s.clientid && o.wanted && !Impl::down_locked(o)) any_up = true;
      }
      if (!any_up) flags |= nfs4::kSeq4StatusCbPathDown;
      return flags;
    }
    if (!s.probe_needed || s.probing) return 0;
    if (probe_wanted) {
      *probe_wanted = true;
      return 0;
    }
    s.probe_needed = false;
    s.probing = true;
    conn = s.conn;
    generation = s.generation;
    program = s.cb_program;
    sec = *s.sec;
  }
  impl_->probe(id, generation, std::move(conn), program, sec);
  return 0;
}

void Nfs4Callbacks::session_destroyed(const nfs4::SessionId& id) {
  std::lock_guard lock(impl_->mu);
  impl_->sessions.erase(id);
}

Nfs4Callbacks::Path Nfs4Callbacks::path(const nfs4::SessionId& id) const {
  std::lock_guard lock(impl_->mu);
  auto it = impl_->sessions.find(id);
  if (it == impl_->sessions.end() || !it->second.wanted) return Path::kNone;
  if (Impl::down_locked(it->second)) return Path::kDown;
  return it->second.path;
}

// ------------------------------------------------------------------ 4.0

bool Nfs4Callbacks::parse_uaddr(std::string_view netid, std::string_view uaddr,
                                boost::asio::ip::address* host, std::uint16_t* port) {
  if (netid != "tcp" && netid != "tcp6") return false;
  const auto last = uaddr.rfind('.');
  if (last == std::string_view::npos || last == 0) return false;
  const auto prev = uaddr.rfind('.', last - 1);
  if (prev == std::string_view::npos) return false;
  auto octet = [](std::string_view t, unsigned* v) {
    auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), *v);
    return ec == std::errc{} && p == t.data() + t.size() && !t.empty() && *v <= 255;
  };
  unsigned hi = 0, lo = 0;
  if (!octet(uaddr.substr(prev + 1, last - prev - 1), &hi) || !octet(uaddr.substr(last + 1), &lo)) {
    return false;
  }
  boost::system::error_code ec;
  const auto addr = boost::asio::ip::make_address(std::string(uaddr.substr(0, prev)), ec);
  if (ec || (netid == "tcp") != addr.is_v4()) return false;
  *host = addr;
  *port = static_cast<std::uint16_t>(hi << 8 | lo);
  return *port != 0;
}

void Nfs4Callbacks::setclientid(std::uint64_t clientid, std::uint32_t cb_program,
                                std::string_view netid, std::string_view r_addr,
                                const ClientAlive& alive) {
  Impl::Client40 c;
  c.cb_program = cb_program;
  boost::asio::ip::address host;
  if (parse_uaddr(netid, r_addr, &host, &c.port)) c.host = host;
  std::lock_guard lock(impl_->mu);
  if (impl_->clients.size() >= impl_->config.max_clients && alive) {
    std::erase_if(impl_->clients, [&](const auto& e) { return !alive(e.first); });
  }
  if (impl_->clients.size() >= impl_->config.max_clients && !impl_->clients.contains(clientid)) {
    return;
  }
  impl_->clients.insert_or_assign(clientid, c);
}

void Nfs4Callbacks::confirmed(std::uint64_t clientid) {
  CallbackClient::Call call;
  {
    std::lock_guard lock(impl_->mu);
    auto it = impl_->clients.find(clientid);
    if (it == impl_->clients.end()) return;
    Impl::Client40& c = it->second;
    if (!c.host || !impl_->v40) {
      c.path = Path::kDown;
      spdlog::info("nfs4.0 client {:x}: unusable callback address, no probe", clientid);
      return;
    }
    c.path = Path::kProbing;
    call.host = *c.host;
    call.port = c.port;
    call.prog = c.cb_program;
  }
  call.vers = nfs4::kCbVersion;
  call.proc = nfs4::kCbProcNull;
  call.attempts = 1;
  std::weak_ptr<Impl> weak = impl_;
  const std::string where = call.host.to_string() + ":" + std::to_string(call.port);
  call.done = [weak, clientid, where](std::optional<std::span<const std::uint8_t>> result) {
    auto self = weak.lock();
    if (!self) return;
    self->count(kCbNull, result ? Outcome::kOk : Outcome::kError);
    spdlog::info("nfs4.0 client {:x}: CB_NULL to {} {}", clientid, where,
                 result ? "ok" : "failed");
    std::lock_guard lock(self->mu);
    if (auto it = self->clients.find(clientid); it != self->clients.end()) {
      it->second.path = result ? Path::kUp : Path::kDown;
    }
  };
  if (!impl_->v40->submit(std::move(call))) {
    impl_->count(kCbNull, Outcome::kError);
    std::lock_guard lock(impl_->mu);
    if (auto it = impl_->clients.find(clientid); it != impl_->clients.end()) {
      it->second.path = Path::kDown;
    }
  }
}

Nfs4Callbacks::Path Nfs4Callbacks::path_v40(std::uint64_t clientid) const {
  std::lock_guard lock(impl_->mu);
  auto it = impl_->clients.find(clientid);
  return it == impl_->clients.end() ? Path::kNone : it->second.path;
}

}  // namespace nasd::server
