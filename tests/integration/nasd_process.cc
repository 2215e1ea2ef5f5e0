#include "tests/integration/nasd_process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

namespace nasd::integration {

namespace {

using Clock = std::chrono::steady_clock;

sockaddr_in loopback(std::uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

std::string nasd_binary() {
  const char* b = std::getenv("NASD_BINARY");
  if (b == nullptr || *b == '\0') {
    throw std::runtime_error("NASD_BINARY is not set (run through ctest, or export it)");
  }
  return b;
}

}  // namespace

std::uint16_t pick_free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error("socket: " + std::string(std::strerror(errno)));
  sockaddr_in a = loopback(0);
  socklen_t len = sizeof(a);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    ::close(fd);
    throw std::runtime_error("bind port 0: " + std::string(std::strerror(errno)));
  }
  ::close(fd);
  return ntohs(a.sin_port);
}

int connect_loopback(std::uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in a = loopback(port);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

std::optional<std::string> http_get(std::uint16_t port, const std::string& path,
                                    std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  int fd = connect_loopback(port);
  if (fd < 0) return std::nullopt;
  const std::string req = "GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
  if (::send(fd, req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size())) {
    ::close(fd);
    return std::nullopt;
  }
  std::string resp;
  char buf[8192];
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) break;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
    ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) break;
    resp.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  auto header_end = resp.find("\r\n\r\n");
  if (header_end == std::string::npos) return std::nullopt;
  auto first_line = resp.substr(0, resp.find("\r\n"));
  if (first_line.find(" 200") == std::string::npos) return std::nullopt;
  return resp.substr(header_end + 4);
}

namespace {

// Splits `name{k="v",...}` into the name and its labels (sorted by key, as a
// map).  Label values here never hold quotes or commas.
std::pair<std::string, std::map<std::string, std::string>> parse_series(const std::string& s) {
  std::map<std::string, std::string> labels;
  auto brace = s.find('{');
  if (brace == std::string::npos) return {s, labels};
  std::string body = s.substr(brace + 1, s.rfind('}') - brace - 1);
  std::size_t pos = 0;
  while (pos < body.size()) {
    auto eq = body.find('=', pos);
    if (eq == std::string::npos) break;
    auto open = body.find('"', eq);
    auto close = body.find('"', open + 1);
    if (open == std::string::npos || close == std::string::npos) break;
    labels[body.substr(pos, eq - pos)] = body.substr(open + 1, close - open - 1);
    pos = close + 1;
    if (pos < body.size() && body[pos] == ',') ++pos;
  }
  return {s.substr(0, brace), labels};
}

}  // namespace

std::optional<double> metric_value(const std::string& text, const std::string& series) {
  const auto wanted = parse_series(series);
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    // The value follows the last space (label values here hold no spaces).
    auto space = line.rfind(' ');
    if (space == std::string::npos) continue;
    if (parse_series(line.substr(0, space)) == wanted) {
      return std::strtod(line.c_str() + space + 1, nullptr);
    }
  }
  return std::nullopt;
}

NasdProcess::NasdProcess(std::vector<std::string> extra_args, ExportsSource source)
    : extra_args_(std::move(extra_args)), source_(source) {
  std::string tmpl = (std::filesystem::temp_directory_path() / "nasd-integ-XXXXXX").string();
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  if (::mkdtemp(buf.data()) == nullptr) {
    throw std::runtime_error("mkdtemp: " + std::string(std::strerror(errno)));
  }
  root_ = buf.data();
  // The test process runs as root, but non-root callers must be able to walk
  // into the exports for the permission tests.
  std::filesystem::permissions(root_, std::filesystem::perms::owner_all |
                                          std::filesystem::perms::group_exec |
                                          std::filesystem::perms::others_exec);
  export_ = root_ / "exp";
  export2_ = root_ / "exp2";
  ro_ = root_ / "ro";
  squash_ = root_ / "squash";
  state_ = root_ / "state";
  log_ = root_ / "nasd.log";
  exports_file_ = root_ / "exports";
  for (const auto& d : {export_, export2_, ro_, squash_, state_}) {
    std::filesystem::create_directories(d);
  }
  for (const auto& d : {export_, export2_, ro_, squash_}) {
    std::filesystem::permissions(d, std::filesystem::perms::all);  // 0777 for uid tests
  }
  nfs_port_ = pick_free_port();
  mount_port_ = pick_free_port();
  metrics_port_ = pick_free_port();
  while (mount_port_ == nfs_port_) mount_port_ = pick_free_port();
  while (metrics_port_ == nfs_port_ || metrics_port_ == mount_port_) metrics_port_ = pick_free_port();
  portmapper_port_ = pick_free_port();
  while (portmapper_port_ == nfs_port_ || portmapper_port_ == mount_port_ ||
         portmapper_port_ == metrics_port_) {
    portmapper_port_ = pick_free_port();
  }
  if (source_ == ExportsSource::kFile) write_exports(default_exports());
  try {
    start();
  } catch (...) {
    std::error_code ec;
    std::filesystem::remove_all(root_, ec);
    throw;
  }
}

NasdProcess::~NasdProcess() {
  stop();
  std::error_code ec;
  std::filesystem::remove_all(root_, ec);
}

