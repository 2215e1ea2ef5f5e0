// NFSv4.1 callback program codec (RFC 8881 §20): the CB_COMPOUND arguments
// nasd sends on a session's back channel (one CB_SEQUENCE, §20.9) and the
// decoding of the client's CB_COMPOUND reply.  CB_NULL has no arguments.
#pragma once

#include <cstdint>

#include "protocol/nfs4/nfs4.h"
#include "protocol/rpc/xdr.h"

namespace nasd::nfs4 {

/// NFS4_CALLBACK version 1 and its procedures (RFC 8881 §20, RFC 7530 §16.33).
constexpr std::uint32_t kCbVersion = 1;
constexpr std::uint32_t kCbProcNull = 0, kCbProcCompound = 1;
/// nfs_cb_opnum4 of CB_SEQUENCE and OP_CB_ILLEGAL.
constexpr std::uint32_t kOpCbSequence = 11, kOpCbIllegal = 10044;

/// CB_SEQUENCE4args (RFC 8881 §20.9.1) without referring call lists.
struct CbSequenceArgs {
  SessionId sessionid{};
  std::uint32_t sequenceid = 0, slotid = 0, highest_slotid = 0;
  bool cachethis = false;
};

/// CB_SEQUENCE4resok (RFC 8881 §20.9.2) and the statuses around it.
struct CbSequenceReply {
  Nfsstat4 compound_status = Nfsstat4::kOk;  // CB_COMPOUND4res.status
  Nfsstat4 status = Nfsstat4::kOk;           // CB_SEQUENCE4res.csr_status
  SessionId sessionid{};
  std::uint32_t sequenceid = 0, slotid = 0, highest_slotid = 0, target_highest_slotid = 0;
};

/// Writes CB_COMPOUND4args (RFC 8881 §20.2 / §16.2 of the callback XDR):
/// empty tag, `minorversion` (the session's), `callback_ident` (0 for 4.1),
/// one CB_SEQUENCE operation with no referring call lists.
void encode_cb_sequence_compound(xdr::XdrEncoder& out, std::uint32_t minorversion,
                                 std::uint32_t callback_ident, const CbSequenceArgs& a);

/// Decodes a CB_COMPOUND4res whose first result is CB_SEQUENCE.  False when
/// it is malformed or its first result is another operation (a reply with
/// no results is fine: compound_status tells why).  The tag is skipped.
bool decode_cb_sequence_reply(xdr::XdrDecoder& in, CbSequenceReply& r);

}  // namespace nasd::nfs4
