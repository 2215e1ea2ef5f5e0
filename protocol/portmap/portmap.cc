// Port mapper XDR codecs (RFC 1833).  See portmap.h.
#include "protocol/portmap/portmap.h"

#include <charconv>

namespace nasd::portmap {

using xdr::XdrDecoder;
using xdr::XdrEncoder;

namespace {
constexpr std::size_t kMaxListItems = 65536;  // bound on decoded list lengths
}  // namespace

bool decode(XdrDecoder& in, Mapping& out) {
  out.prog = in.u32();
  out.vers = in.u32();
  out.prot = in.u32();
  out.port = in.u32();
  return in.ok();
}

void encode(XdrEncoder& out, const Mapping& m) {
  out.u32(m.prog);
  out.u32(m.vers);
  out.u32(m.prot);
  out.u32(m.port);
}

bool decode(XdrDecoder& in, Rpcb& out) {
  out.prog = in.u32();
  out.vers = in.u32();
  out.netid = std::string(in.string(kMaxStringLen));
  out.addr = std::string(in.string(kMaxStringLen));
  out.owner = std::string(in.string(kMaxStringLen));
  return in.ok();
}

void encode(XdrEncoder& out, const Rpcb& r) {
  out.u32(r.prog);
  out.u32(r.vers);
  out.string(r.netid);
  out.string(r.addr);
  out.string(r.owner);
}

void encode_pmaplist(XdrEncoder& out, std::span<const Mapping> list) {
  for (const Mapping& m : list) {
    out.boolean(true);
    encode(out, m);
  }
  out.boolean(false);
}

std::size_t pmaplist_size(std::span<const Mapping> list) { return 4 + list.size() * 20; }

bool decode_pmaplist(XdrDecoder& in, std::vector<Mapping>& out) {
  out.clear();
  while (in.boolean()) {
    if (out.size() >= kMaxListItems) return false;
    Mapping m;
    if (!decode(in, m)) return false;
    out.push_back(m);
  }
  return in.ok();
}

void encode_rpcblist(XdrEncoder& out, std::span<const Rpcb> list) {
  for (const Rpcb& r : list) {
    out.boolean(true);
    encode(out, r);
  }
  out.boolean(false);
}

std::size_t rpcblist_size(std::span<const Rpcb> list) {
  std::size_t n = 4;
  for (const Rpcb& r : list) {
    n += 4 + 8 + 4 + xdr::padded(r.netid.size()) + 4 + xdr::padded(r.addr.size()) + 4 +
         xdr::padded(r.owner.size());
  }
  return n;
}

bool decode_rpcblist(XdrDecoder& in, std::vector<Rpcb>& out) {
  out.clear();
  while (in.boolean()) {
    if (out.size() >= kMaxListItems) return false;
    Rpcb r;
    if (!decode(in, r)) return false;
    out.push_back(std::move(r));
  }
  return in.ok();
}

std::string universal_address(const boost::asio::ip::address& addr, std::uint16_t port) {
  return addr.to_string() + "." + std::to_string(port >> 8) + "." + std::to_string(port & 0xff);
}

std::optional<std::uint16_t> universal_address_port(std::string_view uaddr) {
  const auto last = uaddr.rfind('.');
  if (last == std::string_view::npos || last == 0) return std::nullopt;
  const auto prev = uaddr.rfind('.', last - 1);
  if (prev == std::string_view::npos) return std::nullopt;
  auto num = [](std::string_view s) -> std::optional<unsigned> {
    unsigned v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (s.empty() || ec != std::errc() || p != s.data() + s.size() || v > 255) return std::nullopt;
    return v;
  };
  auto hi = num(uaddr.substr(prev + 1, last - prev - 1));
  auto lo = num(uaddr.substr(last + 1));
  if (!hi || !lo) return std::nullopt;
  return static_cast<std::uint16_t>((*hi << 8) | *lo);
}

}  // namespace nasd::portmap
