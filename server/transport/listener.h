// Listener: accepts TCP connections on one address/port and starts a
// Connection for each, up to ConnectionLimits::max_connections open at once
// (more are closed on accept, so many idle clients cannot grow the server
// without bound).  Keeps weak references so shutdown can close them.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include "server/transport/connection.h"
#include "server/pipeline/pipeline.h"

namespace nasd::server {

/// Raises the soft RLIMIT_NOFILE to the hard limit, so the number of open
/// connections is bounded by ConnectionLimits::max_connections rather than by
/// a default soft limit of 1024 descriptors.  Logs and goes on on failure.
void raise_open_file_limit();

class Listener {
 public:
  /// Binds `address:port` (SO_REUSEADDR).  Throws boost::system::system_error
  /// when the address cannot be bound (start-up error).
  Listener(boost::asio::io_context& io, const std::string& address, std::uint16_t port,
           Pipeline& pipeline, ConnectionLimits limits);

  void start() { accept(); }
  /// Stops accepting and closes every open connection.
  void stop();
  /// The bound port (useful with port 0).
  std::uint16_t port() const { return acceptor_.local_endpoint().port(); }

 private:
  void accept();

  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::steady_timer retry_;  // pause after a failed accept (EMFILE, ENOBUFS)
  Pipeline& pipeline_;
  const ConnectionLimits limits_;
  std::mutex mu_;
  std::vector<std::weak_ptr<Connection>> connections_;
  bool refusing_ = false;  // logged the limit once; reset when back under it
};

}  // namespace nasd::server
