// EntryAttrCache: the READDIRPLUS attributes and file handles of one cached
// directory listing's entries, so listing an unchanged directory again does
// not statx(2) every entry again.
//
// Entry i of the listing (DirSnapshot::entries[i]) has at most one record:
// its attributes and handle as one call stat'ed them, the cache generation
// current when that call started, and when it was stat'ed.  A record is
// served only while the generation is unchanged and it is younger than the
// caller's age bound.  The owner (DirEntryCache) moves the generation on
// every change inotify reports for the directory's entries (DirWatch), and
// on a lost event; callers store only what inotify reports changes of
// (regular files, symlinks and special files with one link; never
// directories: see dir_watch.h) and bound the age for the changes inotify
// misses.  Callers read the generation only after draining the watch, and
// store under the generation they read before their statx, so a change
// racing the statx leaves a record that is never served.
//
// Memory: one record (~200 bytes) per listing entry, allocated with the
// cache.  Thread-safe: 64 striped mutexes, each held for one record copy.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>

#include "storage/types.h"

namespace nasd::storage {

class EntryAttrCache {
 public:
  /// A cache for a listing of `entries` entries (all records empty).
  explicit EntryAttrCache(std::size_t entries);

  /// The current generation, read after draining the watch; 0 once
  /// retired (nothing is stored or served under 0).
  std::uint64_t generation() const {
    return retired_.load(std::memory_order_acquire) ? 0 : gen_.load(std::memory_order_acquire);
  }
  /// Makes every record stored so far unservable.
  void invalidate() { gen_.fetch_add(1, std::memory_order_acq_rel); }
  /// Makes every record, stored or to come, unservable for good (the
  /// listing left the cache or its directory is no longer watched).
  void retire() { retired_.store(true, std::memory_order_release); }

  /// Copies record `i` out when it was stored under generation `gen` (the
  /// caller's, read after its drain) at or after `not_before_ns` (the
  /// caller's now minus its age bound; CLOCK_MONOTONIC ns).  False when
  /// absent, stale, too old or `i` is out of range.
  bool get(std::size_t i, std::uint64_t gen, std::int64_t not_before_ns, Attr* attr,
           FileHandle* handle) const;
  /// Stores record `i`, stat'ed at `stat_ns` (CLOCK_MONOTONIC ns) by a call
  /// that read generation `gen` before its statx.  Ignored when `i` is out
  /// of range.
  void put(std::size_t i, std::uint64_t gen, std::int64_t stat_ns, const Attr& attr,
           const FileHandle& handle);

  std::size_t size() const { return n_; }

 private:
  struct Record {
    std::uint64_t gen = 0;  // 0: empty
    std::int64_t stat_ns = 0;
    Attr attr;
    FileHandle handle;
  };
  static constexpr std::size_t kStripes = 64;
  const std::size_t n_;
  std::atomic<std::uint64_t> gen_{1};
  std::atomic<bool> retired_{false};
  std::unique_ptr<Record[]> records_;
  mutable std::array<std::mutex, kStripes> stripes_;
};

}  // namespace nasd::storage
