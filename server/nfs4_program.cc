// NFSv4 program hooks.  See nfs4_program.h.
#include "server/nfs4_program.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <cstring>
#include <string>
#include <vector>

#include "server/nfs4_callback.h"
#include "server/nfs4_compound.h"
#include "server/packet.h"
#include "server/nfs4_metrics.h"
#include "protocol/nfs4_v40.h"
#include "server/nfs_status.h"

namespace nasd::server {

using nfs4::Nfsstat4;
using nfs4::Op;
using storage::Status;

namespace {

constexpr std::uint32_t kAccessAll = 0x3f;  // ACCESS4_READ .. ACCESS4_EXECUTE
constexpr std::uint32_t kAccessAll42 = 0x1ff;  // .. ACCESS4_XALIST (RFC 8276 §8.4.5)
constexpr std::uint32_t kAccessRead = 0x01, kAccessLookup = 0x02, kAccessModify = 0x04,
                        kAccessExtend = 0x08, kAccessDelete = 0x10, kAccessExecute = 0x20;
constexpr std::uint32_t kExchgidUseNonPnfs = 0x00010000, kExchgidConfirmedR = 0x80000000;
constexpr std::uint32_t kOpenResultLocktypePosix = 0x4;

/// Operations that change the file system (refused on ro exports and on
/// the pseudo-filesystem).
bool modifies(Op op) {
  switch (op) {
    case Op::kSetattr: case Op::kWrite: case Op::kCreate: case Op::kRemove: case Op::kRename:
    case Op::kLink: case Op::kCommit:
      return true;
    default:
      return nfs4_detail::modifies_42(op);
  }
}

/// component4 checks (RFC 8881 §18.*.3 "objname"): empty -> INVAL, "." and
/// ".." -> BADNAME, '/' or NUL -> BADCHAR, > 255 bytes -> NAMETOOLONG.
Nfsstat4 check_name(std::string_view name) {
  if (name.empty()) return Nfsstat4::kInval;
  if (name.size() > nfs4::kNameMax) return Nfsstat4::kNameTooLong;
  if (name == "." || name == "..") return Nfsstat4::kBadName;
  if (name.find('/') != std::string_view::npos || name.find('\0') != std::string_view::npos) {
    return Nfsstat4::kBadChar;
  }
  return Nfsstat4::kOk;
}

/// Reply bytes an operation may need (besides kPerOpReply); false when its
/// arguments cannot be decoded or it is not implemented (the scan stops:
/// execution stops there too).
bool scan_op(std::uint32_t op, xdr::XdrDecoder& in, std::uint32_t max_read, std::size_t* extra);

template <class A>
bool skip(xdr::XdrDecoder& in) {
  A a;
  return nfs4::decode(in, a);
}

bool scan_op(std::uint32_t op, xdr::XdrDecoder& in, std::uint32_t max_read, std::size_t* extra) {
  *extra = 0;
  switch (static_cast<Op>(op)) {
    case Op::kGetfh: case Op::kLookupp: case Op::kPutpubfh: case Op::kPutrootfh:
    case Op::kReadlink: case Op::kRestorefh: case Op::kSavefh:
      if (static_cast<Op>(op) == Op::kReadlink) *extra = nfs4::kPathMax;
      return true;
    case Op::kAccess: return skip<nfs4::AccessArgs>(in);
    case Op::kClose: return skip<nfs4::CloseArgs>(in);
    case Op::kCommit: return skip<nfs4::CommitArgs>(in);
    case Op::kCreate: return skip<nfs4::CreateArgs>(in);
    case Op::kGetattr: return skip<nfs4::GetattrArgs>(in);
    case Op::kLink: case Op::kLookup: case Op::kRemove: case Op::kSecinfo:
      return skip<nfs4::NameArgs>(in);
    case Op::kOpen: return skip<nfs4::OpenArgs>(in);
    case Op::kOpenDowngrade: return skip<nfs4::OpenDowngradeArgs>(in);
    case Op::kPutfh: return skip<nfs4::PutfhArgs>(in);
    case Op::kRead: {
      nfs4::ReadArgs a;
      if (!nfs4::decode(in, a)) return false;
      *extra = std::min(a.count, max_read);
      return true;
    }
    case Op::kReaddir: {
      nfs4::ReaddirArgs a;
      if (!nfs4::decode(in, a)) return false;
      *extra = std::min(a.maxcount, max_read);
      return true;
    }
    case Op::kRename: return skip<nfs4::RenameArgs>(in);
    case Op::kSetattr: return skip<nfs4::SetattrArgs>(in);
    case Op::kWrite: return skip<nfs4::WriteArgs>(in);
    case Op::kBindConnToSession: return skip<nfs4::BindConnArgs>(in);
    case Op::kBackchannelCtl: return skip<nfs4::BackchannelCtlArgs>(in);
    case Op::kExchangeId: return skip<nfs4::ExchangeIdArgs>(in);
    case Op::kCreateSession: return skip<nfs4::CreateSessionArgs>(in);
    case Op::kDestroySession: return skip<nfs4::SessionArgs>(in);
    case Op::kFreeStateid: return skip<nfs4::StateidArgs>(in);
    case Op::kSecinfoNoName: return skip<nfs4::SecinfoNoNameArgs>(in);
    case Op::kSequence: return skip<nfs4::SequenceArgs>(in);
    case Op::kTestStateid: {
      nfs4::TestStateidArgs a;
      if (!nfs4::decode(in, a)) return false;
      *extra = a.stateids.size() * 4;
      return true;
    }
    case Op::kDestroyClientid: return skip<nfs4::ClientidArgs>(in);
    case Op::kReclaimComplete: return skip<nfs4::ReclaimCompleteArgs>(in);
    case Op::kSetclientid: return skip<nfs4::SetclientidArgs>(in);
    case Op::kSetclientidConfirm: return skip<nfs4::SetclientidConfirmArgs>(in);
    case Op::kRenew: return skip<nfs4::ClientidArgs>(in);
    case Op::kOpenConfirm: return skip<nfs4::OpenConfirmArgs>(in);
    case Op::kLock: return skip<nfs4::LockArgs>(in);
    case Op::kLockt: return skip<nfs4::LocktArgs>(in);
    case Op::kLocku: return skip<nfs4::LockuArgs>(in);
    case Op::kReleaseLockowner: return skip<nfs4::ReleaseLockownerArgs>(in);
    default:
      return nfs4_detail::scan_op_42(op, in, max_read, extra);
  }
}

storage::Time now_time() {
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                std::chrono::system_clock::now().time_since_epoch())
                .count();
  return {static_cast<std::uint32_t>(ns / 1000000000), static_cast<std::uint32_t>(ns % 1000000000)};
}

}  // namespace

Nfs4Program::Nfs4Program(storage::Backend& backend, const ExportRegistry& exports,
                         Nfs4State& state, Nfs4Limits limits, storage::Verifier writeverf)
    : backend_(backend),
      exports_(exports),
      state_(state),
      limits_(limits),
      writeverf_(writeverf),
      started_(now_time()) {}

const char* Nfs4Program::procedure_name(std::uint32_t proc) const {
  return proc == nfs4::kProcNull ? "NULL" : proc == nfs4::kProcCompound ? "COMPOUND" : nullptr;
}

std::shared_ptr<const PseudoFs> Nfs4Program::pseudo(const ExportTable& table) {
  std::lock_guard lock(pseudo_mu_);
  auto current = exports_.current();
  if (!pseudo_ || pseudo_table_.get() != &table) {
    pseudo_ = std::make_shared<const PseudoFs>(table);
    pseudo_table_ = current.get() == &table ? current : nullptr;
  }
  return pseudo_;
}

