// nasd: start-up and shutdown.  Everything mutable lives in serve()'s Daemon.
#include <sys/random.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <spdlog/spdlog.h>

#include "server/exports/export_registry.h"
#include "server/admin/health.h"
#include "server/admin/http_server.h"
#include "server/transport/listener.h"
#include "server/pipeline/metrics.h"
#include "server/locking/lock_manager.h"
#include "server/nfs3/mount_program.h"
#include "server/nfs3/nfs3_program.h"
#include "server/nfs4/callback.h"
#include "server/nfs4/metrics.h"
#include "server/nfs4/program.h"
#include "server/nfs4/state/recovery.h"
#include "server/nfs4/state/state.h"
#include "server/locking/nlm_program.h"
#include "server/locking/nsm_state.h"
#include "server/portmap/portmap_program.h"
#include "server/transport/rpc_callback.h"
#include "server/transport/udp_listener.h"
#include "server/admin/options.h"
#include "server/pipeline/pipeline.h"
#include "server/admin/reload.h"
#include "server/portmap/rpcbind_registration.h"
#include "storage/local/local_backend.h"

namespace {

using namespace nasd;

// A fresh writeverf for this server instance (RFC 1813 §3.3.7): clients
// resend UNSTABLE writes not yet committed when it changes.
storage::Verifier new_write_verifier() {
  storage::Verifier v{};
  if (getrandom(v.data(), v.size(), 0) != static_cast<ssize_t>(v.size())) {
    auto t = std::chrono::system_clock::now().time_since_epoch().count();
    std::memcpy(v.data(), &t, sizeof(t));
  }
  return v;
}

/// True when something accepts TCP connections on 127.0.0.1:`port` (a
/// system port mapper, for --portmapper auto).
bool port_answers(std::uint16_t port) {
  boost::asio::io_context io;
  boost::asio::ip::tcp::socket s(io);
  boost::system::error_code ec;
  s.connect({boost::asio::ip::address_v4::loopback(), port}, ec);
  return !ec;
}

/// Settings of the NFSv4 state from the command line.
server::Nfs4State::Config nfs4_state_config(const server::Options& opt) {
  server::Nfs4State::Config c;
  c.lease = std::chrono::seconds(opt.lease_time);
  c.max_request = static_cast<std::uint32_t>(opt.max_record_size);
  c.max_response = opt.max_io_size + (64u << 10);
  const storage::Verifier boot = new_write_verifier();
  std::memcpy(&c.boot, boot.data(), sizeof(c.boot));
  return c;
}

/// Settings of the pipeline from the command line.
server::PipelineConfig pipeline_config(const server::Options& opt) {
  server::PipelineConfig pc;
  pc.persist_threads = opt.threads_per_stage;
  pc.parse_threads = opt.parse_threads;
  pc.validate_threads = opt.validate_threads;
  pc.inline_calls = opt.inline_calls;
  pc.max_in_flight = opt.max_in_flight;
  pc.pool_cache.per_class_bytes = opt.pool_cache_bytes;
  pc.request_pool_large_bytes = opt.large_request_budget;
  return pc;
}

/// Limits of every TCP connection from the command line.
server::ConnectionLimits connection_limits(const server::Options& opt) {
  server::ConnectionLimits limits;
  limits.max_record_bytes = opt.max_record_size;
  limits.idle_timeout = std::chrono::seconds(opt.idle_timeout_s);
  limits.record_timeout = std::chrono::seconds(opt.record_timeout_s);
  limits.max_output_bytes = opt.max_connection_output;
  return limits;
}

/// One running nasd: the programs and their state, the pipeline, the
/// listeners and the admin endpoints, created in this order (members) and
/// destroyed in reverse.  What can fail at start (sockets, the metrics
/// endpoint) is opened by run(), which says why on stderr and returns 1.
class Daemon {
 public:
  /// `backend` holds the exports of `table`; `nsm_state` and `records` are
  /// the state directory's NSM and NFSv4 client records.  All must
  /// outlive the daemon.
  Daemon(const server::Options& opt, storage::LocalBackend& backend, server::ExportTable table,
         server::NsmState& nsm_state, server::Nfs4ClientRecords& records)
      : opt_(opt),
        backend_(backend),
        nsm_state_(nsm_state),
        exports_(std::move(table)),
        nfs3_(backend, exports_, server::Nfs3Limits{opt.max_io_size, opt.max_io_size, 32768},
              new_write_verifier()),
        mount_(backend, exports_),
        nfs4_state_(nfs4_state_config(opt)),
        nfs4_(backend, exports_, nfs4_state_,
              server::Nfs4Limits{opt.max_io_size, opt.max_io_size, 64}, new_write_verifier()),
        reloader_(opt, exports_,
                  [this](std::uint32_t id, const std::string& path) {
                    return backend_.add_export(id, path);
                  }),
        // One grace period for NLM and NFSv4; each ends its part early when
        // it has nobody to wait for.
        grace_(std::chrono::seconds(opt.grace_period), 2),
        nlm_(lock_manager_, nsm_state, grace_, callbacks_, &backend, &exports_),
        nsm_(nsm_state, nlm_),
        nfs4_op_metrics_(*metrics_.registry()),
        nfs4_callbacks_(metrics_.registry().get(), &callbacks_, {}),
        pipeline_(pipeline_config(opt), {&mount_, &nfs3_, &nfs4_, &nlm_, &nsm_, &portmap_},
                  metrics_),
        health_(backend, exports_),
        limits_(connection_limits(opt)) {
    if (!opt.nfs4_domain.empty()) nfs4_.set_id_domain(opt.nfs4_domain);
    // NFSv4 locks on the NLM's LockManager; its client list on disk for reclaim.
    nfs4_state_.set_lock_manager(&lock_manager_, [this](std::vector<server::GrantedWaiter> w) {
      nlm_.notify_granted(std::move(w));
    });
    nfs4_state_.set_recovery(&grace_, &records);
    nfs4_.set_op_metrics(&nfs4_op_metrics_);
    nfs4_.set_callbacks(&nfs4_callbacks_);
    add_metrics();
    health_.set_grace(&grace_);
  }

