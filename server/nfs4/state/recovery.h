// Nfs4ClientRecords: the NFSv4 clients that hold state, kept on disk so that
// after a restart the server knows which clients may reclaim in the grace
// period (RFC 8881 §8.4.2 and §8.4.3, RFC 7530 §9.6.2-9.6.3: "stable
// storage" of the clients with state).
//
//   <state-dir>/nfs4/clients/<name>  one file per client owner (co_ownerid /
//                                    nfs_client_id4.id) holding its bytes;
//                                    <name> is their hex (ids up to 100
//                                    bytes) or "h" + a 64-bit FNV-1a hash;
//                                    written atomically (temp + fsync +
//                                    rename) when the client first gets
//                                    state, removed when it loses it.
//
// Files from the previous run are loaded at construction: previous()
// answers whether a client owner may reclaim.  Files of previous clients
// that did not come back are removed by forget_stale() once grace is over.
// Thread-safe (one mutex); every call but previous() touches the disk.
#pragma once

#include <filesystem>
#include <mutex>
#include <set>
#include <string>

namespace nasd::server {

class Nfs4ClientRecords {
 public:
  /// Creates <state_dir>/nfs4/clients and loads the records there.  Throws
  /// std::runtime_error when the directory cannot be created (start-up).
  explicit Nfs4ClientRecords(const std::filesystem::path& state_dir);

  /// True when the previous run recorded client owner `ownerid`.
  bool previous(const std::string& ownerid) const;
  /// Number of client owners the previous run recorded.
  std::size_t previous_count() const { return previous_.size(); }

  /// Records `ownerid` (it now holds state).  Errors are logged.
  void add(const std::string& ownerid);
  /// Removes the record of `ownerid` (it lost all state).
  void remove(const std::string& ownerid);
  /// Removes the records of previous clients not added again in this run
  /// (they did not reclaim in grace and have nothing left to reclaim).
  void forget_stale();

 private:
  std::filesystem::path file_for(const std::string& ownerid) const;

  const std::filesystem::path dir_;
  std::set<std::string> previous_;  // read-only after construction
  mutable std::mutex mu_;
  std::set<std::string> current_;   // guarded by mu_
};

}  // namespace nasd::server
