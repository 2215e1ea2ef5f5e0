// Embedded port mapper.  See portmap_program.h.
#include "server/portmap/portmap_program.h"

#include <ctime>

#include <spdlog/spdlog.h>

namespace nasd::server {

using portmap::Mapping;
using portmap::PmapProc;
using portmap::Rpcb;
using portmap::RpcbProc;
using storage::Status;

namespace {

constexpr const char* kRpcbNames[portmap::kProcCount] = {
    "NULL", "SET", "UNSET", "GETADDR", "DUMP", "CALLIT", "GETTIME", "UADDR2TADDR",
    "TADDR2UADDR", "GETVERSADDR", "INDIRECT", "GETADDRLIST", "GETSTAT"};

std::string_view netid_for_prot(std::uint32_t prot) {
  switch (prot) {
    case portmap::kIpprotoTcp: return "tcp";
    case portmap::kIpprotoUdp: return "udp";
    default: return {};
  }
}

std::uint32_t prot_for_netid(std::string_view netid) {
  if (netid == "tcp" || netid == "tcp6") return portmap::kIpprotoTcp;
  if (netid == "udp" || netid == "udp6") return portmap::kIpprotoUdp;
  return 0;
}

/// Same transport, IPv4 and IPv6 netids treated alike (nasd listens on both
/// through one socket when bound to ::).
bool same_transport(std::string_view a, std::string_view b) {
  return prot_for_netid(a) != 0 && prot_for_netid(a) == prot_for_netid(b);
}

bool is_loopback(const boost::asio::ip::address& a) {
  if (a.is_v4()) return a.to_v4().is_loopback();
  if (a.is_v6()) {
    const auto v6 = a.to_v6();
    return v6.is_loopback() || (v6.is_v4_mapped() &&
                                boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, v6)
                                    .is_loopback());
  }
  return false;
}

/// The address to put in universal addresses: the local one of the call,
/// unmapped from IPv4-mapped IPv6.
boost::asio::ip::address reply_address(const CallContext& ctx) {
  auto a = ctx.local;
  if (a.is_v6() && a.to_v6().is_v4_mapped()) {
    return boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, a.to_v6());
  }
  if (a.is_unspecified()) return boost::asio::ip::address_v4::loopback();
  return a;
}

constexpr std::size_t kFixedReply = 64 + portmap::kMaxStringLen;
constexpr std::size_t kListSlack = 16 * (20 + 3 * (4 + portmap::kMaxStringLen));

}  // namespace

void PortmapProgram::add(std::uint32_t prog, std::uint32_t vers, std::string netid,
                         std::uint16_t port) {
  std::lock_guard lock(mu_);
  table_.push_back({prog, vers, std::move(netid), port, "nasd"});
}

std::vector<PortmapProgram::Registration> PortmapProgram::registrations() const {
  std::lock_guard lock(mu_);
  return table_;
}

const char* PortmapProgram::procedure_name(std::uint32_t proc) const {
  return proc < portmap::kProcCount ? kRpcbNames[proc] : nullptr;
}

DecodeResult PortmapProgram::decode(const CallContext& ctx, xdr::XdrDecoder& in, ArgSlot& args) {
  const std::uint32_t proc = ctx.header.proc;
  if (ctx.header.vers == portmap::kPmapVersion) {
    switch (static_cast<PmapProc>(proc)) {
      case PmapProc::kNull:
      case PmapProc::kDump:
        args.reset();
        return DecodeResult::kOk;
      case PmapProc::kSet:
      case PmapProc::kUnset:
      case PmapProc::kGetport: {
        auto& m = args.emplace<Mapping>();
        if (portmap::decode(in, m)) return DecodeResult::kOk;
        args.reset();
        return DecodeResult::kGarbageArgs;
      }
      default:
        return DecodeResult::kProcUnavail;
    }
  }
  switch (static_cast<RpcbProc>(proc)) {
    case RpcbProc::kNull:
    case RpcbProc::kDump:
    case RpcbProc::kGettime:
      args.reset();
      return DecodeResult::kOk;
    case RpcbProc::kGetversaddr:
      if (ctx.header.vers != portmap::kRpcbVersion4) return DecodeResult::kProcUnavail;
      [[fallthrough]];
    case RpcbProc::kSet:
    case RpcbProc::kUnset:
    case RpcbProc::kGetaddr: {
      auto& r = args.emplace<Rpcb>();
      if (portmap::decode(in, r)) return DecodeResult::kOk;
      args.reset();
      return DecodeResult::kGarbageArgs;
    }
    default:
      return DecodeResult::kProcUnavail;
  }
}

std::size_t PortmapProgram::max_reply_size(const CallContext& ctx, ArgSlot&) {
  if (ctx.header.proc != static_cast<std::uint32_t>(PmapProc::kDump)) return kFixedReply;
  std::lock_guard lock(mu_);
  // Worst case per entry: an rpcb with an IPv6 universal address.
  return 4 + table_.size() * (4 + 8 + 3 * (4 + 64)) + kListSlack;
}

