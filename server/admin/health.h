// Health: the answers of /healthz (liveness) and /readyz (readiness) on the
// metrics port, for container HEALTHCHECKs, systemd and Kubernetes probes.
#pragma once

#include <atomic>

#include "server/exports/export_registry.h"
#include "server/locking/nsm_state.h"
#include "server/admin/http_server.h"
#include "storage/backend.h"

namespace nasd::server {

class Health {
 public:
  Health(storage::Backend& backend, const ExportRegistry& exports)
      : backend_(backend), exports_(exports) {}

  /// Call once the NFS and MOUNT listeners accept connections.
  void set_listening() { listening_ = true; }
  /// While `grace` is active the server is not ready (only reclaims are
  /// served).  Call before serving HTTP.
  void set_grace(const GracePeriod* grace) { grace_ = grace; }

  /// /healthz: 200 "ok" whenever the process answers HTTP at all.
  HttpResponse healthz() const;

  /// /readyz: 200 "ready" when the listeners are up and every current
  /// export's root answers GETATTR through the storage backend; otherwise
  /// 503 with one reason per line (e.g. "export 1 /srv/a: NFS3ERR_STALE").
  /// While the reclaim grace period (NLM and NFSv4) runs: 503 "grace period".
  HttpResponse readyz() const;

 private:
  storage::Backend& backend_;
  const ExportRegistry& exports_;
  std::atomic<bool> listening_{false};
  const GracePeriod* grace_ = nullptr;
};

}  // namespace nasd::server
