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

#include <array>
#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "storage/local/dir_watch.h"
#include "storage/local/entry_attr_cache.h"
#include "storage/types.h"
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

/// What must still hold for a cached inode -> handle mapping to be used: the
/// inode's birth time (0 when the filesystem reports none), change time and
/// file type, all from one statx of the object about to be named.
struct InodeStamp {
  std::int64_t btime_sec = 0;
  std::uint32_t btime_nsec = 0;
  std::int64_t ctime_sec = 0;
  std::uint32_t ctime_nsec = 0;
  std::uint32_t type = 0;  // st_mode & S_IFMT
  friend bool operator==(const InodeStamp&, const InodeStamp&) = default;
};

// InodeHandleCache: the file handle already built for an inode.
//
// READDIRPLUS and LOOKUP name objects they have just stat'ed; building the
// handle costs a name_to_handle_at(2) (a second path walk) per object.  The
// handle of an inode never changes while the inode lives (the kernel handle
// is inode number + generation), so it is cached under (st_dev, st_ino) with
// the InodeStamp of the stat it was built from.  A hit needs the stamp of a
// fresh stat of the object to match:
//  - inode reuse (unlink, then a new file gets the number) gives a new birth
//    and change time, so the stale mapping is not used; a reuse inside one
//    timestamp tick with both times equal would at worst give the client a
//    handle of the dead generation, which the kernel answers with ESTALE
//    (never another object);
//  - any change to the inode (rename, link count, chmod, write, done through
//    nasd or behind its back) moves its ctime: the next use rebuilds;
//  - entries are only inserted from a stat of an open descriptor of the very
//    object the handle was built from, never from a name (which may be
//    replaced between two calls).
// Attributes are never served from here: callers stat on every call.
// At most `capacity` entries, oldest inserted out (a hit does not reorder:
// hits stay cheap); sharded mutexes.
class InodeHandleCache {
 public:
  /// `capacity`: most entries; 0 disables the cache.
  explicit InodeHandleCache(std::size_t capacity);

  /// The handle cached for (dev, ino) when its stamp equals `stamp`.  An
  /// entry with a different stamp is dropped.
  bool find(std::uint64_t dev, std::uint64_t ino, const InodeStamp& stamp, FileHandle* out);
  /// The entry for (dev, ino) whatever its stamp (the caller compares it
  /// with a fresh stat before using the handle); false when absent.
  bool peek(std::uint64_t dev, std::uint64_t ino, InodeStamp* stamp, FileHandle* out) const;
  /// Caches `handle` for (dev, ino) with `stamp`, replacing an older entry.
  void insert(std::uint64_t dev, std::uint64_t ino, const InodeStamp& stamp,
              const FileHandle& handle);
  /// Forgets (dev, ino) (no-op when absent).
  void erase(std::uint64_t dev, std::uint64_t ino);
  std::size_t size() const;
  std::size_t capacity() const { return capacity_; }

 private:
  static constexpr std::size_t kShards = 16;
  struct Key {
    std::uint64_t dev = 0, ino = 0;
    friend bool operator==(const Key&, const Key&) = default;
  };
  struct KeyHash {
    std::size_t operator()(const Key& k) const noexcept {
      return static_cast<std::size_t>(k.ino * 0x9E3779B97F4A7C15ull ^ k.dev);
    }
  };
  struct Value {
    Key key;
    InodeStamp stamp;
    FileHandle handle;
  };
  struct Shard {
    mutable std::mutex mu;
    std::list<Value> lru;  // front: most recently inserted
    std::unordered_map<Key, std::list<Value>::iterator, KeyHash> index;
  };
  Shard& shard_of(const Key& k) const {
    return shards_[(k.ino ^ (k.ino >> 17)) % kShards];
  }
  const std::size_t capacity_;
  const std::size_t per_shard_;
  mutable std::array<Shard, kShards> shards_;
};

/// One directory's entries as getdents64 returned them, in order, with the
/// InodeStamp of the directory stat'ed before they were read.
struct DirSnapshot {
  struct Entry {
    std::string name;
    std::uint64_t ino = 0;  // d_ino
    std::uint64_t off = 0;  // d_off: the cookie after this entry, strictly increasing
  };
  InodeStamp stamp;
  std::vector<Entry> entries;
  /// READDIRPLUS attributes of the entries (index = entry index); set by
  /// DirEntryCache::insert when the directory could be watched, else null.
  std::unique_ptr<EntryAttrCache> attrs;
  /// Index of the first entry after cookie `cookie` (0 = start), or -1 when
  /// no entry has that cookie.
  std::ptrdiff_t start_after(std::uint64_t cookie) const;
};

