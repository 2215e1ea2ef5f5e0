// NFSv4.0-only operation arguments (RFC 7530 §16): SETCLIENTID,
// SETCLIENTID_CONFIRM, RENEW and OPEN_CONFIRM.  The operations shared with
// 4.1 (OPEN, CLOSE, OPEN_DOWNGRADE, ...) decode with protocol/nfs4/nfs4.h.
// Decoders never copy: the id and the callback strings are views into the
// request buffer; false when truncated or malformed (NFS4ERR_BADXDR).
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "protocol/nfs4/nfs4.h"
#include "protocol/rpc/xdr.h"

namespace nasd::nfs4 {

/// OPEN4_RESULT_CONFIRM rflag (RFC 7530 §16.16.4): the open-owner is new and
/// must send OPEN_CONFIRM before using the stateid.
constexpr std::uint32_t kOpenResultConfirm = 0x2;

/// SETCLIENTID4args (RFC 7530 §16.33.1).  The callback (cb_client4 and
/// callback_ident) is decoded and checked for form only; the server probes it
/// with one CB_NULL (server/nfs4/callback.h) and hands out no delegations.
struct SetclientidArgs {
  Verifier4 verifier{};               // nfs_client_id4.verifier
  std::span<const std::uint8_t> id;   // nfs_client_id4.id, at most kOpaqueMax
  std::uint32_t cb_program = 0;
  std::string_view cb_netid, cb_addr;
  std::uint32_t callback_ident = 0;
};
/// SETCLIENTID_CONFIRM4args (RFC 7530 §16.34.1).
struct SetclientidConfirmArgs {
  std::uint64_t clientid = 0;
  Verifier4 confirm{};
};
/// OPEN_CONFIRM4args (RFC 7530 §16.18.1).
struct OpenConfirmArgs {
  Stateid4 stateid;
  std::uint32_t seqid = 0;
};
// RENEW4args is a clientid4: ClientidArgs (protocol/nfs4/nfs4.h).

bool decode(xdr::XdrDecoder& in, SetclientidArgs& a);
bool decode(xdr::XdrDecoder& in, SetclientidConfirmArgs& a);
bool decode(xdr::XdrDecoder& in, OpenConfirmArgs& a);

}  // namespace nasd::nfs4
