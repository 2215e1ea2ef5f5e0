// Outgoing RPC calls to client hosts.  See rpc_callback.h.
#include "server/transport/rpc_callback.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <random>

#include <spdlog/spdlog.h>

#include "protocol/portmap/portmap.h"
#include "protocol/rpc/record_marking.h"
#include "protocol/rpc/rpc.h"
#include "protocol/rpc/xdr.h"

namespace nasd::server {

namespace {

using Clock = std::chrono::steady_clock;

/// AUTH_SYS: stamp 0, machinename "nasd", uid 0, gid 0, no groups.
constexpr rpc::CallCredential kRootCred{rpc::AuthFlavor::kSys, 0, 0, 0, "nasd", {}};

/// An owned socket fd.
class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd() { if (fd_ >= 0) ::close(fd_); }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  int release() {
    int f = fd_;
    fd_ = -1;
    return f;
  }
 private:
  int fd_;
};

int remaining_ms(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return left.count() > 0 ? static_cast<int>(left.count()) : 0;
}

bool wait_fd(int fd, short events, Clock::time_point deadline) {
  pollfd p{fd, events, 0};
  for (;;) {
    int ms = remaining_ms(deadline);
    if (ms == 0) return false;
    int r = ::poll(&p, 1, ms);
    if (r > 0) return true;
    if (r == 0) return false;
    if (errno != EINTR) return false;
  }
}

/// Non-blocking connect to `host:port` (IPv4 only; IPv4-mapped IPv6 is
/// unmapped) from a reserved port when possible.  Returns -1 on failure.
int connect_to(const boost::asio::ip::address& host_in, std::uint16_t port,
               Clock::time_point deadline) {
  boost::asio::ip::address host = host_in;
  if (host.is_v6() && host.to_v6().is_v4_mapped()) {
    host = boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, host.to_v6());
  }
  if (!host.is_v4()) return -1;
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  Fd guard(fd);
  // Reserved source port (some statd/lockd builds insist): try a few.
  thread_local std::minstd_rand rng(std::random_device{}());
  for (int i = 0; i < 16; ++i) {
    sockaddr_in local{};
    local.sin_family = AF_INET;
    local.sin_port = htons(static_cast<std::uint16_t>(600 + rng() % 423));
    if (::bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof(local)) == 0) break;
    if (errno == EACCES || errno == EPERM) break;  // not root: any port
  }
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(port);
  const auto bytes = host.to_v4().to_bytes();
  std::memcpy(&to.sin_addr, bytes.data(), 4);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof(to)) != 0) {
    if (errno != EINPROGRESS) return -1;
    if (!wait_fd(fd, POLLOUT, deadline)) return -1;
    int err = 0;
    socklen_t len = sizeof(err);
    if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) return -1;
  }
  return guard.release();
}

bool send_all(int fd, const std::uint8_t* p, std::size_t n, Clock::time_point deadline) {
  while (n > 0) {
    ssize_t w = ::send(fd, p, n, MSG_NOSIGNAL);
    if (w > 0) {
      p += w;
      n -= static_cast<std::size_t>(w);
      continue;
    }
    if (w < 0 && errno != EAGAIN && errno != EINTR) return false;
    if (!wait_fd(fd, POLLOUT, deadline)) return false;
  }
  return true;
}

bool recv_all(int fd, std::uint8_t* p, std::size_t n, Clock::time_point deadline) {
  while (n > 0) {
    ssize_t r = ::recv(fd, p, n, 0);
    if (r > 0) {
      p += r;
      n -= static_cast<std::size_t>(r);
      continue;
    }
    if (r == 0) return false;
    if (errno != EAGAIN && errno != EINTR) return false;
    if (!wait_fd(fd, POLLIN, deadline)) return false;
  }
  return true;
}

/// One RPC over a connected socket: returns the accepted SUCCESS result body.
std::optional<std::vector<std::uint8_t>> rpc_call(int fd, std::uint32_t xid, std::uint32_t prog,
                                                  std::uint32_t vers, std::uint32_t proc,
                                                  std::span<const std::uint8_t> args,
                                                  Clock::time_point deadline,
                                                  const rpc::CallCredential& cred) {
  std::vector<std::uint8_t> msg(4 + 64 + 400 + args.size());
  xdr::XdrEncoder out(msg);
  out.u32(0);  // record mark, patched below
  rpc::encode_call(out, xid, prog, vers, proc, cred);
  out.fixed_opaque(args);
  if (!out.ok()) return std::nullopt;
  const std::size_t len = out.position();
  out.patch_u32(0, rpc::make_fragment_header(static_cast<std::uint32_t>(len - 4), true));
  if (!send_all(fd, msg.data(), len, deadline)) return std::nullopt;

  // Reply: read records until ours (bounded size).
  constexpr std::size_t kMaxReply = 64 * 1024;
  for (;;) {
    std::vector<std::uint8_t> reply;
    bool last = false;
    while (!last) {
      std::uint8_t mark[4];
      if (!recv_all(fd, mark, 4, deadline)) return std::nullopt;
      const std::uint32_t h = (std::uint32_t{mark[0]} << 24) | (std::uint32_t{mark[1]} << 16) |
                              (std::uint32_t{mark[2]} << 8) | mark[3];
      last = (h & 0x80000000u) != 0;
      const std::size_t n = h & 0x7fffffffu;
      if (reply.size() + n > kMaxReply) return std::nullopt;
      const std::size_t at = reply.size();
      reply.resize(at + n);
      if (!recv_all(fd, reply.data() + at, n, deadline)) return std::nullopt;
    }
    xdr::XdrDecoder in(reply);
    if (in.u32() != xid) continue;
    if (in.u32() != static_cast<std::uint32_t>(rpc::MsgType::kReply)) return std::nullopt;
    if (in.u32() != static_cast<std::uint32_t>(rpc::ReplyStat::kAccepted)) return std::nullopt;
    in.u32();
    in.opaque(400);
    if (in.u32() != static_cast<std::uint32_t>(rpc::AcceptStat::kSuccess) || !in.ok()) {
      return std::nullopt;
    }
    auto rest = in.rest();
    return std::vector<std::uint8_t>(rest.begin(), rest.end());
  }
}

}  // namespace

