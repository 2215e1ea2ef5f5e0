// HandleCache: open O_PATH descriptors of recently used file handles.
//
// Resolving an NFS file handle costs open_by_handle_at(2) and close(2) on
// every call; most calls name a handle used a moment before (the directory
// of a LOOKUP, the file of a READ).  The cache maps the handle's bytes (the
// whole MAC-checked handle, so the export is part of the key) to the
// descriptor open_by_handle_at returned, least recently used first out, at
// most `capacity` entries.  Descriptors are shared: an entry evicted while a
// call uses it stays open until that call ends.
//
// Correctness rules, kept by LocalBackend: a cached descriptor pins its
// inode, so (1) a hit whose inode has no links left (st_nlink 0: removed) is
// erased and the handle resolved again, which gives NFS3ERR_STALE as it
// would without the cache; (2) REMOVE, RMDIR and RENAME over an existing
// name erase the victim's entry, so its space is freed at once; files
// removed by other local processes are freed when their entry is evicted or
// next used.  Thread-safe (one mutex; the calls are short).
#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <unordered_map>

#include "storage/unique_fd.h"

namespace nasd::storage {

class HandleCache {
 public:
  /// `capacity`: most entries (open descriptors); 0 disables the cache.
  explicit HandleCache(std::size_t capacity) : capacity_(capacity) {}

  /// The descriptor cached for `handle` (and marks it recently used), or null.
  std::shared_ptr<const UniqueFd> find(std::span<const std::uint8_t> handle);
  /// Caches `fd` for `handle`, replacing an older entry, evicting the least
  /// recently used one when full.
  void insert(std::span<const std::uint8_t> handle, std::shared_ptr<const UniqueFd> fd);
  /// Forgets `handle` (no-op when absent).
  void erase(std::span<const std::uint8_t> handle);
  /// Forgets everything.
  void clear();
  std::size_t size() const;
  std::size_t capacity() const { return capacity_; }

 private:
  using Entry = std::pair<std::string, std::shared_ptr<const UniqueFd>>;
  const std::size_t capacity_;
  mutable std::mutex mu_;
  std::list<Entry> lru_;  // front: most recently used
  std::unordered_map<std::string, std::list<Entry>::iterator> index_;
};

}  // namespace nasd::storage
