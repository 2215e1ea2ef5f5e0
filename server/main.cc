// nasd: start-up and shutdown.  Everything mutable lives in main's scope.
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

#include "server/export_registry.h"
#include "server/health.h"
#include "server/http_server.h"
#include "server/listener.h"
#include "server/metrics.h"
#include "server/lock_manager.h"
#include "server/mount_program.h"
#include "server/nfs3_program.h"
#include "server/nfs4_callback.h"
#include "server/nfs4_metrics.h"
#include "server/nfs4_program.h"
#include "server/nfs4_recovery.h"
#include "server/nfs4_state.h"
#include "server/nlm_program.h"
#include "server/nsm_state.h"
#include "server/portmap_program.h"
#include "server/rpc_callback.h"
#include "server/udp_listener.h"
#include "server/options.h"
#include "server/pipeline.h"
#include "server/reload.h"
#include "server/rpcbind_registration.h"
#include "storage/local_backend.h"

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
  server::ExportRegistry exports(std::move(table));
  server::Nfs3Program nfs3(backend, exports,
                           server::Nfs3Limits{opt.max_io_size, opt.max_io_size, 32768},
                           new_write_verifier());
  server::MountProgram mount(backend, exports);
  server::Nfs4State::Config state_config;
  state_config.lease = std::chrono::seconds(opt.lease_time);
  state_config.max_request = static_cast<std::uint32_t>(opt.max_record_size);
  state_config.max_response = opt.max_io_size + (64u << 10);
  {
    const storage::Verifier boot = new_write_verifier();
    std::memcpy(&state_config.boot, boot.data(), sizeof(state_config.boot));
  }
  server::Nfs4State nfs4_state(state_config);
  server::Nfs4Program nfs4(backend, exports, nfs4_state,
                           server::Nfs4Limits{opt.max_io_size, opt.max_io_size, 64},
                           new_write_verifier());
  if (!opt.nfs4_domain.empty()) nfs4.set_id_domain(opt.nfs4_domain);
  server::ExportReloader reloader(opt, exports, [&](std::uint32_t id, const std::string& path) {
    return backend.add_export(id, path);
  });

  // Locking: NLM v4 + NSM v1 over one lock manager (server/nlm_program.h).
  std::optional<server::NsmState> nsm_state;
  try {
    nsm_state.emplace(opt.state_dir);
  } catch (const std::exception& e) {
    std::cerr << "nasd: " << e.what() << "\n";
    return 1;
  }
  // One grace period for NLM and NFSv4; each ends its part early when it
  // has nobody to wait for.
  server::GracePeriod grace(std::chrono::seconds(opt.grace_period), 2);
  server::LockManager lock_manager;
  server::CallbackClient callbacks;
  server::NlmProgram nlm(lock_manager, *nsm_state, grace, callbacks, &backend, &exports);
  // NFSv4 locks on the same LockManager; its client list on disk for reclaim.
  std::optional<server::Nfs4ClientRecords> nfs4_records;
  try {
    nfs4_records.emplace(opt.state_dir);
  } catch (const std::exception& e) {
    std::cerr << "nasd: " << e.what() << "\n";
    return 1;
  }
  nfs4_state.set_lock_manager(&lock_manager, [&nlm](std::vector<server::GrantedWaiter> w) {
    nlm.notify_granted(std::move(w));
  });
  nfs4_state.set_recovery(&grace, &*nfs4_records);
  server::NsmProgram nsm(*nsm_state, nlm);
  server::PortmapProgram portmap;

  server::ServerMetrics metrics;
  metrics.set_build_info(NASD_VERSION, NASD_COMMIT);
  metrics.add_exports(*exports.current());
  metrics.add_gauge("nasd_nlm_locks_held", "Byte-range lock ranges granted", {},
                    [&] { return static_cast<double>(lock_manager.lock_count()); });
  metrics.add_gauge("nasd_nlm_blocked_waiters", "Blocking lock requests waiting", {},
                    [&] { return static_cast<double>(lock_manager.waiter_count()); });
  metrics.add_gauge("nasd_nlm_grace_active", "1 while the reclaim grace period runs", {},
                    [&] { return grace.active() ? 1.0 : 0.0; });
  server::Nfs4OpMetrics nfs4_op_metrics(*metrics.registry());
  nfs4.set_op_metrics(&nfs4_op_metrics);
  server::Nfs4Callbacks nfs4_callbacks(metrics.registry().get(), &callbacks, {});
  nfs4.set_callbacks(&nfs4_callbacks);
  server::PipelineConfig pc;
  pc.persist_threads = opt.threads_per_stage;
  pc.parse_threads = opt.parse_threads;
  pc.validate_threads = opt.validate_threads;
  pc.inline_calls = opt.inline_calls;
  pc.max_in_flight = opt.max_in_flight;
  pc.pool_cache.per_class_bytes = opt.pool_cache_bytes;
  pc.request_pool_large_bytes = opt.large_request_budget;
  server::Pipeline pipeline(pc, {&mount, &nfs3, &nfs4, &nlm, &nsm, &portmap}, metrics);
  server::Health health(backend, exports);
  health.set_grace(&grace);
  std::unique_ptr<server::HttpServer> http;  // /metrics, /healthz, /readyz
  if (opt.metrics) {
    try {
      http = std::make_unique<server::HttpServer>(
          *opt.metrics,
          std::map<std::string, server::HttpHandler>{
              {"/metrics", [&] {
                 return server::HttpResponse{200, "text/plain; version=0.0.4; charset=utf-8",
                                             metrics.render()};
               }},
              {"/healthz", [&] { return health.healthz(); }},
              {"/readyz", [&] { return health.readyz(); }}});
    } catch (const std::exception& e) {
      std::cerr << "nasd: cannot serve metrics on " << opt.metrics->to_string() << ": " << e.what()
                << "\n";
      return 1;
    }
  }

  boost::asio::io_context io;
  server::ConnectionLimits limits;
  limits.max_record_bytes = opt.max_record_size;
  limits.idle_timeout = std::chrono::seconds(opt.idle_timeout_s);
  limits.record_timeout = std::chrono::seconds(opt.record_timeout_s);
  limits.max_output_bytes = opt.max_connection_output;
  server::raise_open_file_limit();
  std::vector<std::unique_ptr<server::Listener>> listeners;
  try {
    const std::string bind = opt.bind.to_string();
    listeners.push_back(std::make_unique<server::Listener>(io, bind, opt.nfs_port, pipeline, limits));
    if (opt.mount_port != opt.nfs_port) {
      listeners.push_back(
          std::make_unique<server::Listener>(io, bind, opt.mount_port, pipeline, limits));
    }
  } catch (const std::exception& e) {
    std::cerr << "nasd: cannot listen on " << opt.bind.to_string() << ": " << e.what() << "\n";
    return 1;
  }
  // NLM and NSM also over UDP on the NFS port (rpc.statd's SM_NOTIFY).
  std::vector<std::unique_ptr<server::UdpListener>> udp;
  try {
    udp.push_back(std::make_unique<server::UdpListener>(io, opt.bind.to_string(), opt.nfs_port,
                                                        pipeline,
                                                        std::vector{nlm.number(), nsm.number()}));
  } catch (const std::exception& e) {
    spdlog::warn("no UDP on port {}: {}", opt.nfs_port, e.what());
  }
  // The port mapper: embedded (TCP + UDP) or the system's rpcbind.
  using server::PortmapperMode;
  bool embedded = opt.portmapper == PortmapperMode::kEmbedded ||
                  (opt.portmapper == PortmapperMode::kAuto && !port_answers(opt.portmapper_port));
  if (embedded) {
    try {
      auto tcp = std::make_unique<server::Listener>(io, opt.bind.to_string(), opt.portmapper_port,
                                                    pipeline, limits);
      auto u = std::make_unique<server::UdpListener>(io, opt.bind.to_string(), opt.portmapper_port,
                                                     pipeline, std::vector{portmap.number()});
      listeners.push_back(std::move(tcp));
      udp.push_back(std::move(u));
    } catch (const std::exception& e) {
      if (opt.portmapper == PortmapperMode::kEmbedded) {
        std::cerr << "nasd: cannot serve the port mapper on port " << opt.portmapper_port << ": "
                  << e.what() << "\n";
        return 1;
      }
      spdlog::warn("port mapper port {} busy ({}); not serving one", opt.portmapper_port, e.what());
      embedded = false;
    }
  }
  for (std::uint32_t v : {2u, 3u, 4u}) {
    portmap.add(portmap.number(), v, "tcp", opt.portmapper_port);
    portmap.add(portmap.number(), v, "udp", opt.portmapper_port);
  }
  portmap.add(nfs3.number(), 3, "tcp", opt.nfs_port);
  portmap.add(nfs4.number(), 4, "tcp", opt.nfs_port);
  portmap.add(mount.number(), 3, "tcp", opt.mount_port);
  portmap.add(nlm.number(), 4, "tcp", opt.nfs_port);
  portmap.add(nsm.number(), 1, "tcp", opt.nfs_port);
  if (!udp.empty() && udp.front()->port() == opt.nfs_port) {
    portmap.add(nlm.number(), 4, "udp", opt.nfs_port);
    portmap.add(nsm.number(), 1, "udp", opt.nfs_port);
  }
  for (auto& l : listeners) l->start();
  health.set_listening();
  for (auto& u : udp) u->start();
  std::optional<server::RpcbindRegistration> rpcbind;
  if (opt.portmapper == PortmapperMode::kSystem ||
      (opt.portmapper == PortmapperMode::kAuto && !embedded)) {
    rpcbind.emplace(std::vector<server::RpcbindRegistration::Entry>{
        {nfs3.number(), 3, opt.nfs_port},
        {nfs4.number(), 4, opt.nfs_port},
        {mount.number(), 3, opt.mount_port},
        {nlm.number(), 4, opt.nfs_port},
        {nsm.number(), 1, opt.nfs_port}});
  }
  server::notify_previous_clients(*nsm_state, callbacks, grace);

  // SIGHUP: reload the exports (server/reload.h); re-armed after each one.
  // Runs on an I/O thread: host names in the exports are resolved there.
  boost::asio::signal_set hup(io, SIGHUP);
  std::function<void(const boost::system::error_code&, int)> on_hup =
      [&](const boost::system::error_code& ec, int) {
        if (ec) return;
        metrics.reload_done(reloader.reload_and_log().ok);
        metrics.add_exports(*exports.current());
        hup.async_wait(on_hup);
      };
  hup.async_wait(on_hup);
  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code&, int sig) {
    spdlog::info("signal {}: shutting down", sig);
    for (auto& l : listeners) l->stop();
    hup.cancel();
    for (auto& u : udp) u->stop();
    io.stop();
  });
  spdlog::info("nasd {} serving {} export(s): NFSv3 and NFSv4.1/4.2 on {}:{}, MOUNT on {}:{}{}", NASD_VERSION,
               exports.current()->exports().size(), opt.bind.to_string(), opt.nfs_port,
               opt.bind.to_string(), opt.mount_port,
               opt.metrics ? ", metrics on " + opt.metrics->to_string() : std::string());
  spdlog::info("NLM 4 and NSM 1 on port {} (NSM state {}, grace {}), port mapper: {}",
               opt.nfs_port, nsm_state->state(), grace.active() ? "active" : "off",
               embedded ? "embedded on port " + std::to_string(opt.portmapper_port)
               : rpcbind && rpcbind->registered() ? std::string("system rpcbind")
                                                  : std::string("none"));

  const unsigned io_threads = 2;
  std::vector<std::jthread> threads;
  for (unsigned i = 1; i < io_threads; ++i) threads.emplace_back([&] { io.run(); });
  io.run();
  threads.clear();
  pipeline.stop();  // no worker may post to `io` once it is gone
  callbacks.stop();  // its callbacks use nlm and nsm_state
  return 0;
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
