// NFSv4 XDR codecs.  See nfs4.h.
#include "protocol/nfs4/nfs4.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>
#include <string>

namespace nasd::nfs4 {

using xdr::XdrDecoder;
using xdr::XdrEncoder;

namespace {


bool decode_fixed(XdrDecoder& in, std::uint8_t* dst, std::size_t n) {
  auto b = in.fixed_opaque(n);
  if (!in.ok()) return false;
  std::memcpy(dst, b.data(), n);
  return true;
}

void encode_time(XdrEncoder& out, const storage::Time& t) {
  out.u64(t.seconds);  // int64 seconds; storage times are never negative
  out.u32(t.nseconds);
}

bool decode_time(XdrDecoder& in, storage::Time& t) {
  const std::int64_t s = static_cast<std::int64_t>(in.u64());
  const std::uint32_t ns = in.u32();
  if (!in.ok() || ns >= 1000000000u) return false;
  t.seconds = s < 0 ? 0 : s > 0xffffffffLL ? 0xffffffffu : static_cast<std::uint32_t>(s);
  t.nseconds = ns;
  return true;
}

/// settime4 (RFC 8881 §3.3.6): SET_TO_SERVER_TIME4 0, SET_TO_CLIENT_TIME4 1.
bool decode_settime(XdrDecoder& in, storage::TimeHow& how, storage::Time& t) {
  const std::uint32_t h = in.u32();
  if (!in.ok() || h > 1) return false;
  if (h == 0) {
    how = storage::TimeHow::kServerTime;
    return true;
  }
  how = storage::TimeHow::kClientTime;
  return decode_time(in, t);
}

/// fattr4 for setting, Nfsstat4 on failure; shared by SETATTR/CREATE/OPEN.
/// On a semantic failure the XDR is still consumed.
Nfsstat4 decode_settable_impl(XdrDecoder& in, SetAttrs& out) {
  bool beyond = false;
  if (!decode_bitmap(in, out.present, &beyond)) return Nfsstat4::kBadXdr;
  auto list = in.opaque(1 << 16);
  if (!in.ok()) return Nfsstat4::kBadXdr;
  if (beyond) return Nfsstat4::kAttrNotSupp;
  const Bitmap4 settable = settable_attrs();
  const Bitmap4 supported = supported_attrs(2);
  for (std::uint32_t bit = 0; bit < 96; ++bit) {
    if (!out.present.test(bit) || settable.test(bit)) continue;
    return supported.test(bit) ? Nfsstat4::kInval : Nfsstat4::kAttrNotSupp;
  }
  XdrDecoder a(list);
  auto& s = out.set;
  if (out.present.test(kSize)) s.size = a.u64();
  if (out.present.test(kMode)) s.mode = a.u32() & 07777;
  if (out.present.test(kOwner)) out.owner_name = a.string(kOpaqueMax);
  if (out.present.test(kOwnerGroup)) out.group_name = a.string(kOpaqueMax);
  if (out.present.test(kTimeAccessSet) && !decode_settime(a, s.atime_how, s.atime)) {
    return Nfsstat4::kBadXdr;
  }
  if (out.present.test(kTimeModifySet) && !decode_settime(a, s.mtime_how, s.mtime)) {
    return Nfsstat4::kBadXdr;
  }
  if (!a.ok() || a.remaining() != 0) return Nfsstat4::kBadXdr;
  return Nfsstat4::kOk;
}

}  // namespace


bool decode_bitmap(XdrDecoder& in, Bitmap4& out, bool* beyond) {
  const std::uint32_t n = in.u32();
  if (!in.ok() || n > kBitmapWordsMax) {
    in.fail();
    return false;
  }
  out = Bitmap4{};
  for (std::uint32_t i = 0; i < n; ++i) {
    const std::uint32_t v = in.u32();
    if (i < 3) {
      out.w[i] = v;
    } else if (v != 0 && beyond) {
      *beyond = true;
    }
  }
  return in.ok();
}

void encode_bitmap(XdrEncoder& out, const Bitmap4& b) {
  std::uint32_t n = 3;
  while (n > 0 && b.w[n - 1] == 0) --n;
  out.u32(n);
  for (std::uint32_t i = 0; i < n; ++i) out.u32(b.w[i]);
}

namespace {
Bitmap4 build_supported_attrs(std::uint32_t minor) {
  Bitmap4 b;
  for (std::uint32_t a :
       {kSupportedAttrs, kType, kFhExpireType, kChange, kSize, kLinkSupport, kSymlinkSupport,
        kNamedAttr, kFsid, kUniqueHandles, kLeaseTime, kRdattrError, kAclSupport, kCanSetTime,
        kCaseInsensitive, kCasePreserving, kChownRestricted, kFilehandle, kFileid, kFilesAvail,
        kFilesFree, kFilesTotal, kHomogeneous, kMaxfilesize, kMaxlink, kMaxname, kMaxread,
        kMaxwrite, kMode, kNoTrunc, kNumlinks, kOwner, kOwnerGroup, kRawdev, kSpaceAvail,
        kSpaceFree, kSpaceTotal, kSpaceUsed, kTimeAccess, kTimeAccessSet, kTimeDelta,
        kTimeMetadata, kTimeModify, kTimeModifySet, kMountedOnFileid}) {
    b.set(a);
  }
  if (minor >= 1) {
    b.set(kFsLayoutType);
    b.set(kSuppattrExclcreat);
  }
  if (minor >= 2) b.set(kXattrSupport);
  return b;
}
}  // namespace

Bitmap4 supported_attrs(std::uint32_t minor) {
  // Built once: every encoded fattr4 (each READDIR entry) asks for it.
  static const std::array<Bitmap4, 3> kByMinor = {
      build_supported_attrs(0), build_supported_attrs(1), build_supported_attrs(2)};
  return kByMinor[std::min<std::uint32_t>(minor, 2)];
}

Bitmap4 settable_attrs() {
  Bitmap4 b;
  for (std::uint32_t a : {kSize, kMode, kOwner, kOwnerGroup, kTimeAccessSet, kTimeModifySet}) {
    b.set(a);
  }
  return b;
}

Bitmap4 exclcreat_attrs() {
  // The EXCLUSIVE verifier lives in atime/mtime (storage::Backend::create),
  // so the times cannot be set at creation.
  Bitmap4 b;
  for (std::uint32_t a : {kSize, kMode, kOwner, kOwnerGroup}) b.set(a);
  return b;
}

bool needs_fsstat(const Bitmap4& b) {
  for (std::uint32_t a : {kFilesAvail, kFilesFree, kFilesTotal, kSpaceAvail, kSpaceFree,
                          kSpaceTotal}) {
    if (b.test(a)) return true;
  }
  return false;
}

void encode_id(XdrEncoder& out, std::uint32_t id) {
  char buf[16];
  auto r = std::to_chars(buf, buf + sizeof(buf), id);
  out.string(std::string_view(buf, static_cast<std::size_t>(r.ptr - buf)));
}

bool encode_fattr(XdrEncoder& out, const Bitmap4& request, const AttrValues& v) {
  const Bitmap4 sup = supported_attrs(v.minor);
  Bitmap4 ret = request & sup;
  // time_access_set / time_modify_set are write-only: a GETATTR asking for
  // them gets nothing for them (RFC 8881 §5.6).
  ret.clear(kTimeAccessSet);
  ret.clear(kTimeModifySet);
  encode_bitmap(out, ret);
  const std::size_t len_pos = out.position();
  out.u32(0);
  const std::size_t start = out.position();
  const auto& a = v.attr;
  const storage::FsStat fs = v.fsstat.value_or(storage::FsStat{});
  for (std::uint32_t bit = 0; bit < 96; ++bit) {
    if (!ret.test(bit)) continue;
    switch (bit) {
      case kSupportedAttrs: encode_bitmap(out, sup); break;
      case kType: out.u32(static_cast<std::uint32_t>(a.type)); break;
      case kFhExpireType: out.u32(0); break;  // FH4_PERSISTENT
      case kChange: out.u64(change_from(a.ctime)); break;
      case kSize: out.u64(a.size); break;
      case kLinkSupport: case kSymlinkSupport: out.boolean(true); break;
      case kNamedAttr: out.boolean(false); break;
      case kFsid: out.u64(v.fsid_major); out.u64(v.fsid_minor); break;
      case kUniqueHandles: out.boolean(true); break;
      case kLeaseTime: out.u32(v.lease_time); break;
      case kRdattrError: out.u32(v.rdattr_error); break;
      case kAclSupport: out.u32(0); break;
      case kCanSetTime: out.boolean(true); break;
      case kCaseInsensitive: out.boolean(false); break;
      case kCasePreserving: out.boolean(true); break;
      case kChownRestricted: out.boolean(true); break;
      case kFilehandle: out.opaque(v.fh); break;
      case kFileid: out.u64(a.fileid); break;
      case kFilesAvail: out.u64(fs.avail_files); break;
      case kFilesFree: out.u64(fs.free_files); break;
      case kFilesTotal: out.u64(fs.total_files); break;
      case kHomogeneous: out.boolean(true); break;
      case kMaxfilesize: out.u64(0x7fffffffffffffffULL); break;
      case kMaxlink: out.u32(32000); break;
      case kMaxname: out.u32(kNameMax); break;
      case kMaxread: out.u64(v.max_read); break;
      case kMaxwrite: out.u64(v.max_write); break;
      case kMode: out.u32(a.mode & 07777); break;
      case kNoTrunc: out.boolean(true); break;
      case kNumlinks: out.u32(a.nlink); break;
      case kOwner: encode_id(out, a.uid); break;
      case kOwnerGroup: encode_id(out, a.gid); break;
      case kRawdev: out.u32(a.rdev_major); out.u32(a.rdev_minor); break;
      case kSpaceAvail: out.u64(fs.avail_bytes); break;
      case kSpaceFree: out.u64(fs.free_bytes); break;
      case kSpaceTotal: out.u64(fs.total_bytes); break;
      case kSpaceUsed: out.u64(a.used); break;
      case kTimeAccess: encode_time(out, a.atime); break;
      case kTimeDelta: encode_time(out, storage::Time{0, 1}); break;
      case kTimeMetadata: encode_time(out, a.ctime); break;
      case kTimeModify: encode_time(out, a.mtime); break;
      case kMountedOnFileid: out.u64(v.mounted_on_fileid); break;
      case kFsLayoutType: out.u32(0); break;  // no pNFS layouts
      case kSuppattrExclcreat: encode_bitmap(out, exclcreat_attrs()); break;
      case kXattrSupport: out.boolean(v.xattr_support); break;
      default: break;
    }
  }
  out.patch_u32(len_pos, static_cast<std::uint32_t>(out.position() - start));
  return out.ok();
}

Nfsstat4 decode_settable(XdrDecoder& in, SetAttrs& out) { return decode_settable_impl(in, out); }

bool decode_compound_header(XdrDecoder& in, CompoundHeader& out) {
  out.tag = in.string(kTagMax);
  out.minorversion = in.u32();
  out.numops = in.u32();
  return in.ok();
}

bool decode_stateid(XdrDecoder& in, Stateid4& s) {
  s.seqid = in.u32();
  return decode_fixed(in, s.other.data(), s.other.size());
}

void encode_stateid(XdrEncoder& out, const Stateid4& s) {
  out.u32(s.seqid);
  out.fixed_opaque(s.other);
}

void encode_channel_attrs(XdrEncoder& out, const ChannelAttrs& c) {
  out.u32(c.headerpadsize);
  out.u32(c.maxrequestsize);
  out.u32(c.maxresponsesize);
  out.u32(c.maxresponsesize_cached);
  out.u32(c.maxoperations);
  out.u32(c.maxrequests);
  out.u32(c.rdma_ird ? 1 : 0);
  if (c.rdma_ird) out.u32(*c.rdma_ird);
}

void encode_change_info(XdrEncoder& out, const storage::WccData& wcc) {
  out.boolean(false);  // not atomic: before/after come from two stat calls
  out.u64(wcc.before ? change_from(wcc.before->ctime) : 0);
  out.u64(wcc.after ? change_from(wcc.after->ctime) : 0);
}

// ---------------------------------------------------------------- decoders

bool decode(XdrDecoder& in, PutfhArgs& a) {
  a.fh = in.opaque(kFhMax);
  return in.ok();
}
bool decode(XdrDecoder& in, NameArgs& a) {
  a.name = in.string(kNameDecodeMax);
  return in.ok();
}
bool decode(XdrDecoder& in, GetattrArgs& a) { return decode_bitmap(in, a.request); }
bool decode(XdrDecoder& in, AccessArgs& a) {
  a.access = in.u32();
  return in.ok();
}
bool decode(XdrDecoder& in, SetattrArgs& a) {
  if (!decode_stateid(in, a.stateid)) return false;
  a.attr_status = decode_settable_impl(in, a.attrs);
  return a.attr_status != Nfsstat4::kBadXdr && in.ok();
}
bool decode(XdrDecoder& in, ReadArgs& a) {
  if (!decode_stateid(in, a.stateid)) return false;
  a.offset = in.u64();
  a.count = in.u32();
  return in.ok();
}
bool decode(XdrDecoder& in, WriteArgs& a) {
  if (!decode_stateid(in, a.stateid)) return false;
  a.offset = in.u64();
  a.stable = in.u32();
  a.data = in.opaque(0xffffffffu);
  return in.ok() && a.stable <= 2;
}
bool decode(XdrDecoder& in, CommitArgs& a) {
  a.offset = in.u64();
  a.count = in.u32();
  return in.ok();
}
bool decode(XdrDecoder& in, CreateArgs& a) {
  const std::uint32_t t = in.u32();
  switch (t) {
    case 5: a.linkdata = in.string(kPathMax); break;          // NF4LNK
    case 3: case 4: a.major = in.u32(); a.minor = in.u32(); break;  // NF4BLK / NF4CHR
    case 2: case 6: case 7: break;                           // NF4DIR / NF4SOCK / NF4FIFO
    default: a.bad_type = true; break;  // NF4REG etc.: the union arm is void
  }
  if (!in.ok()) return false;
  if (!a.bad_type) a.type = static_cast<storage::FileType>(t);
  a.name = in.string(kNameDecodeMax);
  if (!in.ok()) return false;
  a.attr_status = decode_settable_impl(in, a.attrs);
  return a.attr_status != Nfsstat4::kBadXdr && in.ok();
}
bool decode(XdrDecoder& in, RenameArgs& a) {
  a.oldname = in.string(kNameDecodeMax);
  a.newname = in.string(kNameDecodeMax);
  return in.ok();
}
bool decode(XdrDecoder& in, ReaddirArgs& a) {
  a.cookie = in.u64();
  if (!decode_fixed(in, a.cookieverf.data(), a.cookieverf.size())) return false;
  a.dircount = in.u32();
  a.maxcount = in.u32();
  return decode_bitmap(in, a.request);
}
bool decode(XdrDecoder& in, OpenArgs& a) {
  a.seqid = in.u32();
  a.share_access = in.u32() & kShareAccessBoth;  // drop 4.1 WANT_* flags
  a.share_deny = in.u32();
  a.clientid = in.u64();
  a.owner = in.opaque(kOpaqueMax);
  const std::uint32_t opentype = in.u32();
  if (!in.ok() || opentype > 1) return false;
  a.create = opentype == 1;
  if (a.create) {
    a.createmode = in.u32();
    switch (a.createmode) {
      case 0: case 1:
        a.attr_status = decode_settable_impl(in, a.attrs);
        if (a.attr_status == Nfsstat4::kBadXdr) return false;
        break;
      case 2:
        if (!decode_fixed(in, a.verifier.data(), a.verifier.size())) return false;
        break;
      case 3:
        if (!decode_fixed(in, a.verifier.data(), a.verifier.size())) return false;
        a.attr_status = decode_settable_impl(in, a.attrs);
        if (a.attr_status == Nfsstat4::kBadXdr) return false;
        break;
      default:
        return false;
    }
  }
  a.claim = in.u32();
  switch (a.claim) {
    case 0: case 3: a.name = in.string(kNameDecodeMax); break;
    case 1: a.delegate_type = in.u32(); break;
    case 2:
      if (!decode_stateid(in, a.deleg_stateid)) return false;
      a.name = in.string(kNameDecodeMax);
      break;
    case 4: case 6: break;  // CLAIM_FH, CLAIM_DELEG_PREV_FH: void
    case 5:                 // CLAIM_DELEG_CUR_FH: oc_delegate_stateid
      if (!decode_stateid(in, a.deleg_stateid)) return false;
      break;
    default:
      return false;
  }
  return in.ok();
}
bool decode(XdrDecoder& in, CloseArgs& a) {
  a.seqid = in.u32();
  return decode_stateid(in, a.stateid);
}
bool decode(XdrDecoder& in, OpenDowngradeArgs& a) {
  if (!decode_stateid(in, a.stateid)) return false;
  a.seqid = in.u32();
  a.share_access = in.u32() & kShareAccessBoth;
  a.share_deny = in.u32();
  return in.ok();
}
bool decode(XdrDecoder& in, StateidArgs& a) { return decode_stateid(in, a.stateid); }
bool decode(XdrDecoder& in, TestStateidArgs& a, std::size_t max) {
  const std::uint32_t n = in.u32();
  if (!in.ok() || n > max || n * 16ull > in.remaining()) {
    in.fail();
    return false;
  }
  a.stateids.resize(n);
  for (auto& s : a.stateids) {
    if (!decode_stateid(in, s)) return false;
  }
  return true;
}
bool decode(XdrDecoder& in, SecinfoNoNameArgs& a) {
  a.style = in.u32();
  return in.ok() && a.style <= 1;
}
bool decode(XdrDecoder& in, ExchangeIdArgs& a) {
  if (!decode_fixed(in, a.verifier.data(), a.verifier.size())) return false;
  a.ownerid = in.opaque(kOpaqueMax);
  a.flags = in.u32();
  a.state_protect = in.u32();
  if (!in.ok()) return false;
  auto skip_bitmap = [&] {
    Bitmap4 b;
    return decode_bitmap(in, b);
  };
  switch (a.state_protect) {
    case 0: break;
    case 1:  // state_protect_ops4: two bitmaps
      if (!skip_bitmap() || !skip_bitmap()) return false;
      break;
    case 2: {  // ssv_sp_parms4
      if (!skip_bitmap() || !skip_bitmap()) return false;
      for (int list = 0; list < 2; ++list) {  // ssp_hash_algs, ssp_encr_algs: sec_oid4<>
        const std::uint32_t n = in.u32();
        if (!in.ok() || n > 64) return false;
        for (std::uint32_t i = 0; i < n; ++i) in.opaque(kOpaqueMax);
      }
      in.u32();  // ssp_window
      in.u32();  // ssp_num_gss_handles
      break;
    }
    default:
      return false;
  }
  const std::uint32_t impl = in.u32();  // nfs_impl_id4<1>
  if (!in.ok() || impl > 1) return false;
  if (impl == 1) {
    in.string(kOpaqueMax);
    in.string(kOpaqueMax);
    storage::Time t;
    if (!decode_time(in, t)) return false;
  }
  return in.ok();
}

namespace {
bool decode_channel(XdrDecoder& in, ChannelAttrs& c) {
  c.headerpadsize = in.u32();
  c.maxrequestsize = in.u32();
  c.maxresponsesize = in.u32();
  c.maxresponsesize_cached = in.u32();
  c.maxoperations = in.u32();
  c.maxrequests = in.u32();
  const std::uint32_t n = in.u32();
  if (!in.ok() || n > 1) return false;
  if (n == 1) c.rdma_ird = in.u32();
  return in.ok();
}
}  // namespace

bool decode(XdrDecoder& in, CreateSessionArgs& a) {
  a.clientid = in.u64();
  a.sequence = in.u32();
  a.flags = in.u32();
  if (!decode_channel(in, a.fore) || !decode_channel(in, a.back)) return false;
  a.cb_program = in.u32();
  return decode_callback_sec(in, a.sec);
}
bool decode_callback_sec(XdrDecoder& in, std::optional<CallbackSec>& sec) {
  sec.reset();
  const std::uint32_t n = in.u32();  // callback_sec_parms4<>
  if (!in.ok() || n > 16) return false;
  if (n == 0) sec.emplace();         // nothing asked for: AUTH_NONE
  for (std::uint32_t i = 0; i < n; ++i) {
    const std::uint32_t flavor = in.u32();
    if (flavor == 0) {  // AUTH_NONE
      if (!sec) sec.emplace();
      continue;
    }
    if (flavor == 1) {          // authsys_parms
      CallbackSec s;
      s.flavor = 1;
      s.stamp = in.u32();
      s.machinename = std::string(in.string(255));
      s.uid = in.u32();
      s.gid = in.u32();
      const std::uint32_t g = in.u32();
      if (!in.ok() || g > 16) return false;
      for (std::uint32_t k = 0; k < g; ++k) s.gids.push_back(in.u32());
      if (!sec && in.ok()) sec = std::move(s);
    } else if (flavor == 6) {   // RPCSEC_GSS: gss_cb_handles4
      in.u32();
      in.opaque(kOpaqueMax);
      in.opaque(kOpaqueMax);
    } else {
      return false;
    }
    if (!in.ok()) return false;
  }
  return in.ok();
}
bool decode(XdrDecoder& in, BackchannelCtlArgs& a) {
  a.cb_program = in.u32();
  return decode_callback_sec(in, a.sec);
}
bool decode(XdrDecoder& in, SequenceArgs& a) {
  if (!decode_fixed(in, a.sessionid.data(), a.sessionid.size())) return false;
  a.sequenceid = in.u32();
  a.slotid = in.u32();
  a.highest_slotid = in.u32();
  a.cachethis = in.boolean();
  return in.ok();
}
bool decode(XdrDecoder& in, SessionArgs& a) {
  return decode_fixed(in, a.sessionid.data(), a.sessionid.size());
}
bool decode(XdrDecoder& in, ClientidArgs& a) {
  a.clientid = in.u64();
  return in.ok();
}
bool decode(XdrDecoder& in, ReclaimCompleteArgs& a) {
  a.one_fs = in.boolean();
  return in.ok();
}
bool decode(XdrDecoder& in, BindConnArgs& a) {
  if (!decode_fixed(in, a.sessionid.data(), a.sessionid.size())) return false;
  a.dir = in.u32();
  a.rdma = in.boolean();
  return in.ok();
}

// ------------------------------------------------------------ byte-range locks

namespace {
bool decode_lock_owner(XdrDecoder& in, LockOwner4& o) {
  o.clientid = in.u64();
  o.owner = in.opaque(kOpaqueMax);
  return in.ok();
}
bool valid_locktype(std::uint32_t t) { return t >= kReadLt && t <= kWritewLt; }
}  // namespace

bool decode(XdrDecoder& in, LockArgs& a) {
  a.locktype = in.u32();
  a.reclaim = in.boolean();
  a.offset = in.u64();
  a.length = in.u64();
  a.new_lock_owner = in.boolean();
  if (!in.ok() || !valid_locktype(a.locktype)) return false;
  if (a.new_lock_owner) {
    a.open_seqid = in.u32();
    if (!decode_stateid(in, a.open_stateid)) return false;
    a.lock_seqid = in.u32();
    return decode_lock_owner(in, a.lock_owner);
  }
  if (!decode_stateid(in, a.lock_stateid)) return false;
  a.lock_seqid = in.u32();
  return in.ok();
}

bool decode(XdrDecoder& in, LocktArgs& a) {
  a.locktype = in.u32();
  a.offset = in.u64();
  a.length = in.u64();
  if (!in.ok() || !valid_locktype(a.locktype)) return false;
  return decode_lock_owner(in, a.owner);
}

bool decode(XdrDecoder& in, LockuArgs& a) {
  a.locktype = in.u32();
  a.seqid = in.u32();
  if (!in.ok() || !valid_locktype(a.locktype) || !decode_stateid(in, a.lock_stateid)) return false;
  a.offset = in.u64();
  a.length = in.u64();
  return in.ok();
}

bool decode(XdrDecoder& in, ReleaseLockownerArgs& a) { return decode_lock_owner(in, a.owner); }

void encode_lock_denied(XdrEncoder& out, const LockDenied& d) {
  out.u64(d.offset);
  out.u64(d.length);
  out.u32(d.locktype);
  out.u64(d.clientid);
  out.opaque(d.owner);
}

}  // namespace nasd::nfs4
