// The Prometheus endpoint of the real process moves with traffic.
#include <map>
#include <sstream>
#include <thread>

#include "tests/integration/integration_fixture.h"

namespace nasd::integration {
namespace {

using MetricsTest = NasdTest;

TEST_F(MetricsTest, EndpointServesTheNasdFamilies) {
  const std::string text = nasd_->metrics();
  ASSERT_FALSE(text.empty());
  for (const char* family :
       {"nasd_rpc_requests_total", "nasd_rpc_errors_total", "nasd_read_bytes_total",
        "nasd_write_bytes_total", "nasd_connections", "nasd_packets_in_flight",
        "nasd_pool_in_use_buffers", "nasd_export_requests_total", "nasd_exports_reloads_total",
        "nasd_build_info"}) {
    EXPECT_NE(std::string::npos, text.find(std::string("# TYPE ") + family + " ")) << family;
  }
  EXPECT_FALSE(http_get(nasd_->metrics_port(), "/no-such-page").has_value());
}

TEST_F(MetricsTest, FamiliesFollowPrometheusNamingConventions) {
  const std::string text = nasd_->metrics();
  std::istringstream in(text);
  int families = 0;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("# TYPE ", 0) != 0) continue;
    std::istringstream words(line.substr(7));
    std::string name, type;
    words >> name >> type;
    ++families;
    EXPECT_EQ(0u, name.rfind("nasd_", 0)) << name;
    const bool total = name.size() > 6 && name.compare(name.size() - 6, 6, "_total") == 0;
    EXPECT_EQ(type == "counter", total) << name << " is a " << type;
  }
  EXPECT_GT(families, 10);
}

TEST_F(MetricsTest, BuildInfoNamesTheVersion) {
  const std::string text = nasd_->metrics();
  auto at = text.find("\nnasd_build_info{");
  ASSERT_NE(std::string::npos, at);
  const std::string line = text.substr(at + 1, text.find('\n', at + 1) - at - 1);
  EXPECT_NE(std::string::npos, line.find("version=\"")) << line;
  EXPECT_NE(std::string::npos, line.find("commit=\"")) << line;
  EXPECT_EQ(' ', line[line.size() - 2]) << line;
  EXPECT_EQ('1', line.back()) << line;
}

TEST_F(MetricsTest, PerExportSeriesCountRequestsAndBytesOfThatExportOnly) {
  const std::string labels1 = "{export=\"1\",path=\"" + nasd_->export_dir().string() + "\"}";
  const std::string labels2 = "{export=\"2\",path=\"" + nasd_->export2_dir().string() + "\"}";
  const std::string text0 = nasd_->metrics();
  ASSERT_EQ(0, metric_value(text0, "nasd_export_requests_total" + labels1).value_or(-1));
  ASSERT_EQ(0, metric_value(text0, "nasd_export_requests_total" + labels2).value_or(-1));

  Fh root = mount_root(nasd_->export_dir());  // MNT: 1 call
  NfsClient nfs(nasd_->nfs_port());
  auto c = nfs.create(root, "m", GUARDED);  // 1 call
  ASSERT_NFS(NFS3_OK, c.status);
  ASSERT_NFS(NFS3_OK, nfs.write(c.fh, 0, "0123456789", FILE_SYNC).status);  // 1 call
  ASSERT_NFS(NFS3_OK, nfs.read(c.fh, 0, 4).status);                         // 1 call

  const std::string text1 = nasd_->metrics();
  EXPECT_EQ(4, metric_value(text1, "nasd_export_requests_total" + labels1).value_or(-1));
  EXPECT_EQ(10, metric_value(text1, "nasd_export_write_bytes_total" + labels1).value_or(-1));
  EXPECT_EQ(4, metric_value(text1, "nasd_export_read_bytes_total" + labels1).value_or(-1));
  EXPECT_EQ(0, metric_value(text1, "nasd_export_requests_total" + labels2).value_or(-1));
}

TEST_F(MetricsTest, RequestAndByteCountersMoveWithTraffic) {
  const std::string reads = R"(nasd_rpc_requests_total{program="nfs3",procedure="READ"})";
  const std::string writes = R"(nasd_rpc_requests_total{program="nfs3",procedure="WRITE"})";
  const std::string mnts = R"(nasd_rpc_requests_total{program="mount3",procedure="MNT"})";
  const std::string read_bytes = "nasd_read_bytes_total";
  const std::string write_bytes = "nasd_write_bytes_total";
  const std::string accepted = "nasd_connections_total";
  const std::string text0 = nasd_->metrics();
  std::map<std::string, double> before;
  for (const auto& s : {reads, writes, mnts, read_bytes, write_bytes, accepted}) {
    auto v = metric_value(text0, s);
    ASSERT_TRUE(v.has_value()) << s << " missing";
    before[s] = *v;
  }

  Fh root = mount_root(nasd_->export_dir());
  NfsClient nfs(nasd_->nfs_port());
  auto c = nfs.create(root, "m", GUARDED);
  ASSERT_NFS(NFS3_OK, c.status);
  ASSERT_NFS(NFS3_OK, nfs.write(c.fh, 0, "0123456789", FILE_SYNC).status);
  ASSERT_NFS(NFS3_OK, nfs.write(c.fh, 10, "abcd", UNSTABLE).status);
  for (int i = 0; i < 3; ++i) {
    auto r = nfs.read(c.fh, 0, 5);
    ASSERT_NFS(NFS3_OK, r.status);
    ASSERT_EQ(5u, r.data.size());
  }

  const std::string text1 = nasd_->metrics();
  EXPECT_EQ(before[reads] + 3, metric_value(text1, reads).value_or(-1));
  EXPECT_EQ(before[writes] + 2, metric_value(text1, writes).value_or(-1));
  EXPECT_EQ(before[mnts] + 1, metric_value(text1, mnts).value_or(-1));
  EXPECT_EQ(before[read_bytes] + 15, metric_value(text1, read_bytes).value_or(-1));
  EXPECT_EQ(before[write_bytes] + 14, metric_value(text1, write_bytes).value_or(-1));
  EXPECT_GE(metric_value(text1, accepted).value_or(-1), before[accepted] + 2);
  EXPECT_GE(metric_value(text1, R"(nasd_rpc_request_duration_seconds_count{program="nfs3",procedure="READ"})")
                .value_or(-1),
            3);
}

/// Polls nasd_connections until it equals `want` (≤ 5 s); returns the last value.
double wait_connections(const NasdProcess& nasd, double want) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  double v = -1;
  while ((v = nasd.metric("nasd_connections").value_or(-1)) != want &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return v;
}

TEST_F(MetricsTest, OpenConnectionsGaugeFollowsClients) {
  // The start-up readiness probes have closed by now.
  ASSERT_EQ(0, wait_connections(*nasd_, 0));
  {
    NfsClient a(nasd_->nfs_port());
    NfsClient b(nasd_->nfs_port());
    a.null();
    b.null();
    EXPECT_EQ(2, nasd_->metric("nasd_connections").value_or(-1));
  }
  EXPECT_EQ(0, wait_connections(*nasd_, 0));
}

}  // namespace
}  // namespace nasd::integration
