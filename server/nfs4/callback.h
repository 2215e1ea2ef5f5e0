// Nfs4Callbacks: the NFSv4 callback paths (RFC 8881 §2.10.3.1, §18.33,
// §18.34, §18.36, §20; RFC 7530 §16.33) — which connection carries a
// session's back channel, its callback program and credential, its
// back-channel slot (§20.9.3), and whether the path works.
//
// 4.1/4.2: a session asks for a back channel with CREATE_SESSION4_FLAG_
// CONN_BACK_CHAN (the creating connection) or later BIND_CONN_TO_SESSION
// (CDFC4_BACK / _FORE_OR_BOTH / _BACK_OR_BOTH); BACKCHANNEL_CTL changes the
// program and credential.  After any such change the next SEQUENCE of the
// session (the client knows the session by then) starts a probe: CB_NULL,
// then a CB_COMPOUND with one CB_SEQUENCE on back-channel slot 0.  SEQUENCE
// reports SEQ4_STATUS_CB_PATH_DOWN_SESSION (and SEQ4_STATUS_CB_PATH_DOWN
// when no session of the client has a working one) while the session wants
// a back channel and has no open connection bound, or its last probe
// failed; no flag while a probe runs or after one succeeded.
//
// 4.0: SETCLIENTID's callback (program, netid tcp/tcp6, universal address)
// is kept per client id; after SETCLIENTID_CONFIRM a CB_NULL goes to that
// address over a new TCP connection (CallbackClient).  Its result is only
// recorded: no delegations are handed out, so nothing depends on it.
//
// Metrics: nasd_nfs4_callbacks_total{procedure="CB_NULL|CB_SEQUENCE",
// result="ok|error|timeout"}.
//
// Memory is bounded: at most Config::max_sessions session entries and
// max_clients 4.0 entries (entries of sessions / clients gone from
// Nfs4State are pruned when the table fills up).  Thread-safe.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string_view>

#include <boost/asio/ip/address.hpp>

#include "protocol/nfs4/nfs4.h"
#include "server/transport/back_channel.h"

namespace prometheus {
class Registry;
}

namespace nasd::server {

class CallbackClient;

class Nfs4Callbacks {
 public:
  struct Config {
    std::chrono::milliseconds timeout{3000};  // one callback's reply
    std::size_t max_sessions = 1u << 16;
    std::size_t max_clients = 1u << 16;
  };
  /// State of a callback path.
  enum class Path : std::uint8_t { kNone, kProbing, kUp, kDown };

  /// `registry` (may be null) gets nasd_nfs4_callbacks_total; `v40` (may be
  /// null: no 4.0 probes) makes the 4.0 CB_NULL calls.  Both must outlive
  /// this object.
  Nfs4Callbacks(prometheus::Registry* registry, CallbackClient* v40, Config config);
  ~Nfs4Callbacks();
  Nfs4Callbacks(const Nfs4Callbacks&) = delete;
  Nfs4Callbacks& operator=(const Nfs4Callbacks&) = delete;

  /// Asks whether a session or client id still exists (for pruning).
  using Alive = std::function<bool(const nfs4::SessionId&)>;
  using ClientAlive = std::function<bool(std::uint64_t clientid)>;

  // ------------------------------------------------ 4.1 / 4.2 sessions

  /// After a successful CREATE_SESSION (not a retry) of `clientid` at minor
  /// version `minor`: with `flags` & CONN_BACK_CHAN the creating connection
  /// `conn` (may be null) becomes the back channel.  Returns the flags to
  /// grant: CONN_BACK_CHAN only when `conn` can carry callbacks.
  std::uint32_t session_created(const nfs4::SessionId& id, std::uint64_t clientid,
                                std::uint32_t minor, std::uint32_t flags,
                                std::uint32_t cb_program,
                                const std::optional<nfs4::CallbackSec>& sec,
                                std::shared_ptr<RpcBackChannel> conn, const Alive& alive);
  /// BIND_CONN_TO_SESSION direction `dir` (CDFC4_*) for a connection: the
  /// granted direction (CDFS4_*).  A back direction binds `conn` (when not
  /// null) as the session's back channel.
  std::uint32_t bind_conn(const nfs4::SessionId& id, std::uint32_t dir,
                          std::shared_ptr<RpcBackChannel> conn);
  /// BACKCHANNEL_CTL: new program and credential for the session's callbacks.
  void backchannel_ctl(const nfs4::SessionId& id, std::uint32_t cb_program,
                       const std::optional<nfs4::CallbackSec>& sec);
  /// SEQUENCE of `id`: the SEQ4_STATUS_CB_PATH_DOWN* flags to report;
  /// starts a probe when the binding changed since the last one.  With
  /// `probe_wanted` set, a needed probe is not started: *probe_wanted
  /// becomes true and nothing changes (an inline COMPOUND then hands off).
  std::uint32_t sequence_flags(const nfs4::SessionId& id, bool* probe_wanted = nullptr);
  /// DESTROY_SESSION: forgets the session.
  void session_destroyed(const nfs4::SessionId& id);
  /// The session's callback path (tests).
  Path path(const nfs4::SessionId& id) const;

  // ------------------------------------------------ 4.0

  /// SETCLIENTID of `clientid` named this callback; kept until confirmed.
  void setclientid(std::uint64_t clientid, std::uint32_t cb_program, std::string_view netid,
                   std::string_view r_addr, const ClientAlive& alive);
  /// SETCLIENTID_CONFIRM of `clientid` succeeded: probes its callback with
  /// CB_NULL (asynchronously).
  void confirmed(std::uint64_t clientid);
  /// The 4.0 client's callback path (tests).
  Path path_v40(std::uint64_t clientid) const;

  /// Parses a universal address (RFC 5665 §5.2.3.3/4) of netid tcp/tcp6:
  /// "h1.h2.h3.h4.p1.p2" or "ipv6.p1.p2".  False when malformed.
  static bool parse_uaddr(std::string_view netid, std::string_view uaddr,
                          boost::asio::ip::address* host, std::uint16_t* port);

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;  // shared with completions in flight
};

}  // namespace nasd::server
