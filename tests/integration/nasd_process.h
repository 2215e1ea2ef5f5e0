// NasdProcess: the real nasd binary (NASD_BINARY) started on loopback for
// integration tests, with its own temporary exports, state dir and ports.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace nasd::integration {

/// A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0, read
/// back, closed).  Throws std::runtime_error when no socket can be bound.
std::uint16_t pick_free_port();

/// Opens a blocking TCP connection to 127.0.0.1:`port`; returns the fd or -1.
int connect_loopback(std::uint16_t port);

/// A plain HTTP/1.0 GET of `path` on 127.0.0.1:`port`; returns the body, or
/// nullopt when the connection fails or the status is not 200.
/// `timeout` bounds the whole exchange.
std::optional<std::string> http_get(std::uint16_t port, const std::string& path,
                                    std::chrono::milliseconds timeout = std::chrono::seconds(5));

/// Value of the Prometheus sample `series`, given as a name with optional
/// labels in any order, e.g. `nasd_read_bytes_total` or
/// `nasd_rpc_requests_total{program="nfs3",procedure="READ"}`; the labels
/// must match exactly.  nullopt if absent.
std::optional<double> metric_value(const std::string& metrics_text, const std::string& series);

/// One nasd process with four exports under a fresh temporary root:
///   export_dir()   rw,no_root_squash,insecure  (fsid=1)
///   export2_dir()  rw,no_root_squash,insecure  (fsid=2)
///   ro_dir()       ro,no_root_squash,insecure  (fsid=3)
///   squash_dir()   rw,root_squash,insecure     (fsid=4)
/// The constructor starts nasd and waits (≤ 10 s) until both ports accept;
/// it throws std::runtime_error with nasd's stderr when that fails.
/// The destructor stops nasd (SIGTERM, SIGKILL after 5 s) and removes the root.
/// With ExportsSource::kFile the same four exports are written to
/// exports_file() and passed as --exports FILE (for reload tests).
class NasdProcess {
 public:
  enum class ExportsSource { kFlags, kFile };
  explicit NasdProcess(ExportsSource source = ExportsSource::kFlags)
      : NasdProcess(std::vector<std::string>{}, source) {}
  /// `extra_args` are appended to nasd's command line on every start (e.g.
  /// {"--idle-timeout", "2"}).
  explicit NasdProcess(std::vector<std::string> extra_args,
                       ExportsSource source = ExportsSource::kFlags);
  ~NasdProcess();
  NasdProcess(const NasdProcess&) = delete;
  NasdProcess& operator=(const NasdProcess&) = delete;

  /// Stops nasd gracefully and starts it again on the same ports and state
  /// dir (so handles stay valid).  Throws like the constructor.
  void restart();
  /// Kills nasd with SIGKILL and reaps it (no restart).
  void kill9();
  /// Starts nasd again after kill9()/stop().  Throws like the constructor.
  void start();
  /// SIGTERM, then SIGKILL after 5 s; returns the exit status from waitpid
  /// (or -1 when nothing was running).
  int stop();
  /// True while the child has not exited.
  bool running();
  /// Sends SIGHUP and waits (≤ 10 s) until nasd_exports_reloads_total moved;
  /// returns true when the reload succeeded, false when it was rejected.
  /// Throws std::runtime_error when nasd does not report a reload in time.
  bool sighup();

  /// The four default exports in exports(5) syntax (one per line).
  std::string default_exports() const;
  /// The exports file (only used with ExportsSource::kFile).
  const std::filesystem::path& exports_file() const { return exports_file_; }
  /// What nasd wrote to stdout/stderr so far.
  std::string stderr_text() const;
  /// Replaces the exports file's contents.
  void write_exports(const std::string& text) const;

  /// The running child's pid (-1 when none).
  pid_t pid() const { return pid_; }
  /// The child's resident set size in KiB (VmRSS in /proc/PID/status), or
  /// nullopt when it cannot be read.
  std::optional<long> rss_kib() const;

  std::uint16_t nfs_port() const { return nfs_port_; }
  std::uint16_t mount_port() const { return mount_port_; }
  std::uint16_t metrics_port() const { return metrics_port_; }
  /// The embedded port mapper (TCP and UDP), started with --portmapper embedded.
  std::uint16_t portmapper_port() const { return portmapper_port_; }
  const std::filesystem::path& export_dir() const { return export_; }
  const std::filesystem::path& export2_dir() const { return export2_; }
  const std::filesystem::path& ro_dir() const { return ro_; }
  const std::filesystem::path& squash_dir() const { return squash_; }
  const std::filesystem::path& state_dir() const { return state_; }

  /// The /metrics text, or an empty string when the endpoint does not answer.
  std::string metrics() const;
  /// metric_value(metrics(), series).
  std::optional<double> metric(const std::string& series) const;

  /// "nfs://127.0.0.1<dir>?version=3&nfsport=P&mountport=Q" for libnfs.
  std::string url(const std::filesystem::path& dir) const;

 private:
  void wait_ready();

  std::vector<std::string> extra_args_;
  ExportsSource source_;
  std::filesystem::path root_, export_, export2_, ro_, squash_, state_, log_, exports_file_;
  std::uint16_t nfs_port_ = 0, mount_port_ = 0, metrics_port_ = 0, portmapper_port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace nasd::integration
