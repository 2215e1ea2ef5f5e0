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

}  // namespace nasd::storage
