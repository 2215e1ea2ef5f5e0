// NFSv4 opens: OPEN, OPEN_DOWNGRADE, CLOSE (RFC 8881 §18.16, §18.18, §18.2;
// RFC 7530 §16.16, §16.19, §16.2), and the inline OPEN check.  Share
// reservations and open stateids live in Nfs4State; no delegation is ever
// handed out (OPEN_DELEGATE_NONE).
#include <cstring>

#include "protocol/nfs4/nfs4_v40.h"
#include "server/nfs4/ops.h"

namespace nasd::server::nfs4ops {

using nfs4::Nfsstat4;
using storage::Status;

namespace {

constexpr std::uint32_t kOpenResultLocktypePosix = 0x4;
// open_claim_type4 (RFC 8881 §18.16.1).
constexpr std::uint32_t kClaimNull = 0, kClaimPrevious = 1, kClaimDelegateCur = 2,
                        kClaimDelegatePrev = 3, kClaimFh = 4, kClaimDelegCurFh = 5,
                        kClaimDelegPrevFh = 6;
// createmode4.
constexpr std::uint32_t kUnchecked4 = 0, kGuarded4 = 1, kExclusive4 = 2, kExclusive4_1 = 3;

/// Looks the file of OPEN `a` up and checks its type and access (RFC 8881
/// §18.16.3), with the try_* calls when c.nowait; fills `out` but its
/// status, which it returns.
Nfsstat4 find_open_file(Nfs4Compound& c, const nfs4::OpenArgs& a, Nfs4OpenFound* out) {
  storage::Attr attr;
  if (a.claim == kClaimNull) {
    if (Nfsstat4 st = check_name(a.name); st != Nfsstat4::kOk) return st;
    std::optional<storage::Attr> dir_attr;
    Status s = be_lookup(c, a.name, &out->file, &attr, &dir_attr);
    if (s != Status::kOk) return c.storage(s);
    if (dir_attr) {
      out->dir_wcc.before = storage::WccAttr{dir_attr->size, dir_attr->mtime, dir_attr->ctime};
      out->dir_wcc.after = dir_attr;
    }
  } else {  // CLAIM_FH / CLAIM_PREVIOUS: the current filehandle is the file
    out->file = c.current.fh;
    if (Status s = be_getattr(c, out->file, &attr); s != Status::kOk) return c.storage(s);
  }
  if (attr.type == storage::FileType::kDir) return Nfsstat4::kIsDir;
  if (attr.type == storage::FileType::kLnk) return Nfsstat4::kSymlink;
  if (attr.type != storage::FileType::kReg) return Nfsstat4::kWrongType;
  auto access = [&](std::uint32_t want, std::uint32_t* granted) {
    std::optional<storage::Attr> ignored;
    return be_access(c, out->file, want, granted, &ignored);
  };
  std::uint32_t want = 0;
  if (a.share_access & nfs4::kShareAccessRead) want |= kAccessRead;
  if (a.share_access & nfs4::kShareAccessWrite) want |= kAccessModify;
  std::uint32_t granted = 0;
  if (Status s = access(want, &granted); s != Status::kOk) return c.storage(s);
  // Reading an executable file for execution is allowed (RFC 8881 §18.16.3 note).
  if ((want & kAccessRead) && !(granted & kAccessRead)) {
    std::uint32_t x = 0;
    if (access(kAccessExecute, &x) == Status::kWouldBlock) return Nfsstat4::kDelay;
    if (x & kAccessExecute) granted |= kAccessRead;
  }
  if ((granted & want) != want) return Nfsstat4::kAccess;
  return Nfsstat4::kOk;
}

/// OPEN with create (CLAIM_NULL): creates the file by createmode4
/// (RFC 8881 §18.16.3); *attrset gets the attributes set.
Nfsstat4 create_open_file(Nfs4Compound& c, const nfs4::OpenArgs& a, const nfs4::SetAttrs& attrs,
                          storage::FileHandle* file, storage::WccData* dir_wcc,
                          nfs4::Bitmap4* attrset) {
  if (Nfsstat4 st = check_name(a.name); st != Nfsstat4::kOk) return st;
  const storage::CreateMode mode = a.createmode == kUnchecked4 ? storage::CreateMode::kUnchecked
                                   : a.createmode == kGuarded4 ? storage::CreateMode::kGuarded
                                                               : storage::CreateMode::kExclusive;
  storage::Verifier verf{};
  std::memcpy(verf.data(), a.verifier.data(), verf.size());
  const storage::SetAttr set = a.createmode == kExclusive4 ? storage::SetAttr{} : attrs.set;
  if (a.createmode == kExclusive4_1) {  // only suppattr_exclcreat may come along
    const nfs4::Bitmap4 ok = nfs4::exclcreat_attrs();
    for (int w = 0; w < 3; ++w) {
      if (attrs.present.w[w] & ~ok.w[w]) return Nfsstat4::kInval;
    }
  }
  auto& be = c.svc.backend;
  const auto& cred = c.current.cred;
  storage::Attr attr;
  Status s = be.create(cred, c.current.fh, a.name, mode, set, verf, file, &attr, dir_wcc);
  if (s != Status::kOk) return c.storage(s);
  if (a.createmode == kExclusive4_1 && (set.mode || set.uid || set.gid || set.size)) {
    storage::WccData wcc;
    if (Status s2 = be.setattr(cred, *file, set, std::nullopt, &wcc); s2 != Status::kOk) {
      return c.storage(s2);
    }
  }
  if (a.createmode != kExclusive4) *attrset = attrs.present;
  // The creator may write the file it made: no access check.
  if (attr.type == storage::FileType::kDir) return Nfsstat4::kIsDir;
  if (attr.type == storage::FileType::kLnk) return Nfsstat4::kSymlink;
  if (attr.type != storage::FileType::kReg) return Nfsstat4::kWrongType;
  return Nfsstat4::kOk;
}

}  // namespace

Nfsstat4 op_open(Nfs4Compound& c, const Nfs4DecodedOp& d, xdr::XdrEncoder& out) {
  const auto& a = std::get<nfs4::OpenArgs>(d.args);
  if (!c.current.set) return Nfsstat4::kNoFileHandle;
  if (c.minor == 0 && a.claim > kClaimDelegatePrev) return Nfsstat4::kBadXdr;  // RFC 7530
  // No delegation is ever handed out, so no delegation stateid is valid:
  // CLAIM_DELEGATE_CUR / CLAIM_DELEG_CUR_FH get BAD_STATEID (RFC 8881
  // §18.16.3); reclaiming a delegation across a client restart
  // (CLAIM_DELEGATE_PREV / CLAIM_DELEG_PREV_FH) is optional: NOTSUPP.
  if (a.claim == kClaimDelegateCur || a.claim == kClaimDelegCurFh) return Nfsstat4::kBadStateid;
  if (a.claim == kClaimDelegatePrev || a.claim == kClaimDelegPrevFh) return Nfsstat4::kNotSupp;
  auto& state = c.svc.state;
  // Grace (RFC 8881 §8.4.2.1): CLAIM_PREVIOUS only in grace from a client
  // that may reclaim; every other OPEN waits for the end of grace.
  if (Nfsstat4 st =
          state.check_grace(c.in_session ? c.clientid : a.clientid, a.claim == kClaimPrevious);
      st != Nfsstat4::kOk) {
    return st;
  }
  if (a.claim == kClaimPrevious && a.delegate_type != 0) return Nfsstat4::kReclaimBad;
  nfs4::SetAttrs attrs;  // createattrs with owners mapped to ids
  if (a.create) {
    if (a.attr_status != Nfsstat4::kOk) return a.attr_status;
    attrs = a.attrs;
    if (Nfsstat4 st = c.svc.idmap.resolve(attrs); st != Nfsstat4::kOk) return st;
  }
  if (a.share_access == 0) return Nfsstat4::kInval;
  if (c.current.pseudo) {
    return a.claim == kClaimNull ? (a.create ? Nfsstat4::kRoFs : Nfsstat4::kNoEnt)
                                 : Nfsstat4::kIsDir;
  }
  const bool wants_write = a.share_access & nfs4::kShareAccessWrite;
  if ((a.create || wants_write) && c.current.options.read_only) return Nfsstat4::kRoFs;
  storage::WccData dir_wcc;
  storage::FileHandle file;
  nfs4::Bitmap4 attrset;
  if (!a.create || a.claim != kClaimNull) {
    // An existing file; inline, open_is_in_memory() already found it.
    Nfs4OpenFound found;
    if (c.open_found) {
      found = *c.open_found;
    } else {
      found.status = find_open_file(c, a, &found);
    }
    if (found.status != Nfsstat4::kOk) return found.status;
    file = found.file;
    dir_wcc = found.dir_wcc;
  } else if (Nfsstat4 st = create_open_file(c, a, attrs, &file, &dir_wcc, &attrset);
             st != Nfsstat4::kOk) {
    return st;
  }
  nfs4::Stateid4 sid;
  const std::uint64_t clientid = c.minor == 0 ? a.clientid : c.clientid;
  if (Nfsstat4 st = state.open(clientid, a.owner, file, a.share_access, a.share_deny, &sid);
      st != Nfsstat4::kOk) {
    return st;
  }
  std::uint32_t rflags = kOpenResultLocktypePosix;
  if (c.minor == 0 &&
      state.open_needs_confirm(clientid, a.owner, sid, a.claim == kClaimPrevious)) {
    rflags |= nfs4::kOpenResultConfirm;
  }
  c.current.fh = file;
  c.current_stateid = sid;
  c.has_current_stateid = true;
  nfs4::encode_stateid(out, sid);
  nfs4::encode_change_info(out, dir_wcc);
  out.u32(rflags);
  nfs4::encode_bitmap(out, attrset);
  out.u32(0);  // OPEN_DELEGATE_NONE
  return Nfsstat4::kOk;
}

bool open_is_in_memory(Nfs4Compound& c, const Nfs4DecodedOp& d) {
  const auto& a = std::get<nfs4::OpenArgs>(d.args);
  const std::uint64_t clientid = c.minor == 0 ? a.clientid : c.clientid;
  if (c.svc.state.open_writes_record(clientid)) return false;
  // What op_open() checks before it changes state, answered from memory or
  // not at all; op_open() then uses this result instead of asking again.
  if (!c.current.set || c.current.pseudo || a.create || a.share_access == 0 ||
      ((a.share_access & nfs4::kShareAccessWrite) && c.current.options.read_only)) {
    return true;  // op_open() answers without the backend
  }
  Nfs4OpenFound found;
  found.status = find_open_file(c, a, &found);
  if (c.would_block) return false;
  c.open_found = found;
  return true;
}

Nfsstat4 op_open_downgrade(Nfs4Compound& c, const Nfs4DecodedOp& d, xdr::XdrEncoder& out) {
  const auto& a = std::get<nfs4::OpenDowngradeArgs>(d.args);
  if (Nfsstat4 st = c.need_fh(); st != Nfsstat4::kOk) return st;
  nfs4::Stateid4 sid;
  c.stateid(a.stateid, false, &sid);
  nfs4::Stateid4 res;
  if (Nfsstat4 st = c.svc.state.open_downgrade(sid, c.current.fh, a.share_access, a.share_deny,
                                               &res, c.minor);
      st != Nfsstat4::kOk) {
    return st;
  }
  c.current_stateid = res;
  c.has_current_stateid = true;
  nfs4::encode_stateid(out, res);
  return Nfsstat4::kOk;
}

Nfsstat4 op_close(Nfs4Compound& c, const Nfs4DecodedOp& d, xdr::XdrEncoder& out) {
  const auto& a = std::get<nfs4::CloseArgs>(d.args);
  if (Nfsstat4 st = c.need_fh(); st != Nfsstat4::kOk) return st;
  nfs4::Stateid4 sid;
  if (Nfsstat4 st = c.stateid(a.stateid, true, &sid); st != Nfsstat4::kOk) return st;
  if (Nfsstat4 st = c.svc.state.close(sid, c.current.fh, c.minor); st != Nfsstat4::kOk) {
    return st;
  }
  nfs4::Stateid4 invalid;  // the invalid special stateid (RFC 8881 §8.2.3)
  invalid.seqid = 0xffffffffu;
  nfs4::encode_stateid(out, invalid);
  c.has_current_stateid = false;
  return Nfsstat4::kOk;
}

}  // namespace nasd::server::nfs4ops
