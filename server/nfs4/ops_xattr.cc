// NFSv4.2 extended attribute operations (RFC 8276 §8.4): GETXATTR,
// SETXATTR, LISTXATTRS, REMOVEXATTR on user.* attributes.  The
// pseudo-filesystem has none (NOTSUPP).
#include <string>
#include <vector>

#include "server/nfs4/ops.h"

namespace nasd::server::nfs4ops {

using nfs4::Nfsstat4;
using storage::Status;

namespace {

/// Storage status of an xattr call -> nfsstat4 (RFC 8276 §8.4): an absent
/// attribute is NOXATTR, a too-large value XATTR2BIG.
Nfsstat4 xattr_status(Nfs4Compound& c, Status s) {
  c.storage(s);
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

/// A current filehandle with xattrs: NOFILEHANDLE, NOTSUPP in the
/// pseudo-filesystem.
Nfsstat4 need_xattr_fh(const Nfs4Compound& c) {
  if (!c.current.set) return Nfsstat4::kNoFileHandle;
  return c.current.pseudo ? Nfsstat4::kNotSupp : Nfsstat4::kOk;
}

}  // namespace

Nfsstat4 op_getxattr(Nfs4Compound& c, const Nfs4DecodedOp& d, xdr::XdrEncoder& out) {
  const auto& a = std::get<nfs4::GetxattrArgs>(d.args);
  if (Nfsstat4 st = need_xattr_fh(c); st != Nfsstat4::kOk) return st;
  if (Nfsstat4 st = check_xattr_name(a.name); st != Nfsstat4::kOk) return st;
  std::vector<std::uint8_t> value;
  Status s = c.svc.backend.getxattr(c.current.cred, c.current.fh, a.name, &value);
  if (s != Status::kOk) return xattr_status(c, s);
  out.opaque(value);
  return Nfsstat4::kOk;
}

Nfsstat4 op_setxattr(Nfs4Compound& c, const Nfs4DecodedOp& d, xdr::XdrEncoder& out) {
  const auto& a = std::get<nfs4::SetxattrArgs>(d.args);
  if (Nfsstat4 st = need_xattr_fh(c); st != Nfsstat4::kOk) return st;
  if (Nfsstat4 st = check_xattr_name(a.name); st != Nfsstat4::kOk) return st;
  storage::WccData wcc;
  Status s = c.svc.backend.setxattr(c.current.cred, c.current.fh, a.name, a.value,
                                    static_cast<storage::XattrSetMode>(a.option), &wcc);
  if (s != Status::kOk) return xattr_status(c, s);
  nfs4::encode_change_info(out, wcc);
  return Nfsstat4::kOk;
}

Nfsstat4 op_removexattr(Nfs4Compound& c, const Nfs4DecodedOp& d, xdr::XdrEncoder& out) {
  const auto& a = std::get<nfs4::GetxattrArgs>(d.args);
  if (Nfsstat4 st = need_xattr_fh(c); st != Nfsstat4::kOk) return st;
  if (Nfsstat4 st = check_xattr_name(a.name); st != Nfsstat4::kOk) return st;
  storage::WccData wcc;
  Status s = c.svc.backend.removexattr(c.current.cred, c.current.fh, a.name, &wcc);
  if (s != Status::kOk) return xattr_status(c, s);
  nfs4::encode_change_info(out, wcc);
  return Nfsstat4::kOk;
}

Nfsstat4 op_listxattrs(Nfs4Compound& c, const Nfs4DecodedOp& d, xdr::XdrEncoder& out) {
  const auto& a = std::get<nfs4::ListxattrsArgs>(d.args);
  if (Nfsstat4 st = need_xattr_fh(c); st != Nfsstat4::kOk) return st;
  std::vector<std::string> names;
  Status s = c.svc.backend.listxattrs(c.current.cred, c.current.fh, &names);
  if (s != Status::kOk) return c.storage(s);
  // The cookie is the index of the next name (0: from the start).
  if (a.cookie > names.size()) return Nfsstat4::kBadCookie;
  // lxa_maxcount bounds the whole LISTXATTRS4resok: cookie, array length
  // and eof take 16 bytes (RFC 8276 §8.4.3.2).
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

}  // namespace nasd::server::nfs4ops
