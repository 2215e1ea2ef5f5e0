#include "server/transport/connection.h"

#include <arpa/inet.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>
#include <array>
#include <cerrno>

#include <cstring>

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <spdlog/spdlog.h>

#include "protocol/rpc/rpc.h"

namespace nasd::server {

namespace asio = boost::asio;

Connection::Connection(asio::ip::tcp::socket socket, Pipeline& pipeline, ConnectionLimits limits)
    : socket_(std::move(socket)),
      strand_(asio::make_strand(socket_.get_executor())),
      pipeline_(pipeline),
      limits_(limits),
      assembler_(limits.max_record_bytes),
      tick_timer_(strand_) {
  // Deadlines are checked by one ticking timer at a quarter of the shortest
  // timeout, not by re-armed timers: re-arming a timer for every record costs
  // system calls (timerfd_settime), a deadline is a store.
  std::chrono::seconds shortest{0};  // 0: no timeout at all, nothing ever ticks
  for (auto t : {limits_.idle_timeout, limits_.record_timeout}) {
    if (t.count() > 0 && (shortest.count() == 0 || t < shortest)) shortest = t;
  }
  if (shortest.count() > 0) {
    tick_period_ = std::clamp<std::chrono::milliseconds>(
        std::chrono::duration_cast<std::chrono::milliseconds>(shortest) / 4,
        std::chrono::milliseconds(50), std::chrono::milliseconds(5000));
  }
  boost::system::error_code ec;
  peer_ = socket_.remote_endpoint(ec);  // fixed for the connection's life: read once
  if (!ec) peer_text_ = peer_.address().to_string() + ":" + std::to_string(peer_.port());
  local_ = socket_.local_endpoint(ec);
  socket_.set_option(asio::ip::tcp::no_delay(true), ec);
  pipeline_.metrics().connections().Increment();
  pipeline_.metrics().connections_total().Increment();
}

Connection::~Connection() {
  // Sessions may keep the back channel longer than the connection (and its
  // io_context): it lets go of the executor and its timers now.
  if (back_channel_) back_channel_->close();
  pipeline_.metrics().connections().Decrement();
}

void Connection::start() {
  spdlog::info("connection open {}", peer_text_);
  asio::post(strand_, [self = shared_from_this()] { self->read_header(); });
}

void Connection::close() {
  asio::post(strand_, [self = shared_from_this()] { self->fail("server shutdown"); });
}

void Connection::fail(const char* why) {
  if (closed_) return;
  closed_ = true;
  spdlog::info("connection close {} ({})", peer_text_, why);
  std::deque<PacketPtr> dropped;
  {
    // Under out_mu_: no sender may use the descriptor once it is closed
    // (its number could be reused at once).
    std::lock_guard lock(out_mu_);
    out_closed_ = true;
    boost::system::error_code ec;
    socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ec);
    socket_.close(ec);
    // Deferred calls point back to this connection: drop them.
    for (auto& p : deferred_) {
      p->sink.reset();
      dropped.push_back(std::move(p));
      --in_flight_;
    }
    deferred_.clear();
    // No send is under way (write_next() runs on this strand too): all go.
    while (!replies_.empty()) {
      dropped.push_back(std::move(replies_.back()));
      replies_.pop_back();
      --in_flight_;
    }
  }
  disarm(read_deadline_);
  disarm(write_deadline_);
  boost::system::error_code ignored;
  tick_timer_.cancel(ignored);
  buffer_.release();
  std::shared_ptr<RpcBackChannel> bc;
  {
    std::lock_guard lock(bc_mu_);
    bc_closed_ = true;
    bc = std::move(back_channel_);
  }
  if (bc) bc->close();  // pending callbacks fail now
}

std::shared_ptr<RpcBackChannel> Connection::back_channel() {
  std::lock_guard lock(bc_mu_);
  if (!back_channel_) {
    std::weak_ptr<Connection> weak = weak_from_this();
    back_channel_ = std::make_shared<RpcBackChannel>(
        strand_, [weak](std::span<const std::uint8_t> record) {
          auto self = weak.lock();
          return self && self->send_call_record(record);
        });
    if (bc_closed_) back_channel_->close();
  }
  return back_channel_;
}

bool Connection::is_reply_record() const {
  const std::uint8_t* p = buffer_.data();
  return assembler_.record_length() >= 8 && p[4] == 0 && p[5] == 0 && p[6] == 0 && p[7] == 1;
}

