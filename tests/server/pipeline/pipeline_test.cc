// The pipeline and connections over loopback, with a small echo program:
// RPC-level errors, record marking, backpressure, and that every pooled
// buffer and packet comes back on every path.
#include "server/pipeline/pipeline.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <thread>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include "protocol/rpc/record_marking.h"
#include "server/transport/listener.h"

namespace nasd::server {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;

constexpr std::uint32_t kEchoProgram = 400000;

// Program 400000 v1: proc 0 NULL, proc 1 ECHO(opaque<4096>) -> opaque.
// Another version (e.g. v3, named "echo3") prefixes its echo with the
// version number, so a test sees which program answered.
class EchoProgram : public Program {
 public:
  explicit EchoProgram(std::uint32_t version = 1, const char* name = "echo")
      : version_(version), name_(name) {}
  std::uint32_t number() const override { return kEchoProgram; }
  std::uint32_t low_version() const override { return version_; }
  std::uint32_t high_version() const override { return version_; }
  const char* name() const override { return name_; }
  const char* procedure_name(std::uint32_t p) const override { return p == 0 ? "NULL" : "ECHO"; }
  std::uint32_t procedure_count() const override { return 2; }
  DecodeResult decode(const CallContext& ctx, xdr::XdrDecoder& in, ArgSlot& args) override {
    if (ctx.header.proc == 0) return DecodeResult::kOk;
    auto data = in.opaque(4096);
    if (!in.ok()) return DecodeResult::kGarbageArgs;
    args.emplace<std::span<const std::uint8_t>>(data);
    return DecodeResult::kOk;
  }
  std::size_t max_reply_size(const CallContext&, ArgSlot&) override { return 4100; }
  bool validate(CallContext&, ArgSlot&, xdr::XdrEncoder&) override { return true; }
  storage::Status execute(CallContext& ctx, ArgSlot& args, xdr::XdrEncoder& out) override {
    if (ctx.header.proc == 1) {
      if (version_ != 1) out.u32(version_);
      out.opaque(args.get<std::span<const std::uint8_t>>());
    }
    return storage::Status::kOk;
  }

 private:
  std::uint32_t version_;
  const char* name_;
};

// Program 400002 v1: ECHO as above, and may run inline.  try_execute_inline()
// answers when `answer_inline` is set; otherwise it scribbles into the reply
// and says it would block (the pipeline must rewind and use execute()).
// Records which threads ran what.
constexpr std::uint32_t kInlineProgram = 400002;
class InlineEchoProgram : public EchoProgram {
 public:
  std::uint32_t number() const override { return kInlineProgram; }
  bool may_run_inline(const CallContext&, const ArgSlot&) const override { return true; }
  std::optional<storage::Status> try_execute_inline(CallContext& ctx, ArgSlot& args,
                                                    xdr::XdrEncoder& out) override {
    std::lock_guard lock(mu);
    inline_threads.push_back(std::this_thread::get_id());
    if (!answer_inline) {
      out.u32(0xdeadbeef);
      return std::nullopt;
    }
    return EchoProgram::execute(ctx, args, out);
  }
  storage::Status execute(CallContext& ctx, ArgSlot& args, xdr::XdrEncoder& out) override {
    {
      std::lock_guard lock(mu);
      execute_threads.push_back(std::this_thread::get_id());
    }
    return EchoProgram::execute(ctx, args, out);
  }

