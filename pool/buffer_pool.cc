#include "pool/buffer_pool.h"

#include <algorithm>
#include <cassert>
#include <utility>

namespace nasd::pool {

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

void PooledBuffer::release() {
  if (data_ && pool_) pool_->give_back(std::move(data_), size_class_);
  data_.reset();
  pool_ = nullptr;
  capacity_ = 0;
}

BufferPool::BufferPool(std::size_t capacity_bytes) : capacity_bytes_(capacity_bytes) {}

BufferPool::~BufferPool() { assert(stats_.in_use_buffers == 0); }

std::size_t BufferPool::class_for(std::size_t size) {
  for (std::size_t i = 0; i < kClassSizes.size(); ++i) {
    if (size <= kClassSizes[i]) return i;
  }
  return kClassSizes.size();
}

PooledBuffer BufferPool::try_take(std::size_t size) {
  const std::size_t cls = class_for(size);
  std::unique_lock lock(mu_);
  if (cls == kClassSizes.size() || stats_.in_use_bytes + kClassSizes[cls] > capacity_bytes_) {
    ++stats_.failures;
    return {};
  }
  const std::size_t bytes = kClassSizes[cls];
  // Count the buffer as handed out before the lock may be dropped for the
  // allocation below, so concurrent takes cannot both pass the budget check.
  ++stats_.takes;
  ++stats_.in_use_buffers;
  stats_.in_use_bytes += bytes;
  stats_.high_water_bytes = std::max(stats_.high_water_bytes, stats_.in_use_bytes);
  std::unique_ptr<std::uint8_t[]> data;
  if (!free_[cls].empty()) {
    data = std::move(free_[cls].back());
    free_[cls].pop_back();
    stats_.cached_bytes -= bytes;
  } else {
    // Make room in the cache budget: drop cached buffers of other classes so
    // that handed-out plus cached memory stays within the capacity.
    for (std::size_t c = kClassSizes.size(); c-- > 0;) {
      while (!free_[c].empty() && stats_.in_use_bytes + stats_.cached_bytes > capacity_bytes_) {
        free_[c].pop_back();
        stats_.cached_bytes -= kClassSizes[c];
      }
    }
    ++stats_.allocations;
    lock.unlock();
    data = std::make_unique_for_overwrite<std::uint8_t[]>(bytes);
  }
  return PooledBuffer(this, std::move(data), bytes, static_cast<std::uint8_t>(cls));
}

void BufferPool::give_back(std::unique_ptr<std::uint8_t[]> data, std::uint8_t size_class) {
  std::vector<std::function<void()>> wake;
  {
    std::lock_guard lock(mu_);
    const std::size_t bytes = kClassSizes[size_class];
    --stats_.in_use_buffers;
    stats_.in_use_bytes -= bytes;
    if (stats_.in_use_bytes + stats_.cached_bytes + bytes <= capacity_bytes_) {
      free_[size_class].push_back(std::move(data));
      stats_.cached_bytes += bytes;
    }
    wake.swap(waiters_);
  }
  data.reset();
  for (auto& fn : wake) fn();
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

}  // namespace nasd::pool
