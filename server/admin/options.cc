// Command line, export loading and --check-config.  See options.h.
#include "server/admin/options.h"

#include <sys/stat.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <ostream>
#include <sstream>

#include <CLI/CLI.hpp>

#include "pool/buffer_pool.h"

namespace nasd::server {

static_assert(Options::kMaxRecordSize == pool::BufferPool::kMaxBufferSize,
              "the largest record must fit the largest request buffer");
namespace {

namespace ip = boost::asio::ip;

constexpr const char* kLogLevels[] = {"trace", "debug", "info", "warn", "error", "critical", "off"};

std::optional<std::uint16_t> parse_port(std::string_view s) {
  if (s.empty() || s.size() > 5) return std::nullopt;
  unsigned v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v == 0 || v > 65535) return std::nullopt;
  return static_cast<std::uint16_t>(v);
}

/// Validator text for --bind: empty when `s` is an IPv4/IPv6 address.
std::string check_bind(const std::string& s) {
  boost::system::error_code ec;
  ip::make_address(s, ec);
  if (ec) return "--bind wants an IPv4 or IPv6 address (e.g. 0.0.0.0 or ::), got '" + s + "'";
  return {};
}

std::string check_metrics(const std::string& s) {
  if (parse_listen_address(s)) return {};
  return "--metrics wants ADDR:PORT (e.g. 0.0.0.0:9464 or [::]:9464, port 1..65535), got '" + s +
         "'";
}

std::string describe_size(std::size_t bytes) {
  std::string s = std::to_string(bytes);
  if (bytes % (1u << 20) == 0) return s + " (" + std::to_string(bytes >> 20) + " MiB)";
  if (bytes % (1u << 10) == 0) return s + " (" + std::to_string(bytes >> 10) + " KiB)";
  return s;
}

}  // namespace

std::string ListenAddress::to_string() const {
  if (address.is_v6()) return "[" + address.to_string() + "]:" + std::to_string(port);
  return address.to_string() + ":" + std::to_string(port);
}

std::optional<ListenAddress> parse_listen_address(std::string_view text) {
  std::string_view host, port;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return std::nullopt;
    }
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    const auto colon = text.find(':');
    if (colon == std::string_view::npos || text.find(':', colon + 1) != std::string_view::npos) {
      return std::nullopt;  // no port, or an IPv6 address without brackets
    }
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  boost::system::error_code ec;
  const ip::address a = ip::make_address(std::string(host), ec);
  const auto p = parse_port(port);
  if (ec || !p) return std::nullopt;
  if (!text.empty() && text.front() == '[' && !a.is_v6()) return std::nullopt;
  return ListenAddress{a, *p};
}

namespace {

/// Flag values that need converting into Options after parsing.
struct RawFlags {
  std::string exports_file, bind, metrics, log_level = "info", portmapper = "auto";
  unsigned nfs_port = 0, mount_port = 0, portmapper_port = 0;
  std::uint64_t max_record = 0, max_io = 0, max_conn_output = 0;

