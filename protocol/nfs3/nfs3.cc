// NFSv3 XDR codecs (RFC 1813).  See nfs3.h.
#include "protocol/nfs3/nfs3.h"

#include <cstring>

namespace nasd::nfs3 {

using storage::Attr;
using storage::FileHandle;
using storage::SetAttr;
using storage::Time;
using storage::TimeHow;
using storage::WccAttr;
using storage::WccData;
using xdr::XdrDecoder;
using xdr::XdrEncoder;

namespace {

void decode_time(XdrDecoder& in, Time& t) {
  t.seconds = in.u32();
  t.nseconds = in.u32();
}

void encode_time(XdrEncoder& out, const Time& t) {
  out.u32(t.seconds);
  out.u32(t.nseconds);
}

bool decode_verifier(XdrDecoder& in, storage::Verifier& v) {
  auto b = in.fixed_opaque(v.size());
  if (!in.ok()) return false;
  std::memcpy(v.data(), b.data(), v.size());
  return true;
}

void encode_verifier(XdrEncoder& out, const storage::Verifier& v) {
  out.fixed_opaque({v.data(), v.size()});
}

/// set_atime / set_mtime: time_how plus an nfstime3 for SET_TO_CLIENT_TIME.
bool decode_set_time(XdrDecoder& in, TimeHow& how, Time& t) {
  std::uint32_t h = in.u32();
  if (h > 2) return false;
  how = static_cast<TimeHow>(h);
  if (how == TimeHow::kClientTime) decode_time(in, t);
  return in.ok();
}

void encode_status(XdrEncoder& out, Nfsstat3 s) { out.u32(static_cast<std::uint32_t>(s)); }

}  // namespace

bool decode_fh(XdrDecoder& in, FileHandle& fh) {
  auto b = in.opaque(kFhSize);
  if (!in.ok()) return false;
  fh.size = static_cast<std::uint8_t>(b.size());
  if (!b.empty()) std::memcpy(fh.data.data(), b.data(), b.size());
  return true;
}

bool decode_sattr3(XdrDecoder& in, SetAttr& out) {
  out = SetAttr{};
  if (in.boolean()) out.mode = in.u32();
  if (in.boolean()) out.uid = in.u32();
  if (in.boolean()) out.gid = in.u32();
  if (in.boolean()) out.size = in.u64();
  if (!in.ok()) return false;
  if (!decode_set_time(in, out.atime_how, out.atime)) return false;
  if (!decode_set_time(in, out.mtime_how, out.mtime)) return false;
  return in.ok();
}

bool decode(XdrDecoder& in, HandleArgs& out) { return decode_fh(in, out.object); }

bool decode(XdrDecoder& in, SetattrArgs& out) {
  if (!decode_fh(in, out.object) || !decode_sattr3(in, out.new_attributes)) return false;
  if (in.boolean()) {
    Time t;
    decode_time(in, t);
    out.guard = t;
  } else {
    out.guard.reset();
  }
  return in.ok();
}

bool decode(XdrDecoder& in, DirOpArgs& out) {
  if (!decode_fh(in, out.dir)) return false;
  out.name = in.string(kNameDecodeMax);
  return in.ok();
}

bool decode(XdrDecoder& in, AccessArgs& out) {
  if (!decode_fh(in, out.object)) return false;
  out.access = in.u32();
  return in.ok();
}

bool decode(XdrDecoder& in, ReadArgs& out) {
  if (!decode_fh(in, out.file)) return false;
  out.offset = in.u64();
  out.count = in.u32();
  return in.ok();
}

bool decode(XdrDecoder& in, WriteArgs& out) {
  if (!decode_fh(in, out.file)) return false;
  out.offset = in.u64();
  out.count = in.u32();
  std::uint32_t stable = in.u32();
  if (!in.ok() || stable > 2) return false;
  out.stable = static_cast<storage::StableHow>(stable);
  // The length is bounded by the request itself (opaque() checks remaining).
  out.data = in.opaque(in.remaining());
  return in.ok();
}

bool decode(XdrDecoder& in, CreateArgs& out) {
  if (!decode(in, out.where)) return false;
  std::uint32_t mode = in.u32();
  if (!in.ok() || mode > 2) return false;
  out.mode = static_cast<storage::CreateMode>(mode);
  if (out.mode == storage::CreateMode::kExclusive) {
    out.obj_attributes = SetAttr{};
    return decode_verifier(in, out.verf);
  }
  out.verf = {};
  return decode_sattr3(in, out.obj_attributes);
}

bool decode(XdrDecoder& in, MkdirArgs& out) {
  return decode(in, out.where) && decode_sattr3(in, out.attributes);
}

bool decode(XdrDecoder& in, SymlinkArgs& out) {
  if (!decode(in, out.where) || !decode_sattr3(in, out.symlink_attributes)) return false;
  out.symlink_data = in.string(kPathMax);
  return in.ok();
}

bool decode(XdrDecoder& in, MknodArgs& out) {
  if (!decode(in, out.where)) return false;
  std::uint32_t type = in.u32();
  if (!in.ok() || type < 1 || type > 7) return false;
  out.type = static_cast<storage::FileType>(type);
  out.attributes = SetAttr{};
  out.spec_major = out.spec_minor = 0;
  switch (out.type) {
    case storage::FileType::kChr:
    case storage::FileType::kBlk:
      if (!decode_sattr3(in, out.attributes)) return false;
      out.spec_major = in.u32();
      out.spec_minor = in.u32();
      return in.ok();
    case storage::FileType::kSock:
    case storage::FileType::kFifo:
      return decode_sattr3(in, out.attributes);
    default:
      return true;  // void arm; the program answers NFS3ERR_BADTYPE
  }
}

bool decode(XdrDecoder& in, RemoveArgs& out) { return decode(in, out.object); }

bool decode(XdrDecoder& in, RenameArgs& out) {
  return decode(in, out.from) && decode(in, out.to);
}

bool decode(XdrDecoder& in, LinkArgs& out) {
  return decode_fh(in, out.file) && decode(in, out.link);
}

bool decode(XdrDecoder& in, ReaddirArgs& out) {
  if (!decode_fh(in, out.dir)) return false;
  out.cookie = in.u64();
  if (!decode_verifier(in, out.cookieverf)) return false;
  out.count = in.u32();
  return in.ok();
}

bool decode(XdrDecoder& in, ReaddirplusArgs& out) {
  if (!decode_fh(in, out.dir)) return false;
  out.cookie = in.u64();
  if (!decode_verifier(in, out.cookieverf)) return false;
  out.dircount = in.u32();
  out.maxcount = in.u32();
  return in.ok();
}

bool decode(XdrDecoder& in, CommitArgs& out) {
  if (!decode_fh(in, out.file)) return false;
  out.offset = in.u64();
  out.count = in.u32();
  return in.ok();
}

// ------------------------------------------------------------ shared types

void encode_fh(XdrEncoder& out, const FileHandle& fh) { out.opaque(fh.bytes()); }

void encode_fattr3(XdrEncoder& out, const Attr& a) {
  out.u32(static_cast<std::uint32_t>(a.type));
  out.u32(a.mode);
  out.u32(a.nlink);
  out.u32(a.uid);
  out.u32(a.gid);
  out.u64(a.size);
  out.u64(a.used);
  out.u32(a.rdev_major);
  out.u32(a.rdev_minor);
  out.u64(a.fsid);
  out.u64(a.fileid);
  encode_time(out, a.atime);
  encode_time(out, a.mtime);
  encode_time(out, a.ctime);
}

void encode_post_op_attr(XdrEncoder& out, const std::optional<Attr>& a) {
  out.boolean(a.has_value());
  if (a) encode_fattr3(out, *a);
}

void encode_pre_op_attr(XdrEncoder& out, const std::optional<WccAttr>& a) {
  out.boolean(a.has_value());
  if (a) {
    out.u64(a->size);
    encode_time(out, a->mtime);
    encode_time(out, a->ctime);
  }
}

void encode_wcc_data(XdrEncoder& out, const WccData& w) {
  encode_pre_op_attr(out, w.before);
  encode_post_op_attr(out, w.after);
}

void encode_post_op_fh3(XdrEncoder& out, const std::optional<FileHandle>& fh) {
  out.boolean(fh.has_value());
  if (fh) encode_fh(out, *fh);
}

bool decode_fattr3(XdrDecoder& in, Attr& a) {
  std::uint32_t type = in.u32();
  if (type < 1 || type > 7) in.fail();
  a.type = static_cast<storage::FileType>(type);
  a.mode = in.u32();
  a.nlink = in.u32();
  a.uid = in.u32();
  a.gid = in.u32();
  a.size = in.u64();
  a.used = in.u64();
  a.rdev_major = in.u32();
  a.rdev_minor = in.u32();
  a.fsid = in.u64();
  a.fileid = in.u64();
  decode_time(in, a.atime);
  decode_time(in, a.mtime);
  decode_time(in, a.ctime);
  return in.ok();
}

bool decode_post_op_attr(XdrDecoder& in, std::optional<Attr>& a) {
  a.reset();
  if (!in.boolean()) return in.ok();
  Attr v;
  if (!decode_fattr3(in, v)) return false;
  a = v;
  return true;
}

bool decode_pre_op_attr(XdrDecoder& in, std::optional<WccAttr>& a) {
  a.reset();
  if (!in.boolean()) return in.ok();
  WccAttr v;
  v.size = in.u64();
  decode_time(in, v.mtime);
  decode_time(in, v.ctime);
  if (!in.ok()) return false;
  a = v;
  return true;
}

bool decode_wcc_data(XdrDecoder& in, WccData& w) {
  return decode_pre_op_attr(in, w.before) && decode_post_op_attr(in, w.after);
}

bool decode_post_op_fh3(XdrDecoder& in, std::optional<FileHandle>& fh) {
  fh.reset();
  if (!in.boolean()) return in.ok();
  FileHandle v;
  if (!decode_fh(in, v)) return false;
  fh = v;
  return true;
}

// ----------------------------------------------------------------- results

void encode(XdrEncoder& out, const GetattrRes& r) {
  encode_status(out, r.status);
  if (r.status == Nfsstat3::kOk) encode_fattr3(out, r.obj_attributes);
}

void encode(XdrEncoder& out, const SetattrRes& r) {
  encode_status(out, r.status);
  encode_wcc_data(out, r.obj_wcc);
}

void encode(XdrEncoder& out, const LookupRes& r) {
  encode_status(out, r.status);
  if (r.status == Nfsstat3::kOk) {
    encode_fh(out, r.object);
    encode_post_op_attr(out, r.obj_attributes);
  }
  encode_post_op_attr(out, r.dir_attributes);
}

void encode(XdrEncoder& out, const AccessRes& r) {
  encode_status(out, r.status);
  encode_post_op_attr(out, r.obj_attributes);
  if (r.status == Nfsstat3::kOk) out.u32(r.access);
}

void encode(XdrEncoder& out, const ReadlinkRes& r) {
  encode_status(out, r.status);
  encode_post_op_attr(out, r.symlink_attributes);
  if (r.status == Nfsstat3::kOk) out.string(r.data);
}

void encode(XdrEncoder& out, const ReadRes& r) {
  encode_status(out, r.status);
  encode_post_op_attr(out, r.file_attributes);
  if (r.status == Nfsstat3::kOk) {
    out.u32(static_cast<std::uint32_t>(r.data.size()));
    out.boolean(r.eof);
    out.opaque(r.data);
  }
}

void encode(XdrEncoder& out, const WriteRes& r) {
  encode_status(out, r.status);
  encode_wcc_data(out, r.file_wcc);
  if (r.status == Nfsstat3::kOk) {
    out.u32(r.count);
    out.u32(static_cast<std::uint32_t>(r.committed));
    encode_verifier(out, r.verf);
  }
}

void encode(XdrEncoder& out, const CreateRes& r) {
  encode_status(out, r.status);
  if (r.status == Nfsstat3::kOk) {
    encode_post_op_fh3(out, r.obj);
    encode_post_op_attr(out, r.obj_attributes);
  }
  encode_wcc_data(out, r.dir_wcc);
}

void encode(XdrEncoder& out, const RemoveRes& r) {
  encode_status(out, r.status);
  encode_wcc_data(out, r.dir_wcc);
}

void encode(XdrEncoder& out, const RenameRes& r) {
  encode_status(out, r.status);
  encode_wcc_data(out, r.fromdir_wcc);
  encode_wcc_data(out, r.todir_wcc);
}

void encode(XdrEncoder& out, const LinkRes& r) {
  encode_status(out, r.status);
  encode_post_op_attr(out, r.file_attributes);
  encode_wcc_data(out, r.linkdir_wcc);
}

void encode(XdrEncoder& out, const ReaddirRes& r) {
  encode_status(out, r.status);
  encode_post_op_attr(out, r.dir_attributes);
  if (r.status != Nfsstat3::kOk) return;
  encode_verifier(out, r.cookieverf);
  for (const storage::DirEntry& e : r.entries) {
    out.boolean(true);  // value follows
    out.u64(e.fileid);
    out.string(e.name);
    out.u64(e.cookie);
    if (r.plus) {
      encode_post_op_attr(out, e.attr);
      encode_post_op_fh3(out, e.handle);
    }
  }
  out.boolean(false);  // end of list
  out.boolean(r.eof);
}

void encode(XdrEncoder& out, const FsstatRes& r) {
  encode_status(out, r.status);
  encode_post_op_attr(out, r.obj_attributes);
  if (r.status != Nfsstat3::kOk) return;
  out.u64(r.stat.total_bytes);
  out.u64(r.stat.free_bytes);
  out.u64(r.stat.avail_bytes);
  out.u64(r.stat.total_files);
  out.u64(r.stat.free_files);
  out.u64(r.stat.avail_files);
  out.u32(r.invarsec);
}

void encode(XdrEncoder& out, const FsinfoRes& r) {
  encode_status(out, r.status);
  encode_post_op_attr(out, r.obj_attributes);
  if (r.status != Nfsstat3::kOk) return;
  out.u32(r.rtmax);
  out.u32(r.rtpref);
  out.u32(r.rtmult);
  out.u32(r.wtmax);
  out.u32(r.wtpref);
  out.u32(r.wtmult);
  out.u32(r.dtpref);
  out.u64(r.maxfilesize);
  encode_time(out, r.time_delta);
  out.u32(r.properties);
}

void encode(XdrEncoder& out, const PathconfRes& r) {
  encode_status(out, r.status);
  encode_post_op_attr(out, r.obj_attributes);
  if (r.status != Nfsstat3::kOk) return;
  out.u32(r.linkmax);
  out.u32(r.name_max);
  out.boolean(r.no_trunc);
  out.boolean(r.chown_restricted);
  out.boolean(r.case_insensitive);
  out.boolean(r.case_preserving);
}

void encode(XdrEncoder& out, const CommitRes& r) {
  encode_status(out, r.status);
  encode_wcc_data(out, r.file_wcc);
  if (r.status == Nfsstat3::kOk) encode_verifier(out, r.verf);
}

std::size_t entryplus3_size(const storage::DirEntry& e) {
  std::size_t fh = e.handle ? xdr::padded(e.handle->size) : kFhSize;
  return entry3_size(e.name.size()) + kPostOpAttrMax + 4 + 4 + fh;
}

// ------------------------------------------------------------ ReadResWriter

std::span<std::uint8_t> ReadResWriter::begin(std::uint32_t max_count) {
  start_ = out_.position();
  max_count_ = max_count;
  region_ = out_.reserve(kHeadMax + max_count);
  if (region_.empty()) return {};
  return region_.subspan(kHeadMax, max_count);
}

void ReadResWriter::finish_ok(const std::optional<storage::Attr>& attr, std::uint32_t count,
                              bool eof) {
  if (region_.empty()) return;  // begin() overflowed; out is already !ok()
  if (count > max_count_) count = max_count_;
  out_.rewind(start_);
  encode_status(out_, Nfsstat3::kOk);
  encode_post_op_attr(out_, attr);
  out_.u32(count);
  out_.boolean(eof);
  out_.u32(count);
  std::size_t head = out_.position() - start_;
  if (head != kHeadMax && count > 0) {
    std::memmove(region_.data() + head, region_.data() + kHeadMax, count);
  }
  out_.reserve(count);  // takes the (moved) data and zeroes the padding
}

void ReadResWriter::finish_error(Nfsstat3 status, const std::optional<storage::Attr>& attr) {
  out_.rewind(start_);
  encode_status(out_, status);
  encode_post_op_attr(out_, attr);
}

}  // namespace nasd::nfs3
