// NFSv3 program hooks.  See nfs3_program.h.
#include "server/nfs3/nfs3_program.h"

#include <algorithm>
#include <string>
#include <vector>

#include "protocol/nfs_status.h"

namespace nasd::server {

using nfs3::Nfsstat3;
using nfs3::Proc;
using storage::Status;

namespace {

constexpr const char* kProcNames[nfs3::kProcCount] = {
    "NULL",   "GETATTR", "SETATTR", "LOOKUP", "ACCESS",  "READLINK",    "READ",   "WRITE",
    "CREATE", "MKDIR",   "SYMLINK", "MKNOD",  "REMOVE",  "RMDIR",       "RENAME", "LINK",
    "READDIR", "READDIRPLUS", "FSSTAT", "FSINFO", "PATHCONF", "COMMIT",
};

template <class T>
DecodeResult decode_into(xdr::XdrDecoder& in, ArgSlot& slot) {
  T& args = slot.emplace<T>();
  if (nfs3::decode(in, args)) return DecodeResult::kOk;
  slot.reset();
  return DecodeResult::kGarbageArgs;
}

/// Procedures that change the file system (refused on ro exports).
bool modifies(Proc p) {
  switch (p) {
    case Proc::kSetattr: case Proc::kWrite: case Proc::kCreate: case Proc::kMkdir:
    case Proc::kSymlink: case Proc::kMknod: case Proc::kRemove: case Proc::kRmdir:
    case Proc::kRename: case Proc::kLink: case Proc::kCommit:
      return true;
    default:
      return false;
  }
}

/// The handles and names one call's arguments carry.
struct Targets {
  const storage::FileHandle* fh[2] = {nullptr, nullptr};
  std::string_view names[2];
};

Targets targets_of(Proc p, ArgSlot& args) {
  Targets t;
  switch (p) {
    case Proc::kGetattr: case Proc::kReadlink: case Proc::kFsstat: case Proc::kFsinfo:
    case Proc::kPathconf:
      t.fh[0] = &args.get<nfs3::HandleArgs>().object;
      break;
    case Proc::kSetattr: t.fh[0] = &args.get<nfs3::SetattrArgs>().object; break;
    case Proc::kLookup: {
      auto& a = args.get<nfs3::DirOpArgs>();
      t.fh[0] = &a.dir;
      t.names[0] = a.name;
      break;
    }
    case Proc::kAccess: t.fh[0] = &args.get<nfs3::AccessArgs>().object; break;
    case Proc::kRead: t.fh[0] = &args.get<nfs3::ReadArgs>().file; break;
    case Proc::kWrite: t.fh[0] = &args.get<nfs3::WriteArgs>().file; break;
    case Proc::kCreate: {
      auto& a = args.get<nfs3::CreateArgs>();
      t.fh[0] = &a.where.dir;
      t.names[0] = a.where.name;
      break;
    }
    case Proc::kMkdir: {
      auto& a = args.get<nfs3::MkdirArgs>();
      t.fh[0] = &a.where.dir;
      t.names[0] = a.where.name;
      break;
    }
    case Proc::kSymlink: {
      auto& a = args.get<nfs3::SymlinkArgs>();
      t.fh[0] = &a.where.dir;
      t.names[0] = a.where.name;
      break;
    }
    case Proc::kMknod: {
      auto& a = args.get<nfs3::MknodArgs>();
      t.fh[0] = &a.where.dir;
      t.names[0] = a.where.name;
      break;
    }
    case Proc::kRemove: case Proc::kRmdir: {
      auto& a = args.get<nfs3::RemoveArgs>();
      t.fh[0] = &a.object.dir;
      t.names[0] = a.object.name;
      break;
    }
    case Proc::kRename: {
      auto& a = args.get<nfs3::RenameArgs>();
      t.fh[0] = &a.from.dir;
      t.names[0] = a.from.name;
      t.fh[1] = &a.to.dir;
      t.names[1] = a.to.name;
      break;
    }
    case Proc::kLink: {
      auto& a = args.get<nfs3::LinkArgs>();
      t.fh[0] = &a.file;
      t.fh[1] = &a.link.dir;
      t.names[0] = a.link.name;
      break;
    }
    case Proc::kReaddir: t.fh[0] = &args.get<nfs3::ReaddirArgs>().dir; break;
    case Proc::kReaddirplus: t.fh[0] = &args.get<nfs3::ReaddirplusArgs>().dir; break;
    case Proc::kCommit: t.fh[0] = &args.get<nfs3::CommitArgs>().file; break;
    case Proc::kNull: break;
  }
  return t;
}

/// Encodes result type R with `status` and every other field empty.
template <class R>
void encode_status_only(xdr::XdrEncoder& out, Nfsstat3 status) {
  R r;
  r.status = status;
  nfs3::encode(out, r);
}

std::size_t clamp_dir_reply(std::uint32_t count, std::uint32_t max_read) {
  std::size_t hi = std::max<std::size_t>(max_read, 1024);
  return std::clamp<std::size_t>(count, 1024, hi);
}

}  // namespace

Nfs3Program::Nfs3Program(storage::Backend& backend, const ExportRegistry& exports,
                         Nfs3Limits limits, storage::Verifier writeverf)
    : backend_(backend), exports_(exports), limits_(limits), writeverf_(writeverf) {}

const char* Nfs3Program::procedure_name(std::uint32_t proc) const {
  return proc < nfs3::kProcCount ? kProcNames[proc] : nullptr;
}

DecodeResult Nfs3Program::decode(const CallContext& ctx, xdr::XdrDecoder& in, ArgSlot& args) {
  if (ctx.header.proc >= nfs3::kProcCount) return DecodeResult::kProcUnavail;
  switch (static_cast<Proc>(ctx.header.proc)) {
    case Proc::kNull: args.reset(); return DecodeResult::kOk;
    case Proc::kGetattr: case Proc::kReadlink: case Proc::kFsstat: case Proc::kFsinfo:
    case Proc::kPathconf:
      return decode_into<nfs3::HandleArgs>(in, args);
    case Proc::kSetattr: return decode_into<nfs3::SetattrArgs>(in, args);
    case Proc::kLookup: return decode_into<nfs3::DirOpArgs>(in, args);
    case Proc::kAccess: return decode_into<nfs3::AccessArgs>(in, args);
    case Proc::kRead: return decode_into<nfs3::ReadArgs>(in, args);
    case Proc::kWrite: return decode_into<nfs3::WriteArgs>(in, args);
    case Proc::kCreate: return decode_into<nfs3::CreateArgs>(in, args);
    case Proc::kMkdir: return decode_into<nfs3::MkdirArgs>(in, args);
    case Proc::kSymlink: return decode_into<nfs3::SymlinkArgs>(in, args);
    case Proc::kMknod: return decode_into<nfs3::MknodArgs>(in, args);
    case Proc::kRemove: case Proc::kRmdir: return decode_into<nfs3::RemoveArgs>(in, args);
    case Proc::kRename: return decode_into<nfs3::RenameArgs>(in, args);
    case Proc::kLink: return decode_into<nfs3::LinkArgs>(in, args);
    case Proc::kReaddir: return decode_into<nfs3::ReaddirArgs>(in, args);
    case Proc::kReaddirplus: return decode_into<nfs3::ReaddirplusArgs>(in, args);
    case Proc::kCommit: return decode_into<nfs3::CommitArgs>(in, args);
  }
  return DecodeResult::kProcUnavail;
}

std::size_t Nfs3Program::max_reply_size(const CallContext& ctx, ArgSlot& args) {
  switch (static_cast<Proc>(ctx.header.proc)) {
    case Proc::kRead:
      return std::min(args.get<nfs3::ReadArgs>().count, limits_.max_read) +
             nfs3::ReadResWriter::kHeadMax + kReplySlack;
    case Proc::kReaddir:
      return clamp_dir_reply(args.get<nfs3::ReaddirArgs>().count, limits_.max_read) +
             kReplySlack;
    case Proc::kReaddirplus:
      return clamp_dir_reply(args.get<nfs3::ReaddirplusArgs>().maxcount, limits_.max_read) +
             kReplySlack;
    case Proc::kReadlink:
      return nfs3::kPathMax + kReplySlack;
    default:
      return kFixedReplySize;
  }
}

void Nfs3Program::encode_failure(Proc proc, Nfsstat3 status, xdr::XdrEncoder& out) {
  switch (proc) {
    case Proc::kNull: break;
    case Proc::kGetattr: encode_status_only<nfs3::GetattrRes>(out, status); break;
    case Proc::kSetattr: encode_status_only<nfs3::SetattrRes>(out, status); break;
    case Proc::kLookup: encode_status_only<nfs3::LookupRes>(out, status); break;
    case Proc::kAccess: encode_status_only<nfs3::AccessRes>(out, status); break;
    case Proc::kReadlink: encode_status_only<nfs3::ReadlinkRes>(out, status); break;
    case Proc::kRead: encode_status_only<nfs3::ReadRes>(out, status); break;
    case Proc::kWrite: encode_status_only<nfs3::WriteRes>(out, status); break;
    case Proc::kCreate: case Proc::kMkdir: case Proc::kSymlink: case Proc::kMknod:
      encode_status_only<nfs3::CreateRes>(out, status);
      break;
    case Proc::kRemove: case Proc::kRmdir:
      encode_status_only<nfs3::RemoveRes>(out, status);
      break;
    case Proc::kRename: encode_status_only<nfs3::RenameRes>(out, status); break;
    case Proc::kLink: encode_status_only<nfs3::LinkRes>(out, status); break;
    case Proc::kReaddir: encode_status_only<nfs3::ReaddirRes>(out, status); break;
    case Proc::kReaddirplus:
      {
        nfs3::ReaddirRes r;
        r.status = status;
        r.plus = true;
        nfs3::encode(out, r);
      }
      break;
    case Proc::kFsstat: encode_status_only<nfs3::FsstatRes>(out, status); break;
    case Proc::kFsinfo: encode_status_only<nfs3::FsinfoRes>(out, status); break;
    case Proc::kPathconf: encode_status_only<nfs3::PathconfRes>(out, status); break;
    case Proc::kCommit: encode_status_only<nfs3::CommitRes>(out, status); break;
  }
}

Nfsstat3 Nfs3Program::check_handle(const storage::FileHandle& fh, const ExportTable& table,
                                   const CallContext& ctx, AccessGrant* grant) {
  switch (access_check(backend_, table, fh, AccessCaller{ctx.header, ctx.peer, ctx.peer_port},
                       grant)) {
    case AccessDenial::kNone: return Nfsstat3::kOk;
    case AccessDenial::kBadHandle: return Nfsstat3::kBadHandle;
    case AccessDenial::kStale: return Nfsstat3::kStale;
    default: return Nfsstat3::kAcces;  // not listed, insecure port, AUTH_NONE on sec=sys
  }
}

bool Nfs3Program::validate(CallContext& ctx, ArgSlot& args, xdr::XdrEncoder& out) {
  const Proc proc = static_cast<Proc>(ctx.header.proc);
  if (proc == Proc::kNull) return true;
  auto fail = [&](Nfsstat3 status) {
    encode_failure(proc, status, out);
    return false;
  };

  std::shared_ptr<const ExportTable> table = exports_.current();
  Targets t = targets_of(proc, args);
  AccessGrant grant;
  if (Nfsstat3 s = check_handle(*t.fh[0], *table, ctx, &grant); s != Nfsstat3::kOk) {
    return fail(s);
  }
  if (t.fh[1] != nullptr) {
    AccessGrant other;
    if (Nfsstat3 s = check_handle(*t.fh[1], *table, ctx, &other); s != Nfsstat3::kOk) {
      return fail(s);
    }
    if (other.export_id != grant.export_id) return fail(Nfsstat3::kXdev);
  }
  if (modifies(proc) && grant.options.read_only) return fail(Nfsstat3::kRoFs);
  for (std::string_view name : t.names) {
    if (name.size() > nfs3::kNameMax) return fail(Nfsstat3::kNameTooLong);
  }

  if (proc == Proc::kWrite) {
    auto& a = args.get<nfs3::WriteArgs>();
    if (a.data.size() != a.count) return fail(Nfsstat3::kInval);
    if (a.count > limits_.max_write) {  // short write, RFC 1813 §3.3.7
      a.count = limits_.max_write;
      a.data = a.data.first(a.count);
    }
  } else if (proc == Proc::kRead) {
    auto& a = args.get<nfs3::ReadArgs>();
    a.count = std::min(a.count, limits_.max_read);
  }

  ctx.export_id = grant.export_id;
  ctx.has_export = true;
  ctx.options = grant.options;
  ctx.cred = grant.cred;  // squashed (AUTH_NONE: the anonymous identity)
  return true;
}

Status Nfs3Program::readdir(CallContext& ctx, const storage::FileHandle& dir,
                            std::uint64_t cookie, const storage::Verifier& cookieverf,
                            bool plus, std::uint32_t dircount, std::uint32_t maxcount,
                            xdr::XdrEncoder& out, bool nowait) {
  const std::size_t budget = std::min(maxcount, limits_.max_read);
  const std::size_t avail =
      budget > nfs3::kReaddirOverhead ? budget - nfs3::kReaddirOverhead : 0;
  std::size_t used = 0, dir_used = 0, n = 0;
  auto fits = [&](const storage::DirEntry& e) {
    const std::size_t e3 = nfs3::entry3_size(e.name.size());
    const std::size_t size = plus ? nfs3::entryplus3_size(e) : e3;
    if (used + size > avail) return false;
    // dircount is a hint about directory information only; never let it
    // stop the first entry.
    if (plus && n > 0 && dir_used + e3 > dircount) return false;
    used += size;
    dir_used += e3;
    ++n;
    return true;
  };
  std::vector<storage::DirEntry> entries;
  nfs3::ReaddirRes r;
  r.plus = plus;
  Status s = nowait ? backend_.try_readdir(ctx.cred, dir, cookie, cookieverf, plus, fits, &entries,
                                           &r.cookieverf, &r.eof, &r.dir_attributes)
                    : backend_.readdir(ctx.cred, dir, cookie, cookieverf, plus, fits, &entries,
                                       &r.cookieverf, &r.eof, &r.dir_attributes);
  if (s == Status::kWouldBlock) return s;
  if (s == Status::kOk && entries.empty() && !r.eof) s = Status::kTooSmall;
  r.status = to_nfsstat3(s);
  r.entries = entries;
  nfs3::encode(out, r);
  return s;
}

namespace {

/// Runs a CREATE-like backend call (CREATE, MKDIR, SYMLINK and MKNOD share
/// diropres3, RFC 1813 §3.3.8-§3.3.11) and encodes its result.
template <class Call>
Status encode_created(xdr::XdrEncoder& out, Call&& call) {
  nfs3::CreateRes r;
  storage::FileHandle fh;
  storage::Attr attr;
  Status s = call(&fh, &attr, &r.dir_wcc);
  if (s == Status::kOk) {
    r.obj = fh;
    r.obj_attributes = attr;
  }
  r.status = to_nfsstat3(s);
  nfs3::encode(out, r);
  return s;
}

}  // namespace

bool Nfs3Program::may_run_inline(const CallContext& ctx, const ArgSlot& args) const {
  switch (static_cast<Proc>(ctx.header.proc)) {
    case Proc::kNull:
    case Proc::kGetattr:
    case Proc::kLookup:
    case Proc::kAccess:
      return true;
    case Proc::kRead:
      return args.get<nfs3::ReadArgs>().count <= kInlineReadMax;
    case Proc::kReaddir:
      return args.get<nfs3::ReaddirArgs>().count <= kInlineReadMax;
    case Proc::kReaddirplus:
      return args.get<nfs3::ReaddirplusArgs>().maxcount <= kInlineReadMax;
    default:
      return false;
  }
}

std::optional<Status> Nfs3Program::try_execute_inline(CallContext& ctx, ArgSlot& args,
                                                      xdr::XdrEncoder& out) {
  const Status s = execute_read_only(ctx, args, out, /*nowait=*/true);
  if (s == Status::kWouldBlock) return std::nullopt;
  return s;
}

Status Nfs3Program::execute_read_only(CallContext& ctx, ArgSlot& args, xdr::XdrEncoder& out,
                                      bool nowait) {
  const auto& cred = ctx.cred;
  const std::size_t start = out.position();
  switch (static_cast<Proc>(ctx.header.proc)) {
    case Proc::kNull:
      return Status::kOk;

    case Proc::kGetattr: {
      auto& a = args.get<nfs3::HandleArgs>();
      nfs3::GetattrRes r;
      Status s = nowait ? backend_.try_getattr(a.object, &r.obj_attributes)
                        : backend_.getattr(a.object, &r.obj_attributes);
      if (s == Status::kWouldBlock) return s;
      r.status = to_nfsstat3(s);
      nfs3::encode(out, r);
      return s;
    }
    case Proc::kLookup: {
      auto& a = args.get<nfs3::DirOpArgs>();
      nfs3::LookupRes r;
      storage::Attr obj;
      Status s = nowait ? backend_.try_lookup(cred, a.dir, a.name, &r.object, &obj, &r.dir_attributes)
                        : backend_.lookup(cred, a.dir, a.name, &r.object, &obj, &r.dir_attributes);
      if (s == Status::kWouldBlock) return s;
      if (s == Status::kOk) r.obj_attributes = obj;
      r.status = to_nfsstat3(s);
      nfs3::encode(out, r);
      return s;
    }
    case Proc::kAccess: {
      auto& a = args.get<nfs3::AccessArgs>();
      nfs3::AccessRes r;
      Status s = nowait ? backend_.try_access(cred, a.object, a.access, &r.access, &r.obj_attributes)
                        : backend_.access(cred, a.object, a.access, &r.access, &r.obj_attributes);
      if (s == Status::kWouldBlock) return s;
      if (ctx.options.read_only) {  // the export refuses changes whatever the mode bits say
        r.access &= ~(nfs3::kAccessModify | nfs3::kAccessExtend | nfs3::kAccessDelete);
      }
      r.status = to_nfsstat3(s);
      nfs3::encode(out, r);
      return s;
    }
    case Proc::kRead: {
      auto& a = args.get<nfs3::ReadArgs>();
      const std::uint32_t count = std::min(a.count, limits_.max_read);
      nfs3::ReadResWriter w(out);
      std::span<std::uint8_t> dst = w.begin(count);
      if (!out.ok()) return Status::kServerFault;  // reply buffer too small
      std::uint32_t got = 0;
      bool eof = false;
      std::optional<storage::Attr> attr;
      Status s = nowait ? backend_.try_read(cred, a.file, a.offset, dst, &got, &eof, &attr)
                        : backend_.read(cred, a.file, a.offset, dst, &got, &eof, &attr);
      if (s == Status::kWouldBlock) {
        out.rewind(start);  // the reserved READ data goes
        return s;
      }
      if (s == Status::kOk) {
        w.finish_ok(attr, got, eof);
        ctx.data_bytes_read = got;
      } else {
        w.finish_error(to_nfsstat3(s), attr);
      }
      return s;
    }
    case Proc::kReaddir: {
      auto& a = args.get<nfs3::ReaddirArgs>();
      return readdir(ctx, a.dir, a.cookie, a.cookieverf, false, a.count, a.count, out, nowait);
    }
    case Proc::kReaddirplus: {
      auto& a = args.get<nfs3::ReaddirplusArgs>();
      return readdir(ctx, a.dir, a.cookie, a.cookieverf, true, a.dircount, a.maxcount, out,
                     nowait);
    }
    default:
      return Status::kServerFault;  // not a read-only procedure: execute() runs it
  }
}

Status Nfs3Program::execute(CallContext& ctx, ArgSlot& args, xdr::XdrEncoder& out) {
  switch (static_cast<Proc>(ctx.header.proc)) {
    case Proc::kNull: case Proc::kGetattr: case Proc::kLookup: case Proc::kAccess:
    case Proc::kRead: case Proc::kReaddir: case Proc::kReaddirplus:
      return execute_read_only(ctx, args, out, /*nowait=*/false);
    case Proc::kSetattr: case Proc::kReadlink: case Proc::kWrite: case Proc::kCommit:
      return execute_data(ctx, args, out);
    case Proc::kCreate: case Proc::kMkdir: case Proc::kSymlink: case Proc::kMknod:
      return execute_create(ctx, args, out);
    case Proc::kRemove: case Proc::kRmdir: case Proc::kRename: case Proc::kLink:
      return execute_names(ctx, args, out);
    case Proc::kFsstat: case Proc::kFsinfo: case Proc::kPathconf:
      return execute_fsinfo(ctx, args, out);
  }
  return Status::kServerFault;
}

Status Nfs3Program::execute_data(CallContext& ctx, ArgSlot& args, xdr::XdrEncoder& out) {
  const auto& cred = ctx.cred;
  switch (static_cast<Proc>(ctx.header.proc)) {
    case Proc::kSetattr: {
      auto& a = args.get<nfs3::SetattrArgs>();
      nfs3::SetattrRes r;
      Status s = backend_.setattr(cred, a.object, a.new_attributes, a.guard, &r.obj_wcc);
      r.status = to_nfsstat3(s);
      nfs3::encode(out, r);
      return s;
    }
    case Proc::kReadlink: {
      auto& a = args.get<nfs3::HandleArgs>();
      nfs3::ReadlinkRes r;
      std::string target;
      Status s = backend_.readlink(cred, a.object, &target, &r.symlink_attributes);
      if (s == Status::kOk && target.size() > nfs3::kPathMax) s = Status::kNameTooLong;
      r.status = to_nfsstat3(s);
      r.data = target;
      nfs3::encode(out, r);
      return s;
    }
    case Proc::kWrite: {
      auto& a = args.get<nfs3::WriteArgs>();
      nfs3::WriteRes r;
      // exports(5) `async`: the server answers stable writes before the data
      // is on disk (faster; data since the last sync is lost on a crash).
      const storage::StableHow how = ctx.options.sync ? a.stable : storage::StableHow::kUnstable;
      Status s = backend_.write(cred, a.file, a.offset, a.data, how, &r.count, &r.committed,
                                &r.file_wcc);
      if (s == Status::kOk) ctx.data_bytes_written = r.count;
      if (!ctx.options.sync) r.committed = a.stable;
      r.status = to_nfsstat3(s);
      r.verf = writeverf_;
      nfs3::encode(out, r);
      return s;
    }
    case Proc::kCommit: {
      auto& a = args.get<nfs3::CommitArgs>();
      nfs3::CommitRes r;
      Status s = backend_.commit(cred, a.file, a.offset, a.count, &r.file_wcc);
      r.status = to_nfsstat3(s);
      r.verf = writeverf_;
      nfs3::encode(out, r);
      return s;
    }
    default:
      return Status::kServerFault;
  }
}

Status Nfs3Program::execute_create(CallContext& ctx, ArgSlot& args, xdr::XdrEncoder& out) {
  const auto& cred = ctx.cred;
  switch (static_cast<Proc>(ctx.header.proc)) {
    case Proc::kCreate: {
      auto& a = args.get<nfs3::CreateArgs>();
      return encode_created(out, [&](storage::FileHandle* fh, storage::Attr* attr,
                                     storage::WccData* wcc) {
        return backend_.create(cred, a.where.dir, a.where.name, a.mode, a.obj_attributes, a.verf,
                               fh, attr, wcc);
      });
    }
    case Proc::kMkdir: {
      auto& a = args.get<nfs3::MkdirArgs>();
      return encode_created(out, [&](storage::FileHandle* fh, storage::Attr* attr,
                                     storage::WccData* wcc) {
        return backend_.mkdir(cred, a.where.dir, a.where.name, a.attributes, fh, attr, wcc);
      });
    }
    case Proc::kSymlink: {
      auto& a = args.get<nfs3::SymlinkArgs>();
      return encode_created(out, [&](storage::FileHandle* fh, storage::Attr* attr,
                                     storage::WccData* wcc) {
        return backend_.symlink(cred, a.where.dir, a.where.name, a.symlink_data,
                                a.symlink_attributes, fh, attr, wcc);
      });
    }
    case Proc::kMknod: {
      auto& a = args.get<nfs3::MknodArgs>();
      return encode_created(out, [&](storage::FileHandle* fh, storage::Attr* attr,
                                     storage::WccData* wcc) {
        // REG, DIR and LNK have their own procedures.
        if (a.type != storage::FileType::kChr && a.type != storage::FileType::kBlk &&
            a.type != storage::FileType::kSock && a.type != storage::FileType::kFifo) {
          return Status::kBadType;
        }
        return backend_.mknod(cred, a.where.dir, a.where.name, a.type, a.attributes, a.spec_major,
                              a.spec_minor, fh, attr, wcc);
      });
    }
    default:
      return Status::kServerFault;
  }
}

Status Nfs3Program::execute_names(CallContext& ctx, ArgSlot& args, xdr::XdrEncoder& out) {
  const auto& cred = ctx.cred;
  switch (static_cast<Proc>(ctx.header.proc)) {
    case Proc::kRemove: {
      auto& a = args.get<nfs3::RemoveArgs>();
      nfs3::RemoveRes r;
      Status s = backend_.remove(cred, a.object.dir, a.object.name, &r.dir_wcc);
      r.status = to_nfsstat3(s);
      nfs3::encode(out, r);
      return s;
    }
    case Proc::kRmdir: {
      auto& a = args.get<nfs3::RemoveArgs>();
      nfs3::RemoveRes r;
      Status s = backend_.rmdir(cred, a.object.dir, a.object.name, &r.dir_wcc);
      r.status = to_nfsstat3(s);
      nfs3::encode(out, r);
      return s;
    }
    case Proc::kRename: {
      auto& a = args.get<nfs3::RenameArgs>();
      nfs3::RenameRes r;
      Status s = backend_.rename(cred, a.from.dir, a.from.name, a.to.dir, a.to.name,
                                 &r.fromdir_wcc, &r.todir_wcc);
      r.status = to_nfsstat3(s);
      nfs3::encode(out, r);
      return s;
    }
    case Proc::kLink: {
      auto& a = args.get<nfs3::LinkArgs>();
      nfs3::LinkRes r;
      Status s = backend_.link(cred, a.file, a.link.dir, a.link.name, &r.file_attributes,
                               &r.linkdir_wcc);
      r.status = to_nfsstat3(s);
      nfs3::encode(out, r);
      return s;
    }
    default:
      return Status::kServerFault;
  }
}

Status Nfs3Program::execute_fsinfo(CallContext& ctx, ArgSlot& args, xdr::XdrEncoder& out) {
  switch (static_cast<Proc>(ctx.header.proc)) {
    case Proc::kFsstat: {
      auto& a = args.get<nfs3::HandleArgs>();
      nfs3::FsstatRes r;
      Status s = backend_.fsstat(a.object, &r.stat, &r.obj_attributes);
      r.status = to_nfsstat3(s);
      nfs3::encode(out, r);
      return s;
    }
    case Proc::kFsinfo: {
      auto& a = args.get<nfs3::HandleArgs>();
      nfs3::FsinfoRes r;
      storage::Attr attr;
      Status s = backend_.getattr(a.object, &attr);
      if (s == Status::kOk) r.obj_attributes = attr;
      r.status = to_nfsstat3(s);
      r.rtmax = r.rtpref = limits_.max_read;
      r.wtmax = r.wtpref = limits_.max_write;
      r.rtmult = r.wtmult = 4096;
      r.dtpref = std::min(limits_.dtpref, limits_.max_read);
      r.maxfilesize = 0x7fffffffffffffffULL;
      r.time_delta = storage::Time{0, 1};
      r.properties = nfs3::kFsfLink | nfs3::kFsfSymlink | nfs3::kFsfHomogeneous |
                     nfs3::kFsfCanSetTime;
      nfs3::encode(out, r);
      return s;
    }
    case Proc::kPathconf: {
      auto& a = args.get<nfs3::HandleArgs>();
      nfs3::PathconfRes r;
      storage::Attr attr;
      Status s = backend_.getattr(a.object, &attr);
      if (s == Status::kOk) r.obj_attributes = attr;
      r.status = to_nfsstat3(s);
      r.linkmax = 32000;
      r.name_max = nfs3::kNameMax;
      r.no_trunc = true;
      r.chown_restricted = true;
      r.case_insensitive = false;
      r.case_preserving = true;
      nfs3::encode(out, r);
      return s;
    }
    default:
      return Status::kServerFault;
  }
}


}  // namespace nasd::server
