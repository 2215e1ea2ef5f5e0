// RpcBackChannel: RPC calls from nasd to a client over the client's own TCP
// connection (the NFSv4.1 back channel, RFC 8881 §2.10.3.1).  The
// connection sends each CALL record like a reply and hands every REPLY
// record it receives (msg_type 1) to on_reply(), which completes the
// pending call with that xid.  Each pending call has a deadline (an asio
// timer on the executor given); close() — the connection went away — fails
// every pending call at once.  Completion callbacks run exactly once, on
// the thread that saw the reply, the deadline or the close, with no lock of
// this object held.
//
// Thread-safe.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <unordered_map>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>

#include "protocol/rpc/rpc.h"

namespace nasd::server {

class RpcBackChannel : public std::enable_shared_from_this<RpcBackChannel> {
 public:
  /// How a call ended.
  enum class Outcome : std::uint8_t {
    kOk,       // accepted, SUCCESS: `result` holds the procedure's results
    kError,    // rejected or failed (RPC error, connection closed, send failed)
    kTimeout,  // no reply within the call's timeout
  };
  /// Completion: `result` (the reply after the RPC header) is valid only
  /// during the call.
  using Done = std::function<void(Outcome, std::span<const std::uint8_t> result)>;
  /// Sends one RPC record (without record mark) on the connection; false
  /// when it cannot (closed, no buffer).
  using Send = std::function<bool(std::span<const std::uint8_t> record)>;

  /// `timers`: the executor deadline timers run on; `max_pending` bounds the
  /// calls waiting for a reply.
  RpcBackChannel(boost::asio::any_io_executor timers, Send send, std::size_t max_pending = 16);
  ~RpcBackChannel();
  RpcBackChannel(const RpcBackChannel&) = delete;
  RpcBackChannel& operator=(const RpcBackChannel&) = delete;

  /// Sends CALL prog/vers/proc with `cred` and the encoded `args` (XDR,
  /// at most 4 KiB) and waits up to `timeout` for its reply.  False (and
  /// `done` is never run) when closed, `max_pending` calls wait, or the
  /// record could not be sent.
  bool call(std::uint32_t prog, std::uint32_t vers, std::uint32_t proc,
            const rpc::CallCredential& cred, std::span<const std::uint8_t> args,
            std::chrono::milliseconds timeout, Done done);

  /// Takes a REPLY record (without record mark) received on the connection:
  /// true when it completed a pending call; false for an unknown xid or a
  /// malformed record (the caller drops it).
  bool on_reply(std::span<const std::uint8_t> record);

  /// The connection is gone: fails every pending call (kError) and refuses
  /// new ones.  Idempotent.
  void close();
  /// True once close() ran (no new calls are taken).
  bool closed() const;
  /// Calls waiting for their reply.
  std::size_t pending() const;

 private:
  struct Pending {
    Done done;
    std::unique_ptr<boost::asio::steady_timer> timer;
  };
  void on_deadline(std::uint32_t xid);

  boost::asio::any_io_executor timers_;  // guarded by mu_; empty once closed
  const Send send_;
  const std::size_t max_pending_;
  mutable std::mutex mu_;
  std::unordered_map<std::uint32_t, Pending> pending_;  // by xid
  std::uint32_t next_xid_;
  bool closed_ = false;
};

}  // namespace nasd::server
