// PortmapProgram: an embedded port mapper (RFC 1833, program 100000) — PMAP
// version 2 and RPCBIND versions 3 and 4 — listing nasd's own programs, for
// hosts without a system rpcbind (containers).  A server::Program, so the
// pipeline serves it on every listener (TCP 111 and the UDP listener).
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "protocol/portmap/portmap.h"
#include "server/pipeline/program.h"

namespace nasd::server {

/// The registration table and the PMAP/RPCBIND procedures over it.
///
/// PMAP v2: NULL, SET, UNSET, GETPORT, DUMP; CALLIT answers PROC_UNAVAIL.
/// RPCBIND v3/v4: NULL, SET, UNSET, GETADDR, DUMP, GETTIME, UADDR2TADDR and
/// TADDR2UADDR answer PROC_UNAVAIL, v4 GETVERSADDR; CALLIT/BCAST, INDIRECT,
/// GETADDRLIST and GETSTAT answer PROC_UNAVAIL.
/// SET and UNSET from a peer that is not a loopback address answer FALSE.
/// GETPORT/GETADDR fall back to another version of the same program and
/// transport when the asked version is not registered (like rpcbind), and
/// return 0 / "" when nothing matches.  Addresses in GETADDR/DUMP replies
/// are built from the local address the call arrived on.
class PortmapProgram final : public Program {
 public:
  /// Bound on the number of registrations (SET beyond it answers FALSE).
  static constexpr std::size_t kMaxRegistrations = 1024;

  /// One registration: program, version, transport ("tcp"/"udp"), port.
  struct Registration {
    std::uint32_t prog;
    std::uint32_t vers;
    std::string netid;  // "tcp", "udp", "tcp6", "udp6"
    std::uint16_t port;
    std::string owner;
  };

  /// Adds a registration at start-up (nasd's own programs).
  void add(std::uint32_t prog, std::uint32_t vers, std::string netid, std::uint16_t port);
  /// Snapshot of the table.
  std::vector<Registration> registrations() const;

  std::uint32_t number() const override { return portmap::kProgram; }
  std::uint32_t low_version() const override { return portmap::kPmapVersion; }
  std::uint32_t high_version() const override { return portmap::kRpcbVersion4; }
  const char* name() const override { return "portmap"; }
  const char* procedure_name(std::uint32_t proc) const override;
  std::uint32_t procedure_count() const override { return portmap::kProcCount; }

  DecodeResult decode(const CallContext& ctx, xdr::XdrDecoder& in, ArgSlot& args) override;
  std::size_t max_reply_size(const CallContext& ctx, ArgSlot& args) override;
  bool validate(CallContext&, ArgSlot&, xdr::XdrEncoder&) override { return true; }
  storage::Status execute(CallContext& ctx, ArgSlot& args, xdr::XdrEncoder& out) override;

 private:
  /// Port for (prog, vers, netid): exact version first, else any version.
  std::uint16_t lookup(std::uint32_t prog, std::uint32_t vers, std::string_view netid,
                       bool exact_version) const;
  bool set(std::uint32_t prog, std::uint32_t vers, std::string netid, std::uint16_t port,
           std::string owner);
  bool unset(std::uint32_t prog, std::uint32_t vers, std::string_view netid);

  mutable std::mutex mu_;
  std::vector<Registration> table_;  // guarded by mu_
};

}  // namespace nasd::server
