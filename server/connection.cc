#include "server/connection.h"

#include <arpa/inet.h>

#include <cstring>

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <spdlog/spdlog.h>

namespace nasd::server {

namespace asio = boost::asio;

Connection::Connection(asio::ip::tcp::socket socket, Pipeline& pipeline, ConnectionLimits limits)
    : socket_(std::move(socket)),
      strand_(asio::make_strand(socket_.get_executor())),
      pipeline_(pipeline),
      limits_(limits),
      assembler_(limits.max_record_bytes),
      read_timer_(strand_),
      write_timer_(strand_) {
  boost::system::error_code ec;
  auto ep = socket_.remote_endpoint(ec);
  if (!ec) peer_text_ = ep.address().to_string() + ":" + std::to_string(ep.port());
  socket_.set_option(asio::ip::tcp::no_delay(true), ec);
  pipeline_.metrics().connections().Increment();
  pipeline_.metrics().connections_total().Increment();
}

Connection::~Connection() { pipeline_.metrics().connections().Decrement(); }

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
  boost::system::error_code ec;
  socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ec);
  socket_.close(ec);
  disarm(read_timer_);
  disarm(write_timer_);
  buffer_.release();
  deferred_.clear();  // these packets point back to this connection
  // A write in progress still uses the front reply; its completion drops it.
  while (replies_.size() > (writing_ ? 1u : 0u)) replies_.pop_back();
}

void Connection::arm(asio::steady_timer& timer, std::chrono::seconds after,
                     ConnectionTimeout kind) {
  if (after.count() == 0) return disarm(timer);
  timer.expires_after(after);
  timer.async_wait(asio::bind_executor(
      strand_, [self = shared_from_this(), &timer, kind](const boost::system::error_code& ec) {
        if (ec || self->closed_) return;
        if (timer.expiry() > asio::steady_timer::clock_type::now()) return;  // re-armed since
        self->on_timeout(kind);
      }));
}

void Connection::disarm(asio::steady_timer& timer) {
  timer.expires_at(asio::steady_timer::time_point::max());
}

void Connection::on_timeout(ConnectionTimeout kind) {
  if (kind == ConnectionTimeout::kIdle && in_flight_ > 0) {
    // Calls are still being served: not idle.  Look again later.
    return arm(read_timer_, limits_.idle_timeout, kind);
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
  if (in_flight_ >= limits_.max_in_flight_per_connection) {
    waiting_ = Waiting::kInFlight;  // resumed by write completion
    disarm(read_timer_);            // a stalled reply write has its own timer
    return;
  }
  if (output_full()) {
    waiting_ = Waiting::kOutput;  // resumed by uncharge()
    disarm(read_timer_);
    return;
  }
  if (!in_record_) arm(read_timer_, limits_.idle_timeout, ConnectionTimeout::kIdle);
  asio::async_read(socket_, asio::buffer(header_),
                   asio::bind_executor(strand_, [self = shared_from_this()](
                                                    const boost::system::error_code& ec, std::size_t) {
                     self->on_header(ec);
                   }));
}

void Connection::on_header(const boost::system::error_code& ec) {
  if (ec) return fail(ec == asio::error::eof ? "eof" : "read error");
  std::uint32_t raw;
  std::memcpy(&raw, header_, 4);
  if (!in_record_) {
    in_record_ = true;
    arm(read_timer_, limits_.record_timeout, ConnectionTimeout::kRecord);
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
  disarm(read_timer_);  // waiting on the server, not on the client
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
    auto bigger = pipeline_.request_pool().try_take(std::max<std::size_t>(need, 1));
    if (!bigger) return park(Waiting::kBuffer, pipeline_.request_pool());
    if (have) std::memcpy(bigger.data(), buffer_.data(), have);
    buffer_ = std::move(bigger);
  }
  waiting_ = Waiting::kNothing;
  read_fragment();
}

void Connection::read_fragment() {
  auto dst = asio::buffer(buffer_.data() + assembler_.received(), assembler_.fragment_length());
  asio::async_read(socket_, dst,
                   asio::bind_executor(strand_, [self = shared_from_this()](
                                                    const boost::system::error_code& ec, std::size_t) {
                     self->on_fragment(ec);
                   }));
}

void Connection::on_fragment(const boost::system::error_code& ec) {
  if (ec) return fail(ec == asio::error::eof ? "eof in record" : "read error");
  if (!assembler_.on_fragment_done()) return read_header();
  in_record_ = false;
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
  boost::system::error_code ep_ec;
  auto ep = socket_.remote_endpoint(ep_ec);
  if (!ep_ec) {
    packet->ctx.peer = ep.address();
    packet->ctx.peer_port = ep.port();
  }
  auto local = socket_.local_endpoint(ep_ec);
  if (!ep_ec) packet->ctx.local = local.address();
  ++in_flight_;
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
      arm(read_timer_, limits_.record_timeout, ConnectionTimeout::kRecord);
      return prepare_fragment();
    case Waiting::kInFlight:
    case Waiting::kOutput:
      waiting_ = Waiting::kNothing;
      return read_header();
  }
}

