// Program: one RPC program (MOUNT v3, NFSv3, ...) as seen by the pipeline.
//
// The pipeline calls a Program's hooks in its stages, each from that stage's
// worker threads:
//   parse    -> decode():   XDR args -> typed args in the call's ArgSlot
//   validate -> validate(): export access, credentials, handle and limits;
//                           may answer early (e.g. NFS3ERR_STALE, NFS3ERR_ROFS)
//   persist  -> execute():  the storage call; encodes the procedure result
// The pipeline writes the RPC reply header (RFC 5531 §9) before validate()
// and execute(); a hook encodes only the procedure's result body.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include <boost/asio/ip/address.hpp>

#include "protocol/rpc/rpc.h"
#include "protocol/rpc/xdr.h"
#include "server/pipeline/arg_slot.h"
#include "server/exports/exports.h"
#include "storage/types.h"

namespace nasd::server {

class ReplySink;

/// Everything the stages know about one call besides its arguments.
struct CallContext {
  rpc::CallHeader header;
  boost::asio::ip::address peer;
  std::uint16_t peer_port = 0;
  boost::asio::ip::address local;  // our address the call arrived on
  bool datagram = false;           // arrived over UDP (no record marking)
  ReplySink* connection = nullptr; // the TCP connection it arrived on (valid during the call)
  // Set by validate() when the call names an export:
  std::uint32_t export_id = 0;
  bool has_export = false;  // export_id is valid (for per-export metrics)
  ExportOptions options;
  storage::Credentials cred;  // AUTH_SYS identity after squashing
  // Set by execute() for the byte counters (READ / WRITE file data, bytes):
  std::uint32_t data_bytes_read = 0;
  std::uint32_t data_bytes_written = 0;
};

/// What decode() found.
enum class DecodeResult : std::uint8_t {
  kOk,
  kProcUnavail,   // unknown procedure -> PROC_UNAVAIL
  kGarbageArgs,   // malformed arguments -> GARBAGE_ARGS
};

/// An RPC program served by the pipeline.
class Program {
 public:
  virtual ~Program() = default;

  /// RPC program number, e.g. 100003 for NFS.
  virtual std::uint32_t number() const = 0;
  /// Lowest and highest version served (PROG_MISMATCH reports them).
  virtual std::uint32_t low_version() const = 0;
  virtual std::uint32_t high_version() const = 0;
  /// Name for logs and metrics, e.g. "nfs3".
  virtual const char* name() const = 0;
  /// Procedure name for metrics labels ("GETATTR"); nullptr if unknown.
  virtual const char* procedure_name(std::uint32_t proc) const = 0;
  /// Number of procedures (procedure numbers are 0..count-1).
  virtual std::uint32_t procedure_count() const = 0;

  /// Parse stage: decode the args of `ctx.header.proc` from `in` into `args`.
  virtual DecodeResult decode(const CallContext& ctx, xdr::XdrDecoder& in, ArgSlot& args) = 0;

  /// Bytes the reply body of this call may need at most (after the RPC
  /// header).  The pipeline takes a reply buffer of that size from the pool.
  virtual std::size_t max_reply_size(const CallContext& ctx, ArgSlot& args) = 0;

  /// Validate stage.  Returns true to go on to execute(); false when it has
  /// already encoded the complete result body (an error status) into `out`.
  virtual bool validate(CallContext& ctx, ArgSlot& args, xdr::XdrEncoder& out) = 0;

  /// Persist stage: performs the call and encodes the result body into `out`.
  /// Returns the storage status for metrics ("replies by status").
  virtual storage::Status execute(CallContext& ctx, ArgSlot& args, xdr::XdrEncoder& out) = 0;

  /// Inline execution (docs/architecture.md "Inline calls"): true when the
  /// call is one try_execute_inline() may answer on the network thread that
  /// decoded it (reads of metadata or cached data).  Parse stage; default
  /// false.
  virtual bool may_run_inline(const CallContext& ctx, const ArgSlot& args) const {
    (void)ctx, (void)args;
    return false;
  }

  /// Runs a call may_run_inline() accepted, after validate(), on a thread
  /// that must never wait (the network thread): the same result as
  /// execute(), or nullopt when the answer is not in memory (the Backend's
  /// try_* calls said kWouldBlock).  On nullopt the pipeline rewinds `out`
  /// to where it was and runs execute() on a persist thread, so it must
  /// not have changed anything else.  Default: nullopt.
  virtual std::optional<storage::Status> try_execute_inline(CallContext& ctx, ArgSlot& args,
                                                            xdr::XdrEncoder& out) {
    (void)ctx, (void)args, (void)out;
    return std::nullopt;
  }
};

}  // namespace nasd::server
