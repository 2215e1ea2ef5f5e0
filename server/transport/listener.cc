#include "server/transport/listener.h"

#include <sys/resource.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

#include <spdlog/spdlog.h>

namespace nasd::server {

namespace asio = boost::asio;

void raise_open_file_limit() {
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) != 0 || lim.rlim_cur >= lim.rlim_max) return;
  const rlim_t was = lim.rlim_cur;
  lim.rlim_cur = lim.rlim_max;
  if (::setrlimit(RLIMIT_NOFILE, &lim) != 0) {
    spdlog::warn("cannot raise the open file limit from {}: {}", was, std::strerror(errno));
  }
}

Listener::Listener(asio::io_context& io, const std::string& address, std::uint16_t port,
                   Pipeline& pipeline, ConnectionLimits limits)
    : acceptor_(io), retry_(io), pipeline_(pipeline), limits_(limits) {
  asio::ip::tcp::endpoint ep(asio::ip::make_address(address), port);
  acceptor_.open(ep.protocol());
  acceptor_.set_option(asio::ip::tcp::acceptor::reuse_address(true));
  acceptor_.bind(ep);
  acceptor_.listen(asio::socket_base::max_listen_connections);
}

void Listener::accept() {
  acceptor_.async_accept([this](const boost::system::error_code& ec, asio::ip::tcp::socket s) {
    if (ec == asio::error::operation_aborted) return;
    if (!ec) {
      std::lock_guard lock(mu_);
      std::erase_if(connections_, [](const auto& w) { return w.expired(); });
      if (connections_.size() >= limits_.max_connections) {
        boost::system::error_code ignored;
        s.close(ignored);
        if (!refusing_) spdlog::warn("connection limit {} reached; refusing new connections",
                                     limits_.max_connections);
        refusing_ = true;
        accept();
        return;
      }
      refusing_ = false;
    }
    if (!ec) {
      auto conn = std::make_shared<Connection>(std::move(s), pipeline_, limits_);
      {
        std::lock_guard lock(mu_);
        connections_.push_back(conn);
      }
      conn->start();
    } else {
      // Out of descriptors or memory: the pending connection stays queued and
      // an immediate retry would fail again at once, so pause briefly.
      spdlog::warn("accept failed: {}", ec.message());
      retry_.expires_after(std::chrono::milliseconds(100));
      retry_.async_wait([this](const boost::system::error_code& wait_ec) {
        if (!wait_ec && acceptor_.is_open()) accept();
      });
      return;
    }
    accept();
  });
}

void Listener::stop() {
  boost::system::error_code ec;
  acceptor_.close(ec);
  retry_.cancel();
  std::lock_guard lock(mu_);
  for (auto& w : connections_) {
    if (auto c = w.lock()) c->close();
  }
  connections_.clear();
}

}  // namespace nasd::server
