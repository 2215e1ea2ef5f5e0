// Connection's back-channel side over loopback: calls to the client go out
// on its connection, REPLY records coming back are routed to the waiting
// call by xid (unknown ones dropped, never run as calls), and a closed
// connection fails its pending calls and gives every buffer back.
#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>

#include <boost/asio/io_context.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include "protocol/rpc/record_marking.h"
#include "server/transport/back_channel.h"
#include "server/transport/listener.h"
#include "server/pipeline/packet.h"
#include "server/pipeline/pipeline.h"

namespace nasd::server {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;

/// Program 400001 v1, proc 0 NULL and proc 1 GRAB, which keeps the
/// connection's back channel for the test.
class GrabProgram : public Program {
 public:
  std::uint32_t number() const override { return 400001; }
  std::uint32_t low_version() const override { return 1; }
  std::uint32_t high_version() const override { return 1; }
  const char* name() const override { return "grab"; }
  const char* procedure_name(std::uint32_t p) const override { return p ? "GRAB" : "NULL"; }
  std::uint32_t procedure_count() const override { return 2; }
  DecodeResult decode(const CallContext&, xdr::XdrDecoder&, ArgSlot&) override {
    return DecodeResult::kOk;
  }
  std::size_t max_reply_size(const CallContext&, ArgSlot&) override { return 16; }
  bool validate(CallContext&, ArgSlot&, xdr::XdrEncoder&) override { return true; }
  storage::Status execute(CallContext& ctx, ArgSlot&, xdr::XdrEncoder&) override {
    if (ctx.header.proc == 1 && ctx.connection) {
      std::lock_guard lock(mu);
      chan = ctx.connection->back_channel();
    }
    return storage::Status::kOk;
  }
  std::mutex mu;
  std::shared_ptr<RpcBackChannel> chan;
};

/// A completion to wait for (bounded), set by a back-channel call.
struct Completion {
  std::mutex mu;
  std::condition_variable cv;
  std::optional<RpcBackChannel::Outcome> outcome;
  std::vector<std::uint8_t> result;
  RpcBackChannel::Done done() {
    return [this](RpcBackChannel::Outcome o, std::span<const std::uint8_t> r) {
      std::lock_guard lock(mu);
      outcome = o;
      result.assign(r.begin(), r.end());
      cv.notify_all();
    };
  }
  std::optional<RpcBackChannel::Outcome> wait() {
    std::unique_lock lock(mu);
    cv.wait_for(lock, std::chrono::seconds(10), [&] { return outcome.has_value(); });
    return outcome;
  }
};

class ConnectionBackChannelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    pipeline_ = std::make_unique<Pipeline>(PipelineConfig{}, std::vector<Program*>{&grab_}, metrics_);
    listener_ = std::make_unique<Listener>(*io_, "127.0.0.1", 0, *pipeline_, ConnectionLimits{});
    listener_->start();
    io_thread_ = std::jthread([this] { io_->run(); });
    sock_.connect({asio::ip::make_address("127.0.0.1"), listener_->port()});
  }
  void TearDown() override {
    {
      std::lock_guard lock(grab_.mu);
      grab_.chan.reset();
    }
    listener_->stop();
    io_->stop();
    io_thread_ = {};
    pipeline_->stop();
    listener_.reset();
    io_.reset();
    pipeline_.reset();
  }
  void send(const std::vector<std::uint32_t>& words, std::span<const std::uint8_t> tail = {}) {
    std::vector<std::uint8_t> b(4 + 4 * words.size() + tail.size());
    xdr::XdrEncoder e(b);
    e.u32(rpc::make_fragment_header(static_cast<std::uint32_t>(b.size() - 4), true));
    for (auto w : words) e.u32(w);
    e.fixed_opaque(tail);
    asio::write(sock_, asio::buffer(b));
  }
  /// Sends CALL prog 400001 `proc` (AUTH_NONE).
  void call(std::uint32_t xid, std::uint32_t proc) {
    send({xid, 0, 2, 400001, 1, proc, 0, 0, 0, 0});
  }
  std::vector<std::uint8_t> read_record() {
    std::uint8_t hdr[4];
    asio::read(sock_, asio::buffer(hdr));
    const std::uint32_t mark =
        (std::uint32_t{hdr[0]} << 24) | (hdr[1] << 16) | (hdr[2] << 8) | hdr[3];
    std::vector<std::uint8_t> body(mark & ~rpc::kLastFragmentBit);
    asio::read(sock_, asio::buffer(body));
    return body;
  }
  static std::uint32_t word(const std::vector<std::uint8_t>& r, std::size_t i) {
    return (std::uint32_t{r[4 * i]} << 24) | (r[4 * i + 1] << 16) | (r[4 * i + 2] << 8) |
           r[4 * i + 3];
  }
  /// GRAB: the server side of this connection's back channel.
  std::shared_ptr<RpcBackChannel> grab() {
    call(1, 1);
    auto r = read_record();
    EXPECT_EQ(word(r, 0), 1u);
    std::lock_guard lock(grab_.mu);
    return grab_.chan;
  }
  bool all_returned() {
    for (int i = 0; i < 200; ++i) {
      if (pipeline_->packets().in_use() == 0 &&
          pipeline_->request_pool().stats().in_use_buffers == 0 &&
          pipeline_->reply_pool().stats().in_use_buffers == 0) {
        return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  }

  GrabProgram grab_;
  ServerMetrics metrics_;
  asio::io_context client_io_;
  tcp::socket sock_{client_io_};
  std::unique_ptr<asio::io_context> io_ = std::make_unique<asio::io_context>();
  std::unique_ptr<Pipeline> pipeline_;
  std::unique_ptr<Listener> listener_;
  std::jthread io_thread_;
};

TEST_F(ConnectionBackChannelTest, ReplyWithKnownXidCompletesTheCallback) {
  auto chan = grab();
  ASSERT_TRUE(chan);
  Completion done;
  ASSERT_TRUE(chan->call(0x40000000, 1, 0, {}, {}, std::chrono::seconds(30), done.done()));
  auto cb = read_record();  // the CALL, on the client's own connection
  EXPECT_EQ(word(cb, 1), 0u);
  EXPECT_EQ(word(cb, 3), 0x40000000u);
  const std::uint8_t body[] = {0, 0, 0, 42};
  send({word(cb, 0), 1, 0, 0, 0, 0}, body);
  EXPECT_EQ(done.wait(), RpcBackChannel::Outcome::kOk);
  EXPECT_EQ(done.result, std::vector<std::uint8_t>(std::begin(body), std::end(body)));
  EXPECT_TRUE(all_returned());
}

TEST_F(ConnectionBackChannelTest, UnknownXidReplyIsDroppedNotRunAsACall) {
  auto chan = grab();
  ASSERT_TRUE(chan);
  Completion done;
  ASSERT_TRUE(chan->call(0x40000000, 1, 0, {}, {}, std::chrono::seconds(30), done.done()));
  auto cb = read_record();
  send({word(cb, 0) + 1, 1, 0, 0, 0, 0});  // nobody waits for this xid
  call(77, 0);                            // the connection goes on: NULL is answered
  auto r = read_record();
  EXPECT_EQ(word(r, 0), 77u);              // the next record out is that reply, nothing else
  EXPECT_EQ(word(r, 1), 1u);
  EXPECT_EQ(chan->pending(), 1u);          // still waiting for its own reply
  {
    std::lock_guard lock(done.mu);
    EXPECT_FALSE(done.outcome);
  }
  send({word(cb, 0), 1, 0, 0, 0, 0});  // its own reply completes it
  EXPECT_EQ(done.wait(), RpcBackChannel::Outcome::kOk);
}

TEST_F(ConnectionBackChannelTest, DisconnectFailsPendingCallbacksAndReturnsBuffers) {
  auto chan = grab();
  ASSERT_TRUE(chan);
  Completion done;
  ASSERT_TRUE(chan->call(0x40000000, 1, 0, {}, {}, std::chrono::seconds(300), done.done()));
  read_record();
  sock_.close();
  EXPECT_EQ(done.wait(), RpcBackChannel::Outcome::kError);
  EXPECT_TRUE(chan->closed());
  Completion later;
  EXPECT_FALSE(chan->call(0x40000000, 1, 0, {}, {}, std::chrono::seconds(30), later.done()));
  EXPECT_TRUE(all_returned());
}

}  // namespace
}  // namespace nasd::server
