// HandleCache, see storage/handle_cache.h.
#include "storage/handle_cache.h"

namespace nasd::storage {
namespace {

std::string key_of(std::span<const std::uint8_t> handle) {
  return std::string(reinterpret_cast<const char*>(handle.data()), handle.size());
}

}  // namespace

std::shared_ptr<const UniqueFd> HandleCache::find(std::span<const std::uint8_t> handle) {
  if (capacity_ == 0) return nullptr;
  const std::string key = key_of(handle);
  std::lock_guard lock(mu_);
  auto it = index_.find(key);
  if (it == index_.end()) return nullptr;
  lru_.splice(lru_.begin(), lru_, it->second);
  return it->second->second;
}

void HandleCache::insert(std::span<const std::uint8_t> handle, std::shared_ptr<const UniqueFd> fd) {
  if (capacity_ == 0 || !fd) return;
  std::string key = key_of(handle);
  std::shared_ptr<const UniqueFd> evicted;  // closed outside the lock
  std::lock_guard lock(mu_);
  if (auto it = index_.find(key); it != index_.end()) {
    it->second->second = std::move(fd);
    lru_.splice(lru_.begin(), lru_, it->second);
    return;
  }
  if (lru_.size() >= capacity_) {
    evicted = std::move(lru_.back().second);
    index_.erase(lru_.back().first);
    lru_.pop_back();
  }
  lru_.emplace_front(key, std::move(fd));
  index_.emplace(std::move(key), lru_.begin());
}

void HandleCache::erase(std::span<const std::uint8_t> handle) {
  std::shared_ptr<const UniqueFd> gone;
  std::lock_guard lock(mu_);
  auto it = index_.find(key_of(handle));
  if (it == index_.end()) return;
  gone = std::move(it->second->second);
  lru_.erase(it->second);
  index_.erase(it);
}

void HandleCache::clear() {
  std::list<Entry> gone;
  std::lock_guard lock(mu_);
  index_.clear();
  gone.swap(lru_);
}

std::size_t HandleCache::size() const {
  std::lock_guard lock(mu_);
  return lru_.size();
}

// ---------------------------------------------------------- InodeHandleCache

InodeHandleCache::InodeHandleCache(std::size_t capacity)
    : capacity_(capacity), per_shard_(capacity == 0 ? 0 : (capacity + kShards - 1) / kShards) {}

bool InodeHandleCache::find(std::uint64_t dev, std::uint64_t ino, const InodeStamp& stamp,
                            FileHandle* out) {
  if (capacity_ == 0) return false;
  const Key k{dev, ino};
  Shard& sh = shard_of(k);
  std::lock_guard lock(sh.mu);
  auto it = sh.index.find(k);
  if (it == sh.index.end()) return false;
  if (!(it->second->stamp == stamp)) {  // changed or reused: rebuilt by the caller
    sh.lru.erase(it->second);
    sh.index.erase(it);
    return false;
  }
  sh.lru.splice(sh.lru.begin(), sh.lru, it->second);
  *out = it->second->handle;
  return true;
}

bool InodeHandleCache::contains(std::uint64_t dev, std::uint64_t ino) const {
  if (capacity_ == 0) return false;
  const Key k{dev, ino};
  Shard& sh = shard_of(k);
  std::lock_guard lock(sh.mu);
  return sh.index.count(k) != 0;
}

void InodeHandleCache::insert(std::uint64_t dev, std::uint64_t ino, const InodeStamp& stamp,
                              const FileHandle& handle) {
  if (capacity_ == 0 || handle.size == 0) return;
  const Key k{dev, ino};
  Shard& sh = shard_of(k);
  std::lock_guard lock(sh.mu);
  if (auto it = sh.index.find(k); it != sh.index.end()) {
    it->second->stamp = stamp;
    it->second->handle = handle;
    sh.lru.splice(sh.lru.begin(), sh.lru, it->second);
    return;
  }
  if (sh.lru.size() >= per_shard_) {
    sh.index.erase(sh.lru.back().key);
    sh.lru.pop_back();
  }
  sh.lru.push_front(Value{k, stamp, handle});
  sh.index.emplace(k, sh.lru.begin());
}

void InodeHandleCache::erase(std::uint64_t dev, std::uint64_t ino) {
  if (capacity_ == 0) return;
  const Key k{dev, ino};
  Shard& sh = shard_of(k);
  std::lock_guard lock(sh.mu);
  auto it = sh.index.find(k);
  if (it == sh.index.end()) return;
  sh.lru.erase(it->second);
  sh.index.erase(it);
}

std::size_t InodeHandleCache::size() const {
  std::size_t n = 0;
  for (const Shard& sh : shards_) {
    std::lock_guard lock(sh.mu);
    n += sh.lru.size();
  }
  return n;
}

}  // namespace nasd::storage
