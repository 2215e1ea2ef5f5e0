#include "server/pipeline/metrics.h"

#include "server/exports/exports.h"

#include <map>
#include <mutex>

#include <prometheus/collectable.h>
#include <prometheus/text_serializer.h>

namespace nasd::server {

namespace {
const char* rpc_error_name(RpcError e) {
  switch (e) {
    case RpcError::kGarbageRecord: return "garbage_record";
    case RpcError::kRecordTooLarge: return "record_too_large";
    case RpcError::kProgUnavail: return "prog_unavail";
    case RpcError::kProgMismatch: return "prog_mismatch";
    case RpcError::kProcUnavail: return "proc_unavail";
    case RpcError::kGarbageArgs: return "garbage_args";
    case RpcError::kAuthError: return "auth_error";
    case RpcError::kRpcMismatch: return "rpc_mismatch";
    case RpcError::kSystemErr: return "system_err";
    case RpcError::kBadMessageType: return "bad_msg_type";
    case RpcError::kCount: break;
  }
  return "unknown";
}
}  // namespace

/// Gauges computed by callbacks when Prometheus scrapes.
class ServerMetrics::CallbackGauges : public prometheus::Collectable {
 public:
  struct Entry {
    prometheus::MetricType type;
    std::string help;
    std::map<std::string, std::string> labels;
    std::function<double()> fn;
  };
  void add(const std::string& name, Entry e) {
    std::lock_guard lock(mu_);
    entries_[name].push_back(std::move(e));
  }
  std::vector<prometheus::MetricFamily> Collect() const override {
    std::lock_guard lock(mu_);
    std::vector<prometheus::MetricFamily> out;
    for (const auto& [name, list] : entries_) {
      prometheus::MetricFamily fam;
      fam.name = name;
      fam.help = list.front().help;
      fam.type = list.front().type;
      for (const auto& e : list) {
        prometheus::ClientMetric m;
        for (const auto& [k, v] : e.labels) m.label.push_back({k, v});
        if (fam.type == prometheus::MetricType::Counter) {
          m.counter.value = e.fn();
        } else {
          m.gauge.value = e.fn();
        }
        fam.metric.push_back(std::move(m));
      }
      out.push_back(std::move(fam));
    }
    return out;
  }

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::vector<Entry>> entries_;
};

ServerMetrics::ServerMetrics()
    : registry_(std::make_shared<prometheus::Registry>()),
      gauges_(std::make_shared<CallbackGauges>()),
      requests_family_(prometheus::BuildCounter()
                           .Name("nasd_rpc_requests_total")
                           .Help("RPC calls received, by program and procedure")
                           .Register(*registry_)),
      duration_family_(prometheus::BuildHistogram()
                           .Name("nasd_rpc_request_duration_seconds")
                           .Help("Time from a call's arrival to its reply being queued")
                           .Register(*registry_)),
      replies_family_(prometheus::BuildCounter()
                          .Name("nasd_rpc_replies_total")
                          .Help("Replies by program and storage status")
                          .Register(*registry_)) {
  auto& errors = prometheus::BuildCounter()
                     .Name("nasd_rpc_errors_total")
                     .Help("Calls answered with an RPC-level error or dropped, by reason")
                     .Register(*registry_);
  for (std::size_t i = 0; i < errors_.size(); ++i) {
    errors_[i] = &errors.Add({{"reason", rpc_error_name(static_cast<RpcError>(i))}});
  }
  read_bytes_ = &prometheus::BuildCounter()
                     .Name("nasd_read_bytes_total")
                     .Help("File data bytes returned by READ")
                     .Register(*registry_)
                     .Add({});
  write_bytes_ = &prometheus::BuildCounter()
                      .Name("nasd_write_bytes_total")
                      .Help("File data bytes stored by WRITE")
                      .Register(*registry_)
                      .Add({});
  connections_total_ = &prometheus::BuildCounter()
                            .Name("nasd_connections_total")
                            .Help("TCP connections accepted")
                            .Register(*registry_)
                            .Add({});
  connections_ = &prometheus::BuildGauge()
                      .Name("nasd_connections")
                      .Help("TCP connections open")
                      .Register(*registry_)
                      .Add({});
  auto& reloads = prometheus::BuildCounter()
                      .Name("nasd_exports_reloads_total")
                      .Help("Export table reloads (SIGHUP), by result")
                      .Register(*registry_);
  reload_success_ = &reloads.Add({{"result", "success"}});
  reload_failure_ = &reloads.Add({{"result", "failure"}});
  last_reload_ok_ = &prometheus::BuildGauge()
                         .Name("nasd_exports_last_reload_successful")
                         .Help("1 when the last export reload succeeded (or none happened), else 0")
                         .Register(*registry_)
                         .Add({});
  last_reload_ok_->Set(1);
  export_requests_ = &prometheus::BuildCounter()
                          .Name("nasd_export_requests_total")
                          .Help("Calls that named an export (a valid handle or MNT path), by export")
                          .Register(*registry_);
  export_read_bytes_ = &prometheus::BuildCounter()
                            .Name("nasd_export_read_bytes_total")
                            .Help("File data bytes returned by READ, by export")
                            .Register(*registry_);
  export_write_bytes_ = &prometheus::BuildCounter()
                             .Name("nasd_export_write_bytes_total")
                             .Help("File data bytes stored by WRITE, by export")
                             .Register(*registry_);
  build_info_ = &prometheus::BuildGauge()
                     .Name("nasd_build_info")
                     .Help("Always 1; the labels name the running nasd version and git commit")
                     .Register(*registry_);
  auto& timeouts = prometheus::BuildCounter()
                       .Name("nasd_connection_timeouts_total")
                       .Help("Connections closed by --idle-timeout (idle) or --record-timeout "
                             "(record: a request not received whole; write: a reply not taken)")
                       .Register(*registry_);
  timeouts_[0] = &timeouts.Add({{"kind", "idle"}});
  timeouts_[1] = &timeouts.Add({{"kind", "record"}});
  timeouts_[2] = &timeouts.Add({{"kind", "write"}});
}

ServerMetrics::~ServerMetrics() = default;

std::size_t ServerMetrics::add_program(const Program& program) {
  static const prometheus::Histogram::BucketBoundaries kBuckets = {
      0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5};
  ProgramSeries series;
  for (std::uint32_t p = 0; p < program.procedure_count(); ++p) {
    const char* name = program.procedure_name(p);
    std::map<std::string, std::string> labels = {{"program", program.name()},
                                                 {"procedure", name ? name : "unknown"}};
    series.procedures.push_back(
        {&requests_family_.Add(labels), &duration_family_.Add(labels, kBuckets)});
  }
  for (std::size_t s = 0; s < kStatusCount; ++s) {
    series.replies[s] = &replies_family_.Add(
        {{"program", program.name()}, {"status", storage::status_name(static_cast<storage::Status>(s))}});
  }
  programs_.push_back(std::move(series));
  return programs_.size() - 1;
}

void ServerMetrics::add_gauge(const std::string& name, const std::string& help,
                              std::map<std::string, std::string> labels, std::function<double()> fn) {
  gauges_->add(name, {prometheus::MetricType::Gauge, help, std::move(labels), std::move(fn)});
}

void ServerMetrics::add_counter(const std::string& name, const std::string& help,
                                std::map<std::string, std::string> labels,
                                std::function<double()> fn) {
  gauges_->add(name, {prometheus::MetricType::Counter, help, std::move(labels), std::move(fn)});
}

void ServerMetrics::add_exports(const ExportTable& table) {
  std::unique_lock lock(exports_mu_);
  for (const auto& e : table.exports()) {
    if (exports_.count(e.id)) continue;
    std::map<std::string, std::string> labels = {{"export", std::to_string(e.id)},
                                                 {"path", e.path}};
    exports_[e.id] = {&export_requests_->Add(labels), &export_read_bytes_->Add(labels),
                      &export_write_bytes_->Add(labels)};
  }
}

ExportMetrics* ServerMetrics::export_metrics(std::uint32_t id) {
  std::shared_lock lock(exports_mu_);
  auto it = exports_.find(id);
  return it == exports_.end() ? nullptr : &it->second;
}

void ServerMetrics::set_build_info(const std::string& version, const std::string& commit) {
  build_info_->Add({{"version", version}, {"commit", commit}}).Set(1);
}

std::string ServerMetrics::render() const {
  auto families = registry_->Collect();
  auto more = gauges_->Collect();
  families.insert(families.end(), more.begin(), more.end());
  return prometheus::TextSerializer().Serialize(families);
}

}  // namespace nasd::server
