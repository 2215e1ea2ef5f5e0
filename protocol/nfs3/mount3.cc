// MOUNT v3 XDR codecs (RFC 1813 appendix I).  See mount3.h.
#include "protocol/nfs3/mount3.h"

namespace nasd::mount3 {

using xdr::XdrDecoder;
using xdr::XdrEncoder;

namespace {
/// Bound on decoded list lengths, so a hostile reply cannot make a client
/// allocate without limit.
constexpr std::size_t kMaxListItems = 65536;
}  // namespace

bool decode(XdrDecoder& in, DirpathArgs& out) {
  out.dirpath = in.string(kMntPathLen);
  return in.ok();
}

void encode_mnt_ok(XdrEncoder& out, const storage::FileHandle& fh,
                   std::span<const std::uint32_t> auth_flavors) {
  out.u32(static_cast<std::uint32_t>(Mountstat3::kOk));
  out.opaque(fh.bytes());
  out.u32(static_cast<std::uint32_t>(auth_flavors.size()));
  for (std::uint32_t f : auth_flavors) out.u32(f);
}

void encode_mnt_error(XdrEncoder& out, Mountstat3 status) {
  out.u32(static_cast<std::uint32_t>(status));
}

void encode_mountlist(XdrEncoder& out, std::span<const MountEntry> entries) {
  for (const MountEntry& e : entries) {
    out.boolean(true);
    out.string(e.hostname);
    out.string(e.directory);
  }
  out.boolean(false);
}

std::size_t mountlist_size(std::span<const MountEntry> entries) {
  std::size_t n = 4;
  for (const MountEntry& e : entries) {
    n += 4 + 4 + xdr::padded(e.hostname.size()) + 4 + xdr::padded(e.directory.size());
  }
  return n;
}

bool decode_mountlist(XdrDecoder& in, std::vector<MountEntry>& out) {
  out.clear();
  while (in.boolean()) {
    if (out.size() >= kMaxListItems) return false;
    MountEntry e;
    e.hostname = std::string(in.string(kMntNameLen));
    e.directory = std::string(in.string(kMntPathLen));
    if (!in.ok()) return false;
    out.push_back(std::move(e));
  }
  return in.ok();
}

void encode_exports(XdrEncoder& out, std::span<const ExportNode> nodes) {
  for (const ExportNode& n : nodes) {
    out.boolean(true);
    out.string(n.dir);
    for (const std::string& g : n.groups) {
      out.boolean(true);
      out.string(g);
    }
    out.boolean(false);
  }
  out.boolean(false);
}

std::size_t exports_size(std::span<const ExportNode> nodes) {
  std::size_t n = 4;
  for (const ExportNode& e : nodes) {
    n += 4 + 4 + xdr::padded(e.dir.size()) + 4;
    for (const std::string& g : e.groups) n += 4 + 4 + xdr::padded(g.size());
  }
  return n;
}

bool decode_exports(XdrDecoder& in, std::vector<ExportNode>& out) {
  out.clear();
  while (in.boolean()) {
    if (out.size() >= kMaxListItems) return false;
    ExportNode n;
    n.dir = std::string(in.string(kMntPathLen));
    while (in.ok() && in.boolean()) {
      if (n.groups.size() >= kMaxListItems) return false;
      n.groups.emplace_back(in.string(kMntNameLen));
    }
    if (!in.ok()) return false;
    out.push_back(std::move(n));
  }
  return in.ok();
}

}  // namespace nasd::mount3
