// Connection: one client TCP connection (ONC RPC record marking, RFC 5531
// §11).  Reads from the socket into a small read-ahead buffer (kReadAhead
// bytes, part of the connection), takes each fragment header from it, then
// copies the fragment into a right-sized buffer from the request pool (the
// part not yet received is read straight into that buffer), hands complete
// records to the pipeline as packets, and writes replies back.  One read
// usually brings several pipelined calls: one recv(2) for many records.
//
// Backpressure: when no request buffer (while receiving) or packet (for a
// complete record) is free, or the connection already has
// `max_in_flight_per_connection` calls outstanding, it stops reading and
// resumes when one is returned — it never grows a queue.
// Teardown is immediate: on EOF, error, or an oversize record the socket is
// closed at once; calls still in the pipeline finish and are dropped, their
// buffers returned.
//
// Replies are sent by the thread that finished the call (a persist worker),
// with one non-blocking send(2) when nothing else is queued on the
// connection: no hand-off back to a network thread, which would cost two
// context switches per call.  When the socket buffer is full the rest goes
// out through an asynchronous write on the connection's strand, and later
// replies queue behind it, in order.
//
// Timeouts (each 0 = off): a connection with no call outstanding that sends
// no new record for `idle_timeout` is closed; a record must arrive whole
// within `record_timeout` of its first fragment header (time spent parked on
// the server's own backpressure does not count), and each reply write must
// finish within `record_timeout` — so a slow, stuck or never-reading client
// cannot hold pool buffers for long.  Deadlines are checked by one timer
// ticking at a quarter of the shortest timeout (50 ms..5 s), so a timeout
// fires up to that much late.
//
// Output budget (`max_output_bytes`, 0 = off): the reply buffers of this
// connection's calls — taken in the validate step, held until the reply is
// written to the socket — are charged to the connection.  A call whose reply
// would take the charge above the budget (unless nothing is charged) is
// handed back by the validate step and kept here, decoded, until earlier
// replies are written; meanwhile the connection reads no new records.  So a
// client that never reads its replies holds at most max(budget, one reply)
// of the reply pool, and everyone else keeps the rest.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <vector>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include "protocol/rpc/record_marking.h"
#include "server/transport/back_channel.h"
#include "server/pipeline/packet.h"
#include "server/pipeline/pipeline.h"

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
  /// when it would go above `max_output_bytes` while something is charged,
  /// or when earlier calls are already deferred.
  bool try_charge_reply(Packet& packet, std::size_t bytes) override;
  /// Keeps `packet` until the budget has room, then resubmits it.
  void defer_call(PacketPtr packet) override;
  /// The back channel over this connection (RFC 8881 §2.10.3.1), created on
  /// first use (any thread); closed when the connection closes.
  std::shared_ptr<RpcBackChannel> back_channel() override;

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
  /// Sends the queued replies, up to kWriteBatch with each sendmsg(2),
  /// until none is left, or waits (asynchronously) for the socket to drain
  /// and goes on (strand; writing_ is set while it runs or waits).
  void write_next();
  /// Called with out_mu_ held when `calls` calls finished (their replies
  /// written or dropped) with `charged` bytes charged to the output budget
  /// in all: resubmits deferred calls that now fit and resumes a reader
  /// parked on the in-flight or output limit.  Returns with the lock released.
  void call_done(std::unique_lock<std::mutex>& lock, std::size_t charged, std::size_t calls = 1);
  /// Deferred calls, oldest first, whose replies now fit the budget, charged
  /// (out_mu_ held).
  std::vector<PacketPtr> take_fitting_deferred();
  /// True when no new record may be read because of the output budget
  /// (out_mu_ held).
  bool output_full() const;
  void fail(const char* why);
  /// True when the record holds a msg_type (8 bytes or more) that is
  /// neither CALL nor REPLY; *type gets it.
  bool bad_message_type(std::uint32_t* type) const;
  /// A complete record that is an RPC REPLY (msg_type 1): completes the back
  /// channel call with its xid, or is dropped; never goes to the pipeline.
  bool is_reply_record() const;
  void route_reply();
  /// Queues one outgoing CALL record (without mark) like a reply, in a
  /// packet with a pooled reply buffer; false when closed or none is free.
  bool send_call_record(std::span<const std::uint8_t> record);
  /// A timeout to fire at `at` (time_point::max(): none).
  struct Deadline {
    std::chrono::steady_clock::time_point at = std::chrono::steady_clock::time_point::max();
    ConnectionTimeout kind = ConnectionTimeout::kIdle;
  };
  /// Sets `d` to fire `kind` `after` from now (checked every tick_period_,
  /// so it fires up to a quarter of the shortest timeout late); 0 disarms it.
  void arm(Deadline& d, std::chrono::seconds after, ConnectionTimeout kind);
  static void disarm(Deadline& d);
  /// Starts the timer that checks the deadlines (strand).
  void tick();
  void on_timeout(ConnectionTimeout kind);

  boost::asio::ip::tcp::socket socket_;
  boost::asio::strand<boost::asio::any_io_executor> strand_;
  Pipeline& pipeline_;
  const ConnectionLimits limits_;
  rpc::RecordAssembler assembler_;
  boost::asio::steady_timer tick_timer_;   // checks the deadlines while one is set
  std::chrono::milliseconds tick_period_{5000};
  bool ticking_ = false;
  Deadline read_deadline_;                 // idle or record timeout
  Deadline write_deadline_;                // reply write timeout
  bool in_record_ = false;                 // a record's first header has been read
  std::uint8_t header_[4] = {};
  static constexpr std::size_t kReadAhead = 4096;   // bytes read from the socket at once
  static constexpr unsigned kRecordsPerTurn = 32;   // records taken from it before yielding
  std::array<std::uint8_t, kReadAhead> ahead_{};     // bytes received, not yet consumed
  std::size_t ahead_begin_ = 0, ahead_end_ = 0;      // the unconsumed bytes of ahead_
  unsigned records_in_turn_ = 0;
  pool::PooledBuffer buffer_;      // the record being received, its bytes so far
  Waiting waiting_ = Waiting::kNothing;
  bool closed_ = false;            // strand's view: stop reading
  // The output side, shared by the strand and the threads finishing calls.
  std::mutex out_mu_;
  std::deque<PacketPtr> replies_;  // finished calls waiting to be written (front: being written)
  std::size_t front_sent_ = 0;     // bytes of the front reply already sent
  std::size_t in_flight_ = 0;      // calls submitted and not yet written
  static constexpr std::size_t kWriteBatch = 64;  // replies gathered into one sendmsg
  bool writing_ = false;           // write_next() is queued, running or waiting for the socket
  bool out_closed_ = false;        // socket closed: drop replies
  bool parked_in_flight_ = false;  // the reader waits for in_flight_ to drop
  bool parked_output_ = false;     // the reader waits for the output budget
  std::deque<PacketPtr> deferred_; // decoded calls waiting for the output budget
  std::size_t charged_ = 0;        // reply bytes charged and not yet written
  std::mutex bc_mu_;
  std::shared_ptr<RpcBackChannel> back_channel_;  // guarded by bc_mu_
  bool bc_closed_ = false;                        // guarded by bc_mu_
  std::string peer_text_;
  boost::asio::ip::tcp::endpoint peer_, local_;  // the client's and our address
};

}  // namespace nasd::server
