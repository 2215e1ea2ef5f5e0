// The metrics port's HTTP server: /healthz, /readyz, /metrics, and its
// handling of other paths, methods and keep-alive.
#include <sys/socket.h>
#include <unistd.h>

#include <poll.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "tests/integration/integration_fixture.h"

namespace nasd::integration {
namespace {

// Sends `request` on a fresh connection (or `fd` when given) and reads until
// `responses` complete responses arrived (by Content-Length) or 5 s passed.
std::string http_exchange(int fd, const std::string& request, int responses = 1) {
  ::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
  std::string got;
  char buf[4096];
  for (int waited = 0; waited < 5000;) {
    // Count complete responses.
    int complete = 0;
    std::size_t pos = 0;
    for (;;) {
      auto hdr_end = got.find("\r\n\r\n", pos);
      if (hdr_end == std::string::npos) break;
      auto cl = got.find("Content-Length: ", pos);
      std::size_t len = 0;
      if (cl != std::string::npos && cl < hdr_end) len = std::stoul(got.substr(cl + 16));
      if (got.size() < hdr_end + 4 + len) break;
      ++complete;
      pos = hdr_end + 4 + len;
    }
    if (complete >= responses) break;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) {
      waited += 100;
      continue;
    }
    ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) break;
    got.append(buf, static_cast<std::size_t>(n));
  }
  return got;
}

std::string get(std::uint16_t port, const std::string& path, const std::string& method = "GET") {
  int fd = connect_loopback(port);
  if (fd < 0) return {};
  std::string r = http_exchange(fd, method + " " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  ::close(fd);
  return r;
}

bool starts_with(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }

using HealthTest = NasdTest;

TEST_F(HealthTest, HealthzAnswersOk) {
  std::string r = get(nasd_->metrics_port(), "/healthz");
  EXPECT_TRUE(starts_with(r, "HTTP/1.1 200")) << r;
  EXPECT_NE(std::string::npos, r.find("\r\n\r\nok\n")) << r;
}

TEST_F(HealthTest, ReadyzIsReadyWhenEveryExportRootIsReachable) {
  std::string r = get(nasd_->metrics_port(), "/readyz");
  EXPECT_TRUE(starts_with(r, "HTTP/1.1 200")) << r;
  EXPECT_NE(std::string::npos, r.find("ready\n")) << r;
}

TEST_F(HealthTest, ReadyzIsUnavailableWhenAnExportRootIsGone) {
  std::filesystem::remove_all(nasd_->export2_dir());
  std::string r = get(nasd_->metrics_port(), "/readyz");
  EXPECT_TRUE(starts_with(r, "HTTP/1.1 503")) << r;
  EXPECT_NE(std::string::npos, r.find(nasd_->export2_dir().string())) << r;
  // Liveness does not depend on the exports.
  EXPECT_TRUE(starts_with(get(nasd_->metrics_port(), "/healthz"), "HTTP/1.1 200"));
}

TEST_F(HealthTest, UnknownPathIs404AndPostIs405) {
  EXPECT_TRUE(starts_with(get(nasd_->metrics_port(), "/nope"), "HTTP/1.1 404"));
  std::string r = get(nasd_->metrics_port(), "/metrics", "POST");
  EXPECT_TRUE(starts_with(r, "HTTP/1.1 405")) << r;
  EXPECT_NE(std::string::npos, r.find("Allow: GET, HEAD")) << r;
}

TEST_F(HealthTest, MetricsServesTextFormatWithQueryString) {
  std::string r = get(nasd_->metrics_port(), "/metrics?x=1");
  EXPECT_TRUE(starts_with(r, "HTTP/1.1 200")) << r;
  EXPECT_NE(std::string::npos, r.find("Content-Type: text/plain; version=0.0.4")) << r;
  EXPECT_NE(std::string::npos, r.find("# TYPE nasd_rpc_requests_total counter")) << r;
}

TEST_F(HealthTest, KeepAliveServesSeveralRequestsOnOneConnection) {
  int fd = connect_loopback(nasd_->metrics_port());
  ASSERT_GE(fd, 0);
  std::string r = http_exchange(fd,
                           "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
                           "GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n",
                           2);
  ::close(fd);
  EXPECT_TRUE(starts_with(r, "HTTP/1.1 200")) << r;
  EXPECT_NE(std::string::npos, r.find("ok\nHTTP/1.1 200")) << r;
  EXPECT_NE(std::string::npos, r.find("ready\n")) << r;
}

TEST_F(HealthTest, OversizedRequestHeaderClosesTheConnection) {
  int fd = connect_loopback(nasd_->metrics_port());
  ASSERT_GE(fd, 0);
  std::string r = http_exchange(fd, "GET /healthz HTTP/1.1\r\nX: " + std::string(16384, 'a') + "\r\n\r\n");
  ::close(fd);
  EXPECT_EQ("", r);
  EXPECT_TRUE(starts_with(get(nasd_->metrics_port(), "/healthz"), "HTTP/1.1 200"));
}

// A previous run left an NFSv4 client that may reclaim: nasd starts in its
// grace period and /readyz says so until the period ends.
TEST(HealthGraceTest, ReadyzIsUnavailableWhileTheGracePeriodRuns) {
  NasdProcess nasd({"--grace-period", "120"});
  nasd.stop();
  const auto dir = nasd.state_dir() / "nfs4" / "clients";
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "6c696e7578") << "linux";  // hex("linux") holding "linux"
  nasd.start();
  std::string r = get(nasd.metrics_port(), "/readyz");
  EXPECT_TRUE(starts_with(r, "HTTP/1.1 503")) << r;
  EXPECT_NE(r.find("grace period"), std::string::npos) << r;
  EXPECT_EQ(nasd.metric("nasd_nlm_grace_active"), 1.0);
}

}  // namespace
}  // namespace nasd::integration
