// BufferPool: a bounded, size-classed pool of byte buffers.
//
// Requests and replies take a buffer of the smallest class that fits (1 KiB,
// 4 KiB, 16 KiB, 64 KiB, 256 KiB, 1 MiB, 1 MiB + 64 KiB, 2 MiB, 4 MiB +
// 64 KiB) instead of a fixed 1 MiB per request.  The 1 MiB + 64 KiB class
// holds a whole 1 MiB I/O (READ reply, WRITE call) with its RPC and NFS
// headers, so those take 1.06 MiB rather than the next power of two (and
// 4 MiB + 64 KiB a 4 MiB one).  The pool holds at most `capacity_bytes` of
// buffers handed out (sum of class sizes), and at most `large_capacity_bytes`
// of large buffers (classes of kLargeFrom and more) handed out and cached
// together, so the memory of bulk I/O stays the same whether 64 or 4,096
// calls are in flight; a take that would exceed either fails, and the caller
// pushes back (stops reading its socket) until a buffer comes back.  Freed
// buffers are kept per class for reuse, at most `PoolCacheLimits::
// per_class_bytes` of each class (and never more than the budget in all);
// the rest goes back to the system at once.  trim() releases the cached
// buffers no take needed since the previous trim(), so an idle pool shrinks
// to nothing; a PoolTrimmer calls it periodically.  Buffers of 64 KiB and
// more are mapped (mmap) and unmapped when released, so the memory leaves
// the process's RSS at once instead of staying in the allocator's heap.
//
// A PooledBuffer is a move-only handle: its destructor returns the buffer, so
// every buffer goes back on every path (errors and disconnects included).
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <thread>
#include <vector>

namespace nasd::pool {

class BufferPool;

/// Frees one buffer of `bytes` (its class size): unmaps mapped classes,
/// deletes the others.
struct BlockFree {
  std::size_t bytes = 0;
  void operator()(std::uint8_t* p) const;
};
/// The memory of one buffer.
using Block = std::unique_ptr<std::uint8_t[], BlockFree>;

/// Owns one buffer taken from a BufferPool; returns it when destroyed.
class PooledBuffer {
 public:
  PooledBuffer() = default;
  PooledBuffer(PooledBuffer&& o) noexcept { *this = std::move(o); }
  PooledBuffer& operator=(PooledBuffer&& o) noexcept;
  PooledBuffer(const PooledBuffer&) = delete;
  PooledBuffer& operator=(const PooledBuffer&) = delete;
  ~PooledBuffer() { release(); }

  /// The whole buffer (its class size, >= the size asked for), in bytes.
  std::span<std::uint8_t> span() const { return {data_.get(), capacity_}; }
  std::uint8_t* data() const { return data_.get(); }
  std::size_t capacity() const { return capacity_; }
  explicit operator bool() const { return data_ != nullptr; }
  /// Returns the buffer to its pool now (no-op when empty).
  void release();

 private:
  friend class BufferPool;
  PooledBuffer(BufferPool* pool, Block data, std::size_t capacity, std::uint8_t size_class)
      : pool_(pool), data_(std::move(data)), capacity_(capacity), size_class_(size_class) {}

  BufferPool* pool_ = nullptr;
  Block data_;
  std::size_t capacity_ = 0;
  std::uint8_t size_class_ = 0;
};

/// Counters of one pool, for metrics and tests.
struct PoolStats {
  std::size_t in_use_buffers = 0;
  std::size_t in_use_bytes = 0;
  std::size_t high_water_bytes = 0;  // peak of in_use_bytes
  std::size_t cached_bytes = 0;      // freed buffers kept for reuse
  std::size_t cached_buffers = 0;
  std::size_t large_in_use_bytes = 0;  // of in_use_bytes: classes >= BufferPool::kLargeFrom
  std::size_t large_cached_bytes = 0;  // of cached_bytes: classes >= BufferPool::kLargeFrom
  std::uint64_t trimmed_buffers = 0; // cached buffers released by trim()
  std::uint64_t takes = 0;           // successful takes
  std::uint64_t allocations = 0;     // takes that had to allocate fresh memory
  std::uint64_t failures = 0;        // takes refused (budget exhausted or too large)
};

/// How many freed buffers a pool keeps for reuse.
struct PoolCacheLimits {
  /// Bytes of freed buffers kept per size class (a class larger than this
  /// keeps none); 0 keeps nothing.
  std::size_t per_class_bytes = 16u << 20;
};

/// A bounded pool of buffers in fixed size classes.  Thread-safe.
class BufferPool {
 public:
  static constexpr std::array<std::size_t, 9> kClassSizes = {
      1u << 10,   4u << 10,  16u << 10, 64u << 10, 256u << 10, 1u << 20, (1u << 20) + (64u << 10),
      2u << 20,   (4u << 20) + (64u << 10)};
  static constexpr std::size_t kMaxBufferSize = kClassSizes.back();
  /// Classes of at least this many bytes are mapped with mmap(2) (not under
  /// AddressSanitizer: there every buffer comes from the heap).
  static constexpr std::size_t kMapFrom = 64u << 10;
  /// Classes of at least this many bytes (bulk READ/WRITE data) count
  /// against the large budget as well.
  static constexpr std::size_t kLargeFrom = 256u << 10;