bool Connection::output_full() const {
  return limits_.max_output_bytes != 0 &&
         (!deferred_.empty() || charged_.load(std::memory_order_relaxed) >= limits_.max_output_bytes);
}

bool Connection::try_charge_reply(Packet& packet, std::size_t bytes) {
  if (limits_.max_output_bytes == 0) return true;
  std::size_t cur = charged_.load(std::memory_order_relaxed);
  do {
    if (cur != 0 && cur + bytes > limits_.max_output_bytes) return false;
  } while (!charged_.compare_exchange_weak(cur, cur + bytes, std::memory_order_relaxed));
  packet.charged_reply_bytes = bytes;
  return true;
}

void Connection::defer_call(PacketPtr packet) {
  asio::post(strand_, [self = shared_from_this(), p = std::move(packet)]() mutable {
    if (self->closed_) {
      p->sink.reset();
      --self->in_flight_;
      return;  // dropped with its buffers
    }
    self->deferred_.push_back(std::move(p));
    // Replies may have drained since the parse stage looked.
    self->drain_deferred();
  });
}

void Connection::drain_deferred() {
  while (!deferred_.empty() && !closed_) {
    PacketPtr& p = deferred_.front();
    const std::size_t cls = pool::BufferPool::class_for(p->reply_size);
    const std::size_t bytes =
        cls < pool::BufferPool::kClassSizes.size() ? pool::BufferPool::kClassSizes[cls] : 0;
    if (!try_charge_reply(*p, bytes)) return;
    PacketPtr next = std::move(p);
    deferred_.pop_front();
    pipeline_.resume_deferred(std::move(next));
  }
}

void Connection::uncharge(std::size_t bytes) {
  if (bytes == 0) return;
  charged_.fetch_sub(bytes, std::memory_order_relaxed);
  if (closed_) return;
  drain_deferred();
  if (waiting_ == Waiting::kOutput && !output_full()) resume();
}

void Connection::send_reply(PacketPtr packet) {
  // The handler owns the packet (move-only; no allocation per reply).
  asio::post(strand_, [self = shared_from_this(), p = std::move(packet)]() mutable {
    // Back on its connection the packet must not point to it: a queued reply
    // holding `sink` would form a cycle that outlives the io_context (and the
    // pools) when the server stops while a write is stalled.
    p->sink.reset();
    if (self->closed_) {
      --self->in_flight_;
      self->charged_.fetch_sub(p->charged_reply_bytes, std::memory_order_relaxed);
      return;  // dropped: the packet and its buffers go back to their pools
    }
    if (!p->reply) {  // call dropped without a reply
      --self->in_flight_;
      const std::size_t charged = p->charged_reply_bytes;
      p.reset();
      self->uncharge(charged);
      if (self->waiting_ == Waiting::kInFlight) self->resume();
      return;
    }
    self->replies_.push_back(std::move(p));
    self->write_next();
  });
}

void Connection::write_next() {
  if (writing_ || replies_.empty() || closed_) return;
  writing_ = true;
  Packet& p = *replies_.front();
  const std::size_t len = rpc::kRecordMarkBytes + p.out->position();
  arm(write_timer_, limits_.record_timeout, ConnectionTimeout::kWrite);
  asio::async_write(socket_, asio::buffer(p.reply.data(), len),
                    asio::bind_executor(strand_, [self = shared_from_this()](
                                                     const boost::system::error_code& ec, std::size_t) {
                      self->writing_ = false;
                      disarm(self->write_timer_);
                      const std::size_t charged = self->replies_.front()->charged_reply_bytes;
                      self->replies_.pop_front();  // the reply buffer goes back to the pool
                      if (self->closed_) return;
                      --self->in_flight_;
                      if (ec) return self->fail("write error");
                      self->uncharge(charged);
                      if (self->waiting_ == Waiting::kInFlight) self->resume();
                      self->write_next();
                    }));
}

}  // namespace nasd::server
