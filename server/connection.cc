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
      packet_(nullptr, PacketReturner{&pipeline.packets()}) {
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
  packet_.reset();
  buffer_.release();
  // A write in progress still uses the front reply; its completion drops it.
  while (replies_.size() > (writing_ ? 1u : 0u)) replies_.pop_back();
}

void Connection::read_header() {
  if (closed_) return;
  if (in_flight_ >= limits_.max_in_flight_per_connection) {
    waiting_ = Waiting::kInFlight;  // resumed by write completion
    return;
  }
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
  std::weak_ptr<Connection> weak = weak_from_this();
  auto strand = strand_;
  source.notify_on_release([weak, strand] {
    if (auto self = weak.lock()) asio::post(strand, [self] { self->resume(); });
  });
}

void Connection::prepare_fragment() {
  if (closed_) return;
  if (assembler_.first_fragment() && !packet_) {
    packet_ = pipeline_.packets().try_acquire();
    if (!packet_) return park(Waiting::kPacket, pipeline_.packets());
  }
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
  packet_->request = std::move(buffer_);
  packet_->request_length = assembler_.record_length();
  packet_->sink = shared_from_this();
  packet_->received = std::chrono::steady_clock::now();
  boost::system::error_code ep_ec;
  auto ep = socket_.remote_endpoint(ep_ec);
  if (!ep_ec) {
    packet_->ctx.peer = ep.address();
    packet_->ctx.peer_port = ep.port();
  }
  auto local = socket_.local_endpoint(ep_ec);
  if (!ep_ec) packet_->ctx.local = local.address();
  ++in_flight_;
  pipeline_.submit(std::move(packet_));
  packet_ = PacketPtr(nullptr, PacketReturner{&pipeline_.packets()});
  read_header();
}

void Connection::resume() {
  switch (waiting_) {
    case Waiting::kNothing:
      return;
    case Waiting::kPacket:
    case Waiting::kBuffer:
      return prepare_fragment();
    case Waiting::kInFlight:
      waiting_ = Waiting::kNothing;
      return read_header();
  }
}

void Connection::send_reply(PacketPtr packet) {
  asio::post(strand_, [self = shared_from_this(), p = std::make_shared<PacketPtr>(std::move(packet))]() mutable {
    // Back on its connection the packet must not point to it: a queued reply
    // holding `sink` would form a cycle that outlives the io_context (and the
    // pools) when the server stops while a write is stalled.
    (*p)->sink.reset();
    if (self->closed_) {
      --self->in_flight_;
      return;  // dropped: the packet and its buffers go back to their pools
    }
    if (!(*p)->reply) {  // call dropped without a reply
      --self->in_flight_;
      if (self->waiting_ == Waiting::kInFlight) self->resume();
      return;
    }
    self->replies_.push_back(std::move(*p));
    self->write_next();
  });
}

void Connection::write_next() {
  if (writing_ || replies_.empty() || closed_) return;
  writing_ = true;
  Packet& p = *replies_.front();
  const std::size_t len = rpc::kRecordMarkBytes + p.out->position();
  asio::async_write(socket_, asio::buffer(p.reply.data(), len),
                    asio::bind_executor(strand_, [self = shared_from_this()](
                                                     const boost::system::error_code& ec, std::size_t) {
                      self->writing_ = false;
                      self->replies_.pop_front();
                      if (self->closed_) return;
                      --self->in_flight_;
                      if (ec) return self->fail("write error");
                      if (self->waiting_ == Waiting::kInFlight) self->resume();
                      self->write_next();
                    }));
}

}  // namespace nasd::server
