#include "pool/buffer_pool.h"

#include <malloc.h>
#include <sys/mman.h>

#include <algorithm>
#include <cassert>
#include <new>
#include <utility>

#if defined(__SANITIZE_ADDRESS__)
#define NASD_POOL_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define NASD_POOL_ASAN 1
#endif
#endif

namespace nasd::pool {

namespace {
/// Whether a buffer of `bytes` is mapped.  Under AddressSanitizer every class
/// comes from the heap, so overruns of large buffers are still caught.
constexpr bool mapped(std::size_t bytes) {
#ifdef NASD_POOL_ASAN
  (void)bytes;
  return false;
#else
  return bytes >= BufferPool::kMapFrom;
#endif
}
}  // namespace

PooledBuffer& PooledBuffer::operator=(PooledBuffer&& o) noexcept {
  if (this != &o) {
    release();
    pool_ = std::exchange(o.pool_, nullptr);
    data_ = std::move(o.data_);
    capacity_ = std::exchange(o.capacity_, 0);
    size_class_ = o.size_class_;
  }
  return *this;
}

void BlockFree::operator()(std::uint8_t* p) const {
  if (!p) return;
  if (mapped(bytes)) {
    ::munmap(p, bytes);
  } else {
    delete[] p;
  }
}

Block BufferPool::allocate(std::size_t cls) {
  const std::size_t bytes = kClassSizes[cls];
  if (mapped(bytes)) {
    // Populated at once: one system call instead of a page fault per 4 KiB
    // when the buffer is first written.
    void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    if (p == MAP_FAILED) return Block(nullptr, BlockFree{bytes});
    return Block(static_cast<std::uint8_t*>(p), BlockFree{bytes});
  }
  return Block(new (std::nothrow) std::uint8_t[bytes], BlockFree{bytes});
}

void PooledBuffer::release() {
  if (data_ && pool_) pool_->give_back(std::move(data_), size_class_);
  data_.reset();
  pool_ = nullptr;
  capacity_ = 0;
}

BufferPool::BufferPool(std::size_t capacity_bytes, PoolCacheLimits cache,
                       std::size_t large_capacity_bytes)
    : capacity_bytes_(capacity_bytes), large_capacity_bytes_(large_capacity_bytes), cache_(cache) {}

BufferPool::~BufferPool() { assert(stats_.in_use_buffers == 0); }

std::size_t BufferPool::class_for(std::size_t size) {
  for (std::size_t i = 0; i < kClassSizes.size(); ++i) {
    if (size <= kClassSizes[i]) return i;
  }
  return kClassSizes.size();
}

bool BufferPool::can_ever_take(std::size_t size) const {
  const std::size_t cls = class_for(size);
  return cls < kClassSizes.size() && kClassSizes[cls] <= capacity_bytes_ &&
         (!large(cls) || kClassSizes[cls] <= large_capacity_bytes_);
}

void BufferPool::shrink_cache_locked() {
  for (std::size_t c = kClassSizes.size(); c-- > 0;) {
    const auto over = [&] {
      return stats_.in_use_bytes + stats_.cached_bytes > capacity_bytes_ ||
             (large(c) &&
              stats_.large_in_use_bytes + stats_.large_cached_bytes > large_capacity_bytes_);
    };
    while (!free_[c].empty() && over()) {
      free_[c].pop_back();
      stats_.cached_bytes -= kClassSizes[c];
      if (large(c)) stats_.large_cached_bytes -= kClassSizes[c];
      --stats_.cached_buffers;
      low_water_[c] = std::min(low_water_[c], free_[c].size());
    }
  }
}

PooledBuffer BufferPool::try_take(std::size_t size) {
  const std::size_t cls = class_for(size);
  std::unique_lock lock(mu_);
  if (cls == kClassSizes.size() || stats_.in_use_bytes + kClassSizes[cls] > capacity_bytes_ ||
      (large(cls) && stats_.large_in_use_bytes + kClassSizes[cls] > large_capacity_bytes_)) {
    ++stats_.failures;
    return {};
  }
  const std::size_t bytes = kClassSizes[cls];
  const std::size_t large_bytes = large(cls) ? bytes : 0;
  // Count the buffer as handed out before the lock may be dropped for the
  // allocation below, so concurrent takes cannot both pass the budget check.
  ++stats_.takes;
  ++stats_.in_use_buffers;
  stats_.in_use_bytes += bytes;
  stats_.large_in_use_bytes += large_bytes;
  stats_.high_water_bytes = std::max(stats_.high_water_bytes, stats_.in_use_bytes);
  Block data;
  if (!free_[cls].empty()) {
    data = std::move(free_[cls].back());
    free_[cls].pop_back();
    stats_.cached_bytes -= bytes;
    stats_.large_cached_bytes -= large_bytes;
    --stats_.cached_buffers;
    low_water_[cls] = std::min(low_water_[cls], free_[cls].size());
  } else {
    // Make room: drop cached buffers of other classes so that handed-out
    // plus cached memory stays within the budgets.
    shrink_cache_locked();
    ++stats_.allocations;
    lock.unlock();
    data = allocate(cls);
    if (!data) {  // out of memory: the take fails like an exhausted budget
      lock.lock();
      --stats_.takes;
      --stats_.in_use_buffers;
      stats_.in_use_bytes -= bytes;
      stats_.large_in_use_bytes -= large_bytes;
      ++stats_.failures;
      return {};
    }
  }
  return PooledBuffer(this, std::move(data), bytes, static_cast<std::uint8_t>(cls));
}

void BufferPool::give_back(Block data, std::uint8_t size_class) {
  std::vector<std::function<void()>> wake;
  {
    std::lock_guard lock(mu_);
    const std::size_t bytes = kClassSizes[size_class];
    const std::size_t large_bytes = large(size_class) ? bytes : 0;
    --stats_.in_use_buffers;
    stats_.in_use_bytes -= bytes;
    stats_.large_in_use_bytes -= large_bytes;
    if ((free_[size_class].size() + 1) * bytes <= cache_.per_class_bytes &&
        stats_.in_use_bytes + stats_.cached_bytes + bytes <= capacity_bytes_ &&
        (large_bytes == 0 || stats_.large_in_use_bytes + stats_.large_cached_bytes +
                                     large_bytes <= large_capacity_bytes_)) {
      free_[size_class].push_back(std::move(data));
      stats_.cached_bytes += bytes;
      stats_.large_cached_bytes += large_bytes;
      ++stats_.cached_buffers;
    }
    wake.swap(waiters_);
  }
  data.reset();
  for (auto& fn : wake) fn();
}

std::size_t BufferPool::trim() {
  std::vector<Block> released;
  std::size_t released_bytes = 0;
  bool heap = false;
  {
    std::lock_guard lock(mu_);
    for (std::size_t c = 0; c < kClassSizes.size(); ++c) {
      // low_water_[c] buffers stayed in the cache the whole time: unused.
      for (std::size_t n = std::min(low_water_[c], free_[c].size()); n > 0; --n) {
        released.push_back(std::move(free_[c].back()));
        free_[c].pop_back();
        stats_.cached_bytes -= kClassSizes[c];
        if (large(c)) stats_.large_cached_bytes -= kClassSizes[c];
        --stats_.cached_buffers;
        ++stats_.trimmed_buffers;
        released_bytes += kClassSizes[c];
        heap = heap || !mapped(kClassSizes[c]);
      }
      low_water_[c] = free_[c].size();
    }
  }
  released.clear();  // unmapped / freed outside the lock
  // Small buffers went back to malloc's heap: hand its free pages back too.
  if (heap) ::malloc_trim(0);
  return released_bytes;
}

void BufferPool::notify_on_release(std::function<void()> fn) {
  std::unique_lock lock(mu_);
  if (stats_.in_use_buffers == 0) {  // nothing to wait for: run now
    lock.unlock();
    fn();
    return;
  }
  waiters_.push_back(std::move(fn));
}

PoolStats BufferPool::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

PoolTrimmer::PoolTrimmer(std::vector<BufferPool*> pools, std::chrono::milliseconds period)
    : pools_(std::move(pools)) {
  if (period.count() <= 0) return;
  thread_ = std::jthread([this, period](std::stop_token stop) {
    std::unique_lock lock(mu_);
    for (;;) {
      cv_.wait_for(lock, stop, period, [] { return false; });  // wakes early only to stop
      if (stop.stop_requested()) return;
      for (BufferPool* p : pools_) p->trim();
    }
  });
}

PoolTrimmer::~PoolTrimmer() {
  if (thread_.joinable()) {
    thread_.request_stop();
    thread_.join();
  }
}

}  // namespace nasd::pool