void NasdProcess::start() {
  if (pid_ > 0) throw std::runtime_error("nasd is already running");
  const std::string bin = nasd_binary();
  std::vector<std::string> args = {
      bin,
      "--bind", "127.0.0.1",
      "--nfs-port", std::to_string(nfs_port_),
      "--mount-port", std::to_string(mount_port_),
      "--state-dir", state_.string(),
      "--metrics", "127.0.0.1:" + std::to_string(metrics_port_),
      "--log-level", "warn",
      "--portmapper", "embedded",
      "--portmapper-port", std::to_string(portmapper_port_),
  };
  if (source_ == ExportsSource::kFile) {
    args.insert(args.end(), {"--exports", exports_file_.string()});
  } else {
    std::istringstream lines(default_exports());
    for (std::string line; std::getline(lines, line);) args.insert(args.end(), {"--export", line});
  }
  args.insert(args.end(), extra_args_.begin(), extra_args_.end());
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  int log_fd = ::open(log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (log_fd < 0) throw std::runtime_error("open log: " + std::string(std::strerror(errno)));
  const pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) {
    ::close(log_fd);
    throw std::runtime_error("fork: " + std::string(std::strerror(errno)));
  }
  if (pid == 0) {
    // Child: only async-signal-safe calls until exec.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive a crashed test
    if (::getppid() != parent) ::_exit(127);
    ::dup2(log_fd, STDOUT_FILENO);
    ::dup2(log_fd, STDERR_FILENO);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(log_fd);
  pid_ = pid;
  wait_ready();
}

void NasdProcess::wait_ready() {
  const auto deadline = Clock::now() + std::chrono::seconds(10);
  while (Clock::now() < deadline) {
    if (!running()) {
      throw std::runtime_error("nasd exited during start-up:\n" + stderr_text());
    }
    bool ready = true;
    for (auto port : {nfs_port_, mount_port_}) {
      int fd = connect_loopback(port);
      if (fd < 0) {
        ready = false;
        break;
      }
      ::close(fd);
    }
    if (ready && http_get(metrics_port_, "/metrics", std::chrono::seconds(1))) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  stop();
  throw std::runtime_error("nasd did not accept connections within 10 s:\n" + stderr_text());
}

bool NasdProcess::running() {
  if (pid_ <= 0) return false;
  int status = 0;
  pid_t r = ::waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    pid_ = -1;
    return false;
  }
  return true;
}

int NasdProcess::stop() {
  if (pid_ <= 0) return -1;
  ::kill(pid_, SIGTERM);
  const auto deadline = Clock::now() + std::chrono::seconds(5);
  int status = 0;
  for (;;) {
    pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_ || (r < 0 && errno != EINTR)) break;
    if (Clock::now() >= deadline) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  pid_ = -1;
  return status;
}

void NasdProcess::kill9() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
}

void NasdProcess::restart() {
  stop();
  start();
}

std::string NasdProcess::default_exports() const {
  return export_.string() + " *(rw,no_root_squash,insecure,fsid=1)\n" +
         export2_.string() + " *(rw,no_root_squash,insecure,fsid=2)\n" +
         ro_.string() + " *(ro,no_root_squash,insecure,fsid=3)\n" +
         squash_.string() + " *(rw,root_squash,insecure,fsid=4)\n";
}

void NasdProcess::write_exports(const std::string& text) const {
  std::ofstream out(exports_file_, std::ios::trunc);
  out << text;
  if (!out.flush()) throw std::runtime_error("cannot write " + exports_file_.string());
}

bool NasdProcess::sighup() {
  const std::string ok = "nasd_exports_reloads_total{result=\"success\"}";
  const std::string failed = "nasd_exports_reloads_total{result=\"failure\"}";
  const std::string before = metrics();
  const double ok0 = metric_value(before, ok).value_or(-1);
  const double failed0 = metric_value(before, failed).value_or(-1);
  if (ok0 < 0 || failed0 < 0) throw std::runtime_error("no reload counters in /metrics");
  if (pid_ <= 0 || ::kill(pid_, SIGHUP) != 0) throw std::runtime_error("nasd is not running");
  const auto deadline = Clock::now() + std::chrono::seconds(10);
  while (Clock::now() < deadline) {
    const std::string now = metrics();
    if (metric_value(now, ok).value_or(ok0) > ok0) return true;
    if (metric_value(now, failed).value_or(failed0) > failed0) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  throw std::runtime_error("nasd did not report a reload within 10 s:\n" + stderr_text());
}

std::optional<long> NasdProcess::rss_kib() const {
  if (pid_ <= 0) return std::nullopt;
  std::ifstream in("/proc/" + std::to_string(pid_) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::strtol(line.c_str() + 6, nullptr, 10);
  }
  return std::nullopt;
}

std::string NasdProcess::metrics() const {
  return http_get(metrics_port_, "/metrics").value_or(std::string());
}

std::optional<double> NasdProcess::metric(const std::string& series) const {
  return metric_value(metrics(), series);
}

std::string NasdProcess::url(const std::filesystem::path& dir) const {
  return "nfs://127.0.0.1" + dir.string() + "?version=3&nfsport=" + std::to_string(nfs_port_) +
         "&mountport=" + std::to_string(mount_port_);
}

std::string NasdProcess::stderr_text() const {
  std::ifstream in(log_);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace nasd::integration
