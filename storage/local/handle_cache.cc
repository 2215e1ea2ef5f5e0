// HandleCache, see handle_cache.h.
#include "storage/local/handle_cache.h"

#include <algorithm>
#include <iterator>

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
  InodeStamp cached;
  FileHandle h;
  if (!peek(dev, ino, &cached, &h)) return false;
  if (!(cached == stamp)) {  // changed or reused: rebuilt by the caller
    erase(dev, ino);
    return false;
  }
  *out = h;
  return true;
}

bool InodeHandleCache::peek(std::uint64_t dev, std::uint64_t ino, InodeStamp* stamp,
                            FileHandle* out) const {
  if (capacity_ == 0) return false;
  const Key k{dev, ino};
  Shard& sh = shard_of(k);
  std::lock_guard lock(sh.mu);
  auto it = sh.index.find(k);
  if (it == sh.index.end()) return false;
  *stamp = it->second->stamp;
  *out = it->second->handle;
  return true;
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

// ------------------------------------------------------------- DirEntryCache

std::ptrdiff_t DirSnapshot::start_after(std::uint64_t cookie) const {
  if (cookie == 0) return 0;
  auto it = std::lower_bound(entries.begin(), entries.end(), cookie,
                             [](const Entry& e, std::uint64_t c) { return e.off < c; });
  if (it == entries.end() || it->off != cookie) return -1;
  return (it - entries.begin()) + 1;
}

std::shared_ptr<const DirSnapshot> DirEntryCache::find(std::uint64_t dev, std::uint64_t ino,
                                                       const InodeStamp& stamp,
                                                       bool drain_watches) {
  if (max_entries_ == 0) return nullptr;
  std::shared_ptr<const DirSnapshot> stale;  // freed outside the lock
  std::lock_guard lock(mu_);
  if (drain_watches) apply_events();
  auto it = index_.find(Key{dev, ino});
  if (it == index_.end()) return nullptr;
  if (!(it->second->snap->stamp == stamp)) {
    stale = it->second->snap;
    drop(it->second);
    return nullptr;
  }
  lru_.splice(lru_.begin(), lru_, it->second);
  return it->second->snap;
}

void DirEntryCache::apply_events() {
  if (watched_.empty()) return;
  watch_.drain(
      [this](int wd, bool gone) {
        auto w = watched_.find(wd);
        if (w == watched_.end()) return;  // removed by drop()
        auto it = index_.find(w->second);
        if (it != index_.end() && it->second->wd == wd) {
          if (gone) {  // the kernel dropped the watch: no more events to trust
            it->second->snap->attrs->retire();
            it->second->wd = -1;
          } else {
            it->second->snap->attrs->invalidate();
          }
        }
        if (gone) watched_.erase(w);
      },
      [this] {
        for (Item& item : lru_) {
          if (item.snap->attrs) item.snap->attrs->invalidate();
        }
      });
}

void DirEntryCache::insert(std::uint64_t dev, std::uint64_t ino, std::shared_ptr<DirSnapshot> snap,
                           int watch_fd) {
  if (max_entries_ == 0 || !snap || snap->entries.size() > max_listing()) return;
  std::vector<std::shared_ptr<const DirSnapshot>> evicted;  // freed outside the lock
  std::lock_guard lock(mu_);
  const Key k{dev, ino};
  int wd = -1;
  if (watch_fd >= 0) {
    wd = watch_.add(watch_fd);
    if (wd >= 0) snap->attrs = std::make_unique<EntryAttrCache>(snap->entries.size());
  }
  if (auto it = index_.find(k); it != index_.end()) {
    evicted.push_back(it->second->snap);
    drop(it->second, wd);
  }
  while (!lru_.empty() && total_ + snap->entries.size() > max_entries_) {
    evicted.push_back(lru_.back().snap);
    drop(std::prev(lru_.end()), wd);
  }
  if (wd >= 0) watched_[wd] = k;
  total_ += snap->entries.size();
  lru_.push_front(Item{k, std::move(snap), wd});
  index_.emplace(k, lru_.begin());
}

void DirEntryCache::drop(std::list<Item>::iterator it, int keep_wd) {
  total_ -= it->snap->entries.size();
  if (it->snap->attrs) it->snap->attrs->retire();
  if (it->wd >= 0 && it->wd != keep_wd) {
    watch_.remove(it->wd);
    watched_.erase(it->wd);
  }
  index_.erase(it->key);
  lru_.erase(it);
}

std::optional<DirEntryCache::BuildClaim> DirEntryCache::claim_build(std::uint64_t dev,
                                                                      std::uint64_t ino) {
  std::lock_guard lock(mu_);
  if (!building_.insert(Key{dev, ino}).second) return std::nullopt;
  return BuildClaim(this, Key{dev, ino});
}

DirEntryCache::BuildClaim::~BuildClaim() {
  if (cache_ == nullptr) return;
  std::lock_guard lock(cache_->mu_);
  cache_->building_.erase(key_);
}

std::size_t DirEntryCache::entries() const {
  std::lock_guard lock(mu_);
  return total_;
}

}  // namespace nasd::storage
