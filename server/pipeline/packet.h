// Packet: one RPC call on its way through the pipeline, and PacketPool, the
// bounded pool the connections take packets from.
//
// A Packet owns the request buffer (the reassembled record), the decoded
// arguments (which may point into that buffer), the reply buffer and the
// connection to answer on.  PacketPtr returns the packet to its pool when it
// goes out of scope, which also returns both buffers: no path can leak them.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "pool/buffer_pool.h"
#include "protocol/rpc/xdr.h"
#include "server/pipeline/arg_slot.h"
#include "server/pipeline/program.h"

namespace nasd::server {

struct Packet;
class PacketPool;
class RpcBackChannel;

/// Where a finished packet goes: the connection that received it.
class ReplySink {
 public:
  virtual ~ReplySink() = default;
  /// Takes the finished packet.  An empty `packet->reply` means no reply is
  /// sent (dropped call); the sink still counts the call as finished.
  virtual void send_reply(std::unique_ptr<Packet, struct PacketReturner> packet) = 0;
  /// Called by the validate step (any thread) before it takes a reply buffer
  /// of `bytes` (pool class size) for `packet`: true charges the bytes to
  /// the sink's output budget (recorded in `packet.charged_reply_bytes`) and
  /// the call goes on; false means the budget is full and the validate step
  /// hands the packet to defer_call() instead.  Default: no budget.
  virtual bool try_charge_reply(Packet& packet, std::size_t bytes) {
    (void)packet;
    (void)bytes;
    return true;
  }
  /// Takes back a decoded call whose reply did not fit the output budget;
  /// the sink resubmits it (Pipeline::resume_deferred) once its earlier
  /// replies are written.  Only called after try_charge_reply() said false.
  virtual void defer_call(std::unique_ptr<Packet, struct PacketReturner> packet);
  /// The RPC client over this connection for calls to the client (NFSv4.1
  /// back channel), created on first use; nullptr when the transport has
  /// none (UDP, tests).
  virtual std::shared_ptr<RpcBackChannel> back_channel() { return nullptr; }
};

/// Deleter of PacketPtr: resets the packet and gives it back to its pool.
struct PacketReturner {
  PacketPool* pool = nullptr;
  void operator()(Packet* p) const;
};
using PacketPtr = std::unique_ptr<Packet, PacketReturner>;

/// An RPC-level rejection (RFC 5531 §9) found by the parse stage; the
/// validate stage answers it once it holds a reply buffer.
struct RpcReject {
  enum class Kind : std::uint8_t {
    kNone, kRpcMismatch, kBadCred, kTooWeak, kProgUnavail, kProgMismatch, kProcUnavail,
    kGarbageArgs, kSystemErr
  };
  Kind kind = Kind::kNone;
  std::uint32_t low = 0, high = 0;  // versions served, for PROG_MISMATCH
};

struct Packet {
  pool::PooledBuffer request;         // the record (RPC call), from the request pool
  std::size_t request_length = 0;     // bytes of `request` that hold the record
  pool::PooledBuffer reply;           // record mark + reply, from the reply pool
  std::optional<xdr::XdrEncoder> out; // writes into `reply` after the record mark
  CallContext ctx;
  Program* program = nullptr;         // set by the parse stage
  ArgSlot args;                       // decoded arguments
  std::shared_ptr<ReplySink> sink;    // the connection
  std::chrono::steady_clock::time_point received;
  storage::Status status = storage::Status::kOk;
  bool answered_early = false;        // validate() encoded the result already
  RpcReject rpc_error;                // set by parse: answer with this RPC error
  std::size_t reply_size = 0;         // bytes the reply may take (set when the validate step charges it)
  std::size_t charged_reply_bytes = 0;  // charged to the sink's output budget
  bool reply_charged = false;         // reply already charged (resumed after a deferral, or
                                      // handed off by the inline path)
  bool validated = false;             // validate() ran and `out` holds the reply header: persist next

  /// Releases everything the packet holds (arguments before the buffer they
  /// point into).
  void reset() {
    args.reset();
    out.reset();
    request.release();
    reply.release();
    sink.reset();
    program = nullptr;
    request_length = 0;
    status = storage::Status::kOk;
    answered_early = false;
    rpc_error = RpcReject{};
    reply_size = 0;
    charged_reply_bytes = 0;
    reply_charged = false;
    validated = false;
    ctx = CallContext{};
  }
};

/// Bounded pool of Packet objects: at most `capacity` calls are in flight in
/// the whole server; a connection that cannot get a packet stops reading
/// (backpressure).  Thread-safe.
class PacketPool {
 public:
  explicit PacketPool(std::size_t capacity) : capacity_(capacity) {}
  PacketPool(const PacketPool&) = delete;
  PacketPool& operator=(const PacketPool&) = delete;

  /// A packet, or an empty pointer when `capacity` packets are out.
  PacketPtr try_acquire() {
    std::lock_guard lock(mu_);
    if (in_use_ >= capacity_) {
      ++failures_;
      return PacketPtr(nullptr, PacketReturner{this});
    }
    ++in_use_;
    high_water_ = std::max(high_water_, in_use_);
    if (free_.empty()) return PacketPtr(new_packet().release(), PacketReturner{this});
    auto p = std::move(free_.back());
    free_.pop_back();
    return PacketPtr(p.release(), PacketReturner{this});
  }

  /// Runs `fn` once, the next time a packet comes back (immediately if one
  /// is free now).  `fn` must be cheap (post to an executor).
  void notify_on_release(std::function<void()> fn) {
    std::unique_lock lock(mu_);
    if (in_use_ < capacity_) {
      lock.unlock();
      fn();
      return;
    }
    waiters_.push_back(std::move(fn));
  }

  std::size_t in_use() const { std::lock_guard l(mu_); return in_use_; }
  std::size_t high_water() const { std::lock_guard l(mu_); return high_water_; }
  std::uint64_t failures() const { std::lock_guard l(mu_); return failures_; }
  std::size_t capacity() const { return capacity_; }

 private:
  friend struct PacketReturner;
  static std::unique_ptr<Packet> new_packet() { return std::make_unique<Packet>(); }
  void give_back(Packet* raw) {
    std::unique_ptr<Packet> p(raw);
    p->reset();
    std::vector<std::function<void()>> wake;
    {
      std::lock_guard lock(mu_);
      --in_use_;
      free_.push_back(std::move(p));
      wake.swap(waiters_);
    }
    for (auto& fn : wake) fn();
  }

  const std::size_t capacity_;
  mutable std::mutex mu_;
  std::vector<std::unique_ptr<Packet>> free_;
  std::vector<std::function<void()>> waiters_;
  std::size_t in_use_ = 0;
  std::size_t high_water_ = 0;
  std::uint64_t failures_ = 0;
};

inline void ReplySink::defer_call(PacketPtr packet) { (void)packet; }  // never called: no budget

inline void PacketReturner::operator()(Packet* p) const {
  if (p) pool->give_back(p);
}

}  // namespace nasd::server
