// Nfs4Program: the NFSv4.2 operations (RFC 7862) and the extended attribute
// operations (RFC 8276).  See nfs4_program.h; dispatched from run_op().
//
//   SEEK        SEEK_DATA / SEEK_HOLE via lseek; NFS4ERR_NXIO at or past EOF
//   ALLOCATE    fallocate; DEALLOCATE: PUNCH_HOLE | KEEP_SIZE; NOTSUPP where
//               the filesystem refuses
//   COPY        intra-server only (a named source server: NOTSUPP), always
//               synchronous (an asynchronous request is answered synchronously
//               with no callback id, RFC 7862 §15.2.3); at most kCopyMax bytes
//               per COPY (a short count, the client continues), UNSTABLE4 with
//               the server's write verifier (the client COMMITs)
//   CLONE       FICLONERANGE; NOTSUPP where the filesystem cannot reflink
//   READ_PLUS   holes (SEEK_DATA) as hole segments, the data between them
//               (up to SEEK_HOLE) as data segments read like READ's
//   GETXATTR / SETXATTR / LISTXATTRS / REMOVEXATTR on user.* attributes
// COPY_NOTIFY, OFFLOAD_CANCEL, OFFLOAD_STATUS, IO_ADVISE, WRITE_SAME,
// LAYOUTERROR, LAYOUTSTATS and every other unimplemented operation answer
// NFS4ERR_NOTSUPP.
#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "server/nfs4_compound.h"

