// Private to Nfs4Program (server/nfs4_program.cc, server/nfs4_program_42.cc):
// the execution state of one COMPOUND and its current / saved filehandles.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "protocol/nfs4.h"
#include "server/nfs4_program.h"
#include "server/nfs_status.h"

namespace nasd::server {

/// A current or saved filehandle with what validation found out about it.
struct Nfs4Program::Fh {
  bool set = false;
  bool pseudo = false;
  std::uint32_t node = 0;          // pseudo node
  storage::FileHandle fh;          // wire handle (pseudo or storage)
  std::uint32_t export_id = 0;
  ExportOptions options;           // for the peer
  storage::Credentials cred;       // squashed identity for this export
};

/// Execution state of one COMPOUND.
struct Nfs4Program::Compound {
  explicit Compound(CallContext& c) : ctx(c) {}
  CallContext& ctx;
  std::shared_ptr<const ExportTable> table;
  std::shared_ptr<const PseudoFs> pseudo;
  std::uint32_t minor = 1;
  Fh current, saved;
  nfs4::Stateid4 current_stateid;
  bool has_current_stateid = false;
  bool in_session = false;
  nfs4::SessionId sessionid{};
  std::uint32_t slotid = 0;
  std::uint64_t clientid = 0;
  std::uint32_t max_ops = 0;
  bool replay = false;
  std::vector<std::uint8_t> replay_bytes;
  storage::Status storage_status = storage::Status::kOk;  // first failing backend call (metrics)
  // COMPOUND limits (RFC 8881 §18.46.3): the request's op count and size,
  // and the session's negotiated ca_maxrequestsize / ca_maxresponsesize.
  std::uint32_t numops = 0;
  std::size_t request_bytes = 0;
  std::uint32_t max_request = 0, max_response = 0;
  // Inline execution (Nfs4Program::try_execute_inline): backend calls use
  // the try_* forms; a kWouldBlock sets would_block and the attempt ends.
  // The SEQUENCE is only peeked at (its result encoded at sequence_pos) and
  // performed once the other operations are done (or before an inline
  // CLOSE, which cannot be given up once it ran).
  bool nowait = false;
  bool would_block = false;
  std::optional<nfs4::SequenceArgs> pending_sequence;
  std::size_t sequence_pos = 0;
  // Inline OPEN: what open_is_in_memory() found, for op_open() to use.
  std::optional<OpenFound> open_found;
  // The operation running (0-based) and CompoundArgs::attrs_tail.
  std::uint32_t op_index = 0;
  std::uint32_t attrs_tail = 0;
  // The attributes a LOOKUP found for the current filehandle, kept for the
  // GETATTRs that follow it directly (only GETFH and GETATTR in between):
  // reset before any other operation runs (run_compound).
  std::optional<storage::Attr> looked_up_attr;

  nfs4::Nfsstat4 storage(storage::Status s) {
    if (s != storage::Status::kOk && storage_status == storage::Status::kOk) storage_status = s;
    return to_nfsstat4(s);
  }
};

namespace nfs4_detail {

/// Reply bytes a 4.2 / xattr operation may need besides kPerOpReply, after
/// consuming its arguments; false when they cannot be decoded or `op` is not
/// one of them (nfs4_program_42.cc).
bool scan_op_42(std::uint32_t op, xdr::XdrDecoder& in, std::uint32_t max_read,
                std::size_t* extra);

/// True for the 4.2 / xattr operations that change the file system.
bool modifies_42(nfs4::Op op);

/// ACCESS4 bits to ask the backend for (ACCESS4_XAREAD / XALIST need READ,
/// XAWRITE needs MODIFY), and the xattr bits granted from its answer
/// (RFC 8276 §8.4.5).
std::uint32_t access_base(std::uint32_t want);
std::uint32_t access_xattr(std::uint32_t want, std::uint32_t granted);

}  // namespace nfs4_detail
}  // namespace nasd::server