  /// Opens the endpoints and serves until SIGINT / SIGTERM: 0, or 1 when
  /// an endpoint cannot be opened.
  int run() {
    if (!start_http() || !open_listeners() || !open_portmapper()) return 1;
    register_ports();
    for (auto& l : listeners_) l->start();
    health_.set_listening();
    for (auto& u : udp_) u->start();
    if (opt_.portmapper == server::PortmapperMode::kSystem ||
        (opt_.portmapper == server::PortmapperMode::kAuto && !embedded_portmapper_)) {
      rpcbind_.emplace(std::vector<server::RpcbindRegistration::Entry>{
          {nfs3_.number(), 3, opt_.nfs_port},
          {nfs4_.number(), 4, opt_.nfs_port},
          {mount_.number(), 3, opt_.mount_port},
          {nlm_.number(), 4, opt_.nfs_port},
          {nsm_.number(), 1, opt_.nfs_port}});
    }
    server::notify_previous_clients(nsm_state_, callbacks_, grace_);
    serve_signals_and_wait();
    pipeline_.stop();   // no worker may post to `io_` once it is gone
    callbacks_.stop();  // its callbacks use nlm and nsm_state
    return 0;
  }

 private:
  void add_metrics() {
    metrics_.set_build_info(NASD_VERSION, NASD_COMMIT);
    metrics_.add_exports(*exports_.current());
    metrics_.add_gauge("nasd_nlm_locks_held", "Byte-range lock ranges granted", {},
                       [this] { return static_cast<double>(lock_manager_.lock_count()); });
    metrics_.add_gauge("nasd_nlm_blocked_waiters", "Blocking lock requests waiting", {},
                       [this] { return static_cast<double>(lock_manager_.waiter_count()); });
    metrics_.add_gauge("nasd_nlm_grace_active", "1 while the reclaim grace period runs", {},
                       [this] { return grace_.active() ? 1.0 : 0.0; });
  }

  /// /metrics, /healthz, /readyz on --metrics (when set).
  bool start_http() {
    if (!opt_.metrics) return true;
    try {
      http_ = std::make_unique<server::HttpServer>(
          *opt_.metrics,
          std::map<std::string, server::HttpHandler>{
              {"/metrics", [this] {
                 return server::HttpResponse{200, "text/plain; version=0.0.4; charset=utf-8",
                                             metrics_.render()};
               }},
              {"/healthz", [this] { return health_.healthz(); }},
              {"/readyz", [this] { return health_.readyz(); }}});
    } catch (const std::exception& e) {
      std::cerr << "nasd: cannot serve metrics on " << opt_.metrics->to_string() << ": "
                << e.what() << "\n";
      return false;
    }
    return true;
  }

