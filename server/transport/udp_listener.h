// UdpListener: ONC RPC over UDP (RFC 5531 §10: one datagram is one call, no
// record marking) for a few small programs — the port mapper, NLM and NSM —
// that clients reach over UDP (rpcbind queries, rpc.statd's SM_NOTIFY).
// Calls go through the same pipeline as TCP calls; the reply is sent back to
// the datagram's source.  Datagrams for programs not in the allowed list,
// and datagrams arriving when no packet or buffer is free, are dropped (the
// client retransmits).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>

#include "server/pipeline/pipeline.h"

namespace nasd::server {

class UdpListener {
 public:
  /// Largest datagram accepted and largest reply sent (bytes).
  static constexpr std::size_t kMaxDatagram = 65507;

  /// Binds `address:port` for UDP.  Throws boost::system::system_error when
  /// it cannot be bound (start-up error).  `programs`: RPC program numbers
  /// served on this socket.
  UdpListener(boost::asio::io_context& io, const std::string& address, std::uint16_t port,
              Pipeline& pipeline, std::vector<std::uint32_t> programs);
  ~UdpListener();
  UdpListener(const UdpListener&) = delete;
  UdpListener& operator=(const UdpListener&) = delete;

  void start();
  /// Closes the socket; replies still in the pipeline are dropped.
  void stop();
  std::uint16_t port() const;

 private:
  class Socket;
  std::shared_ptr<Socket> socket_;
};

}  // namespace nasd::server
