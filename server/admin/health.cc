#include "server/admin/health.h"

#include <string>

namespace nasd::server {

HttpResponse Health::healthz() const { return {200, "text/plain; charset=utf-8", "ok\n"}; }

HttpResponse Health::readyz() const {
  std::string problems;
  if (!listening_) problems += "not listening yet\n";
  if (grace_ && grace_->active()) problems += "grace period: clients are reclaiming state\n";
  auto table = exports_.current();
  for (const auto& e : table->exports()) {
    storage::FileHandle fh;
    storage::Attr attr;
    storage::Status s = backend_.root_handle(e.id, &fh);
    if (s == storage::Status::kOk) s = backend_.getattr(fh, &attr);
    if (s != storage::Status::kOk) {
      problems += "export " + std::to_string(e.id) + " " + e.path + ": " +
                  storage::status_name(s) + "\n";
    }
  }
  if (problems.empty()) return {200, "text/plain; charset=utf-8", "ready\n"};
  return {503, "text/plain; charset=utf-8", problems};
}

}  // namespace nasd::server