  /// `capacity_bytes`: most bytes (by class size) handed out at once;
  /// `cache`: how many freed buffers are kept; `large_capacity_bytes`: most
  /// bytes of classes >= kLargeFrom handed out and cached together (default:
  /// no budget of their own, only `capacity_bytes`).
  explicit BufferPool(std::size_t capacity_bytes, PoolCacheLimits cache = {},
                      std::size_t large_capacity_bytes = SIZE_MAX);
  BufferPool(const BufferPool&) = delete;
  BufferPool& operator=(const BufferPool&) = delete;
  /// All buffers must have been returned (PooledBuffer holds a raw pointer).
  ~BufferPool();

  /// A buffer of at least `size` bytes, or an empty handle when `size` >
  /// kMaxBufferSize or the byte budget is exhausted (counted as a failure).
  PooledBuffer try_take(std::size_t size);

  /// Whether a take of `size` bytes can ever succeed (a class holds it and
  /// the class fits both budgets); when false, waiting for a release would
  /// wait forever.
  bool can_ever_take(std::size_t size) const;

  /// Registers `fn` to run once (on the releasing thread) the next time a
  /// buffer is returned.  Used by connections paused for backpressure; `fn`
  /// must be cheap (post to an executor).
  void notify_on_release(std::function<void()> fn);

  /// Releases the cached buffers that sat unused since the previous call
  /// (per class: the fewest buffers the cache held at any moment since
  /// then).  Returns the bytes released.
  std::size_t trim();

  /// A snapshot of the pool's counters and byte totals (see PoolStats).
  PoolStats stats() const;
  std::size_t capacity_bytes() const { return capacity_bytes_; }
  std::size_t large_capacity_bytes() const { return large_capacity_bytes_; }

  /// Index of the smallest class holding `size` bytes; kClassSizes.size() if none.
  static std::size_t class_for(std::size_t size);
  /// Bytes of the buffer a take of `size` bytes gets (its class size); 0
  /// when `size` exceeds the largest class.
  static std::size_t class_bytes(std::size_t size) {
    const std::size_t cls = class_for(size);
    return cls < kClassSizes.size() ? kClassSizes[cls] : 0;
  }

 private:
  friend class PooledBuffer;
  void give_back(Block data, std::uint8_t size_class);
  /// Fresh memory for one buffer of class `cls`; empty when the system has none.
  static Block allocate(std::size_t cls);

  static constexpr bool large(std::size_t cls) { return kClassSizes[cls] >= kLargeFrom; }
  /// Drops cached buffers (largest classes first) until handed-out plus
  /// cached memory fits both budgets again.  Needs mu_.
  void shrink_cache_locked();

  const std::size_t capacity_bytes_;
  const std::size_t large_capacity_bytes_;
  const PoolCacheLimits cache_;
  mutable std::mutex mu_;
  std::array<std::vector<Block>, kClassSizes.size()> free_;
  std::array<std::size_t, kClassSizes.size()> low_water_{};  // fewest cached since the last trim
  PoolStats stats_;
  std::vector<std::function<void()>> waiters_;
};

/// Calls trim() on its pools every `period` from a thread of its own, so
/// buffers cached after a burst go back to the system once the load is gone.
/// Stops and joins when destroyed; the pools must outlive it.
class PoolTrimmer {
 public:
  /// `period` 0: no thread, never trims.
  PoolTrimmer(std::vector<BufferPool*> pools, std::chrono::milliseconds period);
  PoolTrimmer(const PoolTrimmer&) = delete;
  PoolTrimmer& operator=(const PoolTrimmer&) = delete;
  ~PoolTrimmer();

 private:
  std::vector<BufferPool*> pools_;
  std::mutex mu_;
  std::condition_variable_any cv_;
  std::jthread thread_;  // last: stopped and joined before the rest goes
};

}  // namespace nasd::pool
