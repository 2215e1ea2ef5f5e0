// DirectoryLocks: nasd's own lock per directory around the system calls that
// add, remove or rename names in it.
//
// The kernel serializes name changes in one directory on the directory's
// i_rwsem.  When several persist threads create or remove names in the same
// directory at once, the waiters spin on that semaphore (optimistic
// spinning) while its owner runs: on a small machine the spinning takes the
// CPU the owner and the clients need (a profile of NFSv4 metaops showed 54 %
// of nasd's CPU in rwsem_down_write_slowpath / osq_lock).  Taking a mutex of
// nasd's first makes the waiters sleep instead, and the kernel sees one
// writer at a time.  Striped: 64 mutexes, picked by (st_dev, st_ino); two
// directories that share a stripe simply wait on each other.  Held only
// around one system call, never while taking another lock, so no deadlock.
#pragma once

#include <sys/stat.h>

#include <array>
#include <cstddef>
#include <mutex>
#include <utility>

namespace nasd::storage {

class DirectoryLocks {
 public:
  /// Holds the lock of directory `dir` (its stat) until destroyed.
  std::unique_lock<std::mutex> lock(const struct stat& dir) {
    return std::unique_lock<std::mutex>(stripes_[stripe(dir)]);
  }
  /// The locks of both directories of a rename, taken in stripe order (one
  /// lock when both fall on the same stripe).
  std::pair<std::unique_lock<std::mutex>, std::unique_lock<std::mutex>> lock_two(
      const struct stat& a, const struct stat& b) {
    std::size_t i = stripe(a), j = stripe(b);
    if (i == j) return {std::unique_lock<std::mutex>(stripes_[i]), std::unique_lock<std::mutex>()};
    if (j < i) std::swap(i, j);
    std::unique_lock<std::mutex> first(stripes_[i]);
    return {std::move(first), std::unique_lock<std::mutex>(stripes_[j])};
  }

 private:
  static constexpr std::size_t kStripes = 64;
  static std::size_t stripe(const struct stat& st) {
    const auto ino = static_cast<std::size_t>(st.st_ino);
    return (ino * 0x9E3779B97F4A7C15ull ^ static_cast<std::size_t>(st.st_dev)) >> 58;  // top 6 bits
  }
  std::array<std::mutex, kStripes> stripes_;
};

}  // namespace nasd::storage
