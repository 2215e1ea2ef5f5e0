// Nfs4Fh: an NFSv4 current or saved filehandle together with what the
// access check found for it (RFC 8881 §16.2.3.1.1: the current filehandle
// of a COMPOUND).
#pragma once

#include <cstdint>

#include "server/exports/exports.h"
#include "storage/types.h"

namespace nasd::server {

/// A current or saved filehandle: the wire handle, and for a handle of an
/// export its export id, the export's options for this client and the
/// squashed credentials (server/exports/access.h).  Pseudo-filesystem
/// handles carry the pseudo node instead and read-only default options.
struct Nfs4Fh {
  bool set = false;
  bool pseudo = false;
  std::uint32_t node = 0;          // pseudo node
  storage::FileHandle fh;          // wire handle (pseudo or storage)
  std::uint32_t export_id = 0;
  ExportOptions options;           // for the peer
  storage::Credentials cred;       // squashed identity for this export
};

}  // namespace nasd::server
