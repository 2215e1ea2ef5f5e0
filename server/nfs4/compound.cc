// Steps several NFSv4 operations share; see compound.h.
#include "server/nfs4/compound.h"

#include <algorithm>
#include <cstring>

#include "server/exports/access.h"

namespace nasd::server {

using nfs4::Nfsstat4;
using storage::Status;

Nfsstat4 Nfs4Compound::stateid(const nfs4::Stateid4& sent, bool strict,
                               nfs4::Stateid4* out) const {
  *out = sent;
  if (sent.is_current() && minor >= 1) {
    if (has_current_stateid) {
      *out = current_stateid;
    } else if (strict) {
      return Nfsstat4::kBadStateid;
    }
  }
  return Nfsstat4::kOk;
}

namespace nfs4ops {

Nfsstat4 check_name(std::string_view name) {
  if (name.empty()) return Nfsstat4::kInval;
  if (name.size() > nfs4::kNameMax) return Nfsstat4::kNameTooLong;
  if (name == "." || name == "..") return Nfsstat4::kBadName;
  if (name.find('/') != std::string_view::npos || name.find('\0') != std::string_view::npos) {
    return Nfsstat4::kBadChar;
  }
  return Nfsstat4::kOk;
}

Nfsstat4 resolve_fh(Nfs4Services& svc, const ExportTable& table, const PseudoFs& pseudo,
                    const CallContext& ctx, const storage::FileHandle& fh, Nfs4Fh* out) {
  Nfs4Fh f;
  f.fh = fh;
  if (PseudoFs::is_pseudo(fh)) {
    auto node = pseudo.find(fh);
    if (!node) return Nfsstat4::kStale;
    f.set = f.pseudo = true;
    f.node = *node;
    f.options = ExportOptions{};  // read-only
    *out = f;
    return Nfsstat4::kOk;
  }
  AccessGrant grant;
  switch (access_check(svc.backend, table, fh, AccessCaller{ctx.header, ctx.peer, ctx.peer_port},
                       &grant)) {
    case AccessDenial::kNone: break;
    case AccessDenial::kBadHandle: return Nfsstat4::kBadHandle;
    case AccessDenial::kStale: return Nfsstat4::kStale;
    case AccessDenial::kNotExported: case AccessDenial::kInsecurePort: return Nfsstat4::kAccess;
    case AccessDenial::kFlavor: return Nfsstat4::kWrongSec;  // RFC 8881 §2.6.3.1
  }
  f.export_id = grant.export_id;
  f.options = grant.options;
  f.cred = grant.cred;
  f.set = true;
  *out = f;
  return Nfsstat4::kOk;
}

Nfsstat4 set_fh(Nfs4Compound& c, const storage::FileHandle& fh, Nfs4Fh* out) {
  Nfsstat4 st = resolve_fh(c.svc, *c.table, *c.pseudo, c.ctx, fh, out);
  if (st == Nfsstat4::kOk && !out->pseudo) {
    c.ctx.export_id = out->export_id;  // per-export metrics: the last export named
    c.ctx.has_export = true;
  }
  return st;
}

Status root_fh(Nfs4Services& svc, const PseudoFs& pseudo, storage::FileHandle* out) {
  const auto& root = pseudo.node(PseudoFs::kRoot);
  if (root.export_id) return svc.backend.root_handle(*root.export_id, out);  // an export at "/"
  *out = root.handle;
  return Status::kOk;
}

Nfsstat4 put_root(Nfs4Compound& c) {
  storage::FileHandle fh;
  if (Status s = root_fh(c.svc, *c.pseudo, &fh); s != Status::kOk) return c.storage(s);
  return set_fh(c, fh, &c.current);
}

Nfsstat4 lookup(Nfs4Compound& c, std::string_view name) {
  if (!c.current.set) return Nfsstat4::kNoFileHandle;
  if (Nfsstat4 st = check_name(name); st != Nfsstat4::kOk) return st;
  if (c.current.pseudo) {
    auto child = c.pseudo->child(c.current.node, name);
    if (!child) return Nfsstat4::kNoEnt;
    const auto& n = c.pseudo->node(*child);
    if (!n.export_id) return set_fh(c, n.handle, &c.current);
    storage::FileHandle fh;
    if (Status s = c.svc.backend.root_handle(*n.export_id, &fh); s != Status::kOk) {
      return c.storage(s);
    }
    return set_fh(c, fh, &c.current);
  }
  storage::FileHandle fh;
  storage::Attr attr;
  // Followed only by GETFH / GETATTR: the object is described, not used.
  // LOOKUP4res has no directory attributes: none asked for.
  const bool attrs_only = c.op_index >= c.attrs_tail;
  Status s = be_lookup(c, name, &fh, &attr, nullptr, attrs_only);
  if (s == Status::kNotDir) {
    storage::Attr a;
    if (be_getattr(c, c.current.fh, &a) == Status::kOk && a.type == storage::FileType::kLnk) {
      return Nfsstat4::kSymlink;
    }
  }
  if (s != Status::kOk) return c.storage(s);
  c.current.fh = fh;
  c.looked_up_attr = attr;
  return Nfsstat4::kOk;
}

Nfsstat4 encode_attrs(Nfs4Compound& c, const Nfs4Fh& f, const nfs4::Bitmap4& req,
                      xdr::XdrEncoder& out, const storage::Attr* known) {
  nfs4::AttrValues v;
  v.fh = f.fh.bytes();
  v.lease_time = static_cast<std::uint32_t>(c.svc.state.config().lease.count());
  v.max_read = c.svc.limits.max_read;
  v.max_write = c.svc.limits.max_write;
  v.minor = c.minor;
  if (f.pseudo) {
    const auto& n = c.pseudo->node(f.node);
    v.attr.type = storage::FileType::kDir;
    v.attr.mode = 0555;
    v.attr.nlink = 2 + static_cast<std::uint32_t>(n.children.size());
    v.attr.size = v.attr.used = 4096;
    v.attr.fileid = n.fileid;
    v.attr.atime = v.attr.mtime = v.attr.ctime = c.svc.started;
    v.mounted_on_fileid = n.fileid;
    v.fsid_major = v.fsid_minor = 0;
    v.xattr_support = false;
    if (nfs4::needs_fsstat(req)) v.fsstat = storage::FsStat{};
  } else {
    if (known) {
      v.attr = *known;
    } else if (Status s = be_getattr(c, f.fh, &v.attr); s != Status::kOk) {
      return c.storage(s);
    }
    v.fsid_major = v.attr.fsid;
    v.fsid_minor = f.export_id;
    v.mounted_on_fileid = v.attr.fileid;
    if (nfs4::needs_fsstat(req)) {
      if (c.nowait) {  // statvfs through a handle that may need opening
        c.would_block = true;
        return Nfsstat4::kDelay;
      }
      storage::FsStat fs;
      std::optional<storage::Attr> ignored;
      if (Status s = c.svc.backend.fsstat(f.fh, &fs, &ignored); s != Status::kOk) {
        return c.storage(s);
      }
      v.fsstat = fs;
    }
  }
  nfs4::encode_fattr(out, req, v);
  return Nfsstat4::kOk;
}

Nfsstat4 read_data(Nfs4Compound& c, std::uint64_t offset, std::uint32_t count,
                   xdr::XdrEncoder& out, std::uint32_t* got, bool* eof) {
  *got = 0;
  *eof = false;
  const std::size_t len_pos = out.position();
  out.u32(0);  // length, patched
  std::span<std::uint8_t> dst = out.reserve(count);
  if (!out.ok()) return Nfsstat4::kServerFault;
  std::optional<storage::Attr> attr;
  Status s = be_read(c, offset, dst, got, eof, &attr);
  if (s != Status::kOk) return c.storage(s);
  const std::size_t pad = std::min<std::size_t>(xdr::pad(*got), count - *got);
  if (pad) std::memset(dst.data() + *got, 0, pad);
  out.rewind(len_pos + 4 + xdr::padded(*got));
  out.patch_u32(len_pos, *got);
  c.ctx.data_bytes_read += *got;
  return Nfsstat4::kOk;
}

namespace {

/// A try_* call's status, noting kWouldBlock in the COMPOUND.
Status noted(Nfs4Compound& c, Status s) {
  if (s == Status::kWouldBlock) c.would_block = true;
  return s;
}

}  // namespace

Status be_getattr(Nfs4Compound& c, const storage::FileHandle& fh, storage::Attr* out) {
  if (!c.nowait) return c.svc.backend.getattr(fh, out);
  return noted(c, c.svc.backend.try_getattr(fh, out));
}

Status be_lookup(Nfs4Compound& c, std::string_view name, storage::FileHandle* out,
                 storage::Attr* attr, std::optional<storage::Attr>* dir_attr, bool attrs_only) {
  auto& be = c.svc.backend;
  if (!c.nowait) return be.lookup(c.current.cred, c.current.fh, name, out, attr, dir_attr);
  return noted(c, attrs_only ? be.try_lookup_for_attrs(c.current.cred, c.current.fh, name, out,
                                                       attr, dir_attr)
                             : be.try_lookup(c.current.cred, c.current.fh, name, out, attr,
                                             dir_attr));
}

Status be_access(Nfs4Compound& c, const storage::FileHandle& fh, std::uint32_t requested,
                 std::uint32_t* granted, std::optional<storage::Attr>* attr) {
  if (!c.nowait) return c.svc.backend.access(c.current.cred, fh, requested, granted, attr);
  return noted(c, c.svc.backend.try_access(c.current.cred, fh, requested, granted, attr));
}

Status be_read(Nfs4Compound& c, std::uint64_t offset, std::span<std::uint8_t> dst,
               std::uint32_t* got, bool* eof, std::optional<storage::Attr>* attr) {
  auto& be = c.svc.backend;
  if (!c.nowait) return be.read(c.current.cred, c.current.fh, offset, dst, got, eof, attr);
  return noted(c, be.try_read(c.current.cred, c.current.fh, offset, dst, got, eof, attr));
}

Status be_readdir(Nfs4Compound& c, std::uint64_t cookie, const storage::Verifier& cookieverf,
                  const std::function<bool(const storage::DirEntry&)>& fits,
                  std::vector<storage::DirEntry>* entries, storage::Verifier* verf, bool* eof,
                  std::optional<storage::Attr>* dir_attr) {
  auto& be = c.svc.backend;
  if (!c.nowait) {
    return be.readdir(c.current.cred, c.current.fh, cookie, cookieverf, true, fits, entries,
                      verf, eof, dir_attr);
  }
  return noted(c, be.try_readdir(c.current.cred, c.current.fh, cookie, cookieverf, true, fits,
                                 entries, verf, eof, dir_attr));
}

}  // namespace nfs4ops
}  // namespace nasd::server
