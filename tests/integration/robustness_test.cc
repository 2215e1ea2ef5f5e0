// The real process under hostile or broken clients: hand-made RPC records
// over raw TCP (RFC 5531 record marking and reply formats).
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

#include "tests/integration/integration_fixture.h"

namespace nasd::integration {
namespace {

using Clock = std::chrono::steady_clock;

constexpr std::uint32_t kReply = 1, kMsgAccepted = 0, kMsgDenied = 1;
constexpr std::uint32_t kSuccess = 0, kProgUnavail = 1, kProgMismatch = 2, kProcUnavail = 3;
constexpr std::uint32_t kRpcMismatch = 0;

class RobustnessTest : public NasdTest {
 protected:
  double metric_or_zero(const std::string& series) { return nasd_->metric(series).value_or(-1); }

  /// Polls the metrics until `series` equals `want` or `timeout` passes;
  /// returns the last value seen.
  double wait_metric(const std::string& series, double want,
                     std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    const auto deadline = Clock::now() + timeout;
    double v = -1;
    for (;;) {
      v = nasd_->metric(series).value_or(-1);
      if (v == want || Clock::now() >= deadline) return v;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }

  /// True when a fresh libnfs connection gets NULL and GETATTR answered.
  void expect_serving() {
    Fh root = mount_root(nasd_->export_dir());
    NfsClient nfs(nasd_->nfs_port());
    EXPECT_NO_THROW(nfs.null());
    EXPECT_NFS(NFS3_OK, nfs.getattr(root).status);
  }

  /// Sends a call without arguments and returns the reply payload.
  std::string call_raw(RawConnection& c, std::uint32_t xid, std::uint32_t prog,
                       std::uint32_t vers, std::uint32_t proc) {
    EXPECT_TRUE(c.send_record(rpc_call_header(xid, prog, vers, proc)));
    auto reply = c.recv_record();
    EXPECT_TRUE(reply.has_value()) << "no reply for prog " << prog << " vers " << vers;
    return reply.value_or(std::string());
  }
};

TEST_F(RobustnessTest, RawNullCallGetsASuccessReply) {
  RawConnection c(nasd_->nfs_port());
  std::string r = call_raw(c, 0x1234, NFS_PROGRAM, NFS_V3, 0);
  ASSERT_EQ(24u, r.size());
  EXPECT_EQ(0x1234u, get_u32(r, 0));
  EXPECT_EQ(kReply, get_u32(r, 4));
  EXPECT_EQ(kMsgAccepted, get_u32(r, 8));
  EXPECT_EQ(0u, get_u32(r, 12));  // verifier AUTH_NONE
  EXPECT_EQ(0u, get_u32(r, 16));
  EXPECT_EQ(kSuccess, get_u32(r, 20));
}

TEST_F(RobustnessTest, OversizeRecordClosesTheConnectionAndIsCounted) {
  const std::string series = R"(nasd_rpc_errors_total{reason="record_too_large"})";
  const double before = metric_or_zero(series);
  ASSERT_GE(before, 0);
  RawConnection c(nasd_->nfs_port());
  std::string mark;
  put_u32(mark, 0x7fffffffu);  // a non-last fragment of 2 GiB - 1
  ASSERT_TRUE(c.send_bytes(mark));
  EXPECT_TRUE(c.closed_by_peer());
  EXPECT_EQ(before + 1, wait_metric(series, before + 1));
  expect_serving();
}

TEST_F(RobustnessTest, ManyHalfRecordsThenCloseReturnEveryBuffer) {
  constexpr int kConnections = 300;
  {
    std::vector<std::unique_ptr<RawConnection>> conns;
    for (int i = 0; i < kConnections; ++i) {
      conns.push_back(std::make_unique<RawConnection>(nasd_->nfs_port()));
      std::string half;
      put_u32(half, 0x80000000u | 4000u);  // promise 4000 bytes ...
      half += rpc_call_header(static_cast<std::uint32_t>(i), NFS_PROGRAM, NFS_V3, 0);
      half.append(1000, 'x');  // ... send about a quarter of them
      ASSERT_TRUE(conns.back()->send_bytes(half)) << i;
    }
    // Let the server take its buffers for the partial records.
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    EXPECT_GT(metric_or_zero(R"(nasd_pool_in_use_buffers{pool="request"})"), 0);
  }  // all closed here
  EXPECT_EQ(0, wait_metric(R"(nasd_pool_in_use_buffers{pool="request"})", 0));
  EXPECT_EQ(0, wait_metric("nasd_packets_in_flight", 0));
  EXPECT_EQ(0, wait_metric("nasd_connections", 0));
  expect_serving();
}

TEST_F(RobustnessTest, GarbageRecordIsDroppedAndCountedAndTheConnectionGoesOn) {
  const std::string series = R"(nasd_rpc_errors_total{reason="garbage_record"})";
  const double before = metric_or_zero(series);
  ASSERT_GE(before, 0);
  RawConnection c(nasd_->nfs_port());
  // A CALL whose header is cut short, and a record too short for any header:
  // the records are framed right, so the stream goes on.
  std::string cut;
  put_u32(cut, 1234);  // xid
  put_u32(cut, 0);     // CALL
  put_u32(cut, 2);     // rpcvers, then nothing
  ASSERT_TRUE(c.send_record(cut));
  ASSERT_TRUE(c.send_record("xy"));
  EXPECT_EQ(before + 2, wait_metric(series, before + 2));
  // No reply was sent for the garbage: the next reply is for the next call.
  std::string r = call_raw(c, 77, NFS_PROGRAM, NFS_V3, 0);
  ASSERT_GE(r.size(), 24u);
  EXPECT_EQ(77u, get_u32(r, 0));
  EXPECT_EQ(kSuccess, get_u32(r, 20));
}

TEST_F(RobustnessTest, RecordThatIsNeitherCallNorReplyClosesTheConnectionAndIsCounted) {
  const std::string series = R"(nasd_rpc_errors_total{reason="bad_msg_type"})";
  const double before = metric_or_zero(series);
  ASSERT_GE(before, 0);
  RawConnection c(nasd_->nfs_port());
  std::string junk;  // 200 random-looking bytes; msg_type 0xa5a5a5a5
  for (int i = 0; i < 200; ++i) junk.push_back(static_cast<char>(i >= 4 && i < 8 ? 0xA5 : 0xA5 ^ (i * 37)));
  ASSERT_TRUE(c.send_record(junk));
  EXPECT_TRUE(c.closed_by_peer());  // at once, not after the idle timeout
  EXPECT_EQ(before + 1, wait_metric(series, before + 1));
  expect_serving();
}

TEST_F(RobustnessTest, UnknownProgramIsProgUnavail) {
  RawConnection c(nasd_->nfs_port());
  std::string r = call_raw(c, 5, 100099, 1, 0);
  ASSERT_EQ(24u, r.size());
  EXPECT_EQ(5u, get_u32(r, 0));
  EXPECT_EQ(kReply, get_u32(r, 4));
  EXPECT_EQ(kMsgAccepted, get_u32(r, 8));
  EXPECT_EQ(kProgUnavail, get_u32(r, 20));
  EXPECT_EQ(1, nasd_->metric(R"(nasd_rpc_errors_total{reason="prog_unavail"})").value_or(-1));
}

TEST_F(RobustnessTest, WrongVersionIsProgMismatchWithTheSupportedRange) {
  RawConnection c(nasd_->nfs_port());
  for (std::uint32_t vers : {2u, 5u}) {
    std::string r = call_raw(c, 100 + vers, NFS_PROGRAM, vers, 0);
    ASSERT_EQ(32u, r.size()) << vers;
    EXPECT_EQ(100 + vers, get_u32(r, 0));
    EXPECT_EQ(kMsgAccepted, get_u32(r, 8));
    EXPECT_EQ(kProgMismatch, get_u32(r, 20));
    EXPECT_EQ(3u, get_u32(r, 24));  // low: NFSv3
    EXPECT_EQ(4u, get_u32(r, 28));  // high: NFSv4
  }
  std::string r = call_raw(c, 9, MOUNT_PROGRAM, 1, 0);
  ASSERT_EQ(32u, r.size());
  EXPECT_EQ(kProgMismatch, get_u32(r, 20));
  EXPECT_EQ(3u, get_u32(r, 24));
  EXPECT_EQ(3u, get_u32(r, 28));
}

TEST_F(RobustnessTest, UnknownProcedureIsProcUnavail) {
  RawConnection c(nasd_->nfs_port());
  std::string r = call_raw(c, 11, NFS_PROGRAM, NFS_V3, 22);
  ASSERT_EQ(24u, r.size());
  EXPECT_EQ(kProcUnavail, get_u32(r, 20));
}

TEST_F(RobustnessTest, WrongRpcVersionIsRpcMismatch) {
  RawConnection c(nasd_->nfs_port());
  std::string call = rpc_call_header(13, NFS_PROGRAM, NFS_V3, 0);
  std::string bad = call.substr(0, 8);
  put_u32(bad, 3);  // rpcvers 3
  bad += call.substr(12);
  ASSERT_TRUE(c.send_record(bad));
  auto r = c.recv_record();
  ASSERT_TRUE(r.has_value());
  ASSERT_EQ(24u, r->size());
  EXPECT_EQ(13u, get_u32(*r, 0));
  EXPECT_EQ(kReply, get_u32(*r, 4));
  EXPECT_EQ(kMsgDenied, get_u32(*r, 8));
  EXPECT_EQ(kRpcMismatch, get_u32(*r, 12));
  EXPECT_EQ(2u, get_u32(*r, 16));
  EXPECT_EQ(2u, get_u32(*r, 20));
}

TEST_F(RobustnessTest, TruncatedArgumentsAreGarbageArgs) {
  RawConnection c(nasd_->nfs_port());
  std::string call = rpc_call_header(21, NFS_PROGRAM, NFS_V3, 1 /*GETATTR*/);
  put_u32(call, 64);  // handle length 64, but no handle bytes follow
  ASSERT_TRUE(c.send_record(call));
  auto r = c.recv_record();
  ASSERT_TRUE(r.has_value());
  ASSERT_EQ(24u, r->size());
  EXPECT_EQ(21u, get_u32(*r, 0));
  EXPECT_EQ(kMsgAccepted, get_u32(*r, 8));
  EXPECT_EQ(4u, get_u32(*r, 20));  // GARBAGE_ARGS
  expect_serving();
}

TEST_F(RobustnessTest, PipelinedCallsOnOneConnectionAreAllAnswered) {
  RawConnection c(nasd_->nfs_port());
  std::string batch;
  constexpr std::uint32_t kCalls = 200;
  for (std::uint32_t i = 0; i < kCalls; ++i) {
    std::string call = rpc_call_header(1000 + i, NFS_PROGRAM, NFS_V3, 0);
    put_u32(batch, 0x80000000u | static_cast<std::uint32_t>(call.size()));
    batch += call;
  }
  ASSERT_TRUE(c.send_bytes(batch));
  std::vector<bool> seen(kCalls, false);
  for (std::uint32_t i = 0; i < kCalls; ++i) {
    auto r = c.recv_record();
    ASSERT_TRUE(r.has_value()) << "after " << i << " replies";
    std::uint32_t xid = get_u32(*r, 0);
    ASSERT_GE(xid, 1000u);
    ASSERT_LT(xid, 1000u + kCalls);
    EXPECT_FALSE(seen[xid - 1000]) << "duplicate reply " << xid;
    seen[xid - 1000] = true;
  }
}

}  // namespace
}  // namespace nasd::integration