  /// TCP on the NFS and MOUNT ports; NLM and NSM also over UDP on the NFS
  /// port (rpc.statd's SM_NOTIFY).
  bool open_listeners() {
    server::raise_open_file_limit();
    const std::string bind = opt_.bind.to_string();
    try {
      listeners_.push_back(
          std::make_unique<server::Listener>(io_, bind, opt_.nfs_port, pipeline_, limits_));
      if (opt_.mount_port != opt_.nfs_port) {
        listeners_.push_back(
            std::make_unique<server::Listener>(io_, bind, opt_.mount_port, pipeline_, limits_));
      }
    } catch (const std::exception& e) {
      std::cerr << "nasd: cannot listen on " << bind << ": " << e.what() << "\n";
      return false;
    }
    try {
      udp_.push_back(std::make_unique<server::UdpListener>(
          io_, bind, opt_.nfs_port, pipeline_, std::vector{nlm_.number(), nsm_.number()}));
    } catch (const std::exception& e) {
      spdlog::warn("no UDP on port {}: {}", opt_.nfs_port, e.what());
    }
    return true;
  }

  /// The port mapper: embedded (TCP + UDP) unless --portmapper says
  /// otherwise or (auto) one answers already.
  bool open_portmapper() {
    using server::PortmapperMode;
    embedded_portmapper_ =
        opt_.portmapper == PortmapperMode::kEmbedded ||
        (opt_.portmapper == PortmapperMode::kAuto && !port_answers(opt_.portmapper_port));
    if (!embedded_portmapper_) return true;
    const std::string bind = opt_.bind.to_string();
    try {
      auto tcp = std::make_unique<server::Listener>(io_, bind, opt_.portmapper_port, pipeline_,
                                                    limits_);
      auto u = std::make_unique<server::UdpListener>(io_, bind, opt_.portmapper_port, pipeline_,
                                                     std::vector{portmap_.number()});
      listeners_.push_back(std::move(tcp));
      udp_.push_back(std::move(u));
    } catch (const std::exception& e) {
      if (opt_.portmapper == PortmapperMode::kEmbedded) {
        std::cerr << "nasd: cannot serve the port mapper on port " << opt_.portmapper_port
                  << ": " << e.what() << "\n";
        return false;
      }
      spdlog::warn("port mapper port {} busy ({}); not serving one", opt_.portmapper_port,
                   e.what());
      embedded_portmapper_ = false;
    }
    return true;
  }

  /// The embedded port mapper's table (PMAP v2, RPCBIND v3/v4).
  void register_ports() {
    for (std::uint32_t v : {2u, 3u, 4u}) {
      portmap_.add(portmap_.number(), v, "tcp", opt_.portmapper_port);
      portmap_.add(portmap_.number(), v, "udp", opt_.portmapper_port);
    }
    portmap_.add(nfs3_.number(), 3, "tcp", opt_.nfs_port);
    portmap_.add(nfs4_.number(), 4, "tcp", opt_.nfs_port);
    portmap_.add(mount_.number(), 3, "tcp", opt_.mount_port);
    portmap_.add(nlm_.number(), 4, "tcp", opt_.nfs_port);
    portmap_.add(nsm_.number(), 1, "tcp", opt_.nfs_port);
    if (!udp_.empty() && udp_.front()->port() == opt_.nfs_port) {
      portmap_.add(nlm_.number(), 4, "udp", opt_.nfs_port);
      portmap_.add(nsm_.number(), 1, "udp", opt_.nfs_port);
    }
  }

  /// SIGHUP reloads the exports (server/admin/reload.h; on an I/O thread:
  /// host names in the exports are resolved there); SIGINT / SIGTERM stop.
  /// Runs the I/O threads until then.
  void serve_signals_and_wait() {
    boost::asio::signal_set hup(io_, SIGHUP);
    std::function<void(const boost::system::error_code&, int)> on_hup =
        [&](const boost::system::error_code& ec, int) {
          if (ec) return;
          metrics_.reload_done(reloader_.reload_and_log().ok);
          metrics_.add_exports(*exports_.current());
          hup.async_wait(on_hup);  // re-armed after each one
        };
    hup.async_wait(on_hup);
    boost::asio::signal_set signals(io_, SIGINT, SIGTERM);
    signals.async_wait([&](const boost::system::error_code&, int sig) {
      spdlog::info("signal {}: shutting down", sig);
      for (auto& l : listeners_) l->stop();
      hup.cancel();
      for (auto& u : udp_) u->stop();
      io_.stop();
    });
    log_banner();
    const unsigned io_threads = 2;
    std::vector<std::jthread> threads;
    for (unsigned i = 1; i < io_threads; ++i) threads.emplace_back([this] { io_.run(); });
    io_.run();
  }

