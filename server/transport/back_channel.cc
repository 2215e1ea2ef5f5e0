// RPC calls over the client's connection.  See back_channel.h.
#include "server/transport/back_channel.h"

#include <random>
#include <vector>

#include "protocol/rpc/xdr.h"

namespace nasd::server {

RpcBackChannel::RpcBackChannel(boost::asio::any_io_executor timers, Send send,
                               std::size_t max_pending)
    : timers_(std::move(timers)), send_(std::move(send)), max_pending_(max_pending),
      next_xid_(std::random_device{}()) {}

RpcBackChannel::~RpcBackChannel() = default;

bool RpcBackChannel::call(std::uint32_t prog, std::uint32_t vers, std::uint32_t proc,
                          const rpc::CallCredential& cred, std::span<const std::uint8_t> args,
                          std::chrono::milliseconds timeout, Done done) {
  constexpr std::size_t kMaxArgs = 4096;
  if (args.size() > kMaxArgs) return false;
  std::vector<std::uint8_t> record(64 + 400 + args.size());
  xdr::XdrEncoder out(record);
  std::uint32_t xid;
  {
    std::lock_guard lock(mu_);
    if (closed_ || pending_.size() >= max_pending_) return false;
    do {
      xid = next_xid_++;
    } while (pending_.contains(xid));
    // Registered before sending: the reply may come back before send_ returns.
    Pending p;
    p.done = std::move(done);
    p.timer = std::make_unique<boost::asio::steady_timer>(timers_, timeout);
    p.timer->async_wait([weak = weak_from_this(), xid](const boost::system::error_code& ec) {
      if (ec) return;  // cancelled: the call completed
      if (auto self = weak.lock()) self->on_deadline(xid);
    });
    pending_.emplace(xid, std::move(p));
  }
  rpc::encode_call(out, xid, prog, vers, proc, cred);
  out.fixed_opaque(args);
  if (out.ok() && send_(out.written())) return true;
  std::lock_guard lock(mu_);
  if (auto it = pending_.find(xid); it != pending_.end()) {
    it->second.timer->cancel();
    pending_.erase(it);  // `done` is dropped unrun, as promised
  }
  return false;
}

bool RpcBackChannel::on_reply(std::span<const std::uint8_t> record) {
  xdr::XdrDecoder in(record);
  rpc::ReplyHeader h;
  const rpc::ReplyResult r = rpc::decode_reply(in, h);
  if (r == rpc::ReplyResult::kNotReply) return false;
  if (r == rpc::ReplyResult::kGarbage && record.size() < 4) return false;
  Pending p;
  {
    std::lock_guard lock(mu_);
    auto it = pending_.find(h.xid);
    if (it == pending_.end()) return false;
    p = std::move(it->second);
    pending_.erase(it);
  }
  p.timer->cancel();
  const bool ok = r == rpc::ReplyResult::kOk && h.accepted && h.stat == rpc::AcceptStat::kSuccess;
  if (p.done) {
    if (ok) {
      p.done(Outcome::kOk, in.rest());
    } else {
      p.done(Outcome::kError, {});
    }
  }
  return true;
}

void RpcBackChannel::on_deadline(std::uint32_t xid) {
  Pending p;
  {
    std::lock_guard lock(mu_);
    auto it = pending_.find(xid);
    if (it == pending_.end()) return;
    p = std::move(it->second);
    pending_.erase(it);
  }
  if (p.done) p.done(Outcome::kTimeout, {});
}

void RpcBackChannel::close() {
  std::unordered_map<std::uint32_t, Pending> failed;
  {
    std::lock_guard lock(mu_);
    closed_ = true;
    failed.swap(pending_);
  }
  for (auto& [xid, p] : failed) {
    p.timer->cancel();
    p.timer.reset();  // before the executor goes
    if (p.done) p.done(Outcome::kError, {});
  }
  // The connection's executor may not outlive its io_context; this object
  // may (a session keeps it).
  std::lock_guard lock(mu_);
  timers_ = boost::asio::any_io_executor();
}

bool RpcBackChannel::closed() const {
  std::lock_guard lock(mu_);
  return closed_;
}

std::size_t RpcBackChannel::pending() const {
  std::lock_guard lock(mu_);
  return pending_.size();
}

}  // namespace nasd::server
