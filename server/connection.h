// Connection: one client TCP connection (ONC RPC record marking, RFC 5531
// §11).  Reads the 4-byte fragment header into a small member buffer, then
// the fragment into a right-sized buffer from the request pool, hands
// complete records to the pipeline as packets, and writes replies back in
// the order they finish.
//
// Backpressure: when no request buffer (while receiving) or packet (for a
// complete record) is free, or the connection already has
// `max_in_flight_per_connection` calls outstanding, it stops reading and
// resumes when one is returned — it never grows a queue.
// Teardown is immediate: on EOF, error, or an oversize record the socket is
// closed at once; calls still in the pipeline finish and are dropped, their
// buffers returned.
//
// Timeouts (each 0 = off): a connection with no call outstanding that sends
// no new record for `idle_timeout` is closed; a record must arrive whole
// within `record_timeout` of its first fragment header (time spent parked on
// the server's own backpressure does not count), and each reply write must
// finish within `record_timeout` — so a slow, stuck or never-reading client
// cannot hold pool buffers for long.
//
// Output budget (`max_output_bytes`, 0 = off): the reply buffers of this
// connection's calls — taken in the parse stage, held until the reply is
// written to the socket — are charged to the connection.  A call whose reply
// would take the charge above the budget (unless nothing is charged) is
// handed back by the parse stage and kept here, decoded, until earlier
// replies are written; meanwhile the connection reads no new records.  So a
// client that never reads its replies holds at most max(budget, one reply)
// of the reply pool, and everyone else keeps the rest.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include "protocol/record_marking.h"
#include "server/packet.h"
#include "server/pipeline.h"

namespace nasd::server {

struct ConnectionLimits {
  std::size_t max_record_bytes = (1u << 20) + (64u << 10);
  std::size_t max_in_flight_per_connection = 64;
  std::size_t max_connections = 4096;  // per listener; beyond it new connections are closed at once
  std::chrono::seconds idle_timeout{360};   // no new record and no call outstanding; 0 = off
  std::chrono::seconds record_timeout{30};  // one record's arrival, one reply's write; 0 = off
  std::size_t max_output_bytes = 8u << 20;  // reply bytes charged and not yet written; 0 = off
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
  /// Charges `bytes` of reply buffer to the output budget (any thread); false
  /// when it would go above `max_output_bytes` while something is charged.
  bool try_charge_reply(Packet& packet, std::size_t bytes) override;
  /// Keeps `packet` until the budget has room, then resubmits it.
  void defer_call(PacketPtr packet) override;

 private:
  enum class Waiting : std::uint8_t { kNothing, kPacket, kBuffer, kInFlight, kOutput };

  void read_header();
  void on_header(const boost::system::error_code& ec);
  /// Takes a buffer large enough for the record so far plus the current
  /// fragment, or parks.
  void prepare_fragment();
  /// Hands the complete record to the pipeline in a packet, or parks until a
  /// packet is free.
  void submit_record();
  void read_fragment();
  void on_fragment(const boost::system::error_code& ec);
  void resume();
  /// Schedules resume() on this connection's strand when `register_fn`
  /// reports a returned resource.
  template <class Source>
  void park(Waiting what, Source& source);
  void write_next();
  /// Returns `bytes` to the output budget (strand), resubmits deferred calls
  /// that now fit and resumes reading when the budget allows.
  void uncharge(std::size_t bytes);
  /// Resubmits deferred calls, oldest first, while their replies fit.
  void drain_deferred();
  /// True when no new record may be read because of the output budget.
  bool output_full() const;
  void fail(const char* why);
  /// (Re)starts `timer` to fire `kind` after `after`; 0 disarms it.
  void arm(boost::asio::steady_timer& timer, std::chrono::seconds after, ConnectionTimeout kind);
  /// Stops `timer` (a handler already queued sees the far expiry and ignores it).
  static void disarm(boost::asio::steady_timer& timer);
  void on_timeout(ConnectionTimeout kind);

  boost::asio::ip::tcp::socket socket_;
  boost::asio::strand<boost::asio::any_io_executor> strand_;
  Pipeline& pipeline_;
  const ConnectionLimits limits_;
  rpc::RecordAssembler assembler_;
  boost::asio::steady_timer read_timer_;   // idle or record timeout
  boost::asio::steady_timer write_timer_;  // reply write timeout
  bool in_record_ = false;                 // a record's first header has been read
  std::uint8_t header_[4] = {};
  pool::PooledBuffer buffer_;      // the record being received, its bytes so far
  std::deque<PacketPtr> replies_;  // finished calls waiting to be written
  std::deque<PacketPtr> deferred_; // decoded calls waiting for the output budget
  std::atomic<std::size_t> charged_{0};  // reply bytes charged (parse stage) and not yet written
  std::size_t in_flight_ = 0;      // calls submitted and not yet written
  Waiting waiting_ = Waiting::kNothing;
  bool writing_ = false;
  bool closed_ = false;
  std::string peer_text_;
};

}  // namespace nasd::server
