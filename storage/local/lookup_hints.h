// LookupHints: which names a LOOKUP found in the kernel's dentry cache a
// moment ago, and the inode each led to.
//
// An inline LOOKUP (Backend::try_lookup) must not wait on the disk, and the
// only path walk Linux can promise to serve from memory is openat2(2) with
// RESOLVE_CACHED: an open, an fstat and a close per LOOKUP.  A name resolved
// from the dentry cache less than `ttl_ns` ago is still there in practice
// (dentries leave it under memory pressure, over much longer times), so
// LocalBackend answers the next LOOKUP of that name with one statx(2) by
// name instead (storage/local/namespace.cc, lookup_as).
//
// A hint is never trusted for what it says about the file: the statx tells
// which inode the name names now, and the handle comes from the
// InodeHandleCache entry matching that statx.  A stale or wrong hint (the
// name renamed, a hash collision) costs at worst one statx that may read
// the directory from disk.  So the table is small and lossy: `slots`
// entries, each holding a hash of (directory dev, directory inode, name),
// the time it was noted and the inode found; a new note overwrites what its
// slot held.  Thread-safe (striped mutexes; each call holds one briefly).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <span>
#include <string_view>
#include <vector>

namespace nasd::storage {

class LookupHints {
 public:
  /// `slots`: table size (0 disables: find() is always false); `ttl_ns`:
  /// how long a note is served, in ns of CLOCK_MONOTONIC.
  LookupHints(std::size_t slots, std::int64_t ttl_ns);

  /// The inode noted for `name` in the directory whose file handle is
  /// `dir` at most ttl_ns before `now_ns`; false when there is none (or it
  /// is older).  Keyed by the handle, so the directory need not be stat'ed.
  bool find(std::span<const std::uint8_t> dir, std::string_view name, std::int64_t now_ns,
            std::uint64_t* ino) const;
  /// Notes that `name` in directory `dir` (its file handle) led to inode
  /// `ino` at `now_ns`.
  void note(std::span<const std::uint8_t> dir, std::string_view name, std::uint64_t ino,
            std::int64_t now_ns);

 private:
  static constexpr std::size_t kStripes = 64;
  struct Slot {
    std::uint64_t key = 0;  // 0: empty
    std::int64_t noted_ns = 0;
    std::uint64_t ino = 0;
  };
  static std::uint64_t key_of(std::span<const std::uint8_t> dir, std::string_view name);

  const std::int64_t ttl_ns_;
  std::vector<Slot> slots_;
  mutable std::array<std::mutex, kStripes> stripes_;
};

}  // namespace nasd::storage