  explicit RawFlags(const Options& o)
      : bind(o.bind.to_string()),
        nfs_port(o.nfs_port),
        mount_port(o.mount_port),
        portmapper_port(o.portmapper_port),
        max_record(o.max_record_size),
        max_io(o.max_io_size),
        max_conn_output(o.max_connection_output) {}
};

/// Exports, addresses, ports, metrics, state and logs.
void add_service_flags(CLI::App& app, Options& o, RawFlags& raw) {
  app.add_option("--exports", raw.exports_file, "exports(5) file to load")->type_name("FILE");
  app.add_option("--export", o.export_lines,
                 "one export in exports(5) syntax, e.g. '/srv *(rw)'; repeatable")
      ->type_name("'PATH CLIENT(OPTS)'")
      ->allow_extra_args(false)
      ->take_all();
  app.add_option("--bind", raw.bind, "address to listen on")
      ->type_name("ADDR")
      ->check(CLI::Validator(check_bind, "", "bind"))
      ->capture_default_str();
  app.add_option("--nfs-port", raw.nfs_port, "NFS TCP port")
      ->check(CLI::Range(1u, 65535u))
      ->capture_default_str();
  app.add_option("--mount-port", raw.mount_port, "MOUNT TCP port")
      ->check(CLI::Range(1u, 65535u))
      ->capture_default_str();
  app.add_option("--metrics", raw.metrics, "Prometheus endpoint, e.g. 0.0.0.0:9464 (default: off)")
      ->type_name("ADDR:PORT")
      ->check(CLI::Validator(check_metrics, "", "metrics"));
  app.add_option("--state-dir", o.state_dir, "directory for persistent state")
      ->type_name("DIR")
      ->check([](const std::string& s) {
        return s.empty() ? std::string("--state-dir must not be empty") : std::string();
      })
      ->capture_default_str();
  app.add_option("--log-level", raw.log_level, "logging threshold")
      ->check(CLI::IsMember(std::vector<std::string>(std::begin(kLogLevels), std::end(kLogLevels))))
      ->capture_default_str();
}

/// The pipeline: stage threads, inline calls, sizes and budgets.
void add_pipeline_flags(CLI::App& app, Options& o, RawFlags& raw) {
  app.add_option("--threads-per-stage", o.threads_per_stage,
                 "worker threads of the persist stage (storage calls)")
      ->check(CLI::Range(1u, 256u))
      ->capture_default_str();
  app.add_option("--parse-threads", o.parse_threads,
                 "worker threads of the parse stage; 0 decodes calls on the network threads")
      ->check(CLI::Range(0u, 256u))
      ->capture_default_str();
  app.add_option("--validate-threads", o.validate_threads,
                 "worker threads of the validate stage; 0 validates on the persist threads")
      ->check(CLI::Range(0u, 256u))
      ->capture_default_str();
  app.add_flag("--inline-calls,!--no-inline-calls", o.inline_calls,
               "answer metadata reads and reads of cached data on the network thread when "
               "they need no disk I/O (else the persist stage runs them); needs "
               "--validate-threads 0")
      ->capture_default_str();
  app.add_option("--max-record-size", raw.max_record,
                 "largest RPC record accepted, bytes (k/m suffixes are 1024-based)")
      ->type_name("BYTES")
      ->transform(CLI::AsSizeValue(false).description(""))
      ->check(CLI::Range(std::uint64_t{Options::kMinRecordSize},
                         std::uint64_t{Options::kMaxRecordSize}))
      ->capture_default_str();
  app.add_option("--max-io-size", raw.max_io, "rsize/wsize advertised, bytes")
      ->type_name("BYTES")
      ->transform(CLI::AsSizeValue(false).description(""))
      ->check(CLI::Range(std::uint64_t{Options::kMinIoSize}, std::uint64_t{Options::kMaxIoSize}))
      ->capture_default_str();
  app.add_option("--max-in-flight", o.max_in_flight, "calls in the pipeline at once")
      ->check(CLI::Range(1u, 65536u))
      ->capture_default_str();
  app.add_option("--pool-cache", o.pool_cache_bytes,
                 "freed buffers each buffer pool keeps per size class for reuse, bytes "
                 "(the rest, and what stays unused for 2 s, goes back to the system)")
      ->type_name("BYTES")
      ->transform(CLI::AsSizeValue(false).description(""))
      ->check(CLI::Range(std::uint64_t{0}, std::uint64_t{1} << 32))
      ->capture_default_str();
  app.add_option("--large-request-budget", o.large_request_budget,
                 "bytes of large request buffers (256 KiB and more: WRITE calls) held at once, "
                 "in use and cached; connections wait for one beyond it (backpressure); never "
                 "less than one largest record (4 MiB + 64 KiB)")
      ->type_name("BYTES")
      ->transform(CLI::AsSizeValue(false).description(""))
      ->check(CLI::Range(std::uint64_t{0}, std::uint64_t{1} << 40))
      ->capture_default_str();
}

/// NFSv4, the port mapper and locking.
void add_protocol_flags(CLI::App& app, Options& o, RawFlags& raw) {
  app.add_option("--lease-time", o.lease_time, "NFSv4 lease time, seconds")
      ->check(CLI::Range(5u, 3600u))
      ->capture_default_str();
  app.add_option("--nfs4-domain", o.nfs4_domain,
                 "NFSv4 id mapping domain: owner strings name@DOMAIN map through the server's "
                 "passwd/group (default: the host's DNS domain, else localdomain)")
      ->type_name("DOMAIN");
  app.add_option("--portmapper", raw.portmapper,
                 "port mapper: embedded unless one answers at start (auto), embedded, system "
                 "rpcbind, or off")
      ->check(CLI::IsMember({"auto", "embedded", "system", "off"}))
      ->capture_default_str();
  app.add_option("--portmapper-port", raw.portmapper_port, "port of the embedded port mapper (TCP+UDP)")
      ->check(CLI::Range(1u, 65535u))
      ->capture_default_str();
  app.add_option("--grace-period", o.grace_period,
                 "seconds after a restart in which only lock reclaims are granted")
      ->type_name("SECONDS")
      ->check(CLI::Range(0u, 3600u))
      ->capture_default_str();
}

/// Connection timeouts and output budget, and --check-config.
void add_connection_flags(CLI::App& app, Options& o, RawFlags& raw) {
  app.add_option("--idle-timeout", o.idle_timeout_s,
                 "close connections idle (no call outstanding) this long, seconds; 0 = never")
      ->type_name("SECONDS")
      ->check(CLI::Range(0u, 86400u))
      ->capture_default_str();
  app.add_option("--record-timeout", o.record_timeout_s,
                 "close connections whose record or reply write takes longer, seconds; 0 = never")
      ->type_name("SECONDS")
      ->check(CLI::Range(0u, 86400u))
      ->capture_default_str();
  app.add_option("--max-connection-output", raw.max_conn_output,
                 "reply bytes one connection may hold unwritten before it stops reading "
                 "requests; 0 = no limit")
      ->type_name("BYTES")
      ->transform(CLI::AsSizeValue(false).description(""))
      ->check(CLI::Range(std::uint64_t{0}, std::uint64_t{1} << 40))
      ->capture_default_str();
  app.add_flag("--check-config", o.check_config,
               "print the effective exports and settings, then exit (1 on errors)");

}

/// Options from the parsed flags; a ParseOutcome (exit 2) when they
/// contradict each other.
OptionsResult finish(Options o, const RawFlags& raw) {
  if (!raw.exports_file.empty()) o.exports_file = raw.exports_file;
  o.bind = ip::make_address(raw.bind);  // validated above
  o.nfs_port = static_cast<std::uint16_t>(raw.nfs_port);
  o.portmapper = raw.portmapper == "embedded" ? PortmapperMode::kEmbedded
                 : raw.portmapper == "system" ? PortmapperMode::kSystem
                 : raw.portmapper == "off"    ? PortmapperMode::kOff
                                          : PortmapperMode::kAuto;
  o.portmapper_port = static_cast<std::uint16_t>(raw.portmapper_port);
  o.mount_port = static_cast<std::uint16_t>(raw.mount_port);
  if (!raw.metrics.empty()) o.metrics = parse_listen_address(raw.metrics);
  o.log_level = spdlog::level::from_str(raw.log_level);
  o.max_record_size = static_cast<std::size_t>(raw.max_record);
  o.max_io_size = static_cast<std::uint32_t>(raw.max_io);
  o.max_connection_output = static_cast<std::size_t>(raw.max_conn_output);
  if (o.max_record_size < std::size_t{o.max_io_size} + Options::kRecordOverhead) {
    return ParseOutcome{
        2, "--max-record-size " + std::to_string(o.max_record_size) +
               " is too small for --max-io-size " + std::to_string(o.max_io_size) +
               ": it must be at least --max-io-size + " +
               std::to_string(Options::kRecordOverhead) + " bytes\n"};
  }
  return o;
}

}  // namespace

