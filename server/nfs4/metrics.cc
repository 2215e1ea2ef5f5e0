// Nfs4OpMetrics, see metrics.h.
#include "server/nfs4/metrics.h"

#include "server/nfs4/op_table.h"

namespace nasd::server {

Nfs4OpMetrics::Nfs4OpMetrics(prometheus::Registry& registry)
    : ops_(prometheus::BuildCounter()
               .Name("nasd_nfs4_operations_total")
               .Help("NFSv4 COMPOUND operations run, by operation and nfsstat4 status")
               .Register(registry)),
      duration_(prometheus::BuildHistogram()
                    .Name("nasd_nfs4_operation_duration_seconds")
                    .Help("Time one NFSv4 operation took inside its COMPOUND")
                    .Register(registry)),
      counters_(new std::atomic<prometheus::Counter*>[kOps * kStatuses]) {
  static const prometheus::Histogram::BucketBoundaries kBuckets = {
      0.00001, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
      0.025,   0.05,    0.1,    0.25,    0.5,    1,     2.5,    5};
  for (std::size_t i = 0; i < kOps * kStatuses; ++i) counters_[i].store(nullptr);
  for (std::uint32_t op = 3; op < kOps; ++op) {
    const std::uint32_t num = op == kOps - 1 ? static_cast<std::uint32_t>(nfs4::Op::kIllegal) : op;
    histograms_[op] = &duration_.Add({{"operation", nfs4_op_table().name(num)}}, kBuckets);
  }
}

std::size_t Nfs4OpMetrics::op_index(std::uint32_t op) {
  return op >= 3 && op < kOps - 1 ? op : kOps - 1;
}

std::size_t Nfs4OpMetrics::status_index(nfs4::Nfsstat4 s) {
  const auto v = static_cast<std::uint32_t>(s);
  if (v < 100) return v;
  if (v >= 10000 && v < 10100) return 100 + (v - 10000);
  return kStatuses - 1;  // not a known value: shares the last slot ("UNKNOWN")
}

void Nfs4OpMetrics::record(std::uint32_t op, nfs4::Nfsstat4 status, double seconds) {
  const std::size_t o = op_index(op);
  const std::size_t idx = o * kStatuses + status_index(status);
  prometheus::Counter* c = counters_[idx].load(std::memory_order_acquire);
  if (!c) {
    // Family::Add is thread-safe and returns the existing series for equal
    // labels, so two threads racing here end up with the same counter.
    const std::uint32_t num = o == kOps - 1 ? static_cast<std::uint32_t>(nfs4::Op::kIllegal) : op;
    c = &ops_.Add({{"operation", nfs4_op_table().name(num)}, {"status", nfs4::status_name(status)}});
    counters_[idx].store(c, std::memory_order_release);
  }
  c->Increment();
  histograms_[o]->Observe(seconds);
}

}  // namespace nasd::server