CallbackClient::CallbackClient(std::uint16_t portmapper_port, std::chrono::milliseconds timeout,
                               std::size_t max_queue, unsigned threads)
    : portmapper_port_(portmapper_port), timeout_(timeout), max_queue_(max_queue),
      next_xid_(std::random_device{}()) {
  for (unsigned i = 0; i < threads; ++i) {
    workers_.emplace_back([this](std::stop_token st) { run(st); });
  }
}

CallbackClient::~CallbackClient() { stop(); }

void CallbackClient::stop() {
  {
    std::lock_guard lock(mu_);
    stopped_ = true;
    queue_.clear();
  }
  for (auto& w : workers_) w.request_stop();
  cv_.notify_all();
  workers_.clear();
}

bool CallbackClient::submit(Call call) {
  {
    std::lock_guard lock(mu_);
    if (stopped_ || queue_.size() >= max_queue_) return false;
    queue_.push_back(std::move(call));
  }
  cv_.notify_one();
  return true;
}

std::size_t CallbackClient::pending() const {
  std::lock_guard lock(mu_);
  return queue_.size() + running_;
}

std::optional<std::vector<std::uint8_t>> CallbackClient::call_once(const Call& call) {
  const auto deadline = Clock::now() + timeout_;
  std::uint32_t xid1, xid2;
  {
    std::lock_guard lock(mu_);
    xid1 = next_xid_++;
    xid2 = next_xid_++;
  }
  std::uint16_t port = call.port;
  if (port == 0) {
    Fd pm(connect_to(call.host, portmapper_port_, deadline));
    if (pm.get() < 0) return std::nullopt;
    std::vector<std::uint8_t> args(16);
    xdr::XdrEncoder out(args);
    portmap::encode(out, portmap::Mapping{call.prog, call.vers, portmap::kIpprotoTcp, 0});
    auto res = rpc_call(pm.get(), xid1, portmap::kProgram, portmap::kPmapVersion,
                        static_cast<std::uint32_t>(portmap::PmapProc::kGetport), args, deadline,
                        kRootCred);
    if (!res) return std::nullopt;
    xdr::XdrDecoder in(*res);
    const std::uint32_t p = in.u32();
    if (!in.ok() || p == 0 || p > 0xffff) return std::nullopt;
    port = static_cast<std::uint16_t>(p);
  }
  Fd fd(connect_to(call.host, port, deadline));
  if (fd.get() < 0) return std::nullopt;
  sockaddr_storage ss{};
  socklen_t sl = sizeof(ss);
  boost::asio::ip::address local = boost::asio::ip::address_v4::loopback();
  if (::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&ss), &sl) == 0 &&
      ss.ss_family == AF_INET) {
    const auto* sin = reinterpret_cast<const sockaddr_in*>(&ss);
    local = boost::asio::ip::address_v4(ntohl(sin->sin_addr.s_addr));
  }
  const std::vector<std::uint8_t> args = call.args ? call.args(local) : std::vector<std::uint8_t>{};
  return rpc_call(fd.get(), xid2, call.prog, call.vers, call.proc, args, deadline,
                  call.cred ? *call.cred : kRootCred);
}

void CallbackClient::run(std::stop_token stop) {
  for (;;) {
    Call call;
    {
      std::unique_lock lock(mu_);
      if (!cv_.wait(lock, stop, [&] { return !queue_.empty(); })) return;
      call = std::move(queue_.front());
      queue_.pop_front();
      ++running_;
    }
    std::optional<std::vector<std::uint8_t>> result;
    for (unsigned attempt = 0; attempt < std::max(1u, call.attempts) && !stop.stop_requested();
         ++attempt) {
      result = call_once(call);
      if (result) break;
      // Back off a little (1 s), waking early on shutdown.
      std::unique_lock lock(mu_);
      cv_.wait_for(lock, stop, std::chrono::seconds(1), [] { return false; });
    }
    if (!result) {
      spdlog::warn("rpc callback {} v{} proc {} to {} failed", call.prog, call.vers, call.proc,
                   call.host.to_string());
    }
    if (call.done && !stop.stop_requested()) {
      if (result) {
        call.done(std::span<const std::uint8_t>(*result));
      } else {
        call.done(std::nullopt);
      }
    }
    std::lock_guard lock(mu_);
    --running_;
  }
}

}  // namespace nasd::server
