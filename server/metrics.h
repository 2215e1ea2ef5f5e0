// ServerMetrics: every Prometheus metric family nasd exports, created once at
// start-up.  The hot path only increments pointers looked up by index
// (program slot, procedure number, status), never by label.
//
// Families (prefix nasd_):
//   rpc_requests_total{program,procedure}          counter
//   rpc_request_duration_seconds{program,procedure} histogram (receive -> reply queued)
//   rpc_replies_total{program,status}              counter (storage status of the call)
//   rpc_errors_total{reason}                       counter (garbage, oversize, prog_unavail, ...)
//   read_bytes_total / write_bytes_total           counter (file data, bytes)
//   connections_total / connections               counter / gauge
//   connection_timeouts_total{kind}                counter (idle, record, write)
//   plus callback gauges registered with add_gauge() (pools, stage queues).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include "server/program.h"
#include "storage/types.h"

namespace prometheus {
class Exposer;
}

namespace nasd::server {

/// Per-procedure series of one program.
struct ProcedureMetrics {
  prometheus::Counter* requests = nullptr;
  prometheus::Histogram* duration = nullptr;
};

/// Why a connection was closed by a timer (nasd_connection_timeouts_total).
enum class ConnectionTimeout : std::uint8_t { kIdle, kRecord, kWrite, kCount };

/// RPC-level error reasons counted in nasd_rpc_errors_total.
enum class RpcError : std::uint8_t {
  kGarbageRecord, kRecordTooLarge, kProgUnavail, kProgMismatch, kProcUnavail, kGarbageArgs,
  kAuthError, kRpcMismatch, kSystemErr, kCount
};

class ServerMetrics {
 public:
  static constexpr std::size_t kStatusCount = static_cast<std::size_t>(storage::Status::kServerFault) + 1;

  ServerMetrics();
  ~ServerMetrics();

  /// Registers a program's per-procedure series; returns its slot index for
  /// procedure()/reply().  Call at start-up only.
  std::size_t add_program(const Program& program);

  ProcedureMetrics& procedure(std::size_t slot, std::uint32_t proc) {
    return programs_[slot].procedures[proc];
  }
  prometheus::Counter& reply(std::size_t slot, storage::Status s) {
    return *programs_[slot].replies[static_cast<std::size_t>(s)];
  }
  prometheus::Counter& error(RpcError e) { return *errors_[static_cast<std::size_t>(e)]; }
  prometheus::Counter& read_bytes() { return *read_bytes_; }
  prometheus::Counter& write_bytes() { return *write_bytes_; }
  prometheus::Counter& connections_total() { return *connections_total_; }
  prometheus::Gauge& connections() { return *connections_; }
  prometheus::Counter& timeout(ConnectionTimeout t) {
    return *timeouts_[static_cast<std::size_t>(t)];
  }

  /// A gauge whose value `fn` computes at scrape time (pool and queue state).
  void add_gauge(const std::string& name, const std::string& help,
                 std::map<std::string, std::string> labels, std::function<double()> fn);

  /// Serves /metrics on "ADDR:PORT".  Throws std::exception when it cannot bind.
  void serve(const std::string& bind_address);

  std::shared_ptr<prometheus::Registry> registry() const { return registry_; }
  /// The text exposition of all metrics (what /metrics returns).
  std::string render() const;

 private:
  struct ProgramSeries {
    std::vector<ProcedureMetrics> procedures;
    std::array<prometheus::Counter*, kStatusCount> replies{};
  };
  class CallbackGauges;

  std::shared_ptr<prometheus::Registry> registry_;
  std::shared_ptr<CallbackGauges> gauges_;
  prometheus::Family<prometheus::Counter>& requests_family_;
  prometheus::Family<prometheus::Histogram>& duration_family_;
  prometheus::Family<prometheus::Counter>& replies_family_;
  std::vector<ProgramSeries> programs_;
  std::array<prometheus::Counter*, static_cast<std::size_t>(RpcError::kCount)> errors_{};
  prometheus::Counter* read_bytes_;
  prometheus::Counter* write_bytes_;
  prometheus::Counter* connections_total_;
  prometheus::Gauge* connections_;
  std::array<prometheus::Counter*, static_cast<std::size_t>(ConnectionTimeout::kCount)> timeouts_{};
  std::unique_ptr<prometheus::Exposer> exposer_;
};

}  // namespace nasd::server