  std::atomic<bool> answer_inline{true};
  std::mutex mu;
  std::vector<std::thread::id> inline_threads, execute_threads;
};

std::vector<std::uint8_t> call(std::uint32_t xid, std::uint32_t prog, std::uint32_t vers,
                               std::uint32_t proc, std::span<const std::uint8_t> body = {}) {
  std::vector<std::uint8_t> b(64 + body.size());
  xdr::XdrEncoder e(b);
  for (std::uint32_t v : {xid, 0u, 2u, prog, vers, proc, 0u, 0u, 0u, 0u}) e.u32(v);
  e.fixed_opaque(body);
  b.resize(e.position());
  return b;
}

std::vector<std::uint8_t> frame(const std::vector<std::uint8_t>& rec) {
  std::vector<std::uint8_t> out(4 + rec.size());
  xdr::XdrEncoder(out).u32(rpc::make_fragment_header(static_cast<std::uint32_t>(rec.size()), true));
  std::copy(rec.begin(), rec.end(), out.begin() + 4);
  return out;
}

struct Reply {
  std::uint32_t xid = 0, reply_stat = 0, accept_stat = 0;
  std::vector<std::uint8_t> rest;
};

/// Stage threading under test: (parse threads, validate threads).  {0, 0}
/// is the default (parse on the network thread, validate on the persist
/// threads); {2, 2} gives every stage its own workers.
struct Threading {
  std::size_t parse, validate;
};

class PipelineTest : public ::testing::TestWithParam<Threading> {
 protected:
  void start(PipelineConfig pc = {}, ConnectionLimits limits = {},
             std::vector<Program*> more = {}) {
    pc.parse_threads = GetParam().parse;
    pc.validate_threads = GetParam().validate;
    std::vector<Program*> programs{&echo_};
    programs.insert(programs.end(), more.begin(), more.end());
    pipeline_ = std::make_unique<Pipeline>(pc, programs, metrics_);
    listener_ = std::make_unique<Listener>(*io_, "127.0.0.1", 0, *pipeline_, limits);
    listener_->start();
    io_thread_ = std::jthread([this] { io_->run(); });
  }
  void TearDown() override {
    if (listener_) listener_->stop();
    io_->stop();
    io_thread_ = {};
    if (pipeline_) pipeline_->stop();
    listener_.reset();
    io_.reset();  // drops pending handlers (and connections) while the pools live
    pipeline_.reset();
  }
  tcp::socket connect() {
    tcp::socket s(client_io_);
    s.connect({asio::ip::make_address("127.0.0.1"), listener_->port()});
    return s;
  }
  Reply read_reply(tcp::socket& s) {
    std::uint8_t hdr[4];
    asio::read(s, asio::buffer(hdr));
    std::uint32_t mark = (std::uint32_t{hdr[0]} << 24) | (hdr[1] << 16) | (hdr[2] << 8) | hdr[3];
    EXPECT_TRUE(mark & rpc::kLastFragmentBit);
    std::vector<std::uint8_t> body(mark & ~rpc::kLastFragmentBit);
    asio::read(s, asio::buffer(body));
    xdr::XdrDecoder d(body);
    Reply r;
    r.xid = d.u32();
    EXPECT_EQ(d.u32(), 1u);  // REPLY
    r.reply_stat = d.u32();
    if (r.reply_stat == 0) {
      d.u32();
      d.opaque(400);
      r.accept_stat = d.u32();
    } else {
      r.accept_stat = d.u32();  // reject_stat
    }
    auto rest = d.rest();
    r.rest.assign(rest.begin(), rest.end());
    return r;
  }
  // Waits until every packet and buffer is back (connections close asynchronously).
  bool all_returned() {
    for (int i = 0; i < 200; ++i) {
      if (pipeline_->packets().in_use() == 0 && pipeline_->request_pool().stats().in_use_buffers == 0 &&
          pipeline_->reply_pool().stats().in_use_buffers == 0)
        return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  }
  double counter(const std::string& needle) {
    std::string text = metrics_.render();
    auto pos = text.find(needle);
    if (pos == std::string::npos) return -1;
    return std::stod(text.substr(text.find(' ', pos + needle.size()) + 1));
  }

  EchoProgram echo_;
  ServerMetrics metrics_;
  asio::io_context client_io_;
  std::unique_ptr<asio::io_context> io_ = std::make_unique<asio::io_context>();
  std::unique_ptr<Pipeline> pipeline_;
  std::unique_ptr<Listener> listener_;
  std::jthread io_thread_;
};

TEST_P(PipelineTest, AnswersNullAndEcho) {
  start();
  auto s = connect();
  asio::write(s, asio::buffer(frame(call(1, kEchoProgram, 1, 0))));
  auto r = read_reply(s);
  EXPECT_EQ(r.xid, 1u);
  EXPECT_EQ(r.accept_stat, 0u);
  const std::uint8_t payload[] = {0, 0, 0, 3, 'a', 'b', 'c', 0};
  asio::write(s, asio::buffer(frame(call(2, kEchoProgram, 1, 1, payload))));
  r = read_reply(s);
  EXPECT_EQ(r.xid, 2u);
  EXPECT_EQ(r.rest, std::vector<std::uint8_t>(std::begin(payload), std::end(payload)));
}

TEST_P(PipelineTest, DispatchesByProgramAndVersion) {
  EchoProgram v3(3, "echo3");
  start({}, {}, {&v3});
  auto s = connect();
  const std::uint8_t payload[] = {0, 0, 0, 1, 'x', 0, 0, 0};
  asio::write(s, asio::buffer(frame(call(1, kEchoProgram, 3, 1, payload))));
  auto r = read_reply(s);
  ASSERT_EQ(r.accept_stat, 0u);
  xdr::XdrDecoder d(r.rest);
  EXPECT_EQ(d.u32(), 3u);  // answered by the v3 program
  asio::write(s, asio::buffer(frame(call(2, kEchoProgram, 1, 1, payload))));
  r = read_reply(s);
  EXPECT_EQ(r.rest, std::vector<std::uint8_t>(std::begin(payload), std::end(payload)));
  // A version between and beyond: PROG_MISMATCH with the range over both.
  for (std::uint32_t vers : {2u, 4u}) {
    asio::write(s, asio::buffer(frame(call(3, kEchoProgram, vers, 0))));
    r = read_reply(s);
    EXPECT_EQ(r.accept_stat, 2u);
    xdr::XdrDecoder m(r.rest);
    EXPECT_EQ(m.u32(), 1u);
    EXPECT_EQ(m.u32(), 3u);
  }
  EXPECT_EQ(counter("nasd_rpc_requests_total{procedure=\"ECHO\",program=\"echo3\"}"), 1);
}

TEST_P(PipelineTest, AnswersRpcLevelErrors) {
  start();
  auto s = connect();
  asio::write(s, asio::buffer(frame(call(1, 123456, 1, 0))));
  EXPECT_EQ(read_reply(s).accept_stat, 1u);  // PROG_UNAVAIL
  asio::write(s, asio::buffer(frame(call(2, kEchoProgram, 7, 0))));
  auto r = read_reply(s);
  EXPECT_EQ(r.accept_stat, 2u);  // PROG_MISMATCH
  xdr::XdrDecoder d(r.rest);
  EXPECT_EQ(d.u32(), 1u);
  EXPECT_EQ(d.u32(), 1u);
  asio::write(s, asio::buffer(frame(call(3, kEchoProgram, 1, 9))));
  EXPECT_EQ(read_reply(s).accept_stat, 3u);  // PROC_UNAVAIL
  const std::uint8_t bad[] = {0, 0, 0, 100, 1};
  asio::write(s, asio::buffer(frame(call(4, kEchoProgram, 1, 1, bad))));
  EXPECT_EQ(read_reply(s).accept_stat, 4u);  // GARBAGE_ARGS
  EXPECT_EQ(counter("nasd_rpc_errors_total{reason=\"garbage_args\"}"), 1);
  EXPECT_TRUE(all_returned());
}

TEST_P(PipelineTest, ReassemblesMultiFragmentRecords) {
  start();
  auto s = connect();
  const std::uint8_t payload[] = {0, 0, 0, 4, 'w', 'x', 'y', 'z'};
  auto rec = call(9, kEchoProgram, 1, 1, payload);
  std::vector<std::uint8_t> wire;
  std::size_t cuts[] = {0, 5, 5, 17, rec.size()};  // includes an empty fragment
  for (std::size_t i = 0; i + 1 < std::size(cuts); ++i) {
    std::uint32_t len = static_cast<std::uint32_t>(cuts[i + 1] - cuts[i]);
    std::uint8_t h[4];
    xdr::XdrEncoder(h).u32(rpc::make_fragment_header(len, i + 2 == std::size(cuts)));
    wire.insert(wire.end(), h, h + 4);
    wire.insert(wire.end(), rec.begin() + cuts[i], rec.begin() + cuts[i + 1]);
  }
  asio::write(s, asio::buffer(wire));
  auto r = read_reply(s);
  EXPECT_EQ(r.xid, 9u);
  EXPECT_EQ(r.rest, std::vector<std::uint8_t>(std::begin(payload), std::end(payload)));
}

TEST_P(PipelineTest, ClosesConnectionOnOversizeRecordWithoutTakingItsMemory) {
  ConnectionLimits limits;
  limits.max_record_bytes = 8192;
  start({}, limits);
  auto s = connect();
  std::uint8_t h[4];
  xdr::XdrEncoder(h).u32(0x7fffffffu);  // 2 GiB fragment, last bit clear
  asio::write(s, asio::buffer(h));
  std::uint8_t byte;
  boost::system::error_code ec;
  asio::read(s, asio::buffer(&byte, 1), ec);
  EXPECT_EQ(ec, asio::error::eof);
  EXPECT_EQ(counter("nasd_rpc_errors_total{reason=\"record_too_large\"}"), 1);
  EXPECT_LE(pipeline_->request_pool().stats().high_water_bytes, 0u);
  EXPECT_TRUE(all_returned());
}

TEST_P(PipelineTest, ClosesConnectionWhenNoRequestBufferCouldEverHoldTheRecord) {
  // The record is within --max-record-size, but larger than the whole request
  // pool: waiting for a buffer would hang the connection, so it is closed.
  PipelineConfig pc;
  pc.request_pool_bytes = 64u << 10;
  ConnectionLimits limits;
  limits.max_record_bytes = 1u << 20;
  start(pc, limits);
  auto s = connect();
  std::uint8_t h[4];
  xdr::XdrEncoder(h).u32(rpc::make_fragment_header(200u << 10, true));
  asio::write(s, asio::buffer(h));
  std::uint8_t byte;
  boost::system::error_code ec;
  asio::read(s, asio::buffer(&byte, 1), ec);
  EXPECT_TRUE(ec == asio::error::eof || ec == asio::error::connection_reset) << ec.message();
  EXPECT_EQ(counter("nasd_rpc_errors_total{reason=\"record_too_large\"}"), 1);
  EXPECT_TRUE(all_returned());
}

TEST_P(PipelineTest, LargeCallsBeyondTheLargeRequestBudgetWaitAndAllComplete) {
  // Twelve 600 KiB records (1 MiB buffers) on three connections, with room for
  // four large request buffers: the connections take turns, none fails, and
  // the large buffers held never exceed the budget.
  PipelineConfig pc;
  pc.request_pool_large_bytes = 0;  // raised to the floor: one largest buffer (4 MiB + 64 KiB)
  start(pc);
  const std::vector<std::uint8_t> data(600u << 10, 0x5a);
  std::vector<std::uint8_t> payload(4 + data.size());
  xdr::XdrEncoder(payload).u32(static_cast<std::uint32_t>(data.size()));
  std::copy(data.begin(), data.end(), payload.begin() + 4);
  std::vector<tcp::socket> sockets;
  for (int c = 0; c < 3; ++c) {
    sockets.push_back(connect());
    std::vector<std::uint8_t> wire;
    for (std::uint32_t i = 0; i < 4; ++i) {
      auto f = frame(call(c * 10 + i, kEchoProgram, 1, 0, payload));  // NULL ignores its args
      wire.insert(wire.end(), f.begin(), f.end());
    }
    asio::write(sockets.back(), asio::buffer(wire));
  }
  for (int c = 0; c < 3; ++c) {
    std::set<std::uint32_t> seen;
    for (int i = 0; i < 4; ++i) {
      auto r = read_reply(sockets[c]);
      EXPECT_EQ(r.accept_stat, 0u);
      seen.insert(r.xid);
    }
    EXPECT_EQ(seen.size(), 4u);
  }
  EXPECT_EQ(pipeline_->request_pool().large_capacity_bytes(), pool::BufferPool::kMaxBufferSize);
  // At most four 1 MiB buffers (the budget) plus the small header buffers.
  EXPECT_LE(pipeline_->request_pool().stats().high_water_bytes, (4u << 20) + (64u << 10));
  EXPECT_TRUE(all_returned());
}

TEST_P(PipelineTest, DropsGarbageRecordsWithoutAReply) {
  start();
  auto s = connect();
  asio::write(s, asio::buffer(frame({1, 2, 3})));
  asio::write(s, asio::buffer(frame(call(5, kEchoProgram, 1, 0))));
  EXPECT_EQ(read_reply(s).xid, 5u);  // the garbage got no reply, the next call did
  EXPECT_EQ(counter("nasd_rpc_errors_total{reason=\"garbage_record\"}"), 1);
}

TEST_P(PipelineTest, RecordThatIsNeitherCallNorReplyClosesTheConnection) {
  start();
  auto s = connect();
  // 200 bytes whose msg_type (bytes 4..7) is 0xa5a5a5a5 (RFC 5531 §9 knows
  // CALL 0 and REPLY 1 only): the stream is out of step.
  std::vector<std::uint8_t> junk(200, 0xa5);
  asio::write(s, asio::buffer(frame(junk)));
  std::array<std::uint8_t, 4> b{};
  boost::system::error_code ec;
  asio::read(s, asio::buffer(b), ec);
  EXPECT_TRUE(ec == asio::error::eof || ec == asio::error::connection_reset) << ec.message();
  EXPECT_EQ(counter("nasd_rpc_errors_total{reason=\"bad_msg_type\"}"), 1);
  EXPECT_EQ(counter("nasd_rpc_errors_total{reason=\"garbage_record\"}"), 0);
  // The server goes on for everyone else.
  auto other = connect();
  asio::write(other, asio::buffer(frame(call(9, kEchoProgram, 1, 0))));
  EXPECT_EQ(read_reply(other).xid, 9u);
  EXPECT_TRUE(all_returned());
}

TEST_P(PipelineTest, PipelinedCallsBeyondThePerConnectionLimitAllComplete) {
  ConnectionLimits limits;
  limits.max_in_flight_per_connection = 2;
  PipelineConfig pc;
  pc.max_in_flight = 4;
  start(pc, limits);
  auto s = connect();
  std::vector<std::uint8_t> wire;
  for (std::uint32_t i = 0; i < 200; ++i) {
    auto f = frame(call(i, kEchoProgram, 1, 0));
    wire.insert(wire.end(), f.begin(), f.end());
  }
  asio::write(s, asio::buffer(wire));
  std::set<std::uint32_t> seen;
  for (int i = 0; i < 200; ++i) seen.insert(read_reply(s).xid);
  EXPECT_EQ(seen.size(), 200u);
  EXPECT_LE(pipeline_->packets().high_water(), 4u);
}

TEST_P(PipelineTest, ManyConnectionsDroppedMidRecordReturnEveryBuffer) {
  start();
  for (int round = 0; round < 5; ++round) {
    std::vector<tcp::socket> sockets;
    for (int i = 0; i < 100; ++i) {
      sockets.push_back(connect());
      auto f = frame(call(i, kEchoProgram, 1, 0));
      asio::write(sockets.back(), asio::buffer(f.data(), f.size() - 3));  // half a record
    }
    sockets.clear();  // disconnect all
  }
  EXPECT_TRUE(all_returned());
  auto s = connect();
  asio::write(s, asio::buffer(frame(call(77, kEchoProgram, 1, 0))));
  EXPECT_EQ(read_reply(s).xid, 77u);
}

TEST_P(PipelineTest, ReplyPoolExhaustionWaitsInsteadOfFailing) {
  PipelineConfig pc;
  pc.reply_pool_bytes = 32u << 10;  // two 16 KiB echo replies at a time
  start(pc);
  auto s = connect();
  std::vector<std::uint8_t> wire;
  for (std::uint32_t i = 0; i < 50; ++i) {
    auto f = frame(call(i, kEchoProgram, 1, 0));
    wire.insert(wire.end(), f.begin(), f.end());
  }
  asio::write(s, asio::buffer(wire));
  for (int i = 0; i < 50; ++i) read_reply(s);
  EXPECT_LE(pipeline_->reply_pool().stats().high_water_bytes, 32u << 10);
  EXPECT_TRUE(all_returned());
}

TEST_P(PipelineTest, ConnectionsBeyondTheLimitAreClosedAtOnce) {
  ConnectionLimits limits;
  limits.max_connections = 3;
  start({}, limits);
  std::vector<tcp::socket> held;
  for (int i = 0; i < 3; ++i) {
    held.push_back(connect());
    asio::write(held.back(), asio::buffer(frame(call(i, kEchoProgram, 1, 0))));
    EXPECT_EQ(read_reply(held.back()).xid, static_cast<std::uint32_t>(i));
  }
  auto extra = connect();
  std::uint8_t byte;
  boost::system::error_code ec;
  asio::read(extra, asio::buffer(&byte, 1), ec);
  EXPECT_TRUE(ec == asio::error::eof || ec == asio::error::connection_reset) << ec.message();
  held.pop_back();  // one slot frees up
  for (int attempt = 0; attempt < 50; ++attempt) {
    auto s = connect();
    boost::system::error_code wec;
    asio::write(s, asio::buffer(frame(call(99, kEchoProgram, 1, 0))), wec);
    std::uint8_t hdr[4];
    asio::read(s, asio::buffer(hdr), wec);
    if (!wec) return;  // served again
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ADD_FAILURE() << "no connection accepted after one closed";
}

// ---- inline calls (Program::may_run_inline) ----

const std::uint8_t kPayload[] = {0, 0, 0, 3, 'a', 'b', 'c', 0};

TEST_P(PipelineTest, InlineCallIsAnsweredOnTheThreadThatParsedIt) {
  InlineEchoProgram inl;
  start({}, {}, {&inl});
  auto s = connect();
  asio::write(s, asio::buffer(frame(call(5, kInlineProgram, 1, 1, kPayload))));
  auto r = read_reply(s);
  EXPECT_EQ(r.xid, 5u);
  EXPECT_EQ(r.rest, std::vector<std::uint8_t>(std::begin(kPayload), std::end(kPayload)));
  std::lock_guard lock(inl.mu);
  if (GetParam().validate > 0) {  // a validate stage: no inline path
    EXPECT_TRUE(inl.inline_threads.empty());
    EXPECT_EQ(inl.execute_threads.size(), 1u);
    return;
  }
  ASSERT_EQ(inl.inline_threads.size(), 1u);
  EXPECT_TRUE(inl.execute_threads.empty());
  if (GetParam().parse == 0) {
    EXPECT_EQ(inl.inline_threads[0], io_thread_.get_id());
  }
  EXPECT_EQ(counter("nasd_inline_calls_total{result=\"answered\"}"), 1);
  EXPECT_EQ(counter("nasd_inline_calls_total{result=\"handed_off\"}"), 0);
}

TEST_P(PipelineTest, InlineCallThatWouldWaitRunsOnThePersistStage) {
  InlineEchoProgram inl;
  inl.answer_inline = false;
  start({}, {}, {&inl});
  auto s = connect();
  asio::write(s, asio::buffer(frame(call(6, kInlineProgram, 1, 1, kPayload))));
  auto r = read_reply(s);
  EXPECT_EQ(r.xid, 6u);
  EXPECT_EQ(r.accept_stat, 0u);
  // Nothing of the abandoned attempt is left in the reply.
  EXPECT_EQ(r.rest, std::vector<std::uint8_t>(std::begin(kPayload), std::end(kPayload)));
  std::lock_guard lock(inl.mu);
  ASSERT_EQ(inl.execute_threads.size(), 1u);
  EXPECT_NE(inl.execute_threads[0], io_thread_.get_id());
  if (GetParam().validate == 0) {
    ASSERT_EQ(inl.inline_threads.size(), 1u);
    EXPECT_NE(inl.execute_threads[0], inl.inline_threads[0]);
    EXPECT_EQ(counter("nasd_inline_calls_total{result=\"handed_off\"}"), 1);
  }
  EXPECT_TRUE(all_returned());
}

TEST_P(PipelineTest, InlineCallsCanBeTurnedOff) {
  InlineEchoProgram inl;
  PipelineConfig pc;
  pc.inline_calls = false;
  start(pc, {}, {&inl});
  auto s = connect();
  asio::write(s, asio::buffer(frame(call(7, kInlineProgram, 1, 1, kPayload))));
  EXPECT_EQ(read_reply(s).rest, std::vector<std::uint8_t>(std::begin(kPayload), std::end(kPayload)));
  std::lock_guard lock(inl.mu);
  EXPECT_TRUE(inl.inline_threads.empty());
  EXPECT_EQ(inl.execute_threads.size(), 1u);
}

TEST_P(PipelineTest, InlineCallWithoutAFreeReplyBufferWaitsOnThePersistStage) {
  InlineEchoProgram inl;
  PipelineConfig pc;
  pc.reply_pool_bytes = 32u << 10;  // two 16 KiB echo replies
  start(pc, {}, {&inl});
  std::vector<pool::PooledBuffer> held;
  while (auto b = pipeline_->reply_pool().try_take(4100 + Pipeline::kReplyHeaderBytes)) {
    held.push_back(std::move(b));
  }
  ASSERT_FALSE(held.empty());
  auto s = connect();
  asio::write(s, asio::buffer(frame(call(8, kInlineProgram, 1, 1, kPayload))));
  // The call waits on the persist stage (never on the network thread) until
  // the buffers come back.
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  held.clear();
  auto r = read_reply(s);
  EXPECT_EQ(r.xid, 8u);
  EXPECT_EQ(r.rest, std::vector<std::uint8_t>(std::begin(kPayload), std::end(kPayload)));
  std::lock_guard lock(inl.mu);
  EXPECT_TRUE(inl.inline_threads.empty());  // handed off before validate
  EXPECT_EQ(inl.execute_threads.size(), 1u);
  if (GetParam().validate == 0) {
    EXPECT_EQ(counter("nasd_inline_calls_total{result=\"handed_off\"}"), 1);
  }
  EXPECT_TRUE(all_returned());
}

TEST_P(PipelineTest, InlineRepliesOfPipelinedCallsAllArriveWhenTheClientReadsLate) {
  InlineEchoProgram inl;
  start({}, {}, {&inl});
  auto s = connect();
  // 400 calls with 4 KiB echoes (1.6 MiB of replies) sent at once and read
  // only later: the replies batched on the strand fill the socket, the
  // connection waits for it to drain and goes on.
  constexpr std::uint32_t kCalls = 400;
  std::vector<std::uint8_t> wire;
  for (std::uint32_t i = 0; i < kCalls; ++i) {
    std::vector<std::uint8_t> body(4 + 4000);
    xdr::XdrEncoder e(body);
    std::vector<std::uint8_t> data(4000, static_cast<std::uint8_t>(i));
    e.opaque(data);
    auto f = frame(call(i, kInlineProgram, 1, 1, body));
    wire.insert(wire.end(), f.begin(), f.end());
  }
  std::jthread writer([&] { asio::write(s, asio::buffer(wire)); });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  std::set<std::uint32_t> seen;
  for (std::uint32_t i = 0; i < kCalls; ++i) {
    auto r = read_reply(s);
    ASSERT_EQ(r.accept_stat, 0u);
    xdr::XdrDecoder d(r.rest);
    auto data = d.opaque(4096);
    ASSERT_EQ(data.size(), 4000u);
    EXPECT_EQ(data[0], static_cast<std::uint8_t>(r.xid));
    EXPECT_EQ(data[3999], static_cast<std::uint8_t>(r.xid));
    seen.insert(r.xid);
  }
  writer.join();
  EXPECT_EQ(seen.size(), kCalls);
  EXPECT_TRUE(all_returned());
}

INSTANTIATE_TEST_SUITE_P(StageThreading, PipelineTest,
                         ::testing::Values(Threading{0, 0}, Threading{2, 2}, Threading{1, 0}),
                         [](const ::testing::TestParamInfo<Threading>& info) {
                           return "parse" + std::to_string(info.param.parse) + "_validate" +
                                  std::to_string(info.param.validate);
                         });

}  // namespace
}  // namespace nasd::server