DecodeResult Nfs4Program::decode(const CallContext& ctx, xdr::XdrDecoder& in, ArgSlot& args) {
  if (ctx.header.proc == nfs4::kProcNull) {
    args.reset();
    return DecodeResult::kOk;
  }
  if (ctx.header.proc != nfs4::kProcCompound) return DecodeResult::kProcUnavail;
  auto& a = args.emplace<CompoundArgs>();
  if (!nfs4::decode_compound_header(in, a.header)) {
    args.reset();
    return DecodeResult::kGarbageArgs;
  }
  a.ops = in.rest();
  a.request_bytes = in.position() + a.ops.size();
  // Size the reply: walk the operations once (stopping where execution
  // would stop at the latest: an undecodable or unimplemented operation).
  std::size_t est = 64 + a.header.tag.size();
  xdr::XdrDecoder scan(a.ops);
  const std::uint32_t n = std::min(a.header.numops, limits_.max_ops);
  const std::uint32_t minor = a.header.minorversion;
  bool inline_ok = minor <= nfs4::kMaxMinorVersion && n > 0 && n == a.header.numops &&
                   n <= kInlineMaxOps;
  // Inline, at most one operation may change state (an OPEN without create
  // or a CLOSE), and only GETFH, GETATTR and ACCESS may follow it: from
  // there on the attempt can no longer be given up (run_compound()).
  bool changed_state = false;
  std::uint32_t i = 0;
  for (; i < n; ++i) {
    est += kPerOpReply;
    const std::uint32_t op = scan.u32();
    const xdr::XdrDecoder at = scan;  // the operation's arguments
    std::size_t extra = 0;
    if (!scan.ok() || !scan_op(op, scan, limits_.max_read, &extra)) break;
    est += extra;
    if (op != static_cast<std::uint32_t>(Op::kGetfh) && op != static_cast<std::uint32_t>(Op::kGetattr)) {
      a.attrs_tail = i;
    }
    if (inline_ok && changed_state) {
      inline_ok = op == static_cast<std::uint32_t>(Op::kGetfh) ||
                  op == static_cast<std::uint32_t>(Op::kGetattr) ||
                  op == static_cast<std::uint32_t>(Op::kAccess);
    } else if (inline_ok) {
      switch (static_cast<Op>(op)) {
        case Op::kPutfh: case Op::kPutrootfh: case Op::kPutpubfh: case Op::kGetfh:
        case Op::kSavefh: case Op::kRestorefh: case Op::kLookup: case Op::kGetattr:
        case Op::kAccess:
          inline_ok = minor == 0 || i > 0;  // 4.1+: SEQUENCE comes first
          break;
        case Op::kRead:
        case Op::kReaddir:
          inline_ok = (minor == 0 || i > 0) && extra <= kInlineReadMax;
          break;
        case Op::kOpen: {  // an existing file: CLAIM_NULL or CLAIM_FH, no create
          xdr::XdrDecoder d = at;
          nfs4::OpenArgs oa;
          inline_ok = (minor == 0 || i > 0) && nfs4::decode(d, oa) && !oa.create &&
                      (oa.claim == 0 || oa.claim == 4);
          changed_state = true;
          break;
        }
        case Op::kClose:
          inline_ok = minor == 0 || i > 0;
          changed_state = true;
          break;
        case Op::kSequence:
          inline_ok = minor >= 1 && i == 0;
          break;
        default:
          inline_ok = false;
      }
    }
  }
  a.reply_estimate = est;
  a.inline_ok = inline_ok && i == n;
  if (i != a.header.numops) a.attrs_tail = a.header.numops;  // not all scanned: none
  return DecodeResult::kOk;
}

std::size_t Nfs4Program::max_reply_size(const CallContext& ctx, ArgSlot& args) {
  if (ctx.header.proc == nfs4::kProcNull) return 0;
  return args.get<CompoundArgs>().reply_estimate;
}

bool Nfs4Program::validate(CallContext&, ArgSlot& args, xdr::XdrEncoder& out) {
  if (args.empty()) return true;  // NULL
  auto& a = args.get<CompoundArgs>();
  Nfsstat4 st = Nfsstat4::kOk;
  if (a.header.minorversion > nfs4::kMaxMinorVersion) {
    st = Nfsstat4::kMinorVersMismatch;
  } else if (a.header.minorversion == 0 && a.header.numops > limits_.max_ops) {
    st = Nfsstat4::kResource;  // 4.0; in 4.1+ SEQUENCE answers TOO_MANY_OPS (§18.46.3)
  }
  if (st == Nfsstat4::kOk) return true;
  out.u32(static_cast<std::uint32_t>(st));
  out.string(a.header.tag);
  out.u32(0);  // no results
  return false;
}

Nfsstat4 Nfs4Program::set_fh(Compound& c, const storage::FileHandle& fh, Fh* out) {
  Fh f;
  f.fh = fh;
  if (PseudoFs::is_pseudo(fh)) {
    auto node = c.pseudo->find(fh);
    if (!node) return Nfsstat4::kStale;
    f.set = f.pseudo = true;
    f.node = *node;
    f.options = ExportOptions{};  // read-only
    *out = f;
    return Nfsstat4::kOk;
  }
  if (fh.size == 0) return Nfsstat4::kBadHandle;
  Status s = backend_.export_of(fh, &f.export_id);
  if (s != Status::kOk) return s == Status::kStale ? Nfsstat4::kStale : Nfsstat4::kBadHandle;
  const Export* exp = c.table->find_by_id(f.export_id);
  if (!exp) return Nfsstat4::kStale;
  std::optional<ExportOptions> opts = exp->options_for(c.ctx.peer);
  if (!opts) return Nfsstat4::kAccess;
  if (opts->secure && c.ctx.peer_port >= 1024) return Nfsstat4::kAccess;
  f.options = *opts;
  const auto& h = c.ctx.header;
  if (h.flavor == rpc::AuthFlavor::kSys) {
    f.cred = squash(*opts, h.sys.uid, h.sys.gid, h.sys.group_span());
  } else {
    f.cred = storage::Credentials{};
    f.cred.uid = opts->anonuid;
    f.cred.gid = opts->anongid;
  }
  f.set = true;
  *out = f;
  c.ctx.export_id = f.export_id;  // per-export metrics: the last export named
  c.ctx.has_export = true;
  return Nfsstat4::kOk;
}

Nfsstat4 Nfs4Program::put_root(Compound& c) {
  const auto& root = c.pseudo->node(PseudoFs::kRoot);
  if (root.export_id) {  // an export at "/" is the root itself
    storage::FileHandle fh;
    if (Status s = backend_.root_handle(*root.export_id, &fh); s != Status::kOk) {
      return c.storage(s);
    }
    return set_fh(c, fh, &c.current);
  }
  return set_fh(c, root.handle, &c.current);
}

