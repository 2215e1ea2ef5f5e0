// NFSv4.1 callback codec.  See nfs4_cb.h.
#include "protocol/nfs4/nfs4_cb.h"

#include <algorithm>

namespace nasd::nfs4 {

void encode_cb_sequence_compound(xdr::XdrEncoder& out, std::uint32_t minorversion,
                                 std::uint32_t callback_ident, const CbSequenceArgs& a) {
  out.string("");           // tag
  out.u32(minorversion);
  out.u32(callback_ident);
  out.u32(1);               // argarray<>: one operation
  out.u32(kOpCbSequence);
  out.fixed_opaque(a.sessionid);
  out.u32(a.sequenceid);
  out.u32(a.slotid);
  out.u32(a.highest_slotid);
  out.boolean(a.cachethis);
  out.u32(0);               // csa_referring_call_lists<>
}

bool decode_cb_sequence_reply(xdr::XdrDecoder& in, CbSequenceReply& r) {
  r = CbSequenceReply{};
  r.compound_status = static_cast<Nfsstat4>(in.u32());
  in.opaque(kOpaqueMax);  // tag
  const std::uint32_t n = in.u32();
  if (!in.ok()) return false;
  if (n == 0) {
    r.status = r.compound_status;
    return true;
  }
  const std::uint32_t op = in.u32();
  r.status = static_cast<Nfsstat4>(in.u32());
  if (!in.ok() || op != kOpCbSequence) return false;
  if (r.status != Nfsstat4::kOk) return true;
  const auto sid = in.fixed_opaque(r.sessionid.size());
  if (!in.ok()) return false;
  std::copy(sid.begin(), sid.end(), r.sessionid.begin());
  r.sequenceid = in.u32();
  r.slotid = in.u32();
  r.highest_slotid = in.u32();
  r.target_highest_slotid = in.u32();
  return in.ok();
}

}  // namespace nasd::nfs4
