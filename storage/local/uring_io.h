// UringIo: synchronous positional I/O and fsync through io_uring.
//
// Each calling thread gets its own ring (created on first use, kept in a
// small map owned by this object and freed with it), so threads never share a
// submission queue.  Every call submits one request and waits for its
// completion.  When io_uring cannot be set up (old kernel, seccomp in a
// container), the object logs one line and falls back to pread/pwritev2/fsync.
#pragma once

#include <liburing.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <thread>
#include <unordered_map>

namespace nasd::storage {

/// Positional reads/writes and syncs on an open fd, through per-thread rings.
class UringIo {
 public:
  /// `use_uring` false forces the pread/pwritev2/fsync fallback (tests).
  explicit UringIo(bool use_uring = true) : disabled_(!use_uring) {}
  ~UringIo();
  UringIo(const UringIo&) = delete;
  UringIo& operator=(const UringIo&) = delete;

  /// Reads up to dst.size() bytes at `offset` (bytes), looping over short
  /// reads until dst is full or end of file.  Returns the byte count or -errno.
  long read(int fd, std::uint64_t offset, std::span<std::uint8_t> dst);

  /// Writes all of `src` at `offset`; `rw_flags` are RWF_* (e.g. RWF_DSYNC,
  /// RWF_SYNC).  Returns the byte count or -errno.
  long write(int fd, std::uint64_t offset, std::span<const std::uint8_t> src, int rw_flags);

  /// fsync (or fdatasync when `datasync`).  Returns 0 or -errno.
  int fsync(int fd, bool datasync);

  /// True once io_uring has been found unusable (the fallback is in use).
  bool using_fallback() const { return disabled_.load(std::memory_order_relaxed); }

 private:
  struct Ring {
    io_uring ring{};
  };
  /// The calling thread's ring, or nullptr when io_uring is unusable.
  io_uring* ring_for_thread();
  /// Submits the prepared sqe and returns the cqe result (-errno on failure).
  static int submit_one(io_uring* ring);

  std::mutex mu_;
  std::unordered_map<std::thread::id, std::unique_ptr<Ring>> rings_;
  std::atomic<bool> disabled_;
};

}  // namespace nasd::storage
