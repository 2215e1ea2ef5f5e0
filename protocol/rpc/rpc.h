// ONC RPC v2 message layer (RFC 5531): call header decoding, AUTH_SYS
// credentials, and accepted/denied reply headers.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string_view>

#include "protocol/rpc/xdr.h"

namespace nasd::rpc {

constexpr std::uint32_t kRpcVersion = 2;

/// msg_type (RFC 5531 §9).
enum class MsgType : std::uint32_t { kCall = 0, kReply = 1 };
/// reply_stat.
enum class ReplyStat : std::uint32_t { kAccepted = 0, kDenied = 1 };
/// accept_stat.
enum class AcceptStat : std::uint32_t {
  kSuccess = 0, kProgUnavail = 1, kProgMismatch = 2, kProcUnavail = 3, kGarbageArgs = 4,
  kSystemErr = 5,
};
/// reject_stat.
enum class RejectStat : std::uint32_t { kRpcMismatch = 0, kAuthError = 1 };
/// auth_stat.
enum class AuthStat : std::uint32_t {
  kOk = 0, kBadCred = 1, kRejectedCred = 2, kBadVerf = 3, kRejectedVerf = 4, kTooWeak = 5,
};
/// auth_flavor.
enum class AuthFlavor : std::uint32_t { kNone = 0, kSys = 1 };

/// AUTH_SYS credential body (RFC 5531 appendix A).  At most 16 groups;
/// machinename (<= 255 bytes) is not kept.
struct AuthSys {
  static constexpr std::size_t kMaxGroups = 16;
  std::uint32_t stamp = 0;
  std::uint32_t uid = 65534;
  std::uint32_t gid = 65534;
  std::uint8_t ngroups = 0;
  std::array<std::uint32_t, kMaxGroups> groups{};
  std::span<const std::uint32_t> group_span() const { return {groups.data(), ngroups}; }
};

/// The decoded call header of one request.
struct CallHeader {
  std::uint32_t xid = 0;
  std::uint32_t rpcvers = 0;
  std::uint32_t prog = 0;
  std::uint32_t vers = 0;
  std::uint32_t proc = 0;
  AuthFlavor flavor = AuthFlavor::kNone;
  AuthSys sys;  // valid when flavor == kSys
};

/// What decoding a call header found.
enum class HeaderResult : std::uint8_t {
  kOk,            // header decoded, decoder positioned at the procedure args
  kNotCall,       // not a CALL message: drop it
  kGarbage,       // truncated / malformed: no xid either, drop and count
  kRpcMismatch,   // rpcvers != 2: reply MSG_DENIED RPC_MISMATCH
  kBadCred,       // malformed credential: reply AUTH_ERROR AUTH_BADCRED
  kTooWeak,       // unsupported flavor: reply AUTH_ERROR AUTH_TOOWEAK (RFC 5531 §9)
};

/// Decodes the call header (RFC 5531 §9) from `in`; `out.xid` is set whenever
/// at least 4 bytes were present.  On kOk the decoder stands at the args.
HeaderResult decode_call(xdr::XdrDecoder& in, CallHeader& out);

/// Writes an accepted reply header (xid, REPLY, MSG_ACCEPTED, AUTH_NONE
/// verifier, `stat`); for kProgMismatch also the low/high versions.
void encode_accepted(xdr::XdrEncoder& out, std::uint32_t xid, AcceptStat stat,
                     std::uint32_t low = 0, std::uint32_t high = 0);

/// Writes MSG_DENIED RPC_MISMATCH with the supported range (2..2).
void encode_rpc_mismatch(xdr::XdrEncoder& out, std::uint32_t xid);

/// Writes MSG_DENIED AUTH_ERROR with `why`.
void encode_auth_error(xdr::XdrEncoder& out, std::uint32_t xid, AuthStat why);

/// The credential of a call nasd makes (AUTH_NONE or AUTH_SYS).
struct CallCredential {
  AuthFlavor flavor = AuthFlavor::kNone;
  std::uint32_t stamp = 0, uid = 0, gid = 0;
  std::string_view machinename = "nasd";    // at most 255 bytes
  std::span<const std::uint32_t> gids;      // at most 16
};

/// Writes a CALL header (RFC 5531 §9: xid, CALL, rpcvers 2, prog, vers,
/// proc, `cred`, AUTH_NONE verifier); the procedure arguments follow.
void encode_call(xdr::XdrEncoder& out, std::uint32_t xid, std::uint32_t prog, std::uint32_t vers,
                 std::uint32_t proc, const CallCredential& cred);

/// The decoded header of a REPLY message (RFC 5531 §9).
struct ReplyHeader {
  std::uint32_t xid = 0;
  bool accepted = false;                    // MSG_ACCEPTED
  AcceptStat stat = AcceptStat::kSystemErr; // when accepted
};
/// What decoding a reply header found.
enum class ReplyResult : std::uint8_t {
  kOk,        // decoded; for an accepted SUCCESS the decoder stands at the results
  kNotReply,  // msg_type is CALL (out.xid set)
  kGarbage,   // truncated or malformed
};
/// Decodes a reply header from `in` (the record without its mark).
ReplyResult decode_reply(xdr::XdrDecoder& in, ReplyHeader& out);

}  // namespace nasd::rpc
