// NFSv4.2 operations (RFC 7862 §15): SEEK, ALLOCATE, DEALLOCATE, COPY, CLONE,
// READ_PLUS.
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
// COPY_NOTIFY, OFFLOAD_CANCEL, OFFLOAD_STATUS, IO_ADVISE, WRITE_SAME,
// LAYOUTERROR and LAYOUTSTATS have no row: NFS4ERR_NOTSUPP.
#include <algorithm>

#include "server/nfs4/ops.h"

namespace nasd::server::nfs4ops {

using nfs4::Nfsstat4;
using storage::Status;

namespace {

/// Bytes one COPY copies at most: it runs on a persist worker thread.
constexpr std::uint64_t kCopyMax = 16u << 20;

/// Stateid of an I/O operation: the current stateid substituted, then
/// checked against the file like READ / WRITE do.
Nfsstat4 check_io_stateid(Nfs4Compound& c, const nfs4::Stateid4& stateid,
                          const storage::FileHandle& fh, bool write) {
  nfs4::Stateid4 sid;
  if (Nfsstat4 st = c.stateid(stateid, true, &sid); st != Nfsstat4::kOk) return st;
  return c.svc.state.check_stateid(sid, fh, write);
}

/// The current filehandle must be a regular file of an export (pseudo
/// directories: ISDIR); with `saved`, the saved one too, same export.
Nfsstat4 need_file(Nfs4Compound& c, bool saved) {
  if (!c.current.set) return Nfsstat4::kNoFileHandle;
  if (c.current.pseudo) return Nfsstat4::kIsDir;
  if (!saved) return Nfsstat4::kOk;
  if (!c.saved.set) return Nfsstat4::kNoFileHandle;
  if (c.saved.pseudo) return Nfsstat4::kIsDir;
  if (c.saved.export_id != c.current.export_id) return Nfsstat4::kXdev;
  return Nfsstat4::kOk;
}

Nfsstat4 allocate(Nfs4Compound& c, const nfs4::AllocateArgs& a, bool deallocate) {
  if (Nfsstat4 st = need_file(c, false); st != Nfsstat4::kOk) return st;
  if (Nfsstat4 st = check_io_stateid(c, a.stateid, c.current.fh, true); st != Nfsstat4::kOk) {
    return st;
  }
  if (!deallocate && a.length == 0) return Nfsstat4::kInval;
  storage::WccData wcc;
  Status s = deallocate
                 ? c.svc.backend.deallocate(c.current.cred, c.current.fh, a.offset, a.length, &wcc)
                 : c.svc.backend.allocate(c.current.cred, c.current.fh, a.offset, a.length, &wcc);
  return s == Status::kOk ? Nfsstat4::kOk : c.storage(s);
}

}  // namespace

Nfsstat4 op_seek(Nfs4Compound& c, const Nfs4DecodedOp& d, xdr::XdrEncoder& out) {
  const auto& a = std::get<nfs4::SeekArgs>(d.args);
  if (Nfsstat4 st = need_file(c, false); st != Nfsstat4::kOk) return st;
  if (Nfsstat4 st = check_io_stateid(c, a.stateid, c.current.fh, false); st != Nfsstat4::kOk) {
    return st;
  }
  std::uint64_t pos = 0;
  bool eof = false;
  Status s = c.svc.backend.seek(c.current.cred, c.current.fh, a.offset, a.what == nfs4::kContentData,
                           &pos, &eof);
  if (s != Status::kOk) return c.storage(s);
  out.boolean(eof);
  out.u64(pos);
  return Nfsstat4::kOk;
}

Nfsstat4 op_copy(Nfs4Compound& c, const Nfs4DecodedOp& d, xdr::XdrEncoder& out) {
  const auto& a = std::get<nfs4::CopyArgs>(d.args);
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
    if (Status s = c.svc.backend.getattr(c.saved.fh, &src); s != Status::kOk) return c.storage(s);
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
    Status s = c.svc.backend.copy(c.current.cred, c.saved.fh, a.src_offset, c.current.fh,
                             a.dst_offset, std::min(count, kCopyMax), &copied, &wcc);
    if (s != Status::kOk) return c.storage(s);
  }
  out.u32(0);       // wr_callback_id<1>: none, the copy is done
  out.u64(copied);  // wr_count
  out.u32(static_cast<std::uint32_t>(storage::StableHow::kUnstable));  // the client COMMITs
  out.fixed_opaque(c.svc.writeverf);
  out.boolean(true);  // cr_consecutive
  out.boolean(true);  // cr_synchronous
  return Nfsstat4::kOk;
}

Nfsstat4 op_clone(Nfs4Compound& c, const Nfs4DecodedOp& d, xdr::XdrEncoder&) {
  const auto& a = std::get<nfs4::CloneArgs>(d.args);
  if (Nfsstat4 st = need_file(c, true); st != Nfsstat4::kOk) return st;
  if (Nfsstat4 st = check_io_stateid(c, a.src_stateid, c.saved.fh, false); st != Nfsstat4::kOk) {
    return st;
  }
  if (Nfsstat4 st = check_io_stateid(c, a.dst_stateid, c.current.fh, true); st != Nfsstat4::kOk) {
    return st;
  }
  storage::WccData wcc;
  Status s = c.svc.backend.clone(c.current.cred, c.saved.fh, a.src_offset, c.current.fh, a.dst_offset,
                            a.count, &wcc);
  return s == Status::kOk ? Nfsstat4::kOk : c.storage(s);
}

Nfsstat4 op_read_plus(Nfs4Compound& c, const Nfs4DecodedOp& d, xdr::XdrEncoder& out) {
  const auto& a = std::get<nfs4::ReadPlusArgs>(d.args);
  if (Nfsstat4 st = need_file(c, false); st != Nfsstat4::kOk) return st;
  if (Nfsstat4 st = check_io_stateid(c, a.stateid, c.current.fh, false); st != Nfsstat4::kOk) {
    return st;
  }
  // The range [offset, offset + count) up to the end of the file as a list
  // of segments (RFC 7862 §15.10.3): holes (found with SEEK_DATA) as
  // NFS4_CONTENT_HOLE, the data between them (up to SEEK_HOLE) read into
  // NFS4_CONTENT_DATA.  rpa_count bounds the data bytes; at most
  // kReadPlusSegments segments, the client asks again for the rest.
  const std::uint32_t count = std::min(a.count, c.svc.limits.max_read);
  const auto& cred = c.current.cred;
  const auto& fh = c.current.fh;
  storage::Attr attr;
  if (Status s = c.svc.backend.getattr(fh, &attr); s != Status::kOk) return c.storage(s);
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
    Status s = c.svc.backend.seek(cred, fh, pos, /*data=*/true, &data_at, &at_end);
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
      s = c.svc.backend.seek(cred, fh, pos, /*data=*/false, &hole_at, &at_end);
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


Nfsstat4 op_allocate(Nfs4Compound& c, const Nfs4DecodedOp& d, xdr::XdrEncoder&) {
  return allocate(c, std::get<nfs4::AllocateArgs>(d.args), false);
}

Nfsstat4 op_deallocate(Nfs4Compound& c, const Nfs4DecodedOp& d, xdr::XdrEncoder&) {
  return allocate(c, std::get<nfs4::AllocateArgs>(d.args), true);
}

}  // namespace nasd::server::nfs4ops