OptionsResult parse_options(int argc, const char* const* argv) {
  Options o;
  CLI::App app{"nasd: user-space NFS server (NFSv3 with MOUNT, NLM and NSM; NFSv4.0, 4.1, 4.2)",
               "nasd"};
  app.get_formatter()->column_width(36);
  RawFlags raw(o);
  add_service_flags(app, o, raw);
  add_pipeline_flags(app, o, raw);
  add_protocol_flags(app, o, raw);
  add_connection_flags(app, o, raw);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    std::ostringstream out, err;
    const int code = app.exit(e, out, err);
    return ParseOutcome{code, out.str() + err.str()};
  }
  return finish(std::move(o), raw);
}

std::variant<ExportTable, ExportsError> load_exports(const Options& options) {
  std::string file_text;
  std::vector<ExportsText> texts;
  if (options.exports_file) {
    const std::string& path = *options.exports_file;
    std::ifstream in(path, std::ios::binary);
    std::ostringstream buf;
    if (in) buf << in.rdbuf();
    if (!in || in.bad()) {
      const int e = errno;
      return ExportsError{path, 0,
                          std::string("cannot read exports file: ") + std::strerror(e ? e : EIO)};
    }
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
      return ExportsError{path, 0, "cannot read exports file: " + std::string(std::strerror(EISDIR))};
    }
    file_text = buf.str();
    texts.push_back(ExportsText{file_text, path, 1});
  }
  for (std::size_t i = 0; i < options.export_lines.size(); ++i) {
    const std::string& line = options.export_lines[i];
    const auto line_no = static_cast<unsigned>(i + 1);
    if (line.find('\n') != std::string::npos) {
      return ExportsError{"--export", line_no, "an --export value must be a single line"};
    }
    if (line.find_first_not_of(" \t") == std::string::npos) {
      return ExportsError{"--export", line_no, "empty --export value"};
    }
    texts.push_back(ExportsText{line, "--export", line_no});
  }
  auto result = parse_exports(std::span<const ExportsText>(texts));
  if (auto* table = std::get_if<ExportTable>(&result); table && table->exports().empty()) {
    return ExportsError{options.exports_file ? *options.exports_file : std::string("nasd"), 0,
                        "no exports: give --exports FILE or --export ..."};
  }
  return result;
}

