// MOUNT v3 program hooks.  See mount_program.h.
#include "server/nfs3/mount_program.h"

#include "server/exports/access.h"

#include <algorithm>
#include <array>
#include <string>

#include "protocol/nfs_status.h"

namespace nasd::server {

using mount3::Mountstat3;
using mount3::Proc;
using storage::Status;

namespace {

constexpr const char* kProcNames[mount3::kProcCount] = {
    "NULL", "MNT", "DUMP", "UMNT", "UMNTALL", "EXPORT",
};

/// Removes trailing '/' (but keeps "/" itself).
std::string_view normalise(std::string_view path) {
  while (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  return path;
}

/// The MNT reply's auth_flavors: AUTH_SYS only.
constexpr std::array<std::uint32_t, 1> kFlavors = {mount3::kAuthSys};

/// Sizes (bytes) of the fixed MOUNT replies: MNT ok is the largest.
constexpr std::size_t kFixedReplySize = 4 + 4 + mount3::kFhSize3 + 4 + 4 * kFlavors.size() + 64;

/// Room (bytes) for a few more DUMP/EXPORT items that appear between
/// max_reply_size() and execute() (a concurrent MNT or table reload).
constexpr std::size_t kListSlack = 4 * (4 + 4 + mount3::kMntNameLen + 4 + mount3::kMntPathLen);

}  // namespace

MountProgram::MountProgram(storage::Backend& backend, const ExportRegistry& exports)
    : backend_(backend), exports_(exports) {}

const char* MountProgram::procedure_name(std::uint32_t proc) const {
  return proc < mount3::kProcCount ? kProcNames[proc] : nullptr;
}

DecodeResult MountProgram::decode(const CallContext& ctx, xdr::XdrDecoder& in, ArgSlot& args) {
  switch (ctx.header.proc) {
    case static_cast<std::uint32_t>(Proc::kMnt):
    case static_cast<std::uint32_t>(Proc::kUmnt): {
      auto& a = args.emplace<mount3::DirpathArgs>();
      if (mount3::decode(in, a)) return DecodeResult::kOk;
      args.reset();
      return DecodeResult::kGarbageArgs;
    }
    case static_cast<std::uint32_t>(Proc::kNull):
    case static_cast<std::uint32_t>(Proc::kDump):
    case static_cast<std::uint32_t>(Proc::kUmntAll):
    case static_cast<std::uint32_t>(Proc::kExport):
      args.reset();
      return DecodeResult::kOk;
    default:
      return DecodeResult::kProcUnavail;
  }
}

std::size_t MountProgram::max_reply_size(const CallContext& ctx, ArgSlot&) {
  switch (static_cast<Proc>(ctx.header.proc)) {
    case Proc::kDump: {
      std::lock_guard lock(mu_);
      return mount3::mountlist_size(mounts_) + kListSlack;
    }
    case Proc::kExport:
      return mount3::exports_size(export_nodes()) + kListSlack;
    default:
      return kFixedReplySize;
  }
}

bool MountProgram::validate(CallContext& ctx, ArgSlot& args, xdr::XdrEncoder& out) {
  if (static_cast<Proc>(ctx.header.proc) != Proc::kMnt) return true;
  const auto& a = args.get<mount3::DirpathArgs>();
  std::shared_ptr<const ExportTable> table = exports_.current();
  const Export* exp = table->find_by_path(normalise(a.dirpath));
  if (exp == nullptr) {
    mount3::encode_mnt_error(out, Mountstat3::kNoEnt);
    return false;
  }
  AccessGrant grant;
  if (export_access(*exp, AccessCaller{ctx.header, ctx.peer, ctx.peer_port}, &grant) !=
      AccessDenial::kNone) {
    mount3::encode_mnt_error(out, Mountstat3::kAcces);  // not listed, insecure port, flavor
    return false;
  }
  ctx.export_id = grant.export_id;
  ctx.has_export = true;
  ctx.options = grant.options;
  ctx.cred = grant.cred;
  return true;
}

Status MountProgram::execute(CallContext& ctx, ArgSlot& args, xdr::XdrEncoder& out) {
  const std::string host = ctx.peer.to_string();
  switch (static_cast<Proc>(ctx.header.proc)) {
    case Proc::kNull:
      return Status::kOk;
    case Proc::kMnt: {
      const auto& a = args.get<mount3::DirpathArgs>();
      storage::FileHandle fh;
      Status s = backend_.root_handle(ctx.export_id, &fh);
      if (s != Status::kOk) {
        mount3::encode_mnt_error(out, to_mountstat3(s));
        return s;
      }
      mount3::encode_mnt_ok(out, fh, kFlavors);
      mount3::MountEntry entry{host, std::string(normalise(a.dirpath))};
      std::lock_guard lock(mu_);
      if (std::find(mounts_.begin(), mounts_.end(), entry) == mounts_.end()) {
        if (mounts_.size() >= kMaxMounts) mounts_.erase(mounts_.begin());
        mounts_.push_back(std::move(entry));
      }
      return Status::kOk;
    }
    case Proc::kDump: {
      std::lock_guard lock(mu_);
      mount3::encode_mountlist(out, mounts_);
      return Status::kOk;
    }
    case Proc::kUmnt: {
      const auto& a = args.get<mount3::DirpathArgs>();
      const std::string_view dir = normalise(a.dirpath);
      std::lock_guard lock(mu_);
      std::erase_if(mounts_, [&](const mount3::MountEntry& e) {
        return e.hostname == host && e.directory == dir;
      });
      return Status::kOk;
    }
    case Proc::kUmntAll: {
      std::lock_guard lock(mu_);
      std::erase_if(mounts_, [&](const mount3::MountEntry& e) { return e.hostname == host; });
      return Status::kOk;
    }
    case Proc::kExport:
      mount3::encode_exports(out, export_nodes());
      return Status::kOk;
  }
  return Status::kServerFault;
}

std::vector<mount3::MountEntry> MountProgram::mounts() const {
  std::lock_guard lock(mu_);
  return mounts_;
}

std::vector<mount3::ExportNode> MountProgram::export_nodes() const {
  std::shared_ptr<const ExportTable> table = exports_.current();
  std::vector<mount3::ExportNode> nodes;
  nodes.reserve(table->exports().size());
  for (const Export& e : table->exports()) {
    mount3::ExportNode n{e.path, {}};
    for (const ClientSpec& c : e.clients) {
      n.groups.push_back(c.text.empty() && c.kind == ClientSpec::Kind::kAny ? "*" : c.text);
    }
    nodes.push_back(std::move(n));
  }
  return nodes;
}

}  // namespace nasd::server
