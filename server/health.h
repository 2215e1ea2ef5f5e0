// Health: the answers of /healthz (liveness) and /readyz (readiness) on the
// metrics port, for container HEALTHCHECKs, systemd and Kubernetes probes.
#pragma once

#include <atomic>

#include "server/export_registry.h"
#include "server/http_server.h"
#include "storage/backend.h"

namespace nasd::server {

class Health {
 public:
  Health(storage::Backend& backend, const ExportRegistry& exports)
      : backend_(backend), exports_(exports) {}

  /// Call once the NFS and MOUNT listeners accept connections.
  void set_listening() { listening_ = true; }

  /// /healthz: 200 "ok" whenever the process answers HTTP at all.
  HttpResponse healthz() const;

  /// /readyz: 200 "ready" when the listeners are up and every current
  /// export's root answers GETATTR through the storage backend; otherwise
  /// 503 with one reason per line (e.g. "export 1 /srv/a: NFS3ERR_STALE").
  /// There is no grace period yet (no NLM/NFSv4 state to reclaim); once one
  /// exists, readiness must also wait for its end.
  HttpResponse readyz() const;

 private:
  storage::Backend& backend_;
  const ExportRegistry& exports_;
  std::atomic<bool> listening_{false};
};

}  // namespace nasd::server
