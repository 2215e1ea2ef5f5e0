// BufferPool: a bounded, size-classed pool of byte buffers.
//
// Requests and replies take a buffer of the smallest class that fits (1 KiB,
// 4 KiB, 16 KiB, 64 KiB, 256 KiB, 1 MiB, 1 MiB + 64 KiB, 2 MiB, 4 MiB)
// instead of a fixed 1 MiB per request.  The 1 MiB + 64 KiB class holds a
// whole 1 MiB I/O (READ reply, WRITE call) with its RPC and NFS headers, so
// those take 1.06 MiB rather than the next power of two.  The pool holds at most `capacity_bytes` of buffers handed out
// (sum of class sizes); a take that would exceed it fails, and the caller
// pushes back (stops reading its socket) until a buffer comes back.  Freed
// buffers are kept per class for reuse, up to the same byte budget.
//
// A PooledBuffer is a move-only handle: its destructor returns the buffer, so
// every buffer goes back on every path (errors and disconnects included).
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <vector>

namespace nasd::pool {

class BufferPool;

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
  PooledBuffer(BufferPool* pool, std::unique_ptr<std::uint8_t[]> data, std::size_t capacity,
               std::uint8_t size_class)
      : pool_(pool), data_(std::move(data)), capacity_(capacity), size_class_(size_class) {}

  BufferPool* pool_ = nullptr;
  std::unique_ptr<std::uint8_t[]> data_;
  std::size_t capacity_ = 0;
  std::uint8_t size_class_ = 0;
};

/// Counters of one pool, for metrics and tests.
struct PoolStats {
  std::size_t in_use_buffers = 0;
  std::size_t in_use_bytes = 0;
  std::size_t high_water_bytes = 0;  // peak of in_use_bytes
  std::size_t cached_bytes = 0;      // freed buffers kept for reuse
  std::uint64_t takes = 0;           // successful takes
  std::uint64_t allocations = 0;     // takes that had to allocate fresh memory
  std::uint64_t failures = 0;        // takes refused (budget exhausted or too large)
};

/// A bounded pool of buffers in fixed size classes.  Thread-safe.
class BufferPool {
 public:
  static constexpr std::array<std::size_t, 9> kClassSizes = {
      1u << 10,   4u << 10,  16u << 10, 64u << 10, 256u << 10, 1u << 20, (1u << 20) + (64u << 10),
      2u << 20,   4u << 20};
  static constexpr std::size_t kMaxBufferSize = kClassSizes.back();

  /// `capacity_bytes`: most bytes (by class size) handed out at once.
  explicit BufferPool(std::size_t capacity_bytes);
  BufferPool(const BufferPool&) = delete;
  BufferPool& operator=(const BufferPool&) = delete;
  /// All buffers must have been returned (PooledBuffer holds a raw pointer).
  ~BufferPool();

  /// A buffer of at least `size` bytes, or an empty handle when `size` >
  /// kMaxBufferSize or the byte budget is exhausted (counted as a failure).
  PooledBuffer try_take(std::size_t size);

  /// Registers `fn` to run once (on the releasing thread) the next time a
  /// buffer is returned.  Used by connections paused for backpressure; `fn`
  /// must be cheap (post to an executor).
  void notify_on_release(std::function<void()> fn);

  PoolStats stats() const;
  std::size_t capacity_bytes() const { return capacity_bytes_; }

  /// Index of the smallest class holding `size` bytes; kClassSizes.size() if none.
  static std::size_t class_for(std::size_t size);

 private:
  friend class PooledBuffer;
  void give_back(std::unique_ptr<std::uint8_t[]> data, std::uint8_t size_class);

  const std::size_t capacity_bytes_;
  mutable std::mutex mu_;
  std::array<std::vector<std::unique_ptr<std::uint8_t[]>>, kClassSizes.size()> free_;
  PoolStats stats_;
  std::vector<std::function<void()>> waiters_;
};

}  // namespace nasd::pool
