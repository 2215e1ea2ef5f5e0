// Slow, idle, stuck and never-reading clients against the real process:
// --idle-timeout and --record-timeout close them and return their buffers;
// the per-connection in-flight cap and output limit (--max-connection-output)
// bound what a client that never reads can make the server hold; 1,000 open connections do not stop a well-behaved
// client from being served, and memory stays bounded.
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

#include "tests/integration/integration_fixture.h"

namespace nasd::integration {
namespace {

using Clock = std::chrono::steady_clock;

constexpr std::uint32_t kNfsRead = 6;
const std::string kRequestBuffers = R"(nasd_pool_in_use_buffers{pool="request"})";
const std::string kReplyBuffers = R"(nasd_pool_in_use_buffers{pool="reply"})";
const std::string kReplyBytes = R"(nasd_pool_in_use_bytes{pool="reply"})";

class SlowClientTest : public NasdTest {
 protected:
  void SetUp() override {}  // each test starts nasd with its own flags

  void start(std::vector<std::string> args) {
    nasd_ = std::make_unique<NasdProcess>(std::move(args));
  }

  double metric(const std::string& series) { return nasd_->metric(series).value_or(-1); }

  /// Polls `series` until `pred(value)` holds or `timeout` passes; returns
  /// the last value seen.
  template <class Pred>
  double wait_metric(const std::string& series, Pred pred,
                     std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    const auto deadline = Clock::now() + timeout;
    for (;;) {
      const double v = metric(series);
      if (pred(v) || Clock::now() >= deadline) return v;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  double wait_metric_eq(const std::string& series, double want) {
    return wait_metric(series, [want](double v) { return v == want; });
  }

  static std::string timeouts(const char* kind) {
    return std::string(R"(nasd_connection_timeouts_total{kind=")") + kind + "\"}";
  }

  /// A READ3args call of `count` bytes at offset 0 of `fh` (RFC 1813 §3.3.6).
  static std::string read_call(std::uint32_t xid, const Fh& fh, std::uint32_t count) {
    std::string call = rpc_call_header(xid, NFS_PROGRAM, NFS_V3, kNfsRead);
    put_u32(call, static_cast<std::uint32_t>(fh.bytes.size()));
    call += fh.bytes;
    call.append((4 - fh.bytes.size() % 4) % 4, '\0');
    put_u32(call, 0);  // offset (u64)
    put_u32(call, 0);
    put_u32(call, count);
    return call;
  }

  /// A file of `size` bytes in the export, and its handle.
  Fh make_file(const std::string& name, std::size_t size) {
    write_file(nasd_->export_dir() / name, std::string(size, 'r'));
    ::chmod((nasd_->export_dir() / name).c_str(), 0644);
    Fh root = mount_root(nasd_->export_dir());
    NfsClient nfs(nasd_->nfs_port());
    auto l = nfs.lookup(root, name);
    EXPECT_NFS(NFS3_OK, l.status);
    return l.fh;
  }

  /// A checksummed write / read-back through a fresh libnfs connection;
  /// fails the test on any difference.
  void well_behaved_workload(const std::string& name) {
    Fh root = mount_root(nasd_->export_dir());
    NfsClient nfs(nasd_->nfs_port());
    auto c = nfs.create(root, name, UNCHECKED);
    ASSERT_NFS(NFS3_OK, c.status);
    std::string expect;
    for (int i = 0; i < 16; ++i) {
      std::string chunk(65536, '\0');
      for (std::size_t j = 0; j < chunk.size(); ++j) {
        chunk[j] = static_cast<char>((i * 131 + j * 7) & 0xff);
      }
      ASSERT_NFS(NFS3_OK, nfs.write(c.fh, expect.size(), chunk, FILE_SYNC).status) << i;
      expect += chunk;
    }
    std::string got;
    while (got.size() < expect.size()) {
      auto r = nfs.read(c.fh, got.size(), 65536);
      ASSERT_NFS(NFS3_OK, r.status);
      ASSERT_FALSE(r.data.empty());
      got += r.data;
    }
    EXPECT_TRUE(got == expect) << "read-back differs from what was written";
  }
};

TEST_F(SlowClientTest, ConnectionThatSendsNothingIsClosedAfterTheIdleTimeout) {
  start({"--idle-timeout", "1", "--record-timeout", "60"});
  RawConnection idle(nasd_->nfs_port());
  EXPECT_TRUE(idle.closed_by_peer(std::chrono::seconds(10)));
  EXPECT_EQ(1, wait_metric_eq(timeouts("idle"), 1));
  EXPECT_EQ(0, metric(timeouts("record")));
  EXPECT_EQ(0, wait_metric_eq("nasd_connections", 0));
}

TEST_F(SlowClientTest, ConnectionInUseIsNotClosedAsIdle) {
  start({"--idle-timeout", "2", "--record-timeout", "60"});
  RawConnection c(nasd_->nfs_port());
  // One call every 200 ms for 4 s: twice the idle timeout in all, never
  // 2 s without a call.
  for (std::uint32_t i = 0; i < 20; ++i) {
    ASSERT_TRUE(c.send_record(rpc_call_header(i, NFS_PROGRAM, NFS_V3, 0)));
    auto r = c.recv_record();
    ASSERT_TRUE(r.has_value()) << "call " << i << " unanswered";
    EXPECT_EQ(i, get_u32(*r, 0));
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  EXPECT_EQ(0, metric(timeouts("idle")));
}

TEST_F(SlowClientTest, HalfRecordIsClosedAfterTheRecordTimeoutAndItsBufferReturned) {
  start({"--idle-timeout", "600", "--record-timeout", "3"});
  RawConnection half(nasd_->nfs_port());
  std::string partial;
  put_u32(partial, 0x80000000u | 4000u);  // promise 4000 bytes, send 1000
  partial += rpc_call_header(1, NFS_PROGRAM, NFS_V3, 0);
  partial.append(1000 - (partial.size() - 4), 'x');
  ASSERT_TRUE(half.send_bytes(partial));
  EXPECT_EQ(1, wait_metric_eq(kRequestBuffers, 1)) << "the partial record holds a buffer";
  EXPECT_TRUE(half.closed_by_peer(std::chrono::seconds(10)));
  EXPECT_EQ(1, wait_metric_eq(timeouts("record"), 1));
  EXPECT_EQ(0, metric(timeouts("idle")));
  EXPECT_EQ(0, wait_metric_eq(kRequestBuffers, 0));
  EXPECT_EQ(0, wait_metric_eq("nasd_packets_in_flight", 0));
}

TEST_F(SlowClientTest, HalfHeaderIsClosedAfterTheIdleTimeout) {
  start({"--idle-timeout", "1", "--record-timeout", "600"});
  RawConnection c(nasd_->nfs_port());
  ASSERT_TRUE(c.send_bytes(std::string("\x80\x00", 2)));  // 2 of the 4 header bytes
  EXPECT_TRUE(c.closed_by_peer(std::chrono::seconds(10)));
  EXPECT_EQ(1, wait_metric_eq(timeouts("idle"), 1));
  EXPECT_EQ(0, metric(kRequestBuffers));
}

TEST_F(SlowClientTest, ClientThatNeverReadsHoldsAtMostTheInFlightCap) {
  // Timeouts and output limit off: only the per-connection cap (64 calls)
  // bounds this client.  READs of 64 KiB: each reply takes a 256 KiB
  // buffer, so the cap bounds this client to 16 MiB of the 256 MiB reply
  // pool.  (The output limit bounds it further, see the next test.)
  start({"--idle-timeout", "0", "--record-timeout", "0", "--max-connection-output", "0"});
  Fh file = make_file("big", 1 << 20);
  const long rss_before = nasd_->rss_kib().value_or(0);
  struct Hog {
    explicit Hog(std::uint16_t port) : conn(port) {}
    ~Hog() {
      ::shutdown(conn.fd(), SHUT_RDWR);  // lets the sender finish
      if (sender.joinable()) sender.join();
    }
    RawConnection conn;
    std::thread sender;
  } hog(nasd_->nfs_port());
  // Shrink our receive buffer so the server's writes stall early.
  int small = 4096;
  ::setsockopt(hog.conn.fd(), SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
  // 2,000 READs of 64 KiB (128 MiB of replies) sent, none read.
  std::string batch;
  for (std::uint32_t i = 0; i < 2000; ++i) {
    const std::string call = read_call(i, file, 64u << 10);
    put_u32(batch, 0x80000000u | static_cast<std::uint32_t>(call.size()));
    batch += call;
  }
  // Blocks when the server stops reading.
  hog.sender = std::thread([&hog, batch] { hog.conn.send_bytes(batch); });
  // The server takes calls until 64 are outstanding, then stops reading.
  const double held = wait_metric("nasd_packets_in_flight", [](double v) { return v >= 64; });
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // would it take more?
  EXPECT_EQ(64, metric("nasd_packets_in_flight")) << "first reached " << held;
  EXPECT_LE(metric(kReplyBuffers), 64);
  EXPECT_LE(metric(kReplyBytes), 64.0 * (256 << 10));
  const long rss = nasd_->rss_kib().value_or(1L << 30);
  EXPECT_LT(rss - rss_before, 100 * 1024) << "RSS grew from " << rss_before << " to " << rss
                                          << " KiB";
  // Everyone else is still served.
  well_behaved_workload("while-hogged");
  EXPECT_EQ(64, metric("nasd_packets_in_flight"));
}

TEST_F(SlowClientTest, ClientThatNeverReadsHoldsAtMostItsOutputLimitWhileOthersAreServed) {
  constexpr double kLimit = 4u << 20;
  constexpr double kReadReply = (1u << 20) + (64u << 10);  // pool class of a 1 MiB READ reply
  start({"--idle-timeout", "0", "--record-timeout", "0", "--max-connection-output", "4194304"});
  Fh file = make_file("big", 1 << 20);
  struct Hog {
    explicit Hog(std::uint16_t port) : conn(std::make_unique<RawConnection>(port)) {}
    ~Hog() { close(); }
    /// Closes the socket with replies unread: the kernel resets the connection.
    void close() {
      if (!conn) return;
      ::shutdown(conn->fd(), SHUT_RDWR);  // lets the sender finish
      if (sender.joinable()) sender.join();
      conn.reset();
    }
    std::unique_ptr<RawConnection> conn;
    std::thread sender;
  } hog(nasd_->nfs_port());
  int small = 4096;
  ::setsockopt(hog.conn->fd(), SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
  // 200 pipelined READs of 1 MiB (200 MiB of replies), none read.
  std::string batch;
  for (std::uint32_t i = 0; i < 200; ++i) {
    const std::string call = read_call(i, file, 1u << 20);
    put_u32(batch, 0x80000000u | static_cast<std::uint32_t>(call.size()));
    batch += call;
  }
  hog.sender = std::thread([&hog, batch] { hog.conn->send_bytes(batch); });
  // Once the socket is full the server holds as many replies as fit the
  // limit: three 1.06 MiB buffers (a fourth would pass 4 MiB).
  EXPECT_EQ(3 * kReadReply, wait_metric(kReplyBytes, [&](double v) { return v >= 3 * kReadReply; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // would it take more?
  EXPECT_LE(metric(kReplyBytes), kLimit);
  EXPECT_LE(metric(R"(nasd_pool_high_water_bytes{pool="reply"})"), kLimit)
      << "the never-reading connection held more than its limit at some point";
  EXPECT_LE(metric("nasd_packets_in_flight"), 64);
  // Everyone else is served meanwhile, from the rest of the pool.
  well_behaved_workload("while-hogged");
  EXPECT_LE(metric(kReplyBytes), kLimit);
  // Closing the hog returns every buffer and packet.
  hog.close();
  EXPECT_EQ(0, wait_metric_eq(kReplyBuffers, 0)) << "the stalled replies were not returned";
  EXPECT_EQ(0, wait_metric_eq(kRequestBuffers, 0));
  EXPECT_EQ(0, wait_metric_eq("nasd_packets_in_flight", 0));
  EXPECT_EQ(0, wait_metric_eq("nasd_connections", 0));
}

TEST_F(SlowClientTest, ReplyLargerThanTheOutputLimitIsStillSent) {
  // A limit below one reply: each call still gets its reply, one at a time.
  start({"--max-connection-output", "4096"});
  Fh file = make_file("big", 1 << 20);
  NfsClient nfs(nasd_->nfs_port());
  for (int i = 0; i < 3; ++i) {
    auto r = nfs.read(file, 0, 1u << 20);
    ASSERT_NFS(NFS3_OK, r.status);
    EXPECT_EQ(std::string(1 << 20, 'r'), r.data);
  }
  well_behaved_workload("small-limit");
}

TEST_F(SlowClientTest, ClientThatNeverReadsIsClosedAfterTheRecordTimeout) {
  start({"--idle-timeout", "600", "--record-timeout", "1", "--max-connection-output", "0"});
  Fh file = make_file("big", 1 << 20);
  RawConnection hog(nasd_->nfs_port());
  int small = 4096;
  ::setsockopt(hog.fd(), SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
  // 64 READs of 1 MiB, no output limit: their replies take 68 MiB of the
  // reply pool until the write timeout closes the connection.
  for (std::uint32_t i = 0; i < 64; ++i) ASSERT_TRUE(hog.send_record(read_call(i, file, 1u << 20)));
  EXPECT_EQ(1, wait_metric(timeouts("write"), [](double v) { return v >= 1; }));
  EXPECT_EQ(0, wait_metric_eq(kReplyBuffers, 0)) << "the stalled replies were not returned";
  EXPECT_EQ(0, wait_metric_eq("nasd_packets_in_flight", 0));
  EXPECT_EQ(0, wait_metric_eq("nasd_connections", 0));
  well_behaved_workload("after-the-hog");
}

TEST_F(SlowClientTest, ThousandOpenConnectionsDoNotStopAWellBehavedClient) {
  constexpr int kConnections = 1000;
  rlimit lim{};
  ASSERT_EQ(0, ::getrlimit(RLIMIT_NOFILE, &lim));
  if (lim.rlim_cur < 2 * kConnections + 100 && lim.rlim_max > lim.rlim_cur) {
    lim.rlim_cur = lim.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &lim);
  }
  ASSERT_EQ(0, ::getrlimit(RLIMIT_NOFILE, &lim));
  ASSERT_GE(lim.rlim_cur, static_cast<rlim_t>(kConnections + 100)) << "open file limit too low";

  start({});  // default timeouts: nothing is closed during the test
  const long rss_before = nasd_->rss_kib().value_or(0);
  std::vector<std::unique_ptr<RawConnection>> conns;
  for (int i = 0; i < kConnections; ++i) {
    conns.push_back(std::make_unique<RawConnection>(nasd_->nfs_port()));
    if (i % 2 == 0) {  // every other one is used once and left idle ...
      ASSERT_TRUE(conns.back()->send_record(
          rpc_call_header(static_cast<std::uint32_t>(i), NFS_PROGRAM, NFS_V3, 0)));
      auto r = conns.back()->recv_record();
      ASSERT_TRUE(r.has_value()) << "connection " << i;
    } else {  // ... the others hold half a record
      std::string partial;
      put_u32(partial, 0x80000000u | 4000u);
      partial += rpc_call_header(static_cast<std::uint32_t>(i), NFS_PROGRAM, NFS_V3, 0);
      ASSERT_TRUE(conns.back()->send_bytes(partial)) << "connection " << i;
    }
  }
  EXPECT_EQ(kConnections, wait_metric_eq("nasd_connections", kConnections));
  EXPECT_EQ(kConnections / 2, wait_metric_eq(kRequestBuffers, kConnections / 2));
  well_behaved_workload("among-a-thousand");
  const long rss = nasd_->rss_kib().value_or(1L << 30);
  EXPECT_LT(rss - rss_before, 128 * 1024) << "RSS grew from " << rss_before << " to " << rss
                                          << " KiB with " << kConnections << " connections";
  std::printf("[ figures  ] %d connections held; nasd RSS %ld KiB -> %ld KiB\n", kConnections,
              rss_before, rss);
  conns.clear();
  EXPECT_EQ(0, wait_metric_eq("nasd_connections", 0));
  EXPECT_EQ(0, wait_metric_eq(kRequestBuffers, 0));
}

}  // namespace
}  // namespace nasd::integration
