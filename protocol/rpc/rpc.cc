#include "protocol/rpc/rpc.h"

#include <algorithm>

namespace nasd::rpc {
namespace {

constexpr std::size_t kMaxAuthBytes = 400;     // RFC 5531 §8.2: opaque_auth body <= 400
constexpr std::size_t kMaxMachineName = 255;  // RFC 5531 appendix A

// Decodes an AUTH_SYS credential body (authsys_parms).
bool decode_auth_sys(std::span<const std::uint8_t> body, AuthSys& out) {
  xdr::XdrDecoder in(body);
  out.stamp = in.u32();
  in.string(kMaxMachineName);
  out.uid = in.u32();
  out.gid = in.u32();
  std::uint32_t n = in.u32();
  if (!in.ok() || n > AuthSys::kMaxGroups) return false;
  out.ngroups = static_cast<std::uint8_t>(n);
  for (std::uint32_t i = 0; i < n; ++i) out.groups[i] = in.u32();
  return in.ok();
}

void encode_reply_start(xdr::XdrEncoder& out, std::uint32_t xid, ReplyStat stat) {
  out.u32(xid);
  out.u32(static_cast<std::uint32_t>(MsgType::kReply));
  out.u32(static_cast<std::uint32_t>(stat));
}

}  // namespace

HeaderResult decode_call(xdr::XdrDecoder& in, CallHeader& out) {
  out.xid = in.u32();
  std::uint32_t type = in.u32();
  if (!in.ok()) return HeaderResult::kGarbage;
  if (type != static_cast<std::uint32_t>(MsgType::kCall)) return HeaderResult::kNotCall;
  out.rpcvers = in.u32();
  if (!in.ok()) return HeaderResult::kGarbage;
  if (out.rpcvers != kRpcVersion) return HeaderResult::kRpcMismatch;
  out.prog = in.u32();
  out.vers = in.u32();
  out.proc = in.u32();
  std::uint32_t flavor = in.u32();
  auto cred = in.opaque(kMaxAuthBytes);
  in.u32();                  // verifier flavor (AUTH_NONE expected; not checked)
  in.opaque(kMaxAuthBytes);  // verifier body
  if (!in.ok()) return HeaderResult::kGarbage;
  switch (flavor) {
    case static_cast<std::uint32_t>(AuthFlavor::kNone):
      out.flavor = AuthFlavor::kNone;
      return HeaderResult::kOk;
    case static_cast<std::uint32_t>(AuthFlavor::kSys):
      out.flavor = AuthFlavor::kSys;
      return decode_auth_sys(cred, out.sys) ? HeaderResult::kOk : HeaderResult::kBadCred;
    default:
      return HeaderResult::kTooWeak;
  }
}

void encode_accepted(xdr::XdrEncoder& out, std::uint32_t xid, AcceptStat stat, std::uint32_t low,
                     std::uint32_t high) {
  encode_reply_start(out, xid, ReplyStat::kAccepted);
  out.u32(static_cast<std::uint32_t>(AuthFlavor::kNone));  // verifier
  out.u32(0);
  out.u32(static_cast<std::uint32_t>(stat));
  if (stat == AcceptStat::kProgMismatch) {
    out.u32(low);
    out.u32(high);
  }
}

void encode_rpc_mismatch(xdr::XdrEncoder& out, std::uint32_t xid) {
  encode_reply_start(out, xid, ReplyStat::kDenied);
  out.u32(static_cast<std::uint32_t>(RejectStat::kRpcMismatch));
  out.u32(kRpcVersion);
  out.u32(kRpcVersion);
}

void encode_auth_error(xdr::XdrEncoder& out, std::uint32_t xid, AuthStat why) {
  encode_reply_start(out, xid, ReplyStat::kDenied);
  out.u32(static_cast<std::uint32_t>(RejectStat::kAuthError));
  out.u32(static_cast<std::uint32_t>(why));
}

void encode_call(xdr::XdrEncoder& out, std::uint32_t xid, std::uint32_t prog, std::uint32_t vers,
                 std::uint32_t proc, const CallCredential& cred) {
  out.u32(xid);
  out.u32(static_cast<std::uint32_t>(MsgType::kCall));
  out.u32(kRpcVersion);
  out.u32(prog);
  out.u32(vers);
  out.u32(proc);
  if (cred.flavor == AuthFlavor::kSys) {
    const std::string_view name = cred.machinename.substr(0, 255);
    const std::size_t groups = std::min<std::size_t>(cred.gids.size(), AuthSys::kMaxGroups);
    out.u32(static_cast<std::uint32_t>(AuthFlavor::kSys));
    out.u32(static_cast<std::uint32_t>(4 + 4 + xdr::padded(name.size()) + 4 + 4 + 4 + 4 * groups));
    out.u32(cred.stamp);
    out.string(name);
    out.u32(cred.uid);
    out.u32(cred.gid);
    out.u32(static_cast<std::uint32_t>(groups));
    for (std::size_t i = 0; i < groups; ++i) out.u32(cred.gids[i]);
  } else {
    out.u32(static_cast<std::uint32_t>(AuthFlavor::kNone));
    out.u32(0);
  }
  out.u32(static_cast<std::uint32_t>(AuthFlavor::kNone));  // verifier
  out.u32(0);
}

ReplyResult decode_reply(xdr::XdrDecoder& in, ReplyHeader& out) {
  out = ReplyHeader{};
  out.xid = in.u32();
  const std::uint32_t type = in.u32();
  if (!in.ok()) return ReplyResult::kGarbage;
  if (type == static_cast<std::uint32_t>(MsgType::kCall)) return ReplyResult::kNotReply;
  if (type != static_cast<std::uint32_t>(MsgType::kReply)) return ReplyResult::kGarbage;
  const std::uint32_t stat = in.u32();
  if (stat == static_cast<std::uint32_t>(ReplyStat::kAccepted)) {
    in.u32();         // verifier flavor
    in.opaque(400);   // verifier body
    const std::uint32_t accept = in.u32();
    if (!in.ok() || accept > static_cast<std::uint32_t>(AcceptStat::kSystemErr)) {
      return ReplyResult::kGarbage;
    }
    out.accepted = true;
    out.stat = static_cast<AcceptStat>(accept);
    return ReplyResult::kOk;
  }
  if (stat != static_cast<std::uint32_t>(ReplyStat::kDenied) || !in.ok()) return ReplyResult::kGarbage;
  return ReplyResult::kOk;  // MSG_DENIED: the details do not matter to the caller
}

}  // namespace nasd::rpc