bool Connection::bad_message_type(std::uint32_t* type) const {
  if (assembler_.record_length() < 8) return false;  // no msg_type at all: the pipeline drops it
  const std::uint8_t* p = buffer_.data();
  *type = (std::uint32_t{p[4]} << 24) | (std::uint32_t{p[5]} << 16) | (std::uint32_t{p[6]} << 8) |
          std::uint32_t{p[7]};
  return *type > static_cast<std::uint32_t>(rpc::MsgType::kReply);
}

void Connection::route_reply() {
  std::shared_ptr<RpcBackChannel> bc;
  {
    std::lock_guard lock(bc_mu_);
    bc = back_channel_;
  }
  const std::span<const std::uint8_t> record(buffer_.data(), assembler_.record_length());
  if (!bc || !bc->on_reply(record)) {
    spdlog::debug("{}: RPC reply with no pending callback dropped", peer_text_);
  }
  buffer_.release();  // back to the pool
}

bool Connection::send_call_record(std::span<const std::uint8_t> record) {
  PacketPtr packet = pipeline_.packets().try_acquire();
  if (!packet) return false;
  packet->reply = pipeline_.reply_pool().try_take(rpc::kRecordMarkBytes + record.size());
  if (!packet->reply) return false;
  packet->out.emplace(packet->reply.span().subspan(rpc::kRecordMarkBytes));
  packet->out->fixed_opaque(record);
  if (!packet->out->ok()) return false;
  xdr::XdrEncoder(packet->reply.span())
      .u32(rpc::make_fragment_header(static_cast<std::uint32_t>(record.size()), true));
  {
    std::lock_guard lock(out_mu_);
    if (out_closed_) return false;
    ++in_flight_;  // send_reply() counts it done
  }
  send_reply(std::move(packet));
  return true;
}

void Connection::arm(Deadline& d, std::chrono::seconds after, ConnectionTimeout kind) {
  if (after.count() == 0) return disarm(d);
  d.at = std::chrono::steady_clock::now() + after;
  d.kind = kind;
  if (!ticking_) tick();
}

void Connection::disarm(Deadline& d) { d.at = std::chrono::steady_clock::time_point::max(); }

void Connection::tick() {
  ticking_ = true;
  tick_timer_.expires_after(tick_period_);
  tick_timer_.async_wait(asio::bind_executor(
      strand_, [self = shared_from_this()](const boost::system::error_code& ec) {
        self->ticking_ = false;
        if (ec || self->closed_) return;
        const auto now = std::chrono::steady_clock::now();
        for (Deadline* d : {&self->read_deadline_, &self->write_deadline_}) {
          if (self->closed_ || now < d->at) continue;
          disarm(*d);
          self->on_timeout(d->kind);
        }
        const auto never = std::chrono::steady_clock::time_point::max();
        if (!self->closed_ && !self->ticking_ &&
            (self->read_deadline_.at != never || self->write_deadline_.at != never)) {
          self->tick();
        }
      }));
}

void Connection::on_timeout(ConnectionTimeout kind) {
  std::size_t in_flight;
  {
    std::lock_guard lock(out_mu_);
    in_flight = in_flight_;
  }
  if (kind == ConnectionTimeout::kIdle && in_flight > 0) {
    // Calls are still being served: not idle.  Look again later.
    return arm(read_deadline_, limits_.idle_timeout, kind);
  }
  pipeline_.metrics().timeout(kind).Increment();
  switch (kind) {
    case ConnectionTimeout::kIdle:
      return fail("idle timeout");
    case ConnectionTimeout::kRecord:
      spdlog::warn("{}: record not received within {} s, closing", peer_text_,
                   limits_.record_timeout.count());
      return fail("record timeout");
    case ConnectionTimeout::kWrite:
      spdlog::warn("{}: reply not taken within {} s, closing", peer_text_,
                   limits_.record_timeout.count());
      return fail("write timeout");
    case ConnectionTimeout::kCount:
      break;
  }
}

