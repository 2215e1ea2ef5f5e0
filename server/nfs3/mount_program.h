// MountProgram: the MOUNT version 3 RPC program (100005, RFC 1813
// appendix I) as hooks for the pipeline stages (server/program.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <vector>

#include "protocol/nfs3/mount3.h"
#include "server/exports/export_registry.h"
#include "server/pipeline/program.h"
#include "storage/backend.h"

namespace nasd::server {

/// MOUNT v3 (version 3 only; procedures NULL, MNT, DUMP, UMNT, UMNTALL,
/// EXPORT).
///
/// MNT looks the dirpath up in the current export table (a trailing '/' is
/// ignored): unknown -> MNT3ERR_NOENT; peer not allowed (or a `secure`
/// export and a source port >= 1024) -> MNT3ERR_ACCES; otherwise the export
/// root handle and auth_flavors [AUTH_SYS].  Successful mounts are kept in a
/// bounded list (at most kMaxMounts entries, oldest dropped) for DUMP; UMNT
/// removes the peer's entry for a path, UMNTALL all of the peer's entries.
class MountProgram final : public Program {
 public:
  static constexpr std::size_t kMaxMounts = 4096;

  MountProgram(storage::Backend& backend, const ExportRegistry& exports);

  std::uint32_t number() const override { return mount3::kProgram; }
  std::uint32_t low_version() const override { return mount3::kVersion; }
  std::uint32_t high_version() const override { return mount3::kVersion; }
  const char* name() const override { return "mount3"; }
  const char* procedure_name(std::uint32_t proc) const override;
  std::uint32_t procedure_count() const override { return mount3::kProcCount; }

  DecodeResult decode(const CallContext& ctx, xdr::XdrDecoder& in, ArgSlot& args) override;
  std::size_t max_reply_size(const CallContext& ctx, ArgSlot& args) override;
  bool validate(CallContext& ctx, ArgSlot& args, xdr::XdrEncoder& out) override;
  storage::Status execute(CallContext& ctx, ArgSlot& args, xdr::XdrEncoder& out) override;

  /// Snapshot of the mount list (what DUMP returns).
  std::vector<mount3::MountEntry> mounts() const;

 private:
  /// EXPORT's list built from the current table.
  std::vector<mount3::ExportNode> export_nodes() const;

  storage::Backend& backend_;
  const ExportRegistry& exports_;
  mutable std::mutex mu_;
  std::vector<mount3::MountEntry> mounts_;  // guarded by mu_
};

}  // namespace nasd::server
