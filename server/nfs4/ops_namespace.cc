// NFSv4 operations on names and directories: SETATTR, CREATE, REMOVE,
// RENAME, LINK, READLINK, READDIR (RFC 8881 §18.30, .4, .25, .26, .9, .24,
// .23; RFC 7530 §16).
#include "server/nfs4/ops.h"

namespace nasd::server::nfs4ops {

using nfs4::Nfsstat4;
using storage::Status;

namespace {

/// The attributes to set with owner / owner_group strings mapped to ids
/// (server/nfs4/idmap.h); kOk or the decode / mapping error.
Nfsstat4 mapped(Nfs4Compound& c, const nfs4::SetAttrs& sent, Nfsstat4 decoded,
                nfs4::SetAttrs* out) {
  *out = sent;
  if (decoded != Nfsstat4::kOk) return decoded;
  return c.svc.idmap.resolve(*out);
}

}  // namespace

Nfsstat4 op_setattr(Nfs4Compound& c, const Nfs4DecodedOp& d, xdr::XdrEncoder& out) {
  const auto& a = std::get<nfs4::SetattrArgs>(d.args);
  const std::size_t pos = out.position();
  auto fail = [&](Nfsstat4 st) {  // SETATTR4res carries attrsset even on error
    out.rewind(pos);
    nfs4::encode_bitmap(out, {});
    return st;
  };
  if (Nfsstat4 st = c.need_fh(); st != Nfsstat4::kOk) return fail(st);
  nfs4::SetAttrs attrs;
  if (Nfsstat4 st = mapped(c, a.attrs, a.attr_status, &attrs); st != Nfsstat4::kOk) {
    return fail(st);
  }
  if (attrs.set.size) {
    // A truncate could break a lock not yet reclaimed (RFC 8881 §8.4.2.1).
    if (c.svc.state.in_grace()) return fail(Nfsstat4::kGrace);
    nfs4::Stateid4 sid;
    c.stateid(a.stateid, false, &sid);
    if (Nfsstat4 st = c.svc.state.check_stateid(sid, c.current.fh, true, c.minor);
        st != Nfsstat4::kOk) {
      return fail(st);
    }
  }
  storage::WccData wcc;
  Status s = c.svc.backend.setattr(c.current.cred, c.current.fh, attrs.set, std::nullopt, &wcc);
  if (s != Status::kOk) return fail(c.storage(s));
  nfs4::encode_bitmap(out, attrs.present);
  return Nfsstat4::kOk;
}

Nfsstat4 op_create(Nfs4Compound& c, const Nfs4DecodedOp& d, xdr::XdrEncoder& out) {
  const auto& a = std::get<nfs4::CreateArgs>(d.args);
  if (!c.current.set) return Nfsstat4::kNoFileHandle;
  if (a.bad_type) return Nfsstat4::kBadType;
  nfs4::SetAttrs attrs;
  if (Nfsstat4 st = mapped(c, a.attrs, a.attr_status, &attrs); st != Nfsstat4::kOk) return st;
  if (Nfsstat4 st = check_name(a.name); st != Nfsstat4::kOk) return st;
  auto& be = c.svc.backend;
  const auto& cred = c.current.cred;
  storage::FileHandle fh;
  storage::Attr attr;
  storage::WccData wcc;
  Status s;
  switch (a.type) {  // createtype4 (§18.4.1)
    case storage::FileType::kDir:
      s = be.mkdir(cred, c.current.fh, a.name, attrs.set, &fh, &attr, &wcc);
      break;
    case storage::FileType::kLnk:
      s = be.symlink(cred, c.current.fh, a.name, a.linkdata, attrs.set, &fh, &attr, &wcc);
      break;
    default:
      s = be.mknod(cred, c.current.fh, a.name, a.type, attrs.set, a.major, a.minor, &fh, &attr,
                   &wcc);
      break;
  }
  if (s != Status::kOk) return c.storage(s);
  c.current.fh = fh;
  nfs4::encode_change_info(out, wcc);
  nfs4::encode_bitmap(out, attrs.present);
  return Nfsstat4::kOk;
}

Nfsstat4 op_remove(Nfs4Compound& c, const Nfs4DecodedOp& d, xdr::XdrEncoder& out) {
  const auto& a = std::get<nfs4::NameArgs>(d.args);
  if (Nfsstat4 st = c.need_fh(); st != Nfsstat4::kOk) return st;
  if (Nfsstat4 st = check_name(a.name); st != Nfsstat4::kOk) return st;
  auto& be = c.svc.backend;
  storage::WccData wcc;
  Status s = be.remove(c.current.cred, c.current.fh, a.name, &wcc);
  if (s == Status::kIsDir || s == Status::kPerm) {  // REMOVE removes directories too
    storage::WccData w2;
    Status s2 = be.rmdir(c.current.cred, c.current.fh, a.name, &w2);
    if (s2 != Status::kNotDir) {
      s = s2;
      wcc = w2;
    }
  }
  if (s != Status::kOk) return c.storage(s);
  nfs4::encode_change_info(out, wcc);
  return Nfsstat4::kOk;
}

Nfsstat4 op_rename(Nfs4Compound& c, const Nfs4DecodedOp& d, xdr::XdrEncoder& out) {
  const auto& a = std::get<nfs4::RenameArgs>(d.args);
  if (!c.current.set || !c.saved.set) return Nfsstat4::kNoFileHandle;
  if (c.saved.pseudo || c.saved.options.read_only) return Nfsstat4::kRoFs;
  if (c.saved.export_id != c.current.export_id) return Nfsstat4::kXdev;
  if (Nfsstat4 st = check_name(a.oldname); st != Nfsstat4::kOk) return st;
  if (Nfsstat4 st = check_name(a.newname); st != Nfsstat4::kOk) return st;
  storage::WccData from, to;
  Status s = c.svc.backend.rename(c.current.cred, c.saved.fh, a.oldname, c.current.fh,
                                  a.newname, &from, &to);
  if (s != Status::kOk) return c.storage(s);
  nfs4::encode_change_info(out, from);
  nfs4::encode_change_info(out, to);
  return Nfsstat4::kOk;
}

Nfsstat4 op_link(Nfs4Compound& c, const Nfs4DecodedOp& d, xdr::XdrEncoder& out) {
  const auto& a = std::get<nfs4::NameArgs>(d.args);
  if (!c.current.set || !c.saved.set) return Nfsstat4::kNoFileHandle;
  if (c.saved.pseudo) return Nfsstat4::kIsDir;
  if (c.saved.export_id != c.current.export_id) return Nfsstat4::kXdev;
  if (Nfsstat4 st = check_name(a.name); st != Nfsstat4::kOk) return st;
  storage::WccData wcc;
  std::optional<storage::Attr> attr;
  Status s = c.svc.backend.link(c.current.cred, c.saved.fh, c.current.fh, a.name, &attr, &wcc);
  if (s != Status::kOk) return c.storage(s);
  nfs4::encode_change_info(out, wcc);
  return Nfsstat4::kOk;
}

Nfsstat4 op_readlink(Nfs4Compound& c, const Nfs4DecodedOp&, xdr::XdrEncoder& out) {
  if (Nfsstat4 st = c.need_fh(); st != Nfsstat4::kOk) return st;
  if (c.current.pseudo) return Nfsstat4::kInval;
  std::string target;
  std::optional<storage::Attr> attr;
  Status s = c.svc.backend.readlink(c.current.cred, c.current.fh, &target, &attr);
  if (s != Status::kOk) return c.storage(s);
  out.string(target);
  return Nfsstat4::kOk;
}

namespace {

/// Encodes READDIR's entry4 list within a byte budget (RFC 8881 §18.23):
/// each entry's fattr4, or only rdattr_error when its attributes cannot
/// be had; room for the list's end is always kept.
class EntryWriter {
 public:
  EntryWriter(Nfs4Compound& c, const nfs4::ReaddirArgs& a, xdr::XdrEncoder& out,
              std::size_t limit)
      : c_(c), a_(a), out_(out), limit_(limit) {}

