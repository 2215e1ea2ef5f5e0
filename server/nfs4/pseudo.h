// PseudoFs: the NFSv4 pseudo-filesystem (RFC 8881 §7.3): `/` joins all
// exports at their pseudo paths (Export::pseudo).  The directories on the way
// are read-only synthetic nodes with their own handles in a handle space
// storage never sees: a pseudo handle starts with kMarker, a byte no
// storage::Backend handle starts with (LocalBackend handles start with their
// version, 1), followed by a 64-bit FNV-1a hash of the node's path, so the
// handles stay valid across restarts and reloads that keep the path.
//
// An export whose pseudo path is "/" is the root itself.  Exports nested in
// another export's directory are reached through that directory (the outer
// export's handles), not as their own export.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "server/exports/exports.h"
#include "storage/types.h"

namespace nasd::server {

class PseudoFs {
 public:
  static constexpr std::uint8_t kMarker = 0xFE;
  static constexpr std::uint32_t kRoot = 0;

  struct Node {
    std::string path;                       // "/", "/srv", "/srv/share"
    std::uint32_t parent = 0;               // the root is its own parent
    std::map<std::string, std::uint32_t, std::less<>> children;
    std::optional<std::uint32_t> export_id; // the node is this export's root
    std::uint64_t fileid = 0;
    storage::FileHandle handle;
  };

  /// Builds the tree of `table`'s pseudo paths.
  explicit PseudoFs(const ExportTable& table);

  const Node& node(std::uint32_t i) const { return nodes_[i]; }
  std::size_t size() const { return nodes_.size(); }

  /// True when `fh` is in the pseudo handle space (whether or not a node
  /// with that handle exists).
  static bool is_pseudo(const storage::FileHandle& fh) {
    return fh.size > 0 && fh.data[0] == kMarker;
  }
  /// The node with handle `fh`; nullopt when none (stale after a reload).
  std::optional<std::uint32_t> find(const storage::FileHandle& fh) const;
  /// The child named `name` of node `dir`; nullopt when none.
  std::optional<std::uint32_t> child(std::uint32_t dir, std::string_view name) const;
  /// The node that is export `export_id`'s root; nullopt when none.
  std::optional<std::uint32_t> node_of_export(std::uint32_t export_id) const;

 private:
  std::uint32_t add(std::uint32_t parent, const std::string& name);
  std::vector<Node> nodes_;
};

}  // namespace nasd::server
