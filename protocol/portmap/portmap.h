// Port mapper (RFC 1833): PMAP version 2 and RPCBIND versions 3 and 4 XDR
// codecs — the mapping / rpcb structures, the DUMP lists, and universal
// addresses ("h1.h2.h3.h4.p1.p2", RFC 1833 §2.1 and RFC 5665 §5.2.3).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/ip/address.hpp>

#include "protocol/rpc/xdr.h"

namespace nasd::portmap {

constexpr std::uint32_t kProgram = 100000;
constexpr std::uint32_t kPmapVersion = 2;     // RFC 1833 §3
constexpr std::uint32_t kRpcbVersion3 = 3;    // RFC 1833 §2
constexpr std::uint32_t kRpcbVersion4 = 4;
constexpr std::uint32_t kIpprotoTcp = 6;      // mapping.prot values
constexpr std::uint32_t kIpprotoUdp = 17;

/// PMAP v2 procedures (RFC 1833 §3.2).
enum class PmapProc : std::uint32_t {
  kNull = 0, kSet = 1, kUnset = 2, kGetport = 3, kDump = 4, kCallit = 5,
};
/// RPCBIND v3/v4 procedures (RFC 1833 §2.2); 9.. are v4 only.
enum class RpcbProc : std::uint32_t {
  kNull = 0, kSet = 1, kUnset = 2, kGetaddr = 3, kDump = 4, kCallit = 5, kGettime = 6,
  kUaddr2taddr = 7, kTaddr2uaddr = 8, kGetversaddr = 9, kIndirect = 10, kGetaddrlist = 11,
  kGetstat = 12,
};
constexpr std::uint32_t kProcCount = 13;  // highest (v4) procedure + 1

constexpr std::size_t kMaxStringLen = 1024;  // bound on netid/addr/owner strings (bytes)

/// PMAP v2 `mapping` (RFC 1833 §3.1).
struct Mapping {
  std::uint32_t prog = 0;
  std::uint32_t vers = 0;
  std::uint32_t prot = 0;  // kIpprotoTcp / kIpprotoUdp
  std::uint32_t port = 0;
  friend bool operator==(const Mapping&, const Mapping&) = default;
};
bool decode(xdr::XdrDecoder& in, Mapping& out);
void encode(xdr::XdrEncoder& out, const Mapping& m);

/// RPCBIND `rpcb` (RFC 1833 §2.1).  Strings are owned (decode copies, at
/// most kMaxStringLen bytes each).
struct Rpcb {
  std::uint32_t prog = 0;
  std::uint32_t vers = 0;
  std::string netid;  // "tcp", "udp", "tcp6", "udp6"
  std::string addr;   // universal address
  std::string owner;
  friend bool operator==(const Rpcb&, const Rpcb&) = default;
};
bool decode(xdr::XdrDecoder& in, Rpcb& out);
void encode(xdr::XdrEncoder& out, const Rpcb& r);

/// pmaplist (PMAPPROC_DUMP result): optional-data linked list.
void encode_pmaplist(xdr::XdrEncoder& out, std::span<const Mapping> list);
std::size_t pmaplist_size(std::span<const Mapping> list);
bool decode_pmaplist(xdr::XdrDecoder& in, std::vector<Mapping>& out);

/// rpcblist_ptr (RPCBPROC_DUMP result).
void encode_rpcblist(xdr::XdrEncoder& out, std::span<const Rpcb> list);
std::size_t rpcblist_size(std::span<const Rpcb> list);
bool decode_rpcblist(xdr::XdrDecoder& in, std::vector<Rpcb>& out);

/// Universal address of `addr:port`: "a.b.c.d.p1.p2" (IPv4) or
/// "x:x::x.p1.p2" (IPv6).
std::string universal_address(const boost::asio::ip::address& addr, std::uint16_t port);
/// The port of a universal address; nullopt when malformed.
std::optional<std::uint16_t> universal_address_port(std::string_view uaddr);

}  // namespace nasd::portmap
