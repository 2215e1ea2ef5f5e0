// NFSv4.0-only operation arguments.  See nfs4_v40.h.
#include "protocol/nfs4/nfs4_v40.h"

#include <cstring>

namespace nasd::nfs4 {

namespace {

bool decode_verifier(xdr::XdrDecoder& in, Verifier4& v) {
  auto b = in.fixed_opaque(v.size());
  if (!in.ok()) return false;
  std::memcpy(v.data(), b.data(), v.size());
  return true;
}

/// Longest r_netid / r_addr accepted (netids are "tcp", "tcp6", ...; universal
/// addresses are at most ~50 characters).
constexpr std::size_t kCbStringMax = 128;

}  // namespace

bool decode(xdr::XdrDecoder& in, SetclientidArgs& a) {
  if (!decode_verifier(in, a.verifier)) return false;
  a.id = in.opaque(kOpaqueMax);
  a.cb_program = in.u32();
  a.cb_netid = in.string(kCbStringMax);
  a.cb_addr = in.string(kCbStringMax);
  a.callback_ident = in.u32();
  return in.ok();
}

bool decode(xdr::XdrDecoder& in, SetclientidConfirmArgs& a) {
  a.clientid = in.u64();
  return in.ok() && decode_verifier(in, a.confirm);
}

bool decode(xdr::XdrDecoder& in, OpenConfirmArgs& a) {
  if (!decode_stateid(in, a.stateid)) return false;
  a.seqid = in.u32();
  return in.ok();
}

}  // namespace nasd::nfs4