std::uint16_t PortmapProgram::lookup(std::uint32_t prog, std::uint32_t vers,
                                     std::string_view netid, bool exact_version) const {
  std::lock_guard lock(mu_);
  const Registration* other = nullptr;
  for (const Registration& r : table_) {
    if (r.prog != prog || !same_transport(r.netid, netid)) continue;
    if (r.vers == vers) return r.port;
    if (!other) other = &r;
  }
  return (other && !exact_version) ? other->port : 0;
}

bool PortmapProgram::set(std::uint32_t prog, std::uint32_t vers, std::string netid,
                         std::uint16_t port, std::string owner) {
  if (prot_for_netid(netid) == 0) return false;
  std::lock_guard lock(mu_);
  for (const Registration& r : table_) {
    if (r.prog == prog && r.vers == vers && r.netid == netid) return false;  // RFC 1833: no overwrite
  }
  if (table_.size() >= kMaxRegistrations) return false;
  table_.push_back({prog, vers, std::move(netid), port, std::move(owner)});
  return true;
}

bool PortmapProgram::unset(std::uint32_t prog, std::uint32_t vers, std::string_view netid) {
  std::lock_guard lock(mu_);
  const auto n = std::erase_if(table_, [&](const Registration& r) {
    return r.prog == prog && r.vers == vers && (netid.empty() || r.netid == netid);
  });
  return n > 0;
}

Status PortmapProgram::execute(CallContext& ctx, ArgSlot& args, xdr::XdrEncoder& out) {
  const std::uint32_t proc = ctx.header.proc;
  spdlog::debug("portmap v{} proc {} from {} over {}", ctx.header.vers, proc, ctx.peer.to_string(),
                ctx.datagram ? "udp" : "tcp");
  const bool local_peer = is_loopback(ctx.peer);
  if (ctx.header.vers == portmap::kPmapVersion) {
    switch (static_cast<PmapProc>(proc)) {
      case PmapProc::kNull:
        return Status::kOk;
      case PmapProc::kSet: {
        const auto& m = args.get<Mapping>();
        const auto netid = netid_for_prot(m.prot);
        out.boolean(local_peer && !netid.empty() && m.port <= 0xffff &&
                    set(m.prog, m.vers, std::string(netid), static_cast<std::uint16_t>(m.port),
                        "unknown"));
        return Status::kOk;
      }
      case PmapProc::kUnset: {
        const auto& m = args.get<Mapping>();
        out.boolean(local_peer && unset(m.prog, m.vers, {}));
        return Status::kOk;
      }
      case PmapProc::kGetport: {
        const auto& m = args.get<Mapping>();
        const auto netid = netid_for_prot(m.prot);
        out.u32(netid.empty() ? 0 : lookup(m.prog, m.vers, netid, false));
        return Status::kOk;
      }
      case PmapProc::kDump: {
        std::vector<Mapping> list;
        for (const Registration& r : registrations()) {
          list.push_back({r.prog, r.vers, prot_for_netid(r.netid), r.port});
        }
        portmap::encode_pmaplist(out, list);
        return Status::kOk;
      }
      default:
        return Status::kServerFault;
    }
  }
  switch (static_cast<RpcbProc>(proc)) {
    case RpcbProc::kNull:
      return Status::kOk;
    case RpcbProc::kSet: {
      auto& r = args.get<Rpcb>();
      const auto port = portmap::universal_address_port(r.addr);
      out.boolean(local_peer && port && set(r.prog, r.vers, r.netid, *port, r.owner));
      return Status::kOk;
    }
    case RpcbProc::kUnset: {
      const auto& r = args.get<Rpcb>();
      out.boolean(local_peer && unset(r.prog, r.vers, r.netid));
      return Status::kOk;
    }
    case RpcbProc::kGetaddr:
    case RpcbProc::kGetversaddr: {
      const auto& r = args.get<Rpcb>();
      const bool exact = proc == static_cast<std::uint32_t>(RpcbProc::kGetversaddr);
      const std::uint16_t port = lookup(r.prog, r.vers, r.netid, exact);
      out.string(port == 0 ? std::string() : portmap::universal_address(reply_address(ctx), port));
      return Status::kOk;
    }
    case RpcbProc::kDump: {
      std::vector<Rpcb> list;
      const auto addr = reply_address(ctx);
      for (const Registration& r : registrations()) {
        list.push_back({r.prog, r.vers, r.netid, portmap::universal_address(addr, r.port), r.owner});
      }
      portmap::encode_rpcblist(out, list);
      return Status::kOk;
    }
    case RpcbProc::kGettime:
      out.u32(static_cast<std::uint32_t>(std::time(nullptr)));
      return Status::kOk;
    default:
      return Status::kServerFault;
  }
}

}  // namespace nasd::server
