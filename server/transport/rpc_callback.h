// CallbackClient: nasd as an ONC RPC client, for the calls the lock
// protocols make to client hosts — NLM GRANTED and the *_RES answers to the
// client's lockd, SM_NOTIFY to the client's statd after a restart.
//
// Calls run on the client's own worker threads, never on a pipeline
// worker: submit() only queues.  Each attempt asks the host's port mapper
// (PMAP v2 GETPORT over TCP) for the program's TCP port, connects from a
// reserved port when allowed (root), sends one record and waits for the
// reply; every step is bounded by `timeout`, attempts by `attempts`, the
// queue by `max_queue` (submit() refuses beyond it).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <span>
#include <thread>
#include <vector>

#include <boost/asio/ip/address.hpp>

#include "protocol/rpc/rpc.h"

namespace nasd::server {

class CallbackClient {
 public:
  struct Call {
    boost::asio::ip::address host;
    std::uint32_t prog = 0, vers = 0, proc = 0;
    /// Encodes the procedure arguments; gets our local address on the
    /// connection to the host (for SM_NOTIFY's mon_name).
    std::function<std::vector<std::uint8_t>(const boost::asio::ip::address& local)> args;
    /// Called on a worker thread with the result body (nullopt: no
    /// successful reply after all attempts).  May be empty.
    std::function<void(std::optional<std::span<const std::uint8_t>> result)> done;
    unsigned attempts = 3;
    /// The program's TCP port when known (NFSv4.0 callback address): no
    /// port mapper query.  0: ask the host's port mapper.
    std::uint16_t port = 0;
    /// The credential of the call (default AUTH_SYS uid 0, "nasd").
    std::optional<rpc::CallCredential> cred;
  };

  /// `portmapper_port`: where the hosts' port mappers listen (111).
  CallbackClient(std::uint16_t portmapper_port = 111,
                 std::chrono::milliseconds timeout = std::chrono::seconds(3),
                 std::size_t max_queue = 4096, unsigned threads = 2);
  /// Stops the workers; queued calls are dropped (their `done` is not run).
  ~CallbackClient();
  CallbackClient(const CallbackClient&) = delete;
  CallbackClient& operator=(const CallbackClient&) = delete;

  /// Stops and joins the workers (idempotent); later submit()s are refused.
  /// Call before destroying what `done` callbacks use.
  void stop();

  /// Queues a call; false when the queue is full or the client stopping.
  bool submit(Call call);

  /// Calls waiting or running (tests and metrics).
  std::size_t pending() const;

  /// One synchronous call attempt (blocking, bounded by `timeout`): the
  /// result body, or nullopt.  Used by the workers; public for tests.
  std::optional<std::vector<std::uint8_t>> call_once(const Call& call);

 private:
  void run(std::stop_token stop);

  const std::uint16_t portmapper_port_;
  const std::chrono::milliseconds timeout_;
  const std::size_t max_queue_;
  mutable std::mutex mu_;
  std::condition_variable_any cv_;
  std::deque<Call> queue_;  // guarded by mu_
  std::size_t running_ = 0; // guarded by mu_
  std::uint32_t next_xid_;  // guarded by mu_
  bool stopped_ = false;    // guarded by mu_
  std::vector<std::jthread> workers_;  // last: joined first
};

}  // namespace nasd::server