void Connection::read_header() {
  if (closed_) return;
  {
    std::lock_guard lock(out_mu_);
    if (in_flight_ >= limits_.max_in_flight_per_connection) {
      waiting_ = Waiting::kInFlight;  // resumed by call_done()
      parked_in_flight_ = true;
      disarm(read_deadline_);            // a stalled reply write has its own timer
      return;
    }
    if (output_full()) {
      waiting_ = Waiting::kOutput;  // resumed by call_done()
      parked_output_ = true;
      disarm(read_deadline_);
      return;
    }
  }
  if (!in_record_) arm(read_deadline_, limits_.idle_timeout, ConnectionTimeout::kIdle);
  if (ahead_end_ - ahead_begin_ >= sizeof header_) {
    std::memcpy(header_, ahead_.data() + ahead_begin_, sizeof header_);
    ahead_begin_ += sizeof header_;
    if (++records_in_turn_ < kRecordsPerTurn) return on_header({});
    // Let the other connections on this thread have a turn.
    records_in_turn_ = 0;
    asio::post(strand_, [self = shared_from_this()] { self->on_header({}); });
    return;
  }
  records_in_turn_ = 0;
  const std::size_t left = ahead_end_ - ahead_begin_;
  std::memmove(ahead_.data(), ahead_.data() + ahead_begin_, left);
  ahead_begin_ = 0;
  ahead_end_ = left;
  socket_.async_read_some(
      asio::buffer(ahead_.data() + left, ahead_.size() - left),
      asio::bind_executor(strand_, [self = shared_from_this()](const boost::system::error_code& ec,
                                                                std::size_t n) {
        if (ec) {
          const bool clean = ec == asio::error::eof && !self->in_record_ && self->ahead_end_ == 0;
          return self->fail(clean ? "eof" : ec == asio::error::eof ? "eof in record" : "read error");
        }
        self->ahead_end_ += n;
        self->read_header();
      }));
}

void Connection::on_header(const boost::system::error_code& ec) {
  if (ec) return fail(ec == asio::error::eof ? "eof" : "read error");
  std::uint32_t raw;
  std::memcpy(&raw, header_, 4);
  if (!in_record_) {
    in_record_ = true;
    arm(read_deadline_, limits_.record_timeout, ConnectionTimeout::kRecord);
  }
  switch (assembler_.on_header(ntohl(raw))) {
    case rpc::RecordAssembler::Step::kReadFragment:
      break;
    case rpc::RecordAssembler::Step::kRecordTooLarge:
      pipeline_.metrics().error(RpcError::kRecordTooLarge).Increment();
      spdlog::warn("{}: record larger than {} bytes, closing", peer_text_, limits_.max_record_bytes);
      return fail("record too large");
    case rpc::RecordAssembler::Step::kTooManyFragments:
      pipeline_.metrics().error(RpcError::kRecordTooLarge).Increment();
      spdlog::warn("{}: too many fragments in one record, closing", peer_text_);
      return fail("too many fragments");
  }
  prepare_fragment();
}

template <class Source>
void Connection::park(Waiting what, Source& source) {
  waiting_ = what;
  disarm(read_deadline_);  // waiting on the server, not on the client
  std::weak_ptr<Connection> weak = weak_from_this();
  auto strand = strand_;
  source.notify_on_release([weak, strand] {
    if (auto self = weak.lock()) asio::post(strand, [self] { self->resume(); });
  });
}

void Connection::prepare_fragment() {
  if (closed_) return;
  const std::size_t have = assembler_.received();
  const std::size_t need = have + assembler_.fragment_length();
  if (buffer_.capacity() < need || !buffer_) {
    if (!pipeline_.request_pool().can_ever_take(need)) {
      // Larger than any buffer the pool may hand out: waiting would hang.
      pipeline_.metrics().error(RpcError::kRecordTooLarge).Increment();
      spdlog::warn("{}: record of {} bytes has no request buffer class, closing", peer_text_,
                   need);
      return fail("record too large for the request pool");
    }
    auto bigger = pipeline_.request_pool().try_take(std::max<std::size_t>(need, 1));
    if (!bigger) return park(Waiting::kBuffer, pipeline_.request_pool());
    if (have) std::memcpy(bigger.data(), buffer_.data(), have);
    buffer_ = std::move(bigger);
  }
  waiting_ = Waiting::kNothing;
  read_fragment();
}

void Connection::read_fragment() {
  std::uint8_t* dst = buffer_.data() + assembler_.received();
  const std::size_t want = assembler_.fragment_length();
  // Whatever of the fragment already sits in the read-ahead buffer is
  // copied; the rest is read straight into the record's buffer.
  const std::size_t have = std::min(want, ahead_end_ - ahead_begin_);
  if (have) std::memcpy(dst, ahead_.data() + ahead_begin_, have);
  ahead_begin_ += have;
  if (have == want) return on_fragment({});
  asio::async_read(socket_, asio::buffer(dst + have, want - have),
                   asio::bind_executor(strand_, [self = shared_from_this()](
                                                    const boost::system::error_code& ec, std::size_t) {
                     self->on_fragment(ec);
                   }));
}

