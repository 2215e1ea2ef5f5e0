// The one access check of every program that takes a file handle or an
// export from a client: NFSv3, MOUNT, NLM and NFSv4 (PUTFH, PUTROOTFH,
// LOOKUP across exports).
//
//   handle -> export      storage::Backend::export_of; an unknown or
//                          forged handle is kBadHandle, one of an export no
//                          longer in the table kStale
//   export -> options      Export::options_for(peer); a client the export
//                          does not list is kNotExported
//   secure                 the `secure` option needs a source port < 1024
//                          (kInsecurePort)
//   flavor                 AUTH_NONE on an export without it (sec=sys alone,
//                          RFC 2623 §2.3) is kFlavor
//   squash -> credentials  exports(5) squash of the AUTH_SYS identity;
//                          AUTH_NONE is the export's anonymous identity
//
// Each program maps an AccessDenial to its own wire status in one place
// (NFS3ERR_BADHANDLE / STALE / ACCES, MNT3ERR_ACCES, NLM4_FAILED,
// NFS4ERR_BADHANDLE / STALE / ACCESS / WRONGSEC).  No state: thread-safe.
#pragma once

#include <cstdint>

#include <boost/asio/ip/address.hpp>

#include "protocol/rpc/rpc.h"
#include "server/exports/exports.h"
#include "storage/backend.h"
#include "storage/types.h"

namespace nasd::server {

/// Why access_check() refused; kNone when it granted access.
enum class AccessDenial : std::uint8_t {
  kNone,
  kBadHandle,    // not a handle of this server (or empty)
  kStale,        // the handle's export is gone from the table
  kNotExported,  // the export does not list this client
  kInsecurePort, // `secure` and a source port >= 1024
  kFlavor,       // AUTH_NONE on an export that only allows AUTH_SYS
};

/// The caller of a call, as the access check needs it.
struct AccessCaller {
  const rpc::CallHeader& header;            // credentials (AUTH_SYS / AUTH_NONE)
  const boost::asio::ip::address& peer;     // client address
  std::uint16_t peer_port = 0;              // client source port
};

/// What access_check() granted.
struct AccessGrant {
  std::uint32_t export_id = 0;
  ExportOptions options;       // the export's options for this client
  storage::Credentials cred;   // the identity to run the call as (squashed)
};

/// The export-level part of the check (options for the client, secure
/// port, flavor, squash) for an export found by path (MOUNT) or by handle.
/// Fills `out` and returns kNone, or the denial.
AccessDenial export_access(const Export& exp, const AccessCaller& caller, AccessGrant* out);

/// The whole check for a file handle: handle -> export in `table`, then
/// export_access().  Fills `out` and returns kNone, or the denial.
AccessDenial access_check(storage::Backend& backend, const ExportTable& table,
                          const storage::FileHandle& fh, const AccessCaller& caller,
                          AccessGrant* out);

/// The credentials of `header` on an export with `options`: the squashed
/// AUTH_SYS identity, else the anonymous one (exports(5) "User ID Mapping").
storage::Credentials credentials_for(const ExportOptions& options, const rpc::CallHeader& header);

}  // namespace nasd::server