  /// False (nothing written) when the entry does not fit.
  bool add(std::uint64_t cookie, std::string_view name, const Nfs4Fh& f,
           const std::optional<storage::Attr>& attr) {
    const std::size_t before = out_.position();
    out_.boolean(true);  // value follows
    out_.u64(cookie);
    out_.string(name);
    Nfsstat4 st = Nfsstat4::kOk;
    if (!f.pseudo && !attr) st = Nfsstat4::kIo;
    const std::size_t attr_pos = out_.position();
    // A listed entry's attributes come from the listing (one statx each):
    // reading them again through its handle would open it by handle.
    if (st == Nfsstat4::kOk) st = encode_attrs(c_, f, a_.request, out_, attr ? &*attr : nullptr);
    if (st != Nfsstat4::kOk) {  // rdattr_error only (RFC 8881 §5.8.1.12)
      out_.rewind(attr_pos);
      nfs4::Bitmap4 only;
      only.set(nfs4::kRdattrError);
      nfs4::AttrValues v;
      v.minor = c_.minor;
      v.rdattr_error = static_cast<std::uint32_t>(st);
      nfs4::encode_fattr(out_, a_.request.test(nfs4::kRdattrError) ? only : nfs4::Bitmap4{}, v);
    }
    // Room for the end of the list (value-follows false + eof) is kept.
    if (!out_.ok() || out_.position() + 8 > limit_) {
      out_.rewind(before);
      return false;
    }
    ++count_;
    return true;
  }
  std::size_t count() const { return count_; }

