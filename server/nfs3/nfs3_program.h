// Nfs3Program: the NFS version 3 RPC program (100003, RFC 1813) on top of a
// storage::Backend, as hooks for the pipeline stages (server/program.h).
#pragma once

#include <cstddef>
#include <cstdint>

#include "protocol/nfs3/nfs3.h"
#include "server/exports/access.h"
#include "server/exports/export_registry.h"
#include "server/pipeline/program.h"
#include "storage/backend.h"

namespace nasd::server {

/// Transfer limits the server advertises in FSINFO and enforces.
struct Nfs3Limits {
  std::uint32_t max_read = 1 << 20;   // rtmax, bytes; READ/READDIR counts clamp to it
  std::uint32_t max_write = 1 << 20;  // wtmax, bytes; longer WRITEs are shortened
  std::uint32_t dtpref = 32768;       // preferred READDIR size, bytes
};

/// NFSv3 (version 3 only, procedures NULL..COMMIT).
///
/// validate() checks every handle (NFS3ERR_BADHANDLE / NFS3ERR_STALE), the
/// peer's access to the handle's export (NFS3ERR_ACCES, also for a `secure`
/// export and a source port >= 1024), the export's ro flag for modifying
/// procedures (NFS3ERR_ROFS), that RENAME/LINK stay in one export
/// (NFS3ERR_XDEV), name length (NFS3ERR_NAMETOOLONG, > 255 bytes) and WRITE
/// count == data length (NFS3ERR_INVAL); it clamps READ counts to max_read,
/// shortens WRITEs beyond max_write (RFC 1813 §3.3.7 allows a short write)
/// and squashes the AUTH_SYS identity (AUTH_NONE: anonuid/anongid) into
/// ctx.cred.  execute() calls the Backend and encodes the result with the
/// wcc_data / post_op_attr RFC 1813 requires on success and failure.
class Nfs3Program final : public Program {
 public:
  /// `writeverf` is returned by WRITE and COMMIT; choose a new one at every
  /// start so clients resend unstable writes lost by a restart.
  Nfs3Program(storage::Backend& backend, const ExportRegistry& exports, Nfs3Limits limits,
              storage::Verifier writeverf);

  std::uint32_t number() const override { return nfs3::kProgram; }
  std::uint32_t low_version() const override { return nfs3::kVersion; }
  std::uint32_t high_version() const override { return nfs3::kVersion; }
  const char* name() const override { return "nfs3"; }
  const char* procedure_name(std::uint32_t proc) const override;
  std::uint32_t procedure_count() const override { return nfs3::kProcCount; }

  DecodeResult decode(const CallContext& ctx, xdr::XdrDecoder& in, ArgSlot& args) override;
  std::size_t max_reply_size(const CallContext& ctx, ArgSlot& args) override;
  bool validate(CallContext& ctx, ArgSlot& args, xdr::XdrEncoder& out) override;
  storage::Status execute(CallContext& ctx, ArgSlot& args, xdr::XdrEncoder& out) override;
  /// NULL, GETATTR, LOOKUP, ACCESS, and READ, READDIR and READDIRPLUS of
  /// at most kInlineReadMax bytes may run inline.
  bool may_run_inline(const CallContext& ctx, const ArgSlot& args) const override;
  /// The procedures above through the Backend's try_* calls.
  std::optional<storage::Status> try_execute_inline(CallContext& ctx, ArgSlot& args,
                                                    xdr::XdrEncoder& out) override;

  /// Largest READ, READDIR or READDIRPLUS reply (bytes) tried inline: a bigger copy would hold the network
  /// thread (and the other connections it serves) too long.
  static constexpr std::uint32_t kInlineReadMax = 64u << 10;

  /// Reply-body bytes for every procedure without a variable-size result.
  static constexpr std::size_t kFixedReplySize = 1024;
  /// Slack added to variable-size replies (headers, attributes), bytes.
  static constexpr std::size_t kReplySlack = 512;

 private:
  /// Encodes `proc`'s failure result with `status` and empty wcc/attrs.
  static void encode_failure(nfs3::Proc proc, nfs3::Nfsstat3 status, xdr::XdrEncoder& out);
  /// execute() of SETATTR, READLINK, WRITE and COMMIT (RFC 1813 §3.3.2, .5, .7, .21).
  storage::Status execute_data(CallContext& ctx, ArgSlot& args, xdr::XdrEncoder& out);
  /// execute() of CREATE, MKDIR, SYMLINK, MKNOD (RFC 1813 §3.3.8-11): the new object's
/// handle, attributes and the directory's wcc_data.
  storage::Status execute_create(CallContext& ctx, ArgSlot& args, xdr::XdrEncoder& out);
  /// execute() of REMOVE, RMDIR, RENAME, LINK (RFC 1813 §3.3.12-15).
  storage::Status execute_names(CallContext& ctx, ArgSlot& args, xdr::XdrEncoder& out);
  /// execute() of FSSTAT, FSINFO, PATHCONF (RFC 1813 §3.3.18-20).
  storage::Status execute_fsinfo(CallContext& ctx, ArgSlot& args, xdr::XdrEncoder& out);
  /// The access check of one handle (server/exports/access.h) as an
  /// nfsstat3: BADHANDLE, STALE, or ACCES (client not listed, insecure
  /// port, AUTH_NONE on sec=sys).  Fills *grant; NFS3_OK or the error.
  nfs3::Nfsstat3 check_handle(const storage::FileHandle& fh, const ExportTable& table,
                              const CallContext& ctx, AccessGrant* grant);
  /// The procedures that read without changing anything (those
  /// may_run_inline() accepts), through the Backend's try_* calls when
  /// `nowait`: then kWouldBlock leaves `out` as it was.
  storage::Status execute_read_only(CallContext& ctx, ArgSlot& args, xdr::XdrEncoder& out,
                                    bool nowait);
  /// READDIR / READDIRPLUS (RFC 1813 §3.3.16-17) into `out`; with `nowait`
  /// through Backend::try_readdir, kWouldBlock leaving `out` as it was.
  storage::Status readdir(CallContext& ctx, const storage::FileHandle& dir,
                          std::uint64_t cookie, const storage::Verifier& cookieverf,
                          bool plus, std::uint32_t dircount, std::uint32_t maxcount,
                          xdr::XdrEncoder& out, bool nowait);

  storage::Backend& backend_;
  const ExportRegistry& exports_;
  Nfs3Limits limits_;
  storage::Verifier writeverf_;
};

}  // namespace nasd::server