  void log_banner() {
    const std::string bind = opt_.bind.to_string();
    spdlog::info("nasd {} serving {} export(s): NFSv3 and NFSv4.0/4.1/4.2 on {}:{}, MOUNT on {}:{}{}",
                 NASD_VERSION, exports_.current()->exports().size(), bind, opt_.nfs_port, bind,
                 opt_.mount_port,
                 opt_.metrics ? ", metrics on " + opt_.metrics->to_string() : std::string());
    spdlog::info("NLM 4 and NSM 1 on port {} (NSM state {}, grace {}), port mapper: {}",
                 opt_.nfs_port, nsm_state_.state(), grace_.active() ? "active" : "off",
                 embedded_portmapper_ ? "embedded on port " + std::to_string(opt_.portmapper_port)
                 : rpcbind_ && rpcbind_->registered() ? std::string("system rpcbind")
                                                      : std::string("none"));
  }

  const server::Options& opt_;
  storage::LocalBackend& backend_;
  server::NsmState& nsm_state_;
  server::ExportRegistry exports_;
  server::Nfs3Program nfs3_;
  server::MountProgram mount_;
  server::Nfs4State nfs4_state_;
  server::Nfs4Program nfs4_;
  server::ExportReloader reloader_;
  server::GracePeriod grace_;
  server::LockManager lock_manager_;
  server::CallbackClient callbacks_;
  server::NlmProgram nlm_;
  server::NsmProgram nsm_;
  server::PortmapProgram portmap_;
  server::ServerMetrics metrics_;
  server::Nfs4OpMetrics nfs4_op_metrics_;
  server::Nfs4Callbacks nfs4_callbacks_;
  server::Pipeline pipeline_;
  server::Health health_;
  std::unique_ptr<server::HttpServer> http_;
  boost::asio::io_context io_;
  server::ConnectionLimits limits_;
  std::vector<std::unique_ptr<server::Listener>> listeners_;
  std::vector<std::unique_ptr<server::UdpListener>> udp_;
  bool embedded_portmapper_ = false;
  std::optional<server::RpcbindRegistration> rpcbind_;
};

/// Opens the state directory and the exports, then runs a Daemon: the exit
/// status of nasd (1 with a message on stderr when it cannot start).
int serve(const server::Options& opt, server::ExportTable table) {
  std::error_code ec;
  std::filesystem::create_directories(opt.state_dir, ec);
  if (ec) {
    std::cerr << "nasd: cannot create state dir " << opt.state_dir << ": " << ec.message() << "\n";
    return 1;
  }
  storage::LocalBackend backend(opt.state_dir);
  for (const auto& e : table.exports()) {
    if (auto s = backend.add_export(e.id, e.path); s != storage::Status::kOk) {
      std::cerr << "nasd: cannot export " << e.path << ": " << storage::status_name(s) << "\n";
      return 1;
    }
  }
  // Locking's NSM state and the NFSv4 client list, both on disk for reclaim.
  std::optional<server::NsmState> nsm_state;
  std::optional<server::Nfs4ClientRecords> nfs4_records;
  try {
    nsm_state.emplace(opt.state_dir);
    nfs4_records.emplace(opt.state_dir);
  } catch (const std::exception& e) {
    std::cerr << "nasd: " << e.what() << "\n";
    return 1;
  }
  auto daemon = std::make_unique<Daemon>(opt, backend, std::move(table), *nsm_state, *nfs4_records);
  return daemon->run();
}

}  // namespace

int main(int argc, char** argv) {
  auto parsed = server::parse_options(argc, argv);
  if (auto* outcome = std::get_if<server::ParseOutcome>(&parsed)) {
    (outcome->exit_code == 0 ? std::cout : std::cerr) << outcome->message;
    return outcome->exit_code;
  }
  const auto& opt = std::get<server::Options>(parsed);
  spdlog::set_level(opt.log_level);
  if (opt.check_config) return server::check_config(opt, std::cout, std::cerr);
  auto loaded = server::load_exports(opt);
  if (auto* err = std::get_if<server::ExportsError>(&loaded)) {
    std::cerr << "nasd: " << err->to_string() << "\n";
    return 1;
  }
  return serve(opt, std::move(std::get<server::ExportTable>(loaded)));
}
