// NFSv4 pseudo-filesystem.  See pseudo.h.
#include "server/nfs4/pseudo.h"

namespace nasd::server {

namespace {

std::uint64_t fnv1a(std::string_view s) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : s) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

storage::FileHandle handle_for(std::string_view path) {
  storage::FileHandle fh;
  const std::uint64_t h = fnv1a(path);
  fh.size = 9;
  fh.data[0] = PseudoFs::kMarker;
  for (int i = 0; i < 8; ++i) fh.data[1 + i] = static_cast<std::uint8_t>(h >> (56 - 8 * i));
  return fh;
}

}  // namespace

PseudoFs::PseudoFs(const ExportTable& table) {
  Node root;
  root.path = "/";
  root.fileid = (fnv1a("/") >> 1) | 1;
  root.handle = handle_for("/");
  nodes_.push_back(std::move(root));
  for (const Export& e : table.exports()) {
    const std::string& p = e.pseudo.empty() ? e.path : e.pseudo;
    std::uint32_t cur = kRoot;
    std::size_t pos = 1;
    while (pos < p.size()) {
      std::size_t end = p.find('/', pos);
      if (end == std::string::npos) end = p.size();
      if (end > pos) cur = add(cur, p.substr(pos, end - pos));
      pos = end + 1;
    }
    if (!nodes_[cur].export_id) nodes_[cur].export_id = e.id;
  }
}

std::uint32_t PseudoFs::add(std::uint32_t parent, const std::string& name) {
  if (auto it = nodes_[parent].children.find(name); it != nodes_[parent].children.end()) {
    return it->second;
  }
  Node n;
  n.path = (parent == kRoot ? "" : nodes_[parent].path) + "/" + name;
  n.parent = parent;
  n.fileid = (fnv1a(n.path) >> 1) | 1;
  n.handle = handle_for(n.path);
  const auto id = static_cast<std::uint32_t>(nodes_.size());
  nodes_.push_back(std::move(n));
  nodes_[parent].children.emplace(name, id);
  return id;
}

std::optional<std::uint32_t> PseudoFs::find(const storage::FileHandle& fh) const {
  if (!is_pseudo(fh)) return std::nullopt;
  for (std::uint32_t i = 0; i < nodes_.size(); ++i) {
    if (nodes_[i].handle == fh) return i;
  }
  return std::nullopt;
}

std::optional<std::uint32_t> PseudoFs::child(std::uint32_t dir, std::string_view name) const {
  auto it = nodes_[dir].children.find(name);
  if (it == nodes_[dir].children.end()) return std::nullopt;
  return it->second;
}

std::optional<std::uint32_t> PseudoFs::node_of_export(std::uint32_t export_id) const {
  for (std::uint32_t i = 0; i < nodes_.size(); ++i) {
    if (nodes_[i].export_id == export_id) return i;
  }
  return std::nullopt;
}

}  // namespace nasd::server
