// NFSv4 owner string mapping.  See idmap.h.
#include "server/nfs4/idmap.h"

#include <grp.h>
#include <netdb.h>
#include <pwd.h>
#include <unistd.h>

#include <charconv>
#include <cstring>
#include <strings.h>
#include <vector>

namespace nasd::server {

using nfs4::Nfsstat4;

Nfs4IdMap::Nfs4IdMap(std::string domain)
    : domain_(domain.empty() ? host_domain() : std::move(domain)) {}

std::string Nfs4IdMap::host_domain() {
  char host[256] = {};
  if (::gethostname(host, sizeof(host) - 1) != 0) return "localdomain";
  std::string fqdn = host;
  if (fqdn.find('.') == std::string::npos) {
    addrinfo hints{};
    hints.ai_flags = AI_CANONNAME;
    addrinfo* res = nullptr;
    if (::getaddrinfo(host, nullptr, &hints, &res) == 0 && res) {
      if (res->ai_canonname) fqdn = res->ai_canonname;
      ::freeaddrinfo(res);
    }
  }
  const auto dot = fqdn.find('.');
  if (dot == std::string::npos || dot + 1 == fqdn.size()) return "localdomain";
  return fqdn.substr(dot + 1);
}

std::optional<std::uint32_t> Nfs4IdMap::to_id(std::string_view owner, bool group) const {
  if (owner.empty()) return std::nullopt;
  std::uint32_t id = 0;
  auto r = std::from_chars(owner.data(), owner.data() + owner.size(), id);
  if (r.ec == std::errc() && r.ptr == owner.data() + owner.size()) return id;
  std::string_view name = owner;
  if (const auto at = owner.find('@'); at != std::string_view::npos) {
    const std::string_view dom = owner.substr(at + 1);
    if (dom.size() != domain_.size() ||
        ::strncasecmp(dom.data(), domain_.data(), domain_.size()) != 0) {
      return std::nullopt;  // another domain: we cannot vouch for its names
    }
    name = owner.substr(0, at);
  }
  if (name.empty()) return std::nullopt;
  const std::string n(name);
  std::vector<char> buf(16384);
  if (group) {
    struct group g {}, *res = nullptr;
    if (::getgrnam_r(n.c_str(), &g, buf.data(), buf.size(), &res) == 0 && res) return res->gr_gid;
  } else {
    struct passwd p {}, *res = nullptr;
    if (::getpwnam_r(n.c_str(), &p, buf.data(), buf.size(), &res) == 0 && res) return res->pw_uid;
  }
  return std::nullopt;
}

Nfsstat4 Nfs4IdMap::resolve(nfs4::SetAttrs& a) const {
  if (a.owner_name) {
    auto id = to_id(*a.owner_name, false);
    if (!id) return Nfsstat4::kBadOwner;
    a.set.uid = *id;
  }
  if (a.group_name) {
    auto id = to_id(*a.group_name, true);
    if (!id) return Nfsstat4::kBadOwner;
    a.set.gid = *id;
  }
  return Nfsstat4::kOk;
}

}  // namespace nasd::server
