// NLM v4 XDR codecs.  See nlm4.h.
#include "protocol/locking/nlm4.h"

namespace nasd::nlm4 {

using xdr::XdrDecoder;
using xdr::XdrEncoder;

namespace {

bool decode_lock(XdrDecoder& in, Lock& l) {
  l.caller_name = in.string(kMaxStrLen);
  l.fh = in.opaque(kMaxNetobj);
  l.oh = in.opaque(kMaxNetobj);
  l.svid = in.u32();
  l.l_offset = in.u64();
  l.l_len = in.u64();
  return in.ok();
}

}  // namespace

void encode(XdrEncoder& out, const Lock& l) {
  out.string(l.caller_name);
  out.opaque(l.fh);
  out.opaque(l.oh);
  out.u32(l.svid);
  out.u64(l.l_offset);
  out.u64(l.l_len);
}

bool decode(XdrDecoder& in, TestArgs& out) {
  out.cookie = in.opaque(kMaxNetobj);
  out.exclusive = in.boolean();
  return decode_lock(in, out.lock);
}

bool decode(XdrDecoder& in, LockArgs& out) {
  out.cookie = in.opaque(kMaxNetobj);
  out.block = in.boolean();
  out.exclusive = in.boolean();
  decode_lock(in, out.lock);
  out.reclaim = in.boolean();
  out.state = in.i32();
  return in.ok();
}

bool decode(XdrDecoder& in, CancArgs& out) {
  out.cookie = in.opaque(kMaxNetobj);
  out.block = in.boolean();
  out.exclusive = in.boolean();
  return decode_lock(in, out.lock);
}

bool decode(XdrDecoder& in, UnlockArgs& out) {
  out.cookie = in.opaque(kMaxNetobj);
  return decode_lock(in, out.lock);
}

bool decode(XdrDecoder& in, ShareArgs& out) {
  out.cookie = in.opaque(kMaxNetobj);
  out.share.caller_name = in.string(kMaxStrLen);
  out.share.fh = in.opaque(kMaxNetobj);
  out.share.oh = in.opaque(kMaxNetobj);
  out.share.mode = in.u32();
  out.share.access = in.u32();
  out.reclaim = in.boolean();
  return in.ok();
}

bool decode(XdrDecoder& in, NotifyArgs& out) {
  out.name = in.string(kMaxStrLen);
  out.state = in.i32();
  return in.ok();
}

bool decode(XdrDecoder& in, Res& out) {
  out.cookie = in.opaque(kMaxNetobj);
  out.stat = static_cast<Stat>(in.u32());
  return in.ok();
}

bool decode(XdrDecoder& in, TestRes& out) {
  out.cookie = in.opaque(kMaxNetobj);
  out.stat = static_cast<Stat>(in.u32());
  if (in.ok() && out.stat == Stat::kDenied) {
    out.holder.exclusive = in.boolean();
    out.holder.svid = in.u32();
    out.holder.oh = in.opaque(kMaxNetobj);
    out.holder.l_offset = in.u64();
    out.holder.l_len = in.u64();
  }
  return in.ok();
}

void encode(XdrEncoder& out, const TestArgs& a) {
  out.opaque(a.cookie);
  out.boolean(a.exclusive);
  encode(out, a.lock);
}

void encode(XdrEncoder& out, const LockArgs& a) {
  out.opaque(a.cookie);
  out.boolean(a.block);
  out.boolean(a.exclusive);
  encode(out, a.lock);
  out.boolean(a.reclaim);
  out.i32(a.state);
}

void encode(XdrEncoder& out, const CancArgs& a) {
  out.opaque(a.cookie);
  out.boolean(a.block);
  out.boolean(a.exclusive);
  encode(out, a.lock);
}

void encode(XdrEncoder& out, const UnlockArgs& a) {
  out.opaque(a.cookie);
  encode(out, a.lock);
}

void encode(XdrEncoder& out, const ShareArgs& a) {
  out.opaque(a.cookie);
  out.string(a.share.caller_name);
  out.opaque(a.share.fh);
  out.opaque(a.share.oh);
  out.u32(a.share.mode);
  out.u32(a.share.access);
  out.boolean(a.reclaim);
}

void encode(XdrEncoder& out, const NotifyArgs& a) {
  out.string(a.name);
  out.i32(a.state);
}

void encode(XdrEncoder& out, const Res& r) {
  out.opaque(r.cookie);
  out.u32(static_cast<std::uint32_t>(r.stat));
}

void encode(XdrEncoder& out, const TestRes& r) {
  out.opaque(r.cookie);
  out.u32(static_cast<std::uint32_t>(r.stat));
  if (r.stat == Stat::kDenied) {
    out.boolean(r.holder.exclusive);
    out.u32(r.holder.svid);
    out.opaque(r.holder.oh);
    out.u64(r.holder.l_offset);
    out.u64(r.holder.l_len);
  }
}

void encode_shareres(XdrEncoder& out, Bytes cookie, Stat stat, std::int32_t sequence) {
  out.opaque(cookie);
  out.u32(static_cast<std::uint32_t>(stat));
  out.i32(sequence);
}

}  // namespace nasd::nlm4