void Connection::on_fragment(const boost::system::error_code& ec) {
  if (ec) return fail(ec == asio::error::eof ? "eof in record" : "read error");
  if (!assembler_.on_fragment_done()) return read_header();
  in_record_ = false;
  if (is_reply_record()) {  // a client's answer on the back channel
    route_reply();
    return read_header();
  }
  if (std::uint32_t type = 0; bad_message_type(&type)) {
    // Neither CALL nor REPLY (RFC 5531 §9): what this peer sends is not RPC,
    // or the record marks lost step with its records.  Nothing after this
    // can be trusted to start a record: close.
    pipeline_.metrics().error(RpcError::kBadMessageType).Increment();
    spdlog::info("{}: record with msg_type {} is not an RPC message, closing", peer_text_, type);
    buffer_.release();
    return fail("not an RPC message");
  }
  submit_record();
}

void Connection::submit_record() {
  if (closed_) return;
  // The packet is taken only now: a partial record holds just its buffer, so
  // slow senders cannot use up the calls the pipeline admits (--max-in-flight).
  PacketPtr packet = pipeline_.packets().try_acquire();
  if (!packet) return park(Waiting::kPacket, pipeline_.packets());
  waiting_ = Waiting::kNothing;
  packet->request = std::move(buffer_);
  packet->request_length = assembler_.record_length();
  packet->sink = shared_from_this();
  packet->received = std::chrono::steady_clock::now();
  packet->ctx.peer = peer_.address();
  packet->ctx.peer_port = peer_.port();
  packet->ctx.local = local_.address();
  packet->ctx.connection = this;
  {
    std::lock_guard lock(out_mu_);
    ++in_flight_;
  }
  pipeline_.submit(std::move(packet));
  read_header();
}

void Connection::resume() {
  switch (waiting_) {
    case Waiting::kNothing:
      return;
    case Waiting::kPacket:
      return submit_record();
    case Waiting::kBuffer:
      arm(read_deadline_, limits_.record_timeout, ConnectionTimeout::kRecord);
      return prepare_fragment();
    case Waiting::kInFlight:
    case Waiting::kOutput:
      waiting_ = Waiting::kNothing;
      return read_header();
  }
}

bool Connection::output_full() const {
  return limits_.max_output_bytes != 0 &&
         (!deferred_.empty() || charged_ >= limits_.max_output_bytes);
}

bool Connection::try_charge_reply(Packet& packet, std::size_t bytes) {
  if (limits_.max_output_bytes == 0) return true;
  std::lock_guard lock(out_mu_);
  // Deferred calls go first; beyond them, a reply fits when the budget has
  // room or nothing is charged (one reply larger than the budget still goes).
  if (!deferred_.empty() || (charged_ != 0 && charged_ + bytes > limits_.max_output_bytes)) {
    return false;
  }
  charged_ += bytes;
  packet.charged_reply_bytes = bytes;
  return true;
}

void Connection::defer_call(PacketPtr packet) {
  std::unique_lock lock(out_mu_);
  if (out_closed_) {
    packet->sink.reset();
    packet.reset();
    return call_done(lock, 0);
  }
  // Kept here, the packet must not point back to this connection (a cycle
  // would keep both alive past shutdown); it gets `sink` again when resubmitted.
  packet->sink.reset();
  deferred_.push_back(std::move(packet));
  // Replies may have been written since the charge was refused.
  std::vector<PacketPtr> ready = take_fitting_deferred();
  lock.unlock();
  for (auto& p : ready) pipeline_.resume_deferred(std::move(p));
}

std::vector<PacketPtr> Connection::take_fitting_deferred() {
  std::vector<PacketPtr> ready;
  while (!deferred_.empty()) {
    PacketPtr& p = deferred_.front();
    const std::size_t bytes = pool::BufferPool::class_bytes(p->reply_size);
    if (charged_ != 0 && charged_ + bytes > limits_.max_output_bytes) break;
    charged_ += bytes;
    p->charged_reply_bytes = bytes;
    p->sink = shared_from_this();
    ready.push_back(std::move(p));
    deferred_.pop_front();
  }
  return ready;
}

void Connection::call_done(std::unique_lock<std::mutex>& lock, std::size_t charged,
                           std::size_t calls) {
  in_flight_ -= calls;
  charged_ -= charged;
  std::vector<PacketPtr> ready;
  if (charged != 0 && !deferred_.empty() && !out_closed_) ready = take_fitting_deferred();
  bool resume = false;
  if (parked_in_flight_ && in_flight_ < limits_.max_in_flight_per_connection) {
    parked_in_flight_ = false;
    resume = true;
  }
  if (parked_output_ && !output_full()) {
    parked_output_ = false;
    resume = true;
  }
  lock.unlock();
  for (auto& p : ready) pipeline_.resume_deferred(std::move(p));
  if (resume) asio::post(strand_, [self = shared_from_this()] { self->resume(); });
}

