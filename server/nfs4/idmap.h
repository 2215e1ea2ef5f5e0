// Nfs4IdMap: NFSv4 owner / owner_group strings to uids / gids (RFC 7530
// §5.9, RFC 8881 §5.9).
//
// Inbound (SETATTR, CREATE, OPEN's createattrs) a string is
//   - a decimal id, "1000": taken as is (what the Linux client sends for
//     AUTH_SYS by default, nfs4_disable_idmapping);
//   - "name@domain" with the server's id mapping domain (compared without
//     regard to case, as DNS names are): the name looked up in the server's
//     passwd (owner) or group (owner_group) database;
//   - a bare "name" (no '@'): looked up the same way (lenient: some clients
//     leave the domain off when they and the server agree on it);
// anything else (another domain, an unknown name, "" or "12abc") is
// NFS4ERR_BADOWNER.
//
// Outbound (GETATTR, READDIR) owners are always sent as decimal ids
// (protocol/nfs4/nfs4.h encode_id): RFC 7530 §5.9 allows it for AUTH_SYS, and
// nasd speaks no RPCSEC_GSS.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "protocol/nfs4/nfs4.h"

namespace nasd::server {

class Nfs4IdMap {
 public:
  /// `domain`: the id mapping domain of "name@domain" strings; empty means
  /// host_domain().
  explicit Nfs4IdMap(std::string domain = {});

  /// The domain in use.
  const std::string& domain() const { return domain_; }

  /// The id of owner string `owner` (a group name when `group`), or nullopt
  /// when it does not map (see the file comment).
  std::optional<std::uint32_t> to_id(std::string_view owner, bool group) const;

  /// Maps the owner / owner_group names protocol::decode_settable() left in
  /// `a` (SetAttrs::owner_name / group_name) to a.set.uid / gid.  kOk, or
  /// kBadOwner when one does not map.
  nfs4::Nfsstat4 resolve(nfs4::SetAttrs& a) const;

  /// The host's DNS domain (what follows the first '.' of its fully
  /// qualified name), "localdomain" when it has none (as libnfsidmap).
  static std::string host_domain();

 private:
  std::string domain_;
};

}  // namespace nasd::server
