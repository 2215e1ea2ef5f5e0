// Nfs4OpMetrics: per-operation Prometheus series of NFSv4 COMPOUNDs.
//
// A COMPOUND is one RPC (counted by nasd_rpc_requests_total{program="nfs4",
// procedure="COMPOUND"}); these families break it down by operation:
//   nasd_nfs4_operations_total{operation,status}        counter
//     (operation "SEQUENCE", "READ", ...; status the nfsstat4 name without
//     NFS4ERR_: "OK", "NOENT", "NOTSUPP", ...)
//   nasd_nfs4_operation_duration_seconds{operation}     histogram (one op's run)
// Label values are bounded: operation numbers 3..75 plus "ILLEGAL", and the
// nfsstat4 values of RFC 8881 / 7862 / 8276.  Counter series are created the
// first time an (operation, status) pair is seen; the hot path then only
// loads a pointer.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include "protocol/nfs4/nfs4.h"

namespace nasd::server {

class Nfs4OpMetrics {
 public:
  /// Registers both families in `registry` (start-up only).
  explicit Nfs4OpMetrics(prometheus::Registry& registry);
  Nfs4OpMetrics(const Nfs4OpMetrics&) = delete;
  Nfs4OpMetrics& operator=(const Nfs4OpMetrics&) = delete;

  /// Counts one operation `op` (nfs_opnum4; unknown numbers count as
  /// ILLEGAL) that ended with `status` after `seconds`.  Thread-safe.
  void record(std::uint32_t op, nfs4::Nfsstat4 status, double seconds);

 private:
  static constexpr std::size_t kOps = 77;        // 0..75, 76 = ILLEGAL
  static constexpr std::size_t kStatuses = 200;  // 0..99, 10000..10099 -> 100..199
  static std::size_t op_index(std::uint32_t op);
  static std::size_t status_index(nfs4::Nfsstat4 s);

  prometheus::Family<prometheus::Counter>& ops_;
  prometheus::Family<prometheus::Histogram>& duration_;
  std::array<prometheus::Histogram*, kOps> histograms_{};
  std::unique_ptr<std::atomic<prometheus::Counter*>[]> counters_;
};

}  // namespace nasd::server