// DirEntryCache: directory listings, so READDIR of an unchanged directory
// does not read it again (ext4 rebuilds its hash-order tree on each fresh
// open + seek).  Keyed by the directory's (st_dev, st_ino); a listing is used
// only while the directory's stamp (birth time, change time) equals the one
// stat'ed by the call: creating, removing or renaming an entry moves the
// directory's ctime, whether done through nasd or behind its back.  The
// caller inserts only listings of directories whose ctime is older than its
// stat by more than the timestamp granularity, so a later change always
// gets a different ctime.  Handles are never cached here on their own.
//
// A listing inserted with a descriptor of its directory also gets an
// EntryAttrCache for its entries' READDIRPLUS attributes, and the directory
// an inotify watch (DirWatch).  find() drains the watch before it returns a
// listing, and moves the generation of every listing whose directory
// reported a change (all of them when events were lost), so a caller that
// reads the generation after find() never gets a record older than a change
// completed before its call.  A dropped listing's records are retired and
// its watch removed.  Bounded by the total number of entries (least
// recently used listings out); thread-safe (one mutex, held for short
// critical sections and the watch's non-blocking system calls).
class DirEntryCache {
 public:
  /// `max_entries`: most entries over all listings; 0 disables the cache.
  explicit DirEntryCache(std::size_t max_entries) : max_entries_(max_entries) {}

  /// Applies the changes the directory watches reported (unless
  /// `drain_watches` is false: for a caller that reads no records), then
  /// returns the listing of (dev, ino) when its stamp equals `stamp` (else
  /// dropped).
  std::shared_ptr<const DirSnapshot> find(std::uint64_t dev, std::uint64_t ino,
                                          const InodeStamp& stamp, bool drain_watches = true);
  /// Caches `snap` for (dev, ino); refused when larger than half the budget.
  /// With `watch_fd` (a descriptor of that directory, >= 0) the listing gets
  /// an EntryAttrCache when the directory can be watched.
  void insert(std::uint64_t dev, std::uint64_t ino, std::shared_ptr<DirSnapshot> snap,
              int watch_fd = -1);
  /// Most entries one listing may have to be cached.
  std::size_t max_listing() const { return max_entries_ / 2; }

  /// The right to build one directory's listing, released on destruction
  /// (move-only).  At most one call builds a given directory's listing at a
  /// time, so a burst of first READDIRs of one large directory holds one
  /// listing in memory, not one per call.
  class BuildClaim {
   public:
    BuildClaim(BuildClaim&& o) noexcept : cache_(std::exchange(o.cache_, nullptr)), key_(o.key_) {}
    BuildClaim& operator=(BuildClaim&&) = delete;
    BuildClaim(const BuildClaim&) = delete;
    ~BuildClaim();

   private:
    friend class DirEntryCache;
    BuildClaim(DirEntryCache* cache, std::pair<std::uint64_t, std::uint64_t> key)
        : cache_(cache), key_(key) {}
    DirEntryCache* cache_;
    std::pair<std::uint64_t, std::uint64_t> key_;
  };
  /// Claims building (dev, ino)'s listing; nullopt while another call holds
  /// the claim (the caller then reads the directory without caching it).
  std::optional<BuildClaim> claim_build(std::uint64_t dev, std::uint64_t ino);
  /// Entries held over all listings.
  std::size_t entries() const;

 private:
  using Key = std::pair<std::uint64_t, std::uint64_t>;
  struct KeyHash {
    std::size_t operator()(const Key& k) const noexcept {
      return static_cast<std::size_t>(k.second * 0x9E3779B97F4A7C15ull ^ k.first);
    }
  };
  struct Item {
    Key key;
    std::shared_ptr<const DirSnapshot> snap;
    int wd = -1;  // DirWatch descriptor of the directory, -1 when unwatched
  };
  /// Removes `it`, retires its attribute records, and removes its watch
  /// unless `keep_wd` is that watch (the same directory inserted again).
  void drop(std::list<Item>::iterator it, int keep_wd = -1);
  /// Applies the queued watch events (under mu_).
  void apply_events();
  const std::size_t max_entries_;
  mutable std::mutex mu_;
  DirWatch watch_;
  std::unordered_map<int, Key> watched_;  // wd -> listing key
  std::size_t total_ = 0;
  std::list<Item> lru_;  // front: most recently used
  std::unordered_map<Key, std::list<Item>::iterator, KeyHash> index_;
  std::unordered_set<Key, KeyHash> building_;  // listings being read (BuildClaim)
};

}  // namespace nasd::storage