int check_config(const Options& options, std::ostream& out, std::ostream& err) {
  auto loaded = load_exports(options);
  if (auto* e = std::get_if<ExportsError>(&loaded)) {
    err << e->to_string() << '\n';
    return 1;
  }
  const ExportTable& table = std::get<ExportTable>(loaded);
  for (const Export& e : table.exports()) {
    struct stat st {};
    if (::stat(e.path.c_str(), &st) != 0) {
      err << "warning: export path '" << e.path << "': " << std::strerror(errno) << '\n';
    } else if (!S_ISDIR(st.st_mode)) {
      err << "warning: export path '" << e.path << "' is not a directory\n";
    }
  }
  const auto level = spdlog::level::to_string_view(options.log_level);
  out << "# nasd effective settings\n"
      << "# --bind " << options.bind.to_string() << '\n'
      << "# --nfs-port " << options.nfs_port << '\n'
      << "# --mount-port " << options.mount_port << '\n'
      << "# --metrics " << (options.metrics ? options.metrics->to_string() : "off") << '\n'
      << "# --state-dir " << options.state_dir << '\n'
      << "# --log-level " << std::string_view(level.data(), level.size()) << '\n'
      << "# --threads-per-stage " << options.threads_per_stage << '\n'
      << "# --parse-threads " << options.parse_threads << '\n'
      << "# --validate-threads " << options.validate_threads << '\n'
      << "# --max-record-size " << describe_size(options.max_record_size) << '\n'
      << "# --max-io-size " << describe_size(options.max_io_size) << '\n'
      << "# --max-in-flight " << options.max_in_flight << '\n'
      << "# --pool-cache " << describe_size(options.pool_cache_bytes) << '\n'
      << "# --large-request-budget " << describe_size(options.large_request_budget) << '\n'
      << "# --lease-time " << options.lease_time << '\n'
      << "# --nfs4-domain " << (options.nfs4_domain.empty() ? "(host)" : options.nfs4_domain)
      << '\n'
      << "# --portmapper "
      << (options.portmapper == PortmapperMode::kEmbedded ? "embedded"
          : options.portmapper == PortmapperMode::kSystem ? "system"
          : options.portmapper == PortmapperMode::kOff    ? "off"
                                                          : "auto")
      << " (port " << options.portmapper_port << ")\n"
      << "# --grace-period " << options.grace_period << '\n'
      << "# --idle-timeout " << options.idle_timeout_s << '\n'
      << "# --record-timeout " << options.record_timeout_s << '\n'
      << "# --max-connection-output " << describe_size(options.max_connection_output) << '\n'
      << "# nasd effective exports (" << table.exports().size() << ")\n"
      << table.to_string();
  return 0;
}

}  // namespace nasd::server
