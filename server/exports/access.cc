// The one access check; see access.h.
#include "server/exports/access.h"

namespace nasd::server {

storage::Credentials credentials_for(const ExportOptions& options, const rpc::CallHeader& h) {
  if (h.flavor == rpc::AuthFlavor::kSys) {
    return squash(options, h.sys.uid, h.sys.gid, h.sys.group_span());
  }
  storage::Credentials cred;  // AUTH_NONE (and any other flavor): anonymous
  cred.uid = options.anonuid;
  cred.gid = options.anongid;
  return cred;
}

AccessDenial export_access(const Export& exp, const AccessCaller& caller, AccessGrant* out) {
  std::optional<ExportOptions> opts = exp.options_for(caller.peer);
  if (!opts) return AccessDenial::kNotExported;
  if (opts->secure && caller.peer_port >= 1024) return AccessDenial::kInsecurePort;
  if (caller.header.flavor == rpc::AuthFlavor::kNone && !opts->auth_none) {
    return AccessDenial::kFlavor;
  }
  out->export_id = exp.id;
  out->options = *opts;
  out->cred = credentials_for(*opts, caller.header);
  return AccessDenial::kNone;
}

AccessDenial access_check(storage::Backend& backend, const ExportTable& table,
                          const storage::FileHandle& fh, const AccessCaller& caller,
                          AccessGrant* out) {
  if (fh.size == 0) return AccessDenial::kBadHandle;
  std::uint32_t export_id = 0;
  const storage::Status s = backend.export_of(fh, &export_id);
  if (s != storage::Status::kOk) {
    return s == storage::Status::kStale ? AccessDenial::kStale : AccessDenial::kBadHandle;
  }
  const Export* exp = table.find_by_id(export_id);
  if (exp == nullptr) return AccessDenial::kStale;
  return export_access(*exp, caller, out);
}

}  // namespace nasd::server
