// Connection: one client TCP connection (ONC RPC record marking, RFC 5531
// §11).  Reads the 4-byte fragment header into a small member buffer, then
// the fragment into a right-sized buffer from the request pool, hands
// complete records to the pipeline as packets, and writes replies back in
// the order they finish.
//
// Backpressure: when no packet or request buffer is free, or the connection
// already has `max_in_flight_per_connection` calls outstanding, it stops
// reading and resumes when one is returned — it never grows a queue.
// Teardown is immediate: on EOF, error, or an oversize record the socket is
// closed at once; calls still in the pipeline finish and are dropped, their
// buffers returned.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>

#include "protocol/record_marking.h"
#include "server/packet.h"
#include "server/pipeline.h"

namespace nasd::server {

struct ConnectionLimits {
  std::size_t max_record_bytes = (1u << 20) + (64u << 10);
  std::size_t max_in_flight_per_connection = 64;
  std::size_t max_connections = 4096;  // per listener; beyond it new connections are closed at once
};

class Connection : public ReplySink, public std::enable_shared_from_this<Connection> {
 public:
  Connection(boost::asio::ip::tcp::socket socket, Pipeline& pipeline, ConnectionLimits limits);
  ~Connection() override;

  /// Starts reading; the connection keeps itself alive while it has work.
  void start();
  /// Closes the socket now (called on server shutdown).
  void close();
  void send_reply(PacketPtr packet) override;

 private:
  enum class Waiting : std::uint8_t { kNothing, kPacket, kBuffer, kInFlight };

  void read_header();
  void on_header(const boost::system::error_code& ec);
  /// Takes a packet and a buffer for the current fragment, or parks.
  void prepare_fragment();
  void read_fragment();
  void on_fragment(const boost::system::error_code& ec);
  void resume();
  /// Schedules resume() on this connection's strand when `register_fn`
  /// reports a returned resource.
  template <class Source>
  void park(Waiting what, Source& source);
  void write_next();
  void fail(const char* why);

  boost::asio::ip::tcp::socket socket_;
  boost::asio::strand<boost::asio::any_io_executor> strand_;
  Pipeline& pipeline_;
  const ConnectionLimits limits_;
  rpc::RecordAssembler assembler_;
  std::uint8_t header_[4] = {};
  PacketPtr packet_;               // the record being received
  pool::PooledBuffer buffer_;      // its bytes so far
  std::deque<PacketPtr> replies_;  // finished calls waiting to be written
  std::size_t in_flight_ = 0;      // calls submitted and not yet written
  Waiting waiting_ = Waiting::kNothing;
  bool writing_ = false;
  bool closed_ = false;
  std::string peer_text_;
};

}  // namespace nasd::server