 private:
  Nfs4Compound& c_;
  const nfs4::ReaddirArgs& a_;
  xdr::XdrEncoder& out_;
  std::size_t limit_;
  std::size_t count_ = 0;
};

/// READDIR of a pseudo-filesystem directory: its children, export roots
/// with their attributes (cookies 3, 4, ...: 0-2 are reserved).
Nfsstat4 readdir_pseudo(Nfs4Compound& c, const nfs4::ReaddirArgs& a, EntryWriter& w,
                        xdr::XdrEncoder& out) {
  out.fixed_opaque(storage::Verifier{});
  const auto& node = c.pseudo->node(c.current.node);
  std::uint64_t cookie = 2;
  bool eof = true;
  for (const auto& [name, id] : node.children) {
    ++cookie;
    if (cookie <= a.cookie) continue;
    Nfs4Fh f;
    const auto& child = c.pseudo->node(id);
    storage::FileHandle fh;
    if (!child.export_id || c.svc.backend.root_handle(*child.export_id, &fh) != Status::kOk ||
        set_fh(c, fh, &f) != Nfsstat4::kOk) {
      f = Nfs4Fh{};
      f.set = f.pseudo = true;
      f.node = id;
      f.fh = child.handle;
    }
    std::optional<storage::Attr> attr;
    if (!f.pseudo) {
      storage::Attr at;
      if (be_getattr(c, f.fh, &at) == Status::kOk) attr = at;
      if (c.would_block) return Nfsstat4::kDelay;  // the persist stage runs it again
    }
    if (!w.add(cookie, name, f, attr)) {
      eof = false;
      break;
    }
  }
  if (w.count() == 0 && !eof) return Nfsstat4::kTooSmall;
  out.boolean(false);
  out.boolean(eof);
  return Nfsstat4::kOk;
}

}  // namespace

Nfsstat4 op_readdir(Nfs4Compound& c, const Nfs4DecodedOp& d, xdr::XdrEncoder& out) {
  const auto& a = std::get<nfs4::ReaddirArgs>(d.args);
  if (!c.current.set) return Nfsstat4::kNoFileHandle;
  const std::size_t budget = std::min(a.maxcount, c.svc.limits.max_read);
  if (budget < 16) return Nfsstat4::kTooSmall;
  EntryWriter w(c, a, out, out.position() + budget);
  if (c.current.pseudo) return readdir_pseudo(c, a, w, out);
  // Entries of a real directory: the backend stats them (plus = true); a
  // generous count limit here, the exact byte budget when encoding.
  std::size_t guess = 0;
  auto fits = [&](const storage::DirEntry& e) {
    guess += 24 + xdr::padded(e.name.size()) + 64;
    return guess <= budget;
  };
  std::vector<storage::DirEntry> entries;
  storage::Verifier verf{};
  bool eof = false;
  std::optional<storage::Attr> dir_attr;
  Status s = be_readdir(c, a.cookie, a.cookieverf, fits, &entries, &verf, &eof, &dir_attr);
  if (c.would_block) return Nfsstat4::kDelay;  // nothing written yet: the persist stage runs it
  if (s != Status::kOk) return c.storage(s);
  out.fixed_opaque(verf);
  bool all = true;
  for (const auto& e : entries) {
    if (e.name == "." || e.name == "..") continue;
    Nfs4Fh f = c.current;
    if (e.handle) f.fh = *e.handle;
    if (!w.add(e.cookie, e.name, f, e.attr)) {
      all = false;
      break;
    }
  }
  if (!all && w.count() == 0) return Nfsstat4::kTooSmall;
  out.boolean(false);
  out.boolean(all && eof);
  return Nfsstat4::kOk;
}

}  // namespace nasd::server::nfs4ops
