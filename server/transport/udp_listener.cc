#include "server/transport/udp_listener.h"

#include <algorithm>
#include <cstring>

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <spdlog/spdlog.h>

#include "protocol/rpc/record_marking.h"

namespace nasd::server {

namespace asio = boost::asio;

/// The socket and the reply sink of every datagram received on it.
class UdpListener::Socket : public ReplySink, public std::enable_shared_from_this<Socket> {
 public:
  Socket(asio::io_context& io, const std::string& address, std::uint16_t port, Pipeline& pipeline,
         std::vector<std::uint32_t> programs)
      : socket_(io), strand_(asio::make_strand(io)), pipeline_(pipeline),
        programs_(std::move(programs)) {
    asio::ip::udp::endpoint ep(asio::ip::make_address(address), port);
    socket_.open(ep.protocol());
    socket_.bind(ep);
    local_ = ep.address();
  }

  void receive() {
    socket_.async_receive_from(
        asio::buffer(datagram_), from_,
        asio::bind_executor(strand_, [self = shared_from_this()](const boost::system::error_code& ec,
                                                                 std::size_t n) {
          if (ec == asio::error::operation_aborted || self->closed_) return;
          if (!ec) self->on_datagram(n);
          self->receive();
        }));
  }

  void close() {
    asio::post(strand_, [self = shared_from_this()] {
      self->closed_ = true;
      boost::system::error_code ec;
      self->socket_.close(ec);
    });
  }

  std::uint16_t port() const { return socket_.local_endpoint().port(); }

  void send_reply(PacketPtr packet) override {
    asio::post(strand_, [self = shared_from_this(),
                         p = std::make_shared<PacketPtr>(std::move(packet))]() mutable {
      (*p)->sink.reset();  // no cycle packet -> socket while queued
      if (self->closed_ || !(*p)->reply || !(*p)->out) return;
      const std::size_t len = (*p)->out->position();
      if (len > kMaxDatagram) return;
      asio::ip::udp::endpoint to((*p)->ctx.peer, (*p)->ctx.peer_port);
      auto data = asio::buffer((*p)->reply.data() + rpc::kRecordMarkBytes, len);
      self->socket_.async_send_to(data, to, asio::bind_executor(self->strand_,
          [p](const boost::system::error_code&, std::size_t) {}));
    });
  }

 private:
  void on_datagram(std::size_t n) {
    // xid, msg_type, rpcvers, prog: drop what is not for one of our programs.
    if (n < 16) return;
    std::uint32_t prog = 0;
    for (int i = 12; i < 16; ++i) prog = (prog << 8) | datagram_[i];
    if (std::find(programs_.begin(), programs_.end(), prog) == programs_.end()) return;
    PacketPtr p = pipeline_.packets().try_acquire();
    if (!p) return;
    auto buf = pipeline_.request_pool().try_take(n);
    if (!buf) return;
    std::memcpy(buf.data(), datagram_.data(), n);
    p->request = std::move(buf);
    p->request_length = n;
    p->sink = shared_from_this();
    p->received = std::chrono::steady_clock::now();
    p->ctx.peer = from_.address();
    p->ctx.peer_port = from_.port();
    p->ctx.local = local_;
    p->ctx.datagram = true;
    pipeline_.submit(std::move(p));
  }

  asio::ip::udp::socket socket_;
  asio::strand<asio::io_context::executor_type> strand_;
  Pipeline& pipeline_;
  const std::vector<std::uint32_t> programs_;
  std::array<std::uint8_t, 65536> datagram_{};
  asio::ip::udp::endpoint from_;
  asio::ip::address local_;
  bool closed_ = false;
};

UdpListener::UdpListener(asio::io_context& io, const std::string& address, std::uint16_t port,
                         Pipeline& pipeline, std::vector<std::uint32_t> programs)
    : socket_(std::make_shared<Socket>(io, address, port, pipeline, std::move(programs))) {}

UdpListener::~UdpListener() = default;

void UdpListener::start() { socket_->receive(); }
void UdpListener::stop() { socket_->close(); }
std::uint16_t UdpListener::port() const { return socket_->port(); }

}  // namespace nasd::server
