// nasd: start-up and shutdown.  Everything mutable lives in main's scope.
#include <sys/random.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <spdlog/spdlog.h>

#include "server/export_registry.h"
#include "server/listener.h"
#include "server/metrics.h"
#include "server/mount_program.h"
#include "server/nfs3_program.h"
#include "server/options.h"
#include "server/pipeline.h"
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

  server::ServerMetrics metrics;
  server::PipelineConfig pc;
  pc.threads_per_stage = opt.threads_per_stage;
  pc.max_in_flight = opt.max_in_flight;
  server::Pipeline pipeline(pc, {&mount, &nfs3}, metrics);
  if (opt.metrics) {
    try {
      metrics.serve(opt.metrics->to_string());
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
  for (auto& l : listeners) l->start();
  server::RpcbindRegistration rpcbind({{nfs3.number(), 3, opt.nfs_port},
                                       {mount.number(), 3, opt.mount_port}});

  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code&, int sig) {
    spdlog::info("signal {}: shutting down", sig);
    for (auto& l : listeners) l->stop();
    io.stop();
  });
  spdlog::info("nasd {} serving {} export(s): NFSv3 on {}:{}, MOUNT on {}:{}{}", NASD_VERSION,
               exports.current()->exports().size(), opt.bind.to_string(), opt.nfs_port,
               opt.bind.to_string(), opt.mount_port,
               opt.metrics ? ", metrics on " + opt.metrics->to_string() : std::string());

  const unsigned io_threads = 2;
  std::vector<std::jthread> threads;
  for (unsigned i = 1; i < io_threads; ++i) threads.emplace_back([&] { io.run(); });
  io.run();
  threads.clear();
  pipeline.stop();  // no worker may post to `io` once it is gone
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
