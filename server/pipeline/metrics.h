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
//   exports_reloads_total{result} / exports_last_reload_successful  counter / gauge
//   export_requests_total{export,path}             counter (calls that named the export)
//   export_read_bytes_total / export_write_bytes_total {export,path}  counter
//     (one series per export ever served: bounded by the export table)
//   build_info{version,commit}                     gauge, always 1
//   plus callback gauges and counters registered with add_gauge() /
//   add_counter() (pools, stage queues).
//   connection_timeouts_total{kind}                counter (idle, record, write)
// No per-client series: client addresses are unbounded.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <shared_mutex>
#include <string>
#include <vector>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include "server/pipeline/program.h"
#include "storage/types.h"

namespace nasd::server {

/// Per-procedure series of one program.
struct ProcedureMetrics {
  prometheus::Counter* requests = nullptr;
  prometheus::Histogram* duration = nullptr;
};

/// Per-export series (see file comment).
struct ExportMetrics {
  prometheus::Counter* requests = nullptr;
  prometheus::Counter* read_bytes = nullptr;
  prometheus::Counter* write_bytes = nullptr;
};

class ExportTable;

/// Why a connection was closed by a timer (nasd_connection_timeouts_total).
enum class ConnectionTimeout : std::uint8_t { kIdle, kRecord, kWrite, kCount };

/// RPC-level error reasons counted in nasd_rpc_errors_total.
enum class RpcError : std::uint8_t {
  kGarbageRecord, kRecordTooLarge, kProgUnavail, kProgMismatch, kProcUnavail, kGarbageArgs,
  kAuthError, kRpcMismatch, kSystemErr,
  kBadMessageType,  // msg_type neither CALL nor REPLY: the stream is out of step, closed
  kCount
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
  /// Records the outcome of an export reload (SIGHUP):
  /// nasd_exports_reloads_total{result="success"|"failure"} and
  /// nasd_exports_last_reload_successful (1/0).
  void reload_done(bool ok) {
    (ok ? reload_success_ : reload_failure_)->Increment();
    last_reload_ok_->Set(ok ? 1 : 0);
  }

  /// A gauge whose value `fn` computes at scrape time (pool and queue state).
  void add_gauge(const std::string& name, const std::string& help,
                 std::map<std::string, std::string> labels, std::function<double()> fn);
  /// A counter (name ending in _total) whose monotonic value `fn` computes at
  /// scrape time.
  void add_counter(const std::string& name, const std::string& help,
                   std::map<std::string, std::string> labels, std::function<double()> fn);

  /// Creates the per-export series of every export in `table` that has none
  /// yet (start-up and after each reload).  Series of removed exports stay.
  void add_exports(const ExportTable& table);
  /// The series of export `id`, or nullptr when add_exports() never saw it.
  ExportMetrics* export_metrics(std::uint32_t id);

  /// Sets nasd_build_info{version,commit} to 1.
  void set_build_info(const std::string& version, const std::string& commit);

  std::shared_ptr<prometheus::Registry> registry() const { return registry_; }
  /// The text exposition of all metrics (what /metrics returns; served by
  /// HttpServer, server/http_server.h).
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
  prometheus::Counter* reload_success_;
  prometheus::Counter* reload_failure_;
  prometheus::Gauge* last_reload_ok_;
  prometheus::Family<prometheus::Counter>* export_requests_;
  prometheus::Family<prometheus::Counter>* export_read_bytes_;
  prometheus::Family<prometheus::Counter>* export_write_bytes_;
  std::shared_mutex exports_mu_;
  std::map<std::uint32_t, ExportMetrics> exports_;
  prometheus::Family<prometheus::Gauge>* build_info_;
  std::array<prometheus::Counter*, static_cast<std::size_t>(ConnectionTimeout::kCount)> timeouts_{};
};

}  // namespace nasd::server