namespace nasd::server {

using nfs4::Nfsstat4;
using nfs4::Op;
using storage::Status;

namespace {

/// Bytes one COPY copies at most: it runs on a persist worker thread.
constexpr std::uint64_t kCopyMax = 16u << 20;
/// Most segments in one READ_PLUS reply (RFC 7862 §15.10: the client reads
/// on from the end of the last one).
constexpr std::uint32_t kReadPlusSegments = 16;

/// ACCESS4 bits (RFC 8881 §18.1).
constexpr std::uint32_t kAccessRead = 0x01, kAccessModify = 0x04;

/// Storage status of an xattr call -> nfsstat4 (RFC 8276 §8.4): an absent
/// attribute is NOXATTR, a too-large value XATTR2BIG.
Nfsstat4 xattr_status(Status s) {
  if (s == Status::kNoEnt) return Nfsstat4::kNoXattr;
  if (s == Status::kFBig) return Nfsstat4::kXattr2Big;
  return to_nfsstat4(s);
}

/// xattrkey4 checks: empty -> INVAL, over 255 bytes with "user." ->
/// NAMETOOLONG, NUL -> BADCHAR.
Nfsstat4 check_xattr_name(std::string_view name) {
  if (name.empty()) return Nfsstat4::kInval;
  if (name.size() + 5 > nfs4::kNameMax) return Nfsstat4::kNameTooLong;
  if (name.find('\0') != std::string_view::npos) return Nfsstat4::kBadChar;
  return Nfsstat4::kOk;
}

template <class A>
bool skip(xdr::XdrDecoder& in) {
  A a;
  return nfs4::decode(in, a);
}

}  // namespace

namespace nfs4_detail {

bool scan_op_42(std::uint32_t op, xdr::XdrDecoder& in, std::uint32_t max_read,
                std::size_t* extra) {
  *extra = 0;
  switch (static_cast<Op>(op)) {
    case Op::kSeek: return skip<nfs4::SeekArgs>(in);
    case Op::kAllocate: case Op::kDeallocate: return skip<nfs4::AllocateArgs>(in);
    case Op::kCopy: return skip<nfs4::CopyArgs>(in);
    case Op::kClone: return skip<nfs4::CloneArgs>(in);
    case Op::kReadPlus: {
      nfs4::ReadPlusArgs a;
      if (!nfs4::decode(in, a)) return false;
      // Data up to count, plus the segments' headers (a hole: 20 bytes).
      *extra = std::min(a.count, max_read) + 24 * kReadPlusSegments;
      return true;
    }
    case Op::kGetxattr:
      *extra = nfs4::kXattrValueMax;
      return skip<nfs4::GetxattrArgs>(in);
    case Op::kRemovexattr: return skip<nfs4::GetxattrArgs>(in);
    case Op::kSetxattr: return skip<nfs4::SetxattrArgs>(in);
    case Op::kListxattrs: {
      nfs4::ListxattrsArgs a;
      if (!nfs4::decode(in, a)) return false;
      *extra = std::min<std::size_t>(a.maxcount, nfs4::kXattrValueMax);
      return true;
    }
    default:
      return false;
  }
}

bool modifies_42(Op op) {
  switch (op) {
    case Op::kAllocate: case Op::kDeallocate: case Op::kCopy: case Op::kClone:
    case Op::kSetxattr: case Op::kRemovexattr:
      return true;
    default:
      return false;
  }
}

std::uint32_t access_base(std::uint32_t want) {
  std::uint32_t base = want & 0x3f;
  if (want & (nfs4::kAccessXaRead | nfs4::kAccessXaList)) base |= kAccessRead;
  if (want & nfs4::kAccessXaWrite) base |= kAccessModify;
  return base;
}

std::uint32_t access_xattr(std::uint32_t want, std::uint32_t granted) {
  std::uint32_t out = granted & 0x3f;
  if (granted & kAccessRead) out |= want & (nfs4::kAccessXaRead | nfs4::kAccessXaList);
  if (granted & kAccessModify) out |= want & nfs4::kAccessXaWrite;
  return out;
}

}  // namespace nfs4_detail

Nfsstat4 Nfs4Program::check_io_stateid(Compound& c, const nfs4::Stateid4& stateid,
                                       const storage::FileHandle& fh, bool write) {
  nfs4::Stateid4 sid = stateid;
  if (sid.is_current()) {
    if (!c.has_current_stateid) return Nfsstat4::kBadStateid;
    sid = c.current_stateid;
  }
  return state_.check_stateid(sid, fh, write);
}

Nfsstat4 Nfs4Program::need_file(Compound& c, bool saved) {
  if (!c.current.set) return Nfsstat4::kNoFileHandle;
  if (c.current.pseudo) return Nfsstat4::kIsDir;
  if (!saved) return Nfsstat4::kOk;
  if (!c.saved.set) return Nfsstat4::kNoFileHandle;
  if (c.saved.pseudo) return Nfsstat4::kIsDir;
  if (c.saved.export_id != c.current.export_id) return Nfsstat4::kXdev;
  return Nfsstat4::kOk;
}

Nfsstat4 Nfs4Program::op_seek(Compound& c, const nfs4::SeekArgs& a, xdr::XdrEncoder& out) {
  if (Nfsstat4 st = need_file(c, false); st != Nfsstat4::kOk) return st;
  if (Nfsstat4 st = check_io_stateid(c, a.stateid, c.current.fh, false); st != Nfsstat4::kOk) {
    return st;
  }
  std::uint64_t pos = 0;
  bool eof = false;
  Status s = backend_.seek(c.current.cred, c.current.fh, a.offset, a.what == nfs4::kContentData,
                           &pos, &eof);
  if (s != Status::kOk) return c.storage(s);
  out.boolean(eof);
  out.u64(pos);
  return Nfsstat4::kOk;
}

Nfsstat4 Nfs4Program::op_allocate(Compound& c, const nfs4::AllocateArgs& a, bool deallocate) {
  if (Nfsstat4 st = need_file(c, false); st != Nfsstat4::kOk) return st;
  if (Nfsstat4 st = check_io_stateid(c, a.stateid, c.current.fh, true); st != Nfsstat4::kOk) {
    return st;
  }
  if (!deallocate && a.length == 0) return Nfsstat4::kInval;
  storage::WccData wcc;
  Status s = deallocate
                 ? backend_.deallocate(c.current.cred, c.current.fh, a.offset, a.length, &wcc)
                 : backend_.allocate(c.current.cred, c.current.fh, a.offset, a.length, &wcc);
  return s == Status::kOk ? Nfsstat4::kOk : c.storage(s);
}

Nfsstat4 Nfs4Program::op_copy(Compound& c, const nfs4::CopyArgs& a, xdr::XdrEncoder& out) {
  if (a.source_servers) return Nfsstat4::kNotSupp;  // inter-server COPY (§4)
  // SAVED_FH: source, CURRENT_FH: destination (RFC 7862 §15.2).
  if (Nfsstat4 st = need_file(c, true); st != Nfsstat4::kOk) return st;
  if (Nfsstat4 st = check_io_stateid(c, a.src_stateid, c.saved.fh, false); st != Nfsstat4::kOk) {
    return st;
  }
  if (Nfsstat4 st = check_io_stateid(c, a.dst_stateid, c.current.fh, true); st != Nfsstat4::kOk) {
    return st;
  }
  std::uint64_t count = a.count;
  if (count == 0 || c.saved.fh == c.current.fh) {
    storage::Attr src;
    if (Status s = backend_.getattr(c.saved.fh, &src); s != Status::kOk) return c.storage(s);
    if (a.src_offset > src.size) return Nfsstat4::kInval;
    if (count == 0) count = src.size - a.src_offset;  // 0: to the end of the source
    // Overlapping ranges of one file (§15.2.3).
    if (c.saved.fh == c.current.fh && a.src_offset < a.dst_offset + count &&
        a.dst_offset < a.src_offset + count) {
      return Nfsstat4::kInval;
    }
  }
  std::uint64_t copied = 0;
  if (count > 0) {
    storage::WccData wcc;
    Status s = backend_.copy(c.current.cred, c.saved.fh, a.src_offset, c.current.fh,
                             a.dst_offset, std::min(count, kCopyMax), &copied, &wcc);
    if (s != Status::kOk) return c.storage(s);
  }
  out.u32(0);       // wr_callback_id<1>: none, the copy is done
  out.u64(copied);  // wr_count
  out.u32(static_cast<std::uint32_t>(storage::StableHow::kUnstable));  // the client COMMITs
  out.fixed_opaque(writeverf_);
  out.boolean(true);  // cr_consecutive
  out.boolean(true);  // cr_synchronous
  return Nfsstat4::kOk;
}

Nfsstat4 Nfs4Program::op_clone(Compound& c, const nfs4::CloneArgs& a) {
  if (Nfsstat4 st = need_file(c, true); st != Nfsstat4::kOk) return st;
  if (Nfsstat4 st = check_io_stateid(c, a.src_stateid, c.saved.fh, false); st != Nfsstat4::kOk) {
    return st;
  }
  if (Nfsstat4 st = check_io_stateid(c, a.dst_stateid, c.current.fh, true); st != Nfsstat4::kOk) {
    return st;
  }
  storage::WccData wcc;
  Status s = backend_.clone(c.current.cred, c.saved.fh, a.src_offset, c.current.fh, a.dst_offset,
                            a.count, &wcc);
  return s == Status::kOk ? Nfsstat4::kOk : c.storage(s);
}

Nfsstat4 Nfs4Program::op_read_plus(Compound& c, const nfs4::ReadPlusArgs& a,
                                   xdr::XdrEncoder& out) {
  if (Nfsstat4 st = need_file(c, false); st != Nfsstat4::kOk) return st;
  if (Nfsstat4 st = check_io_stateid(c, a.stateid, c.current.fh, false); st != Nfsstat4::kOk) {
    return st;
  }
  // The range [offset, offset + count) up to the end of the file as a list
  // of segments (RFC 7862 §15.10.3): holes (found with SEEK_DATA) as
  // NFS4_CONTENT_HOLE, the data between them (up to SEEK_HOLE) read into
  // NFS4_CONTENT_DATA.  rpa_count bounds the data bytes; at most
  // kReadPlusSegments segments, the client asks again for the rest.
  const std::uint32_t count = std::min(a.count, limits_.max_read);
  const auto& cred = c.current.cred;
  const auto& fh = c.current.fh;
  storage::Attr attr;
  if (Status s = backend_.getattr(fh, &attr); s != Status::kOk) return c.storage(s);
  const std::uint64_t size = attr.size;
  const std::uint64_t end =
      a.offset > ~std::uint64_t{0} - count ? ~std::uint64_t{0} : a.offset + count;
  const std::size_t eof_pos = out.position();
  out.u32(0);  // rpr_eof, patched
  const std::size_t segments_pos = out.position();
  out.u32(0);  // segment count, patched
  std::uint32_t segments = 0;
  std::uint64_t pos = a.offset;
  bool eof = pos >= size;
  while (!eof && pos < end && segments < kReadPlusSegments) {
    std::uint64_t data_at = 0;
    bool at_end = false;
    Status s = backend_.seek(cred, fh, pos, /*data=*/true, &data_at, &at_end);
    if (s == Status::kNxio) {
      data_at = size;  // no data after pos: a hole up to the end of the file
    } else if (s != Status::kOk) {
      return c.storage(s);
    }
    ++segments;
    if (data_at > pos) {
      const std::uint64_t hole_end = std::min({data_at, end, size});
      out.u32(nfs4::kContentHole);
      out.u64(pos);
      out.u64(hole_end - pos);
      pos = hole_end;
    } else {
      std::uint64_t hole_at = 0;
      s = backend_.seek(cred, fh, pos, /*data=*/false, &hole_at, &at_end);
      if (s == Status::kNxio) {
        hole_at = size;
      } else if (s != Status::kOk) {
        return c.storage(s);
      }
      const auto want = static_cast<std::uint32_t>(std::min(std::max(hole_at, pos + 1), end) - pos);
      out.u32(nfs4::kContentData);
      out.u64(pos);
      std::uint32_t got = 0;
      bool read_eof = false;
      if (Nfsstat4 st = read_data(c, pos, want, out, &got, &read_eof); st != Nfsstat4::kOk) {
        return st;
      }
      pos += got;
      if (read_eof) eof = true;
      if (got < want) break;  // a short read: the file shrank meanwhile
    }
    if (pos >= size) eof = true;
  }
  out.patch_u32(segments_pos, segments);
  out.patch_u32(eof_pos, eof ? 1 : 0);
  return Nfsstat4::kOk;
}

Nfsstat4 Nfs4Program::op_xattr(Op op, xdr::XdrDecoder& in, Compound& c, xdr::XdrEncoder& out) {
  auto need_fh = [&]() -> Nfsstat4 {
    if (!c.current.set) return Nfsstat4::kNoFileHandle;
    return c.current.pseudo ? Nfsstat4::kNotSupp : Nfsstat4::kOk;  // no xattrs there
  };
  const auto& cred = c.current.cred;
  switch (op) {
    case Op::kGetxattr: {
      nfs4::GetxattrArgs a;
      if (!nfs4::decode(in, a)) return Nfsstat4::kBadXdr;
      if (Nfsstat4 st = need_fh(); st != Nfsstat4::kOk) return st;
      if (Nfsstat4 st = check_xattr_name(a.name); st != Nfsstat4::kOk) return st;
      std::vector<std::uint8_t> value;
      Status s = backend_.getxattr(cred, c.current.fh, a.name, &value);
      if (s != Status::kOk) {
        c.storage(s);
        return xattr_status(s);
      }
      out.opaque(value);
      return Nfsstat4::kOk;
    }
    case Op::kSetxattr: {
      nfs4::SetxattrArgs a;
      if (!nfs4::decode(in, a)) return Nfsstat4::kBadXdr;
      if (Nfsstat4 st = need_fh(); st != Nfsstat4::kOk) return st;
      if (Nfsstat4 st = check_xattr_name(a.name); st != Nfsstat4::kOk) return st;
      storage::WccData wcc;
      Status s = backend_.setxattr(cred, c.current.fh, a.name, a.value,
                                   static_cast<storage::XattrSetMode>(a.option), &wcc);
      if (s != Status::kOk) {
        c.storage(s);
        return xattr_status(s);
      }
      nfs4::encode_change_info(out, wcc);
      return Nfsstat4::kOk;
    }
    case Op::kRemovexattr: {
      nfs4::GetxattrArgs a;
      if (!nfs4::decode(in, a)) return Nfsstat4::kBadXdr;
      if (Nfsstat4 st = need_fh(); st != Nfsstat4::kOk) return st;
      if (Nfsstat4 st = check_xattr_name(a.name); st != Nfsstat4::kOk) return st;
      storage::WccData wcc;
      Status s = backend_.removexattr(cred, c.current.fh, a.name, &wcc);
      if (s != Status::kOk) {
        c.storage(s);
        return xattr_status(s);
      }
      nfs4::encode_change_info(out, wcc);
      return Nfsstat4::kOk;
    }
    case Op::kListxattrs: {
      nfs4::ListxattrsArgs a;
      if (!nfs4::decode(in, a)) return Nfsstat4::kBadXdr;
      if (Nfsstat4 st = need_fh(); st != Nfsstat4::kOk) return st;
      std::vector<std::string> names;
      Status s = backend_.listxattrs(cred, c.current.fh, &names);
      if (s != Status::kOk) return c.storage(s);
      // The cookie is the index of the next name (0: from the start).
      if (a.cookie > names.size()) return Nfsstat4::kBadCookie;
      // lxa_maxcount bounds the whole LISTXATTRS4resok: cookie, array
      // length and eof take 16 bytes (RFC 8276 §8.4.3.2).
      const std::size_t budget = std::min<std::size_t>(a.maxcount, nfs4::kXattrValueMax);
      std::size_t used = 16;
      auto i = static_cast<std::size_t>(a.cookie);
      std::size_t end = i;
      while (end < names.size() && used + 4 + xdr::padded(names[end].size()) <= budget) {
        used += 4 + xdr::padded(names[end].size());
        ++end;
      }
      if (end == i && i < names.size()) return Nfsstat4::kTooSmall;
      out.u64(end);
      out.u32(static_cast<std::uint32_t>(end - i));
      for (; i < end; ++i) out.string(names[i]);
      out.boolean(end == names.size());
      return Nfsstat4::kOk;
    }
    default:
      return Nfsstat4::kNotSupp;
  }
}

Nfsstat4 Nfs4Program::run_op_42(std::uint32_t opnum, xdr::XdrDecoder& in, Compound& c,
                                xdr::XdrEncoder& out) {
  const Op op = static_cast<Op>(opnum);
  switch (op) {
    case Op::kSeek: {
      nfs4::SeekArgs a;
      if (!nfs4::decode(in, a)) return Nfsstat4::kBadXdr;
      return op_seek(c, a, out);
    }
    case Op::kAllocate: case Op::kDeallocate: {
      nfs4::AllocateArgs a;
      if (!nfs4::decode(in, a)) return Nfsstat4::kBadXdr;
      return op_allocate(c, a, op == Op::kDeallocate);
    }
    case Op::kCopy: {
      nfs4::CopyArgs a;
      if (!nfs4::decode(in, a)) return Nfsstat4::kBadXdr;
      return op_copy(c, a, out);
    }
    case Op::kClone: {
      nfs4::CloneArgs a;
      if (!nfs4::decode(in, a)) return Nfsstat4::kBadXdr;
      return op_clone(c, a);
    }
    case Op::kReadPlus: {
      nfs4::ReadPlusArgs a;
      if (!nfs4::decode(in, a)) return Nfsstat4::kBadXdr;
      return op_read_plus(c, a, out);
    }
    case Op::kGetxattr: case Op::kSetxattr: case Op::kListxattrs: case Op::kRemovexattr:
      return op_xattr(op, in, c, out);
    default:
      // Every other operation of the minor version, 4.2's COPY_NOTIFY,
      // OFFLOAD_CANCEL / OFFLOAD_STATUS (no asynchronous or inter-server
      // copies), IO_ADVISE, WRITE_SAME and the pNFS ones included.
      return Nfsstat4::kNotSupp;
  }
}

}  // namespace nasd::server
