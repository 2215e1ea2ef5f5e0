// The nasd command line (CLI11), the export table it names, and --check-config.
//
//   nasd [--exports FILE] [--export 'PATH CLIENT(OPTS)']... [--bind ADDR]
//        [--nfs-port N] [--mount-port N] [--metrics ADDR:PORT] [--state-dir DIR]
//        [--log-level LEVEL] [--threads-per-stage N] [--max-record-size BYTES]
//        [--max-io-size BYTES] [--max-in-flight N] [--idle-timeout SECONDS]
//        [--record-timeout SECONDS] [--max-connection-output BYTES] [--check-config]
//        [--portmapper auto|embedded|system|off] [--portmapper-port N]
//        [--grace-period SECONDS] [--lease-time SECONDS] [--nfs4-domain DOMAIN]
#pragma once

#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include <boost/asio/ip/address.hpp>
#include <spdlog/common.h>

#include "server/exports/exports.h"

namespace nasd::server {

/// An address and TCP port to listen on, e.g. "0.0.0.0:9464" or "[::]:9464".
struct ListenAddress {
  boost::asio::ip::address address;
  std::uint16_t port = 0;
  /// "a.b.c.d:port" or "[v6]:port".
  std::string to_string() const;
};

/// Parses "ADDR:PORT" (IPv6 in brackets, port 1..65535); nullopt when malformed.
std::optional<ListenAddress> parse_listen_address(std::string_view text);

/// Which port mapper nasd's programs are listed in (--portmapper).
enum class PortmapperMode : std::uint8_t {
  kAuto,      // embedded, unless a port mapper already answers on the port at start
  kEmbedded,  // nasd serves PMAP/RPCBIND itself (TCP and UDP); failing to bind is fatal
  kSystem,    // register with the system rpcbind (libtirpc rpcb_set)
  kOff,       // neither
};

/// Settings from the command line, with their defaults.
struct Options {
  static constexpr std::size_t kMinRecordSize = 8192;                // bytes
  /// The largest request buffer (pool::BufferPool::kMaxBufferSize): a 4 MiB
  /// WRITE with its headers.
  static constexpr std::size_t kMaxRecordSize = (4u << 20) + (64u << 10);  // bytes
  static constexpr std::uint32_t kMinIoSize = 4096;                  // bytes
  static constexpr std::uint32_t kMaxIoSize = 4u << 20;              // bytes
  /// Room a record needs besides READ/WRITE data: RPC call header with the
  /// largest AUTH_SYS credential and verifier (RFC 5531 §8.2, 2 x 408 bytes)
  /// plus WRITE3args without data (RFC 1813 §3.3.7).
  static constexpr std::size_t kRecordOverhead = 1024;               // bytes

  std::optional<std::string> exports_file;  // --exports FILE
  std::vector<std::string> export_lines;    // --export 'PATH CLIENT(OPTS)', in order
  boost::asio::ip::address bind = boost::asio::ip::address_v4::any();  // --bind
  std::uint16_t nfs_port = 2049;                  // --nfs-port
  std::uint16_t mount_port = 20048;               // --mount-port
  std::optional<ListenAddress> metrics;           // --metrics ADDR:PORT; off when unset
  std::string state_dir = "/var/lib/nasd";        // --state-dir
  spdlog::level::level_enum log_level = spdlog::level::info;  // --log-level
  unsigned threads_per_stage = 16;                // persist stage threads, --threads-per-stage, 1..256
  unsigned parse_threads = 0;                     // --parse-threads, 0 = on the network threads
  unsigned validate_threads = 0;                  // --validate-threads, 0 = on the persist threads
  bool inline_calls = true;                       // --inline-calls / --no-inline-calls
  std::size_t max_record_size = (1u << 20) + (64u << 10);  // bytes, --max-record-size
  std::uint32_t max_io_size = 1u << 20;           // bytes (rsize/wsize), --max-io-size
  unsigned max_in_flight = 256;                   // --max-in-flight, 1..65536
  std::uint64_t pool_cache_bytes = 16u << 20;     // freed buffers kept per pool size class, --pool-cache
  std::uint64_t large_request_budget = 16u << 20; // request buffers >= 256 KiB, --large-request-budget
  unsigned lease_time = 90;                       // NFSv4 lease, seconds, --lease-time, 5..3600
  std::string nfs4_domain;                        // --nfs4-domain: "name@DOMAIN" owners; "" = the host's
  /// --idle-timeout: a connection that sends no request for this long while
  /// it has no call outstanding is closed (knfsd closes idle TCP transports
  /// after about 6 minutes too); 0 = never.
  unsigned idle_timeout_s = 360;
  /// --record-timeout: a record must arrive whole, and each reply write must
  /// finish, within this long once started, or the connection is closed
  /// (slow or stuck clients cannot hold pool buffers); 0 = never.
  unsigned record_timeout_s = 30;
  /// --max-connection-output: reply bytes (pool class sizes) one connection
  /// may hold not yet written to its socket; beyond it the connection reads
  /// no new requests until replies drain; 0 = no limit.
  std::size_t max_connection_output = 8u << 20;
  bool check_config = false;                      // --check-config
  PortmapperMode portmapper = PortmapperMode::kAuto;  // --portmapper
  std::uint16_t portmapper_port = 111;            // --portmapper-port (embedded one)
  unsigned grace_period = 90;                     // seconds, --grace-period (NLM reclaim)
};

/// What to do instead of running: print `message` (to stdout when
/// exit_code is 0, e.g. --help; else to stderr) and exit with exit_code.
struct ParseOutcome {
  int exit_code = 0;
  std::string message;
};

using OptionsResult = std::variant<Options, ParseOutcome>;

/// Parses the command line.  --help gives ParseOutcome{0, help text}; a bad
/// or unknown flag, out-of-range value, bad --bind / --metrics address or a
/// --max-record-size too small for --max-io-size gives a non-zero exit code
/// and CLI11's message.  Does not read the exports file.
OptionsResult parse_options(int argc, const char* const* argv);

/// Builds the export table from --exports FILE (source: the file name) and
/// the --export lines (source "--export", line = index + 1), in that order.
/// Errors: unreadable file (line 0, with strerror), a multi-line --export
/// value, any parse error of parse_exports(), or no exports at all.
std::variant<ExportTable, ExportsError> load_exports(const Options& options);

/// --check-config: loads the exports and prints the effective table (exports(5)
/// syntax) and settings (as '#' comment lines) to `out`; returns 0.  On an
/// error prints "source:line: reason" to `err` and returns 1.  Warns on `err`
/// (without failing) about export paths that are not existing directories.
int check_config(const Options& options, std::ostream& out, std::ostream& err);

}  // namespace nasd::server
