// NSM XDR codecs.  See nsm.h.
#include "protocol/locking/nsm.h"

#include <algorithm>

namespace nasd::nsm {

using xdr::XdrDecoder;
using xdr::XdrEncoder;

bool decode(XdrDecoder& in, MyId& out) {
  out.my_name = in.string(kMaxStrLen);
  out.my_prog = in.u32();
  out.my_vers = in.u32();
  out.my_proc = in.u32();
  return in.ok();
}

bool decode(XdrDecoder& in, MonId& out) {
  out.mon_name = in.string(kMaxStrLen);
  return decode(in, out.my_id);
}

bool decode(XdrDecoder& in, Mon& out) {
  decode(in, out.mon_id);
  auto priv = in.fixed_opaque(16);
  if (in.ok()) std::copy(priv.begin(), priv.end(), out.priv.begin());
  return in.ok();
}

bool decode(XdrDecoder& in, SmName& out) {
  out.mon_name = in.string(kMaxStrLen);
  return in.ok();
}

bool decode(XdrDecoder& in, StatChge& out) {
  out.mon_name = in.string(kMaxStrLen);
  out.state = in.i32();
  return in.ok();
}

void encode(XdrEncoder& out, const MyId& v) {
  out.string(v.my_name);
  out.u32(v.my_prog);
  out.u32(v.my_vers);
  out.u32(v.my_proc);
}

void encode(XdrEncoder& out, const MonId& v) {
  out.string(v.mon_name);
  encode(out, v.my_id);
}

void encode(XdrEncoder& out, const Mon& v) {
  encode(out, v.mon_id);
  out.fixed_opaque(v.priv);
}

void encode(XdrEncoder& out, const StatChge& v) {
  out.string(v.mon_name);
  out.i32(v.state);
}

void encode_stat_res(XdrEncoder& out, Res res, std::int32_t state) {
  out.u32(static_cast<std::uint32_t>(res));
  out.i32(state);
}

void encode_stat(XdrEncoder& out, std::int32_t state) { out.i32(state); }

}  // namespace nasd::nsm
