// ExportReloader: live reload of the export table (SIGHUP).
//
// A reload reads the same sources as start-up (--exports FILE and the
// --export lines, see load_exports() in server/admin/options.h), registers exports
// that are new to the storage backend, and then swaps the whole table into
// the ExportRegistry.  From then on:
//   - a removed export's handles answer NFS3ERR_STALE and MNT of its path
//     answers MNT3ERR_NOENT (the programs look every handle's export id up in
//     the current table);
//   - changed options (rw/ro, squash, clients, ...) apply to the next call;
//   - an added export can be mounted.
// A reload that fails (parse error, unreadable file, new export path that
// cannot be opened, an export id that now names a different path) changes
// nothing: the old table stays and one error line is logged.
//
// The backend keeps the root of a removed export open (it never forgets an
// export id); re-adding the same path under the same id reuses it.  Changing
// the path of an existing id (fsid=N moved to another directory) needs a
// restart and is rejected.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include "server/exports/export_registry.h"
#include "server/admin/options.h"
#include "storage/types.h"

namespace nasd::server {

/// What a reload did.  `ok` false: nothing changed, `message` says why.
struct ReloadResult {
  bool ok = false;
  std::string message;  // one line, for the log
  unsigned added = 0, removed = 0, changed = 0, total = 0;
};

/// Reloads the export table from the command line's sources; see file comment.
class ExportReloader {
 public:
  /// Registers an export root with the storage backend
  /// (storage::LocalBackend::add_export).
  using RegisterFn = std::function<storage::Status(std::uint32_t id, const std::string& path)>;

  /// `registry` holds the start-up table, whose exports must already be
  /// registered with the backend.  `options` must outlive the reloader.
  ExportReloader(const Options& options, ExportRegistry& registry, RegisterFn register_export);

  /// Loads the sources again and swaps the new table in; all or nothing.
  /// Not thread-safe against itself (call from one thread, e.g. the signal
  /// handler); safe against concurrent readers of the registry.
  ReloadResult reload();

  /// reload() plus one log line (info on success, error on rejection).
  ReloadResult reload_and_log();

 private:
  const Options& options_;
  ExportRegistry& registry_;
  RegisterFn register_;
  std::map<std::uint32_t, std::string> registered_;  // id -> path known to the backend
};

}  // namespace nasd::server