Nfsstat4 Nfs4Program::op_lookup(Compound& c, std::string_view name) {
  if (!c.current.set) return Nfsstat4::kNoFileHandle;
  if (Nfsstat4 st = check_name(name); st != Nfsstat4::kOk) return st;
  if (c.current.pseudo) {
    auto child = c.pseudo->child(c.current.node, name);
    if (!child) return Nfsstat4::kNoEnt;
    const auto& n = c.pseudo->node(*child);
    if (!n.export_id) return set_fh(c, n.handle, &c.current);
    storage::FileHandle fh;
    if (Status s = backend_.root_handle(*n.export_id, &fh); s != Status::kOk) return c.storage(s);
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

Nfsstat4 Nfs4Program::op_lookupp(Compound& c) {
  if (!c.current.set) return Nfsstat4::kNoFileHandle;
  if (c.current.pseudo) {
    if (c.current.node == PseudoFs::kRoot) return Nfsstat4::kNoEnt;
    return set_fh(c, c.pseudo->node(c.pseudo->node(c.current.node).parent).handle, &c.current);
  }
  storage::FileHandle root;
  if (backend_.root_handle(c.current.export_id, &root) == Status::kOk && root == c.current.fh) {
    auto node = c.pseudo->node_of_export(c.current.export_id);
    if (!node || *node == PseudoFs::kRoot) return Nfsstat4::kNoEnt;
    return set_fh(c, c.pseudo->node(c.pseudo->node(*node).parent).handle, &c.current);
  }
  storage::FileHandle fh;
  storage::Attr attr;
  std::optional<storage::Attr> dir_attr;
  Status s = backend_.lookup(c.current.cred, c.current.fh, "..", &fh, &attr, &dir_attr);
  if (s != Status::kOk) return c.storage(s);
  c.current.fh = fh;
  return Nfsstat4::kOk;
}

Nfsstat4 Nfs4Program::encode_attrs(Compound& c, const Fh& f, const nfs4::Bitmap4& req,
                                   xdr::XdrEncoder& out, const storage::Attr* known) {
  nfs4::AttrValues v;
  v.fh = f.fh.bytes();
  v.lease_time = static_cast<std::uint32_t>(state_.config().lease.count());
  v.max_read = limits_.max_read;
  v.max_write = limits_.max_write;
  v.minor = c.minor;
  if (f.pseudo) {
    const auto& n = c.pseudo->node(f.node);
    v.attr.type = storage::FileType::kDir;
    v.attr.mode = 0555;
    v.attr.nlink = 2 + static_cast<std::uint32_t>(n.children.size());
    v.attr.size = v.attr.used = 4096;
    v.attr.fileid = n.fileid;
    v.attr.atime = v.attr.mtime = v.attr.ctime = started_;
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
      if (Status s = backend_.fsstat(f.fh, &fs, &ignored); s != Status::kOk) return c.storage(s);
      v.fsstat = fs;
    }
  }
  nfs4::encode_fattr(out, req, v);
  return Nfsstat4::kOk;
}

Nfsstat4 Nfs4Program::op_read(Compound& c, const nfs4::ReadArgs& a, xdr::XdrEncoder& out) {
  if (!c.current.set) return Nfsstat4::kNoFileHandle;
  if (c.current.pseudo) return Nfsstat4::kIsDir;
  nfs4::Stateid4 sid = a.stateid;
  if (sid.is_current() && c.minor >= 1) {
    if (!c.has_current_stateid) return Nfsstat4::kBadStateid;
    sid = c.current_stateid;
  }
  if (Nfsstat4 st = state_.check_stateid(sid, c.current.fh, false, c.minor);
      st != Nfsstat4::kOk) {
    return st;
  }
  const std::size_t eof_pos = out.position();
  out.u32(0);  // eof, patched
  std::uint32_t got = 0;
  bool eof = false;
  if (Nfsstat4 st = read_data(c, a.offset, std::min(a.count, limits_.max_read), out, &got, &eof);
      st != Nfsstat4::kOk) {
    return st;
  }
  out.patch_u32(eof_pos, eof ? 1 : 0);
  return Nfsstat4::kOk;
}

Nfsstat4 Nfs4Program::read_data(Compound& c, std::uint64_t offset, std::uint32_t count,
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

Nfsstat4 Nfs4Program::op_readdir(Compound& c, const nfs4::ReaddirArgs& a, xdr::XdrEncoder& out) {
  if (!c.current.set) return Nfsstat4::kNoFileHandle;
  const std::size_t budget = std::min(a.maxcount, limits_.max_read);
  if (budget < 16) return Nfsstat4::kTooSmall;
  const std::size_t start = out.position();
  const std::size_t limit = start + budget;
  std::size_t n = 0;
  auto encode_entry = [&](std::uint64_t cookie, std::string_view name, const Fh& f,
                          const std::optional<storage::Attr>& attr) -> bool {
    const std::size_t before = out.position();
    out.boolean(true);  // value follows
    out.u64(cookie);
    out.string(name);
    Nfsstat4 st = Nfsstat4::kOk;
    if (!f.pseudo && !attr) st = Nfsstat4::kIo;
    const std::size_t attr_pos = out.position();
    // A listed entry's attributes come from the listing (one statx each):
    // reading them again through its handle would open it by handle.
    if (st == Nfsstat4::kOk) st = encode_attrs(c, f, a.request, out, attr ? &*attr : nullptr);
    if (st != Nfsstat4::kOk) {  // rdattr_error only (RFC 8881 §5.8.1.12)
      out.rewind(attr_pos);
      nfs4::Bitmap4 only;
      only.set(nfs4::kRdattrError);
      nfs4::AttrValues v;
      v.minor = c.minor;
      v.rdattr_error = static_cast<std::uint32_t>(st);
      nfs4::encode_fattr(out, a.request.test(nfs4::kRdattrError) ? only : nfs4::Bitmap4{}, v);
    }
    // Room for the end of the list (value-follows false + eof) is kept.
    if (!out.ok() || out.position() + 8 > limit) {
      out.rewind(before);
      return false;
    }
    ++n;
    return true;
  };
  if (c.current.pseudo) {
    out.fixed_opaque(storage::Verifier{});
    const auto& node = c.pseudo->node(c.current.node);
    std::uint64_t cookie = 2;
    bool eof = true;
    for (const auto& [name, id] : node.children) {
      ++cookie;  // cookies 3, 4, ...: 0-2 are reserved (RFC 8881 §18.23.3)
      if (cookie <= a.cookie) continue;
      Fh f;
      const auto& child = c.pseudo->node(id);
      if (child.export_id) {
        storage::FileHandle fh;
        if (backend_.root_handle(*child.export_id, &fh) != Status::kOk ||
            set_fh(c, fh, &f) != Nfsstat4::kOk) {
          f = Fh{};
          f.set = f.pseudo = true;
          f.node = id;
          f.fh = child.handle;
        }
      } else {
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
      if (!encode_entry(cookie, name, f, attr)) {
        eof = false;
        break;
      }
    }
    if (n == 0 && !eof) return Nfsstat4::kTooSmall;
    out.boolean(false);
    out.boolean(eof);
    return Nfsstat4::kOk;
  }
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
  if (s != Status::kOk) return c.storage(s == Status::kBadCookie ? Status::kBadCookie : s);
  out.fixed_opaque(verf);
  bool all = true;
  for (const auto& e : entries) {
    if (e.name == "." || e.name == "..") continue;
    Fh f = c.current;
    if (e.handle) f.fh = *e.handle;
    if (!encode_entry(e.cookie, e.name, f, e.attr)) {
      all = false;
      break;
    }
  }
  if (!all && n == 0) return Nfsstat4::kTooSmall;
  out.boolean(false);
  out.boolean(all && eof);
  return Nfsstat4::kOk;
}

Nfsstat4 Nfs4Program::op_open(Compound& c, const nfs4::OpenArgs& a, xdr::XdrEncoder& out) {
  if (!c.current.set) return Nfsstat4::kNoFileHandle;
  if (c.minor == 0 && a.claim > 3) return Nfsstat4::kBadXdr;  // open_claim4 of 4.0 (RFC 7530)
  // No delegation is ever handed out, so no delegation stateid is valid:
  // CLAIM_DELEGATE_CUR / CLAIM_DELEG_CUR_FH get BAD_STATEID (RFC 8881
  // §18.16.3); reclaiming a delegation across a client restart
  // (CLAIM_DELEGATE_PREV / CLAIM_DELEG_PREV_FH) is optional: NOTSUPP.
  if (a.claim == 2 || a.claim == 5) return Nfsstat4::kBadStateid;
  if (a.claim == 3 || a.claim == 6) return Nfsstat4::kNotSupp;
  // Grace (RFC 8881 §8.4.2.1): CLAIM_PREVIOUS only in grace from a client
  // that may reclaim; every other OPEN waits for the end of grace.
  if (Nfsstat4 st = state_.check_grace(c.in_session ? c.clientid : a.clientid, a.claim == 1);
      st != Nfsstat4::kOk) {
    return st;
  }
  if (a.claim == 1 && a.delegate_type != 0) return Nfsstat4::kReclaimBad;  // we never delegate
  if (a.create && a.attr_status != Nfsstat4::kOk) return a.attr_status;
  if (a.share_access == 0) return Nfsstat4::kInval;
  if (c.current.pseudo) return a.claim == 0 ? (a.create ? Nfsstat4::kRoFs : Nfsstat4::kNoEnt)
                                            : Nfsstat4::kIsDir;
  const bool wants_write = a.share_access & nfs4::kShareAccessWrite;
  if ((a.create || wants_write) && c.current.options.read_only) return Nfsstat4::kRoFs;
  const auto& cred = c.current.cred;
  storage::WccData dir_wcc;
  storage::FileHandle file;
  storage::Attr attr;
  nfs4::Bitmap4 attrset;
  if (!a.create || a.claim != 0) {
    // An existing file; inline, run_compound() already found it.
    OpenFound found;
    if (c.open_found) {
      found = *c.open_found;
    } else {
      found.status = find_open_file(c, a, &found);
    }
    if (found.status != Nfsstat4::kOk) return found.status;
    file = found.file;
    dir_wcc = found.dir_wcc;
  } else {
    if (Nfsstat4 st = check_name(a.name); st != Nfsstat4::kOk) return st;
    storage::CreateMode mode = a.createmode == 0   ? storage::CreateMode::kUnchecked
                               : a.createmode == 1 ? storage::CreateMode::kGuarded
                                                   : storage::CreateMode::kExclusive;
    storage::Verifier verf{};
    std::memcpy(verf.data(), a.verifier.data(), verf.size());
    storage::SetAttr set = a.createmode == 2 ? storage::SetAttr{} : a.attrs.set;
    if (a.createmode == 3) {  // only suppattr_exclcreat may come along (§18.16.3)
      const nfs4::Bitmap4 ok = nfs4::exclcreat_attrs();
      for (int w = 0; w < 3; ++w) {
        if (a.attrs.present.w[w] & ~ok.w[w]) return Nfsstat4::kInval;
      }
    }
    Status s = backend_.create(cred, c.current.fh, a.name, mode, set, verf, &file, &attr,
                               &dir_wcc);
    if (s != Status::kOk) return c.storage(s);
    if (a.createmode == 3 && (set.mode || set.uid || set.gid || set.size)) {
      storage::WccData wcc;
      if (Status s2 = backend_.setattr(cred, file, set, std::nullopt, &wcc); s2 != Status::kOk) {
        return c.storage(s2);
      }
    }
    if (a.createmode != 2) attrset = a.attrs.present;
    // The creator may write the file it made: no access check.
    if (attr.type == storage::FileType::kDir) return Nfsstat4::kIsDir;
    if (attr.type == storage::FileType::kLnk) return Nfsstat4::kSymlink;
    if (attr.type != storage::FileType::kReg) return Nfsstat4::kWrongType;
  }
  nfs4::Stateid4 sid;
  const std::uint64_t clientid = c.minor == 0 ? a.clientid : c.clientid;
  if (Nfsstat4 st = state_.open(clientid, a.owner, file, a.share_access, a.share_deny, &sid);
      st != Nfsstat4::kOk) {
    return st;
  }
  std::uint32_t rflags = kOpenResultLocktypePosix;
  if (c.minor == 0 && state_.open_needs_confirm(clientid, a.owner, sid, a.claim == 1)) {
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

Nfsstat4 Nfs4Program::find_open_file(Compound& c, const nfs4::OpenArgs& a, OpenFound* out) {
  const auto& cred = c.current.cred;
  // The try_* form when c.nowait (kWouldBlock sets c.would_block).
  auto call = [&](Status blocking_or_try) {
    if (blocking_or_try == Status::kWouldBlock) c.would_block = true;
    return blocking_or_try;
  };
  storage::Attr attr;
  if (a.claim == 0) {
    if (Nfsstat4 st = check_name(a.name); st != Nfsstat4::kOk) return st;
    std::optional<storage::Attr> dir_attr;
    Status s = call(c.nowait ? backend_.try_lookup(cred, c.current.fh, a.name, &out->file, &attr,
                                                   &dir_attr)
                             : backend_.lookup(cred, c.current.fh, a.name, &out->file, &attr,
                                               &dir_attr));
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
    return call(c.nowait ? backend_.try_access(cred, out->file, want, granted, &ignored)
                         : backend_.access(cred, out->file, want, granted, &ignored));
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

Nfsstat4 Nfs4Program::op_create(Compound& c, const nfs4::CreateArgs& a, xdr::XdrEncoder& out) {
  if (!c.current.set) return Nfsstat4::kNoFileHandle;
  if (a.bad_type) return Nfsstat4::kBadType;
  if (a.attr_status != Nfsstat4::kOk) return a.attr_status;
  if (Nfsstat4 st = check_name(a.name); st != Nfsstat4::kOk) return st;
  const auto& cred = c.current.cred;
  storage::FileHandle fh;
  storage::Attr attr;
  storage::WccData wcc;
  Status s;
  switch (a.type) {
    case storage::FileType::kDir:
      s = backend_.mkdir(cred, c.current.fh, a.name, a.attrs.set, &fh, &attr, &wcc);
      break;
    case storage::FileType::kLnk:
      s = backend_.symlink(cred, c.current.fh, a.name, a.linkdata, a.attrs.set, &fh, &attr, &wcc);
      break;
    default:
      s = backend_.mknod(cred, c.current.fh, a.name, a.type, a.attrs.set, a.major, a.minor, &fh,
                         &attr, &wcc);
      break;
  }
  if (s != Status::kOk) return c.storage(s);
  c.current.fh = fh;
  nfs4::encode_change_info(out, wcc);
  nfs4::encode_bitmap(out, a.attrs.present);
  return Nfsstat4::kOk;
}

Nfsstat4 Nfs4Program::run_op(std::uint32_t opnum, xdr::XdrDecoder& in, Compound& c,
                             xdr::XdrEncoder& out) {
  const Op op = static_cast<Op>(opnum);
  auto args = [&](auto& a) {
    if (!nfs4::decode(in, a)) return false;
    // SETATTR, CREATE and OPEN's createattrs: owner strings to ids.
    if constexpr (requires { a.attrs.owner_name; a.attr_status; }) {
      if (a.attr_status == Nfsstat4::kOk) a.attr_status = idmap_.resolve(a.attrs);
    }
    return true;
  };
  // Checks shared by the operations on the current filehandle.
  auto need_fh = [&]() -> Nfsstat4 {
    return c.current.set ? Nfsstat4::kOk : Nfsstat4::kNoFileHandle;
  };
  if (modifies(op)) {
    // Arguments are decoded below; check the filehandle first only when set.
    if (c.current.set && (c.current.pseudo || c.current.options.read_only)) {
      // Consume the arguments so a malformed op still reports BADXDR first.
      std::size_t extra;
      if (!scan_op(opnum, in, limits_.max_read, &extra)) return Nfsstat4::kBadXdr;
      return Nfsstat4::kRoFs;
    }
  }
  switch (op) {
    case Op::kPutrootfh: case Op::kPutpubfh:
      return put_root(c);
    case Op::kPutfh: {
      nfs4::PutfhArgs a;
      if (!args(a)) return Nfsstat4::kBadXdr;
      storage::FileHandle fh;
      if (!fh.assign(a.fh)) return Nfsstat4::kBadHandle;
      return set_fh(c, fh, &c.current);
    }
    case Op::kGetfh:
      if (Nfsstat4 st = need_fh(); st != Nfsstat4::kOk) return st;
      out.opaque(c.current.fh.bytes());
      return Nfsstat4::kOk;
    case Op::kSavefh:
      if (Nfsstat4 st = need_fh(); st != Nfsstat4::kOk) return st;
      c.saved = c.current;
      return Nfsstat4::kOk;
    case Op::kRestorefh:
      if (!c.saved.set) return Nfsstat4::kRestorefh;
      c.current = c.saved;
      return Nfsstat4::kOk;
    case Op::kLookup: {
      nfs4::NameArgs a;
      if (!args(a)) return Nfsstat4::kBadXdr;
      return op_lookup(c, a.name);
    }
    case Op::kLookupp:
      return op_lookupp(c);
    case Op::kGetattr: {
      nfs4::GetattrArgs a;
      if (!args(a)) return Nfsstat4::kBadXdr;
      if (Nfsstat4 st = need_fh(); st != Nfsstat4::kOk) return st;
      return encode_attrs(c, c.current, a.request, out,
                          c.looked_up_attr ? &*c.looked_up_attr : nullptr);
    }
    case Op::kSetattr: {
      nfs4::SetattrArgs a;
      const std::size_t pos = out.position();
      auto fail = [&](Nfsstat4 st) {
        out.rewind(pos);
        nfs4::encode_bitmap(out, {});
        return st;
      };
      if (!args(a)) return fail(Nfsstat4::kBadXdr);
      if (Nfsstat4 st = need_fh(); st != Nfsstat4::kOk) return fail(st);
      if (a.attr_status != Nfsstat4::kOk) return fail(a.attr_status);
      if (a.attrs.set.size) {
        // A truncate could break a lock not yet reclaimed (RFC 8881 §8.4.2.1).
        if (state_.in_grace()) return fail(Nfsstat4::kGrace);
        nfs4::Stateid4 sid = a.stateid;
        if (sid.is_current() && c.has_current_stateid && c.minor >= 1) sid = c.current_stateid;
        if (Nfsstat4 st = state_.check_stateid(sid, c.current.fh, true, c.minor);
            st != Nfsstat4::kOk) {
          return fail(st);
        }
      }
      storage::WccData wcc;
      Status s = backend_.setattr(c.current.cred, c.current.fh, a.attrs.set, std::nullopt, &wcc);
      if (s != Status::kOk) return fail(c.storage(s));
      nfs4::encode_bitmap(out, a.attrs.present);
      return Nfsstat4::kOk;
    }
    case Op::kAccess: {
      nfs4::AccessArgs a;
      if (!args(a)) return Nfsstat4::kBadXdr;
      if (Nfsstat4 st = need_fh(); st != Nfsstat4::kOk) return st;
      const std::uint32_t want = a.access & (c.minor >= 2 ? kAccessAll42 : kAccessAll);
      std::uint32_t granted = 0;
      if (c.current.pseudo) {
        granted = want & (kAccessRead | kAccessLookup | kAccessExecute);
      } else {
        std::optional<storage::Attr> attr;
        Status s = be_access(c, nfs4_detail::access_base(want), &granted, &attr);
        if (s != Status::kOk) return c.storage(s);
        granted = nfs4_detail::access_xattr(want, granted);
        if (c.current.options.read_only) {
          granted &= ~(kAccessModify | kAccessExtend | kAccessDelete | nfs4::kAccessXaWrite);
        }
      }
      out.u32(want);
      out.u32(granted & want);
      return Nfsstat4::kOk;
    }
    case Op::kReadlink: {
      if (Nfsstat4 st = need_fh(); st != Nfsstat4::kOk) return st;
      if (c.current.pseudo) return Nfsstat4::kInval;
      std::string target;
      std::optional<storage::Attr> attr;
      Status s = backend_.readlink(c.current.cred, c.current.fh, &target, &attr);
      if (s != Status::kOk) return c.storage(s);
      out.string(target);
      return Nfsstat4::kOk;
    }
    case Op::kRead: {
      nfs4::ReadArgs a;
      if (!args(a)) return Nfsstat4::kBadXdr;
      return op_read(c, a, out);
    }
    case Op::kWrite: {
      nfs4::WriteArgs a;
      if (!args(a)) return Nfsstat4::kBadXdr;
      if (Nfsstat4 st = need_fh(); st != Nfsstat4::kOk) return st;
      nfs4::Stateid4 sid = a.stateid;
      if (sid.is_current() && c.has_current_stateid && c.minor >= 1) sid = c.current_stateid;
      if (Nfsstat4 st = state_.check_stateid(sid, c.current.fh, true, c.minor);
          st != Nfsstat4::kOk) {
        return st;
      }
      auto data = a.data.first(std::min<std::size_t>(a.data.size(), limits_.max_write));
      const auto stable = static_cast<storage::StableHow>(a.stable);
      const auto how = c.current.options.sync ? stable : storage::StableHow::kUnstable;
      std::uint32_t count = 0;
      storage::StableHow committed{};
      storage::WccData wcc;
      Status s = backend_.write(c.current.cred, c.current.fh, a.offset, data, how, &count,
                                &committed, &wcc);
      if (s != Status::kOk) return c.storage(s);
      if (!c.current.options.sync) committed = stable;
      c.ctx.data_bytes_written += count;
      out.u32(count);
      out.u32(static_cast<std::uint32_t>(committed));
      out.fixed_opaque(writeverf_);
      return Nfsstat4::kOk;
    }
    case Op::kCommit: {
      nfs4::CommitArgs a;
      if (!args(a)) return Nfsstat4::kBadXdr;
      if (Nfsstat4 st = need_fh(); st != Nfsstat4::kOk) return st;
      storage::WccData wcc;
      Status s = backend_.commit(c.current.cred, c.current.fh, a.offset, a.count, &wcc);
      if (s != Status::kOk) return c.storage(s);
      out.fixed_opaque(writeverf_);
      return Nfsstat4::kOk;
    }
    case Op::kCreate: {
      nfs4::CreateArgs a;
      if (!args(a)) return Nfsstat4::kBadXdr;
      return op_create(c, a, out);
    }
    case Op::kRemove: {
      nfs4::NameArgs a;
      if (!args(a)) return Nfsstat4::kBadXdr;
      if (Nfsstat4 st = need_fh(); st != Nfsstat4::kOk) return st;
      if (Nfsstat4 st = check_name(a.name); st != Nfsstat4::kOk) return st;
      storage::WccData wcc;
      Status s = backend_.remove(c.current.cred, c.current.fh, a.name, &wcc);
      if (s == Status::kIsDir || s == Status::kPerm) {
        storage::WccData w2;
        Status s2 = backend_.rmdir(c.current.cred, c.current.fh, a.name, &w2);
        if (s2 != Status::kNotDir) {
          s = s2;
          wcc = w2;
        }
      }
      if (s != Status::kOk) return c.storage(s);
      nfs4::encode_change_info(out, wcc);
      return Nfsstat4::kOk;
    }
    case Op::kRename: {
      nfs4::RenameArgs a;
      if (!args(a)) return Nfsstat4::kBadXdr;
      if (!c.current.set || !c.saved.set) return Nfsstat4::kNoFileHandle;
      if (c.saved.pseudo || c.saved.options.read_only) return Nfsstat4::kRoFs;
      if (c.saved.export_id != c.current.export_id) return Nfsstat4::kXdev;
      if (Nfsstat4 st = check_name(a.oldname); st != Nfsstat4::kOk) return st;
      if (Nfsstat4 st = check_name(a.newname); st != Nfsstat4::kOk) return st;
      storage::WccData from, to;
      Status s = backend_.rename(c.current.cred, c.saved.fh, a.oldname, c.current.fh, a.newname,
                                 &from, &to);
      if (s != Status::kOk) return c.storage(s);
      nfs4::encode_change_info(out, from);
      nfs4::encode_change_info(out, to);
      return Nfsstat4::kOk;
    }
    case Op::kLink: {
      nfs4::NameArgs a;
      if (!args(a)) return Nfsstat4::kBadXdr;
      if (!c.current.set || !c.saved.set) return Nfsstat4::kNoFileHandle;
      if (c.saved.pseudo) return Nfsstat4::kIsDir;
      if (c.saved.export_id != c.current.export_id) return Nfsstat4::kXdev;
      if (Nfsstat4 st = check_name(a.name); st != Nfsstat4::kOk) return st;
      storage::WccData wcc;
      std::optional<storage::Attr> attr;
      Status s = backend_.link(c.current.cred, c.saved.fh, c.current.fh, a.name, &attr, &wcc);
      if (s != Status::kOk) return c.storage(s);
      nfs4::encode_change_info(out, wcc);
      return Nfsstat4::kOk;
    }
    case Op::kReaddir: {
      nfs4::ReaddirArgs a;
      if (!args(a)) return Nfsstat4::kBadXdr;
      return op_readdir(c, a, out);
    }
    case Op::kOpen: {
      nfs4::OpenArgs a;
      if (!args(a)) return Nfsstat4::kBadXdr;
      return op_open(c, a, out);
    }
    case Op::kClose: {
      nfs4::CloseArgs a;
      if (!args(a)) return Nfsstat4::kBadXdr;
      if (Nfsstat4 st = need_fh(); st != Nfsstat4::kOk) return st;
      nfs4::Stateid4 sid = a.stateid;
      if (sid.is_current() && c.minor >= 1) {
        if (!c.has_current_stateid) return Nfsstat4::kBadStateid;
        sid = c.current_stateid;
      }
      if (Nfsstat4 st = state_.close(sid, c.current.fh, c.minor); st != Nfsstat4::kOk) return st;
      nfs4::Stateid4 invalid;  // the invalid special stateid (RFC 8881 §8.2.3)
      invalid.seqid = 0xffffffffu;
      nfs4::encode_stateid(out, invalid);
      c.has_current_stateid = false;
      return Nfsstat4::kOk;
    }
    case Op::kOpenDowngrade: {
      nfs4::OpenDowngradeArgs a;
      if (!args(a)) return Nfsstat4::kBadXdr;
      if (Nfsstat4 st = need_fh(); st != Nfsstat4::kOk) return st;
      nfs4::Stateid4 sid = a.stateid;
      if (sid.is_current() && c.has_current_stateid && c.minor >= 1) sid = c.current_stateid;
      nfs4::Stateid4 res;
      if (Nfsstat4 st = state_.open_downgrade(sid, c.current.fh, a.share_access, a.share_deny,
                                              &res, c.minor);
          st != Nfsstat4::kOk) {
        return st;
      }
      c.current_stateid = res;
      c.has_current_stateid = true;
      nfs4::encode_stateid(out, res);
      return Nfsstat4::kOk;
    }
    case Op::kSecinfo: case Op::kSecinfoNoName: {
      if (op == Op::kSecinfo) {
        nfs4::NameArgs a;
        if (!args(a)) return Nfsstat4::kBadXdr;
        if (Nfsstat4 st = need_fh(); st != Nfsstat4::kOk) return st;
        if (Nfsstat4 st = check_name(a.name); st != Nfsstat4::kOk) return st;
        Compound probe = c;
        if (Nfsstat4 st = op_lookup(probe, a.name); st != Nfsstat4::kOk) return st;
      } else {
        nfs4::SecinfoNoNameArgs a;
        if (!args(a)) return Nfsstat4::kBadXdr;
        if (Nfsstat4 st = need_fh(); st != Nfsstat4::kOk) return st;
      }
      out.u32(1);
      out.u32(static_cast<std::uint32_t>(rpc::AuthFlavor::kSys));
      c.current = Fh{};  // SECINFO consumes the current filehandle (§2.6.3.1.1.8)
      return Nfsstat4::kOk;
    }
    case Op::kTestStateid: {
      nfs4::TestStateidArgs a;
      if (!args(a)) return Nfsstat4::kBadXdr;
      out.u32(static_cast<std::uint32_t>(a.stateids.size()));
      for (const auto& s : a.stateids) {
        out.u32(static_cast<std::uint32_t>(state_.test_stateid(c.clientid, s)));
      }
      return Nfsstat4::kOk;
    }
    case Op::kFreeStateid: {
      nfs4::StateidArgs a;
      if (!args(a)) return Nfsstat4::kBadXdr;
      return state_.free_stateid(c.clientid, a.stateid);
    }
    case Op::kSequence: {
      nfs4::SequenceArgs a;
      if (!args(a)) return Nfsstat4::kBadXdr;
      Nfs4State::SequenceResult r;
      if (c.nowait) {
        // Inline: only look at the slot now; run_compound() performs the
        // SEQUENCE once the rest has run.  Anything but a new request on a
        // live session, or a limit exceeded, is for the persist stage.
        if (state_.peek_sequence(a, &r) != Nfsstat4::kOk || c.numops > r.max_ops ||
            (r.max_request && c.request_bytes > r.max_request)) {
          c.would_block = true;
          return Nfsstat4::kDelay;
        }
        c.pending_sequence = a;
        c.sequence_pos = out.position();
      } else if (Nfsstat4 st = state_.sequence(a, &r); st != Nfsstat4::kOk) {
        return st;
      }
      if (r.replay) {
        c.replay = true;
        c.replay_bytes = std::move(r.cached);
        return Nfsstat4::kOk;
      }
      c.in_session = true;
      c.sessionid = a.sessionid;
      c.slotid = a.slotid;
      c.clientid = r.clientid;
      c.max_ops = r.max_ops;
      c.max_request = r.max_request;
      c.max_response = r.max_response;
      // The session's limits (RFC 8881 §18.46.3, §2.10.6.4); the slot is
      // in use now, so the error reply completes it like any other.
      if (c.numops > c.max_ops) return Nfsstat4::kTooManyOps;
      if (c.max_request && c.request_bytes > c.max_request) return Nfsstat4::kReqTooBig;
      out.fixed_opaque(a.sessionid);
      out.u32(a.sequenceid);
      out.u32(a.slotid);
      out.u32(r.highest_slotid);
      out.u32(r.target_highest_slotid);
      if (c.nowait) {
        out.u32(0);  // status flags: patched when the SEQUENCE is performed
      } else {
        out.u32(r.status_flags | (callbacks_ ? callbacks_->sequence_flags(a.sessionid) : 0));
      }
      return Nfsstat4::kOk;
    }
    case Op::kExchangeId: {
      nfs4::ExchangeIdArgs a;
      if (!args(a)) return Nfsstat4::kBadXdr;
      if (a.state_protect != 0) return Nfsstat4::kNotSupp;  // only SP4_NONE for now
      Nfs4State::ExchangeIdResult r;
      if (Nfsstat4 st = state_.exchange_id(a, &r); st != Nfsstat4::kOk) return st;
      out.u64(r.clientid);
      out.u32(r.sequenceid);
      out.u32(kExchgidUseNonPnfs | (r.confirmed ? kExchgidConfirmedR : 0));
      out.u32(0);             // SP4_NONE
      out.u64(0);             // so_minor_id
      out.string("nasd");     // so_major_id
      out.string("nasd");     // server scope
      out.u32(0);             // no nfs_impl_id4
      return Nfsstat4::kOk;
    }
    case Op::kCreateSession: {
      nfs4::CreateSessionArgs a;
      if (!args(a)) return Nfsstat4::kBadXdr;
      Nfs4State::CreateSessionResult r;
      if (Nfsstat4 st = state_.create_session(a, &r); st != Nfsstat4::kOk) return st;
      if (callbacks_) {  // the back channel (RFC 8881 §18.36.3)
        const bool back = (a.flags & nfs4::kCreateSessionConnBackChan) && c.ctx.connection;
        r.flags |= callbacks_->session_created(
            r.sessionid, a.clientid, c.minor, a.flags, a.cb_program, a.sec,
            back ? c.ctx.connection->back_channel() : nullptr,
            [this](const nfs4::SessionId& id) { return state_.has_session(id); });
      }
      out.fixed_opaque(r.sessionid);
      out.u32(r.sequence);
      out.u32(r.flags);
      nfs4::encode_channel_attrs(out, r.fore);
      nfs4::encode_channel_attrs(out, r.back);
      return Nfsstat4::kOk;
    }
    case Op::kDestroySession: {
      nfs4::SessionArgs a;
      if (!args(a)) return Nfsstat4::kBadXdr;
      const Nfsstat4 st = state_.destroy_session(a.sessionid);
      if (st == Nfsstat4::kOk && callbacks_) callbacks_->session_destroyed(a.sessionid);
      return st;
    }
    case Op::kDestroyClientid: {
      nfs4::ClientidArgs a;
      if (!args(a)) return Nfsstat4::kBadXdr;
      return state_.destroy_clientid(a.clientid);
    }
    case Op::kBindConnToSession: {
      nfs4::BindConnArgs a;
      if (!args(a)) return Nfsstat4::kBadXdr;
      if (Nfsstat4 st = state_.bind_conn(a.sessionid); st != Nfsstat4::kOk) return st;
      std::uint32_t dir = nfs4::kCdfs4Fore;
      if (callbacks_ && a.dir != nfs4::kCdfc4Fore && c.ctx.connection) {
        dir = callbacks_->bind_conn(a.sessionid, a.dir, c.ctx.connection->back_channel());
      }
      out.fixed_opaque(a.sessionid);
      out.u32(dir);
      out.boolean(false);
      return Nfsstat4::kOk;
    }
    case Op::kBackchannelCtl: {  // RFC 8881 §18.33
      if (!callbacks_) return Nfsstat4::kNotSupp;  // no back channel at all
      nfs4::BackchannelCtlArgs a;
      if (!args(a)) return Nfsstat4::kBadXdr;
      callbacks_->backchannel_ctl(c.sessionid, a.cb_program, a.sec);
      return Nfsstat4::kOk;
    }
    case Op::kReclaimComplete: {
      nfs4::ReclaimCompleteArgs a;
      if (!args(a)) return Nfsstat4::kBadXdr;
      if (a.one_fs) return Nfsstat4::kOk;  // per-fs reclaim: nothing to track
      return state_.reclaim_complete(c.clientid);
    }
    case Op::kSetclientid: case Op::kSetclientidConfirm: case Op::kRenew: case Op::kOpenConfirm:
      if (c.minor >= 1) return Nfsstat4::kNotSupp;  // RFC 8881 §18.x: MUST NOT in 4.1
      return run_v40_client_op(op, in, c, out);
    case Op::kLock: {
      nfs4::LockArgs a;
      if (!args(a)) return Nfsstat4::kBadXdr;
      if (Nfsstat4 st = need_fh(); st != Nfsstat4::kOk) return st;
      if (c.current.pseudo) return Nfsstat4::kIsDir;
      if (c.minor >= 1) {  // the current stateid may stand for the open / lock stateid
        nfs4::Stateid4& sid = a.new_lock_owner ? a.open_stateid : a.lock_stateid;
        if (sid.is_current()) {
          if (!c.has_current_stateid) return Nfsstat4::kBadStateid;
          sid = c.current_stateid;
        }
      }
      nfs4::Stateid4 res;
      nfs4::LockDenied denied;
      Nfsstat4 st = state_.lock(c.in_session ? c.clientid : 0, a, c.current.fh, &res, &denied);
      if (st == Nfsstat4::kDenied) {
        nfs4::encode_lock_denied(out, denied);
        return st;
      }
      if (st != Nfsstat4::kOk) return st;
      c.current_stateid = res;
      c.has_current_stateid = true;
      nfs4::encode_stateid(out, res);
      return Nfsstat4::kOk;
    }
    case Op::kLockt: {
      nfs4::LocktArgs a;
      if (!args(a)) return Nfsstat4::kBadXdr;
      if (Nfsstat4 st = need_fh(); st != Nfsstat4::kOk) return st;
      if (c.current.pseudo) return Nfsstat4::kIsDir;
      nfs4::LockDenied denied;
      Nfsstat4 st =
          state_.lockt(c.in_session ? c.clientid : a.owner.clientid, a, c.current.fh, &denied);
      if (st == Nfsstat4::kDenied) nfs4::encode_lock_denied(out, denied);
      return st;
    }
    case Op::kLocku: {
      nfs4::LockuArgs a;
      if (!args(a)) return Nfsstat4::kBadXdr;
      if (Nfsstat4 st = need_fh(); st != Nfsstat4::kOk) return st;
      if (c.current.pseudo) return Nfsstat4::kIsDir;
      if (a.lock_stateid.is_current() && c.minor >= 1) {
        if (!c.has_current_stateid) return Nfsstat4::kBadStateid;
        a.lock_stateid = c.current_stateid;
      }
      nfs4::Stateid4 res;
      if (Nfsstat4 st = state_.locku(a, c.current.fh, &res, c.minor); st != Nfsstat4::kOk) {
        return st;
      }
      c.current_stateid = res;
      c.has_current_stateid = true;
      nfs4::encode_stateid(out, res);
      return Nfsstat4::kOk;
    }
    case Op::kReleaseLockowner: {
      // Minor version 0 only: RFC 8881 §17 marks it MNI (must not be
      // implemented) for 4.1, where FREE_STATEID releases lock state.
      if (c.minor >= 1) return Nfsstat4::kNotSupp;
      nfs4::ReleaseLockownerArgs a;
      if (!args(a)) return Nfsstat4::kBadXdr;
      return state_.release_lockowner(a.owner);
    }
    default:
      return run_op_42(opnum, in, c, out);
  }
}

bool Nfs4Program::may_run_inline(const CallContext&, const ArgSlot& args) const {
  return args.empty() || args.get<CompoundArgs>().inline_ok;  // NULL, or read-only ops
}

std::optional<storage::Status> Nfs4Program::try_execute_inline(CallContext& ctx, ArgSlot& args,
                                                               xdr::XdrEncoder& out) {
  const auto bytes_read = ctx.data_bytes_read;  // a READ of an abandoned attempt
  auto status = run_compound(ctx, args, out, /*nowait=*/true);
  if (!status) ctx.data_bytes_read = bytes_read;
  return status;
}

storage::Status Nfs4Program::execute(CallContext& ctx, ArgSlot& args, xdr::XdrEncoder& out) {
  return *run_compound(ctx, args, out, /*nowait=*/false);
}

Status Nfs4Program::be_getattr(Compound& c, const storage::FileHandle& fh, storage::Attr* out) {
  if (!c.nowait) return backend_.getattr(fh, out);
  const Status s = backend_.try_getattr(fh, out);
  if (s == Status::kWouldBlock) c.would_block = true;
  return s;
}

Status Nfs4Program::be_lookup(Compound& c, std::string_view name, storage::FileHandle* out,
                              storage::Attr* attr, std::optional<storage::Attr>* dir_attr,
                              bool attrs_only) {
  if (!c.nowait) {
    return backend_.lookup(c.current.cred, c.current.fh, name, out, attr, dir_attr);
  }
  const Status s =
      attrs_only
          ? backend_.try_lookup_for_attrs(c.current.cred, c.current.fh, name, out, attr, dir_attr)
          : backend_.try_lookup(c.current.cred, c.current.fh, name, out, attr, dir_attr);
  if (s == Status::kWouldBlock) c.would_block = true;
  return s;
}

Status Nfs4Program::be_access(Compound& c, std::uint32_t requested, std::uint32_t* granted,
                              std::optional<storage::Attr>* attr) {
  if (!c.nowait) return backend_.access(c.current.cred, c.current.fh, requested, granted, attr);
  const Status s = backend_.try_access(c.current.cred, c.current.fh, requested, granted, attr);
  if (s == Status::kWouldBlock) c.would_block = true;
  return s;
}

Status Nfs4Program::be_read(Compound& c, std::uint64_t offset, std::span<std::uint8_t> dst,
                            std::uint32_t* got, bool* eof, std::optional<storage::Attr>* attr) {
  if (!c.nowait) return backend_.read(c.current.cred, c.current.fh, offset, dst, got, eof, attr);
  const Status s = backend_.try_read(c.current.cred, c.current.fh, offset, dst, got, eof, attr);
  if (s == Status::kWouldBlock) c.would_block = true;
  return s;
}

Status Nfs4Program::be_readdir(Compound& c, std::uint64_t cookie,
                               const storage::Verifier& cookieverf,
                               const std::function<bool(const storage::DirEntry&)>& fits,
                               std::vector<storage::DirEntry>* entries, storage::Verifier* verf,
                               bool* eof, std::optional<storage::Attr>* dir_attr) {
  if (!c.nowait) {
    return backend_.readdir(c.current.cred, c.current.fh, cookie, cookieverf, true, fits, entries,
                            verf, eof, dir_attr);
  }
  const Status s = backend_.try_readdir(c.current.cred, c.current.fh, cookie, cookieverf, true,
                                        fits, entries, verf, eof, dir_attr);
  if (s == Status::kWouldBlock) c.would_block = true;
  return s;
}

bool Nfs4Program::open_is_in_memory(Compound& c, const nfs4::OpenArgs& a) {
  const std::uint64_t clientid = c.minor == 0 ? a.clientid : c.clientid;
  if (state_.open_writes_record(clientid)) return false;
  // What op_open() checks before it changes state, answered from memory or
  // not at all; op_open() then uses this result instead of asking again.
  if (!c.current.set || c.current.pseudo || a.create || a.share_access == 0 ||
      ((a.share_access & nfs4::kShareAccessWrite) && c.current.options.read_only)) {
    return true;  // op_open() answers without the backend
  }
  OpenFound found;
  found.status = find_open_file(c, a, &found);
  if (c.would_block) return false;
  c.open_found = found;
  return true;
}

bool Nfs4Program::perform_pending_sequence(Compound& c, xdr::XdrEncoder& out) {
  // It can still find the slot taken meanwhile (a retransmission on another
  // thread): then nothing was changed and the persist stage runs the whole
  // COMPOUND.
  const nfs4::SequenceArgs& sa = *c.pending_sequence;
  bool probe_wanted = false;
  const std::uint32_t cb_flags =
      callbacks_ ? callbacks_->sequence_flags(sa.sessionid, &probe_wanted) : 0;
  if (probe_wanted) return false;
  Nfs4State::SequenceResult r;
  if (state_.sequence(sa, &r) != Nfsstat4::kOk || r.replay) return false;
  // SEQUENCE4resok after sessionid, sequenceid and slotid (RFC 8881 §18.46.2).
  out.patch_u32(c.sequence_pos + 24, r.highest_slotid);
  out.patch_u32(c.sequence_pos + 28, r.target_highest_slotid);
  out.patch_u32(c.sequence_pos + 32, r.status_flags | cb_flags);
  c.pending_sequence.reset();
  return true;
}

std::optional<storage::Status> Nfs4Program::run_compound(CallContext& ctx, ArgSlot& args,
                                                         xdr::XdrEncoder& out, bool nowait) {
  if (args.empty()) return Status::kOk;  // NULL
  auto& a = args.get<CompoundArgs>();
  Compound c(ctx);
  c.nowait = nowait;
  c.table = exports_.current();
  c.pseudo = pseudo(*c.table);
  c.minor = a.header.minorversion;
  c.numops = a.header.numops;
  c.request_bytes = a.request_bytes;
  c.attrs_tail = a.attrs_tail;
  const std::size_t body = out.position();
  out.u32(0);  // status, patched
  out.string(a.header.tag);
  const std::size_t numres_pos = out.position();
  out.u32(0);
  xdr::XdrDecoder in(a.ops);
  Nfsstat4 last = Nfsstat4::kOk;
  std::uint32_t nres = 0;
  // Inline: operation metrics are recorded once the COMPOUND is answered
  // (no allocation: inline COMPOUNDs hold at most kInlineMaxOps operations).
  struct OpSample {
    std::uint32_t opnum = 0;
    Nfsstat4 st = Nfsstat4::kOk;
    double seconds = 0;
  };
  std::array<OpSample, kInlineMaxOps> samples;
  std::size_t nsamples = 0;
  for (std::uint32_t i = 0; i < a.header.numops; ++i) {
    std::uint32_t opnum = in.u32();
    Nfsstat4 st = Nfsstat4::kOk;
    bool run = true;
    if (!in.ok()) {
      opnum = static_cast<std::uint32_t>(Op::kIllegal);
      st = Nfsstat4::kBadXdr;
      run = false;
    } else if (opnum < 3 || opnum > nfs4::last_op(c.minor)) {
      // Also a 4.1/4.2 operation in a 4.0 COMPOUND: nfs_opnum4 of RFC 7530
      // (§16.2, §16.39) ends at OP_RELEASE_LOCKOWNER (39), so 40..58 are
      // not operations of minor version 0 and get ILLEGAL4res, not NOTSUPP.
      opnum = static_cast<std::uint32_t>(Op::kIllegal);
      st = Nfsstat4::kOpIllegal;
      run = false;
    } else if (i == 0 && c.minor >= 1) {
      const Op op = static_cast<Op>(opnum);
      const bool sessionless = op == Op::kExchangeId || op == Op::kCreateSession ||
                               op == Op::kDestroySession || op == Op::kBindConnToSession ||
                               op == Op::kDestroyClientid;
      if (op != Op::kSequence && !sessionless) {
        st = Nfsstat4::kOpNotInSession;
        run = false;
      } else if (sessionless && a.header.numops > 1 && op != Op::kDestroySession &&
                 op != Op::kDestroyClientid) {
        st = Nfsstat4::kNotOnlyOp;
        run = false;
      }
    } else if (c.minor >= 1 && static_cast<Op>(opnum) == Op::kSequence) {
      st = Nfsstat4::kSequencePos;
      run = false;
    }
    out.u32(opnum);
    const std::size_t status_pos = out.position();
    out.u32(0);
    const auto op_start = std::chrono::steady_clock::now();
    if (run && c.nowait &&
        (static_cast<Op>(opnum) == Op::kOpen || static_cast<Op>(opnum) == Op::kClose)) {
      // Inline OPEN / CLOSE change state, after which the attempt can no
      // longer be given up.  So first everything that could make it wait is
      // checked (the OPEN's file in memory, no client record to write) and
      // the SEQUENCE performed; then the rest of the COMPOUND runs to its
      // end with the ordinary backend calls, which find what the checks
      // just found in memory (decode() lets only GETFH, GETATTR and ACCESS
      // follow).
      if (static_cast<Op>(opnum) == Op::kOpen) {
        xdr::XdrDecoder peek = in;
        nfs4::OpenArgs oa;
        if (!nfs4::decode(peek, oa) || !open_is_in_memory(c, oa)) return std::nullopt;
      }
      if (c.pending_sequence && !perform_pending_sequence(c, out)) return std::nullopt;
      c.nowait = false;
    }
    c.op_index = i;
    if (static_cast<Op>(opnum) != Op::kGetfh && static_cast<Op>(opnum) != Op::kGetattr) {
      c.looked_up_attr.reset();
    }
    if (run) st = c.minor == 0 ? run_op_v40(opnum, in, c, out) : run_op(opnum, in, c, out);
    if (c.would_block) return std::nullopt;  // nothing changed: the persist stage runs it
    // A full table (clients, sessions, opens, lock-owners, locks): RESOURCE
    // in 4.0; 4.1 has no RESOURCE (RFC 8881 §15.1.1.3) and the operations'
    // error lists allow DELAY, "try again later".
    if (st == Nfsstat4::kResource && c.minor >= 1) st = Nfsstat4::kDelay;
    if (st == Nfsstat4::kOk && c.in_session && c.max_response &&
        out.position() - body > c.max_response) {
      st = Nfsstat4::kRepTooBig;  // this result would not fit ca_maxresponsesize
    }
    if (op_metrics_) {
      const double secs =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - op_start).count();
      if (c.nowait) {
        samples[nsamples++] = {opnum, st, secs};  // nowait: numops <= kInlineMaxOps
      } else {
        op_metrics_->record(opnum, st, secs);
      }
    }
    if (c.replay) {
      // SEQUENCE found a retried request: send the cached reply again.
      out.rewind(body);
      auto dst = out.reserve(c.replay_bytes.size());
      if (dst.size() == c.replay_bytes.size() && !dst.empty()) {
        std::memcpy(dst.data(), c.replay_bytes.data(), dst.size());
      }
      return Status::kOk;
    }
    // Error results carry no body, except SETATTR's attrsset, the
    // LOCK4denied of LOCK / LOCKT and SETCLIENTID's clientaddr4 with
    // NFS4ERR_CLID_INUSE (RFC 7530 §16.33.2).
    const bool error_body = static_cast<Op>(opnum) == Op::kSetattr ||
                            (st == Nfsstat4::kDenied && (static_cast<Op>(opnum) == Op::kLock ||
                                                         static_cast<Op>(opnum) == Op::kLockt)) ||
                            (static_cast<Op>(opnum) == Op::kSetclientid &&
                             st == Nfsstat4::kClidInuse);
    if (st != Nfsstat4::kOk && !error_body) out.rewind(status_pos + 4);
    out.patch_u32(status_pos, static_cast<std::uint32_t>(st));
    ++nres;
    if (st != Nfsstat4::kOk) {
      last = st;
      break;
    }
  }
  out.patch_u32(body, static_cast<std::uint32_t>(last));
  out.patch_u32(numres_pos, nres);
  // Inline: every operation ran without waiting; now the SEQUENCE for real.
  if (c.pending_sequence && !perform_pending_sequence(c, out)) return std::nullopt;
  if (op_metrics_) {
    for (std::size_t k = 0; k < nsamples; ++k) {
      op_metrics_->record(samples[k].opnum, samples[k].st, samples[k].seconds);
    }
  }
  if (c.in_session) {
    // A reply that overflowed becomes SYSTEM_ERR in the pipeline: not cached.
    state_.complete_slot(c.sessionid, c.slotid, out.written().subspan(body), out.ok());
  }
  if (last == Nfsstat4::kOk) return Status::kOk;
  return c.storage_status != Status::kOk ? c.storage_status : Status::kInval;
}

}  // namespace nasd::server

// ------------------------------------------------------------ minor version 0

namespace nasd::server {

namespace {

/// The principal a 4.0 client record belongs to (RFC 7530 §16.33.5): the
/// AUTH_SYS uid, or the flavor for other credentials.
std::string principal_of(const rpc::CallHeader& h) {
  if (h.flavor == rpc::AuthFlavor::kSys) return "sys:" + std::to_string(h.sys.uid);
  return "flavor:" + std::to_string(static_cast<std::uint32_t>(h.flavor));
}

}  // namespace

Nfsstat4 Nfs4Program::run_v40_client_op(Op op, xdr::XdrDecoder& in, Compound& c,
                                        xdr::XdrEncoder& out) {
  switch (op) {
    case Op::kSetclientid: {
      nfs4::SetclientidArgs a;
      if (!nfs4::decode(in, a)) return Nfsstat4::kBadXdr;
      // The callback (a.cb_program, a.cb_netid, a.cb_addr) is probed with
      // CB_NULL once confirmed (Nfs4Callbacks); callback_ident is unused
      // (no CB_COMPOUND is sent to a 4.0 client: no delegations).
      Nfs4State::SetclientidResult r;
      Nfsstat4 st = state_.setclientid(a.id, a.verifier, principal_of(c.ctx.header), &r);
      if (st != Nfsstat4::kOk) {
        // NFS4ERR_CLID_INUSE carries a clientaddr4 (RFC 7530 §16.33.2): the
        // address of the other client is not kept, so send it empty.
        if (st == Nfsstat4::kClidInuse) {
          out.string("");
          out.string("");
        }
        return st;
      }
      if (callbacks_) {
        callbacks_->setclientid(r.clientid, a.cb_program, a.cb_netid, a.cb_addr,
                                [this](std::uint64_t id) { return state_.has_client(id); });
      }
      out.u64(r.clientid);
      out.fixed_opaque(r.confirm);
      return Nfsstat4::kOk;
    }
    case Op::kSetclientidConfirm: {
      nfs4::SetclientidConfirmArgs a;
      if (!nfs4::decode(in, a)) return Nfsstat4::kBadXdr;
      const Nfsstat4 st =
          state_.setclientid_confirm(a.clientid, a.confirm, principal_of(c.ctx.header));
      if (st == Nfsstat4::kOk && callbacks_) callbacks_->confirmed(a.clientid);
      return st;
    }
    case Op::kRenew: {
      nfs4::ClientidArgs a;
      if (!nfs4::decode(in, a)) return Nfsstat4::kBadXdr;
      return state_.renew(a.clientid);
    }
    case Op::kOpenConfirm: {
      nfs4::OpenConfirmArgs a;
      if (!nfs4::decode(in, a)) return Nfsstat4::kBadXdr;
      if (!c.current.set) return Nfsstat4::kNoFileHandle;
      if (c.current.pseudo) return Nfsstat4::kIsDir;
      nfs4::Stateid4 res;
      if (Nfsstat4 st = state_.open_confirm(a.stateid, c.current.fh, &res); st != Nfsstat4::kOk) {
        return st;
      }
      nfs4::encode_stateid(out, res);
      return Nfsstat4::kOk;
    }
    default:
      return Nfsstat4::kNotSupp;
  }
}

Nfsstat4 Nfs4Program::run_op_v40(std::uint32_t opnum, xdr::XdrDecoder& in, Compound& c,
                                 xdr::XdrEncoder& out) {
  // The seqid-bearing operations (RFC 7530 §9.1.7) go through their
  // state-owner's seqid check and replay cache: OPEN, OPEN_CONFIRM,
  // OPEN_DOWNGRADE, CLOSE and a LOCK that opens a lock-owner
  // (open_to_lock_owner4, §16.10.4) the open-owner's; a LOCK of an existing
  // lock-owner (exist_lock_owner4) and LOCKU the lock-owner's.
  const Op op = static_cast<Op>(opnum);
  if (op != Op::kOpen && op != Op::kOpenConfirm && op != Op::kOpenDowngrade &&
      op != Op::kClose && op != Op::kLock && op != Op::kLocku) {
    return run_op(opnum, in, c, out);
  }
  // Peek at the owner and the seqid; run_op() decodes the arguments again.
  xdr::XdrDecoder peek = in;
  Nfs4State::OwnerOp owner;
  std::uint32_t seqid = 0;
  bool lock_owner = false;  // `owner` is a lock-owner (begin_lock_owner())
  std::optional<Nfs4State::OwnerOp> new_lock_owner;  // open_to_lock_owner4's lock-owner
  std::uint32_t lock_seqid = 0;
  Nfsstat4 st = Nfsstat4::kOk;
  auto by_stateid = [&](const nfs4::Stateid4& sid, std::uint32_t seq) {
    seqid = seq;
    return state_.begin_stateid_owner(sid, seq, &owner);
  };
  switch (op) {
    case Op::kOpen: {
      nfs4::OpenArgs a;
      if (!nfs4::decode(peek, a)) return Nfsstat4::kBadXdr;
      seqid = a.seqid;
      st = state_.begin_open_owner(a.clientid, a.owner, a.seqid, &owner);
      break;
    }
    case Op::kOpenConfirm: {
      nfs4::OpenConfirmArgs a;
      if (!nfs4::decode(peek, a)) return Nfsstat4::kBadXdr;
      st = by_stateid(a.stateid, a.seqid);
      break;
    }
    case Op::kOpenDowngrade: {
      nfs4::OpenDowngradeArgs a;
      if (!nfs4::decode(peek, a)) return Nfsstat4::kBadXdr;
      st = by_stateid(a.stateid, a.seqid);
      break;
    }
    case Op::kLock: {
      nfs4::LockArgs a;
      if (!nfs4::decode(peek, a)) return Nfsstat4::kBadXdr;
      if (a.new_lock_owner) {  // the open-owner's seqid; the lock-owner starts
        st = by_stateid(a.open_stateid, a.open_seqid);
        new_lock_owner.emplace();
        new_lock_owner->owner.assign(a.lock_owner.owner.begin(), a.lock_owner.owner.end());
        lock_seqid = a.lock_seqid;
      } else {
        lock_owner = true;
        seqid = a.lock_seqid;
        st = state_.begin_lock_owner(a.lock_stateid, a.lock_seqid, &owner);
      }
      break;
    }
    case Op::kLocku: {
      nfs4::LockuArgs a;
      if (!nfs4::decode(peek, a)) return Nfsstat4::kBadXdr;
      lock_owner = true;
      seqid = a.seqid;
      st = state_.begin_lock_owner(a.lock_stateid, a.seqid, &owner);
      break;
    }
    default: {  // CLOSE
      nfs4::CloseArgs a;
      if (!nfs4::decode(peek, a)) return Nfsstat4::kBadXdr;
      st = by_stateid(a.stateid, a.seqid);
      break;
    }
  }
  if (st != Nfsstat4::kOk) return st;
  if (owner.replay) {
    // A retransmission (RFC 7530 §9.1.8): the cached reply, not a rerun.
    // The current filehandle becomes what the cached request left.
    if (owner.fh) {
      if (Nfsstat4 fst = set_fh(c, *owner.fh, &c.current); fst != Nfsstat4::kOk) return fst;
    }
    in = peek;  // the arguments are consumed
    if (!owner.body.empty()) {
      auto dst = out.reserve(owner.body.size());
      if (dst.size() != owner.body.size()) return Nfsstat4::kServerFault;
      std::memcpy(dst.data(), owner.body.data(), dst.size());
    }
    return owner.status;
  }
  const std::size_t body_pos = out.position();
  st = run_op(opnum, in, c, out);
  std::span<const std::uint8_t> body;
  // Results with a body: OK, and LOCK's LOCK4denied.
  if ((st == Nfsstat4::kOk || (op == Op::kLock && st == Nfsstat4::kDenied)) && out.ok()) {
    body = out.written().subspan(body_pos);
  }
  if (lock_owner) {
    state_.end_lock_owner_op(owner, seqid, st, body);
    return st;
  }
  std::optional<storage::FileHandle> fh;
  if (c.current.set) fh = c.current.fh;
  state_.end_owner_op(owner, seqid, st, body, fh);
  if (new_lock_owner && st != Nfsstat4::kDelay) {  // its sequence starts at lock_seqid
    new_lock_owner->clientid = owner.clientid;
    state_.end_lock_owner_op(*new_lock_owner, lock_seqid, st, body);
  }
  return st;
}

}  // namespace nasd::server
