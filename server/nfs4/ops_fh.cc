// NFSv4 operations on filehandles and attributes: PUTFH, PUTROOTFH,
// PUTPUBFH, GETFH, SAVEFH, RESTOREFH, LOOKUP, LOOKUPP, GETATTR, ACCESS,
// SECINFO, SECINFO_NO_NAME (RFC 8881 §18; RFC 7530 §16).
#include "server/nfs4/ops.h"

namespace nasd::server::nfs4ops {

using nfs4::Nfsstat4;
using storage::Status;

namespace {

/// ACCESS4 bits to ask the backend for (ACCESS4_XAREAD / XALIST need READ,
/// XAWRITE needs MODIFY), and the xattr bits granted from its answer
/// (RFC 8276 §8.4.5).
std::uint32_t access_base(std::uint32_t want) {
  std::uint32_t base = want & kAccessAll;
  if (want & (nfs4::kAccessXaRead | nfs4::kAccessXaList)) base |= kAccessRead;
  if (want & nfs4::kAccessXaWrite) base |= kAccessModify;
  return base;
}

std::uint32_t access_xattr(std::uint32_t want, std::uint32_t granted) {
  std::uint32_t out = granted & kAccessAll;
  if (granted & kAccessRead) out |= want & (nfs4::kAccessXaRead | nfs4::kAccessXaList);
  if (granted & kAccessModify) out |= want & nfs4::kAccessXaWrite;
  return out;
}

/// SECINFO4resok with AUTH_SYS, the one flavor nasd serves; SECINFO
/// consumes the current filehandle (RFC 8881 §2.6.3.1.1.8).
Nfsstat4 encode_secinfo(Nfs4Compound& c, xdr::XdrEncoder& out) {
  out.u32(1);
  out.u32(static_cast<std::uint32_t>(rpc::AuthFlavor::kSys));
  c.current = Nfs4Fh{};
  return Nfsstat4::kOk;
}

}  // namespace

Nfsstat4 op_putfh(Nfs4Compound& c, const Nfs4DecodedOp& d, xdr::XdrEncoder&) {
  const auto& a = std::get<Nfs4PutfhArgs>(d.args);
  if (a.checked) {  // the validate stage's check
    if (a.status != Nfsstat4::kOk) return a.status;
    c.current = a.fh;
    if (!a.fh.pseudo) {
      c.ctx.export_id = a.fh.export_id;
      c.ctx.has_export = true;
    }
    return Nfsstat4::kOk;
  }
  if (a.root) return put_root(c);
  storage::FileHandle fh;
  if (!fh.assign(a.wire.fh)) return Nfsstat4::kBadHandle;
  return set_fh(c, fh, &c.current);
}

Nfsstat4 op_getfh(Nfs4Compound& c, const Nfs4DecodedOp&, xdr::XdrEncoder& out) {
  if (Nfsstat4 st = c.need_fh(); st != Nfsstat4::kOk) return st;
  out.opaque(c.current.fh.bytes());
  return Nfsstat4::kOk;
}

Nfsstat4 op_savefh(Nfs4Compound& c, const Nfs4DecodedOp&, xdr::XdrEncoder&) {
  if (Nfsstat4 st = c.need_fh(); st != Nfsstat4::kOk) return st;
  c.saved = c.current;
  return Nfsstat4::kOk;
}

Nfsstat4 op_restorefh(Nfs4Compound& c, const Nfs4DecodedOp&, xdr::XdrEncoder&) {
  if (!c.saved.set) return Nfsstat4::kRestorefh;
  c.current = c.saved;
  return Nfsstat4::kOk;
}

Nfsstat4 op_lookup(Nfs4Compound& c, const Nfs4DecodedOp& d, xdr::XdrEncoder&) {
  return lookup(c, std::get<nfs4::NameArgs>(d.args).name);
}

Nfsstat4 op_lookupp(Nfs4Compound& c, const Nfs4DecodedOp&, xdr::XdrEncoder&) {
  if (!c.current.set) return Nfsstat4::kNoFileHandle;
  if (c.current.pseudo) {
    if (c.current.node == PseudoFs::kRoot) return Nfsstat4::kNoEnt;
    return set_fh(c, c.pseudo->node(c.pseudo->node(c.current.node).parent).handle, &c.current);
  }
  auto& be = c.svc.backend;
  storage::FileHandle root;
  if (be.root_handle(c.current.export_id, &root) == Status::kOk && root == c.current.fh) {
    auto node = c.pseudo->node_of_export(c.current.export_id);
    if (!node || *node == PseudoFs::kRoot) return Nfsstat4::kNoEnt;
    return set_fh(c, c.pseudo->node(c.pseudo->node(*node).parent).handle, &c.current);
  }
  storage::FileHandle fh;
  storage::Attr attr;
  std::optional<storage::Attr> dir_attr;
  Status s = be.lookup(c.current.cred, c.current.fh, "..", &fh, &attr, &dir_attr);
  if (s != Status::kOk) return c.storage(s);
  c.current.fh = fh;
  return Nfsstat4::kOk;
}

Nfsstat4 op_getattr(Nfs4Compound& c, const Nfs4DecodedOp& d, xdr::XdrEncoder& out) {
  const auto& a = std::get<nfs4::GetattrArgs>(d.args);
  if (Nfsstat4 st = c.need_fh(); st != Nfsstat4::kOk) return st;
  return encode_attrs(c, c.current, a.request, out,
                      c.looked_up_attr ? &*c.looked_up_attr : nullptr);
}

Nfsstat4 op_access(Nfs4Compound& c, const Nfs4DecodedOp& d, xdr::XdrEncoder& out) {
  const auto& a = std::get<nfs4::AccessArgs>(d.args);
  if (Nfsstat4 st = c.need_fh(); st != Nfsstat4::kOk) return st;
  const std::uint32_t want = a.access & (c.minor >= 2 ? kAccessAll42 : kAccessAll);
  std::uint32_t granted = 0;
  if (c.current.pseudo) {
    granted = want & (kAccessRead | kAccessLookup | kAccessExecute);
  } else {
    std::optional<storage::Attr> attr;
    Status s = be_access(c, c.current.fh, access_base(want), &granted, &attr);
    if (s != Status::kOk) return c.storage(s);
    granted = access_xattr(want, granted);
    if (c.current.options.read_only) {
      granted &= ~(kAccessModify | kAccessExtend | kAccessDelete | nfs4::kAccessXaWrite);
    }
  }
  out.u32(want);
  out.u32(granted & want);
  return Nfsstat4::kOk;
}

Nfsstat4 op_secinfo(Nfs4Compound& c, const Nfs4DecodedOp& d, xdr::XdrEncoder& out) {
  const auto& a = std::get<nfs4::NameArgs>(d.args);
  if (Nfsstat4 st = c.need_fh(); st != Nfsstat4::kOk) return st;
  if (Nfsstat4 st = check_name(a.name); st != Nfsstat4::kOk) return st;
  Nfs4Compound probe = c;  // the name must exist; the current filehandle stays
  if (Nfsstat4 st = lookup(probe, a.name); st != Nfsstat4::kOk) return st;
  return encode_secinfo(c, out);
}

Nfsstat4 op_secinfo_no_name(Nfs4Compound& c, const Nfs4DecodedOp&, xdr::XdrEncoder& out) {
  if (Nfsstat4 st = c.need_fh(); st != Nfsstat4::kOk) return st;
  return encode_secinfo(c, out);
}

}  // namespace nasd::server::nfs4ops