void Connection::send_reply(PacketPtr packet) {
  // Back on its connection the packet must not point to it: a queued reply
  // holding `sink` would form a cycle that outlives the io_context (and the
  // pools) when the server stops while a write is stalled.  The caller
  // holds its own reference while this runs.
  packet->sink.reset();
  const std::size_t charged = packet->charged_reply_bytes;
  std::unique_lock lock(out_mu_);
  // Each path below returns the packet (and its reply buffer) to its pool
  // before the charge goes: the buffers a connection holds never exceed
  // its charge, not even for a moment.
  if (out_closed_ || !packet->reply) {  // dropped: buffers go back to their pools
    packet.reset();
    return call_done(lock, charged);
  }
  // A reply made on this connection's strand (a call answered inline while
  // the strand works through the calls read together) waits for the end of
  // the strand's turn: write_next() then sends all of them with one
  // sendmsg(2).  A reply from a persist thread goes out at once.
  const bool on_strand = strand_.running_in_this_thread();
  if (!writing_ && replies_.empty() && !on_strand) {
    // Nothing queued ahead: send from this thread, without blocking.
    const std::size_t len = rpc::kRecordMarkBytes + packet->out->position();
    const ssize_t n = ::send(socket_.native_handle(), packet->reply.data(), len,
                             MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n == static_cast<ssize_t>(len)) {
      packet.reset();
      return call_done(lock, charged);
    }
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
      packet.reset();
      call_done(lock, charged);
      asio::post(strand_, [self = shared_from_this()] { self->fail("write error"); });
      return;
    }
    front_sent_ = n > 0 ? static_cast<std::size_t>(n) : 0;
  }
  replies_.push_back(std::move(packet));
  if (writing_) return;
  writing_ = true;
  lock.unlock();
  // From the strand itself this only queues behind the running handler:
  // no other thread is woken.
  asio::post(strand_, [self = shared_from_this()] { self->write_next(); });
}

void Connection::write_next() {
  std::unique_lock lock(out_mu_);
  for (;;) {
    if (out_closed_ || replies_.empty()) {
      writing_ = false;
      return;
    }
    // Gather the queued replies (the front one from where a partial send
    // left it).  Other threads only append while writing_ is set, which
    // leaves these elements in place, so the send runs unlocked.
    std::array<iovec, kWriteBatch> iov;
    std::size_t count = 0, total = 0;
    for (const PacketPtr& p : replies_) {
      if (count == iov.size()) break;
      const std::size_t skip = count == 0 ? front_sent_ : 0;
      const std::size_t len = rpc::kRecordMarkBytes + p->out->position() - skip;
      iov[count++] = {p->reply.data() + skip, len};
      total += len;
    }
    lock.unlock();
    msghdr msg{};
    msg.msg_iov = iov.data();
    msg.msg_iovlen = count;
    ssize_t n = ::sendmsg(socket_.native_handle(), &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
    const int err = errno;
    lock.lock();
    if (n < 0 && err != EAGAIN && err != EWOULDBLOCK && err != EINTR) {
      writing_ = false;
      lock.unlock();
      return fail("write error");
    }
    // Done with every reply sent whole: buffers back first, then the charge.
    std::size_t sent = n > 0 ? static_cast<std::size_t>(n) : 0;
    std::size_t done = 0, released = 0;
    while (sent > 0) {
      PacketPtr& front = replies_.front();
      const std::size_t left = rpc::kRecordMarkBytes + front->out->position() - front_sent_;
      if (sent < left) {
        front_sent_ += sent;
        break;
      }
      sent -= left;
      front_sent_ = 0;
      released += front->charged_reply_bytes;
      ++done;
      replies_.pop_front();  // returns the packet and its buffers
    }
    if (done != 0) {
      call_done(lock, released, done);  // unlocks
      lock.lock();
    }
    if (n >= 0 && static_cast<std::size_t>(n) == total) continue;  // more may have come
    if (n < 0 && err == EINTR) continue;
    break;  // the socket's buffer is full: wait until it drains
  }
  lock.unlock();
  arm(write_deadline_, limits_.record_timeout, ConnectionTimeout::kWrite);
  socket_.async_wait(asio::ip::tcp::socket::wait_write,
                     asio::bind_executor(strand_, [self = shared_from_this()](
                                                      const boost::system::error_code& ec) {
                       disarm(self->write_deadline_);
                       if (!ec) return self->write_next();
                       {
                         std::lock_guard lock(self->out_mu_);
                         self->writing_ = false;
                       }
                       self->fail("write error");
                     }));
}

}  // namespace nasd::server
