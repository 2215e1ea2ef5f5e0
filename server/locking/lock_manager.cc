// Byte-range lock manager.  See lock_manager.h.
#include "server/locking/lock_manager.h"

#include <algorithm>

namespace nasd::server {

namespace {

bool overlaps(const Lock& a, std::uint64_t start, std::uint64_t end) {
  return a.start <= end && start <= a.end;
}

bool conflicts(const Lock& held, const Lock& want) {
  if (held.owner.same(want.owner)) return false;
  if (!overlaps(held, want.start, want.end)) return false;
  return held.type == LockType::kExclusive || want.type == LockType::kExclusive;
}

}  // namespace

const Lock* LockManager::find_conflict(const FileState& f, const Lock& want) {
  for (const Lock& l : f.locks) {
    if (conflicts(l, want)) return &l;
  }
  return nullptr;
}

void LockManager::carve(FileState& f, const LockOwner& owner, std::uint64_t start,
                        std::uint64_t end) {
  std::vector<Lock> keep;
  keep.reserve(f.locks.size() + 1);
  for (Lock& l : f.locks) {
    if (!l.owner.same(owner) || !overlaps(l, start, end)) {
      keep.push_back(std::move(l));
      continue;
    }
    if (l.start < start) {  // left piece survives
      Lock left = l;
      left.end = start - 1;
      keep.push_back(std::move(left));
    }
    if (l.end > end) {  // right piece survives
      Lock right = l;
      right.start = end + 1;
      keep.push_back(std::move(right));
    }
  }
  lock_count_ += keep.size();
  lock_count_ -= f.locks.size();
  f.locks = std::move(keep);
}

void LockManager::insert_merged(FileState& f, Lock l) {
  // Same owner and type, overlapping or adjacent: absorb into `l`.
  std::vector<Lock> keep;
  keep.reserve(f.locks.size() + 1);
  for (Lock& h : f.locks) {
    const bool adjacent_or_overlapping =
        (h.start <= l.end || l.end == kToEof || h.start == l.end + 1) &&
        (l.start <= h.end || h.end == kToEof || l.start == h.end + 1);
    if (h.owner.same(l.owner) && h.type == l.type && adjacent_or_overlapping) {
      l.start = std::min(l.start, h.start);
      l.end = std::max(l.end, h.end);
    } else {
      keep.push_back(std::move(h));
    }
  }
  keep.push_back(std::move(l));
  std::sort(keep.begin(), keep.end(), [](const Lock& a, const Lock& b) { return a.start < b.start; });
  lock_count_ += keep.size();
  lock_count_ -= f.locks.size();
  f.locks = std::move(keep);
}

LockStatus LockManager::lock(const FileKey& file, const LockOwner& owner, LockType type,
                             std::uint64_t start, std::uint64_t end, bool wait,
                             std::uint64_t cookie, Lock* conflict,
                             std::vector<GrantedWaiter>* woken) {
  if (start > end) return LockStatus::kDenied;
  Lock want{owner, type, start, end};
  std::lock_guard guard(mu_);
  FileState& f = files_[file];
  if (const Lock* c = find_conflict(f, want)) {
    if (conflict) *conflict = *c;
    if (!wait) {
      if (f.empty()) files_.erase(file);
      return LockStatus::kDenied;
    }
    for (const Waiter& w : f.waiters) {
      if (w.lock.owner.same(owner) && w.lock.start == start && w.lock.end == end &&
          w.lock.type == type) {
        return LockStatus::kBlocked;  // a retransmitted or re-polled request
      }
    }
    if (waiter_count_ >= kMaxWaiters) return LockStatus::kNoLocks;
    f.waiters.push_back({std::move(want), cookie});
    ++waiter_count_;
    return LockStatus::kBlocked;
  }
  if (lock_count_ + 2 > kMaxLocks) {
    if (f.empty()) files_.erase(file);
    return LockStatus::kNoLocks;
  }
  carve(f, owner, start, end);
  insert_merged(f, std::move(want));
  // A downgrade (exclusive -> shared) may let queued shared requests in.
  if (woken && !f.waiters.empty()) grant_waiters(file, f, *woken);
  return LockStatus::kGranted;
}

std::optional<Lock> LockManager::test(const FileKey& file, const LockOwner& owner, LockType type,
                                      std::uint64_t start, std::uint64_t end) const {
  std::lock_guard guard(mu_);
  auto it = files_.find(file);
  if (it == files_.end()) return std::nullopt;
  if (const Lock* c = find_conflict(it->second, Lock{owner, type, start, end})) return *c;
  return std::nullopt;
}

void LockManager::grant_waiters(const FileKey& key, FileState& f,
                                std::vector<GrantedWaiter>& out) {
  for (auto it = f.waiters.begin(); it != f.waiters.end();) {
    if (find_conflict(f, it->lock) || lock_count_ + 2 > kMaxLocks) {
      ++it;
      continue;
    }
    carve(f, it->lock.owner, it->lock.start, it->lock.end);
    insert_merged(f, it->lock);
    out.push_back({key, it->lock, it->cookie});
    it = f.waiters.erase(it);
    --waiter_count_;
  }
}

std::vector<GrantedWaiter> LockManager::unlock(const FileKey& file, const LockOwner& owner,
                                               std::uint64_t start, std::uint64_t end) {
  std::vector<GrantedWaiter> granted;
  std::lock_guard guard(mu_);
  auto it = files_.find(file);
  if (it == files_.end()) return granted;
  carve(it->second, owner, start, end);
  // An interrupted blocking request is withdrawn by an UNLOCK of its range
  // (Linux's lockd sends UNLOCK, not CANCEL, when the waiter is signalled).
  const std::size_t before = it->second.waiters.size();
  std::erase_if(it->second.waiters, [&](const Waiter& w) {
    return w.lock.owner.same(owner) && overlaps(w.lock, start, end);
  });
  waiter_count_ -= before - it->second.waiters.size();
  grant_waiters(file, it->second, granted);
  if (it->second.empty()) files_.erase(it);
  return granted;
}

bool LockManager::cancel(const FileKey& file, const LockOwner& owner, LockType type,
                         std::uint64_t start, std::uint64_t end) {
  std::lock_guard guard(mu_);
  auto it = files_.find(file);
  if (it == files_.end()) return false;
  auto& ws = it->second.waiters;
  auto w = std::find_if(ws.begin(), ws.end(), [&](const Waiter& x) {
    return x.lock.owner.same(owner) && x.lock.type == type && x.lock.start == start &&
           x.lock.end == end;
  });
  if (w == ws.end()) return false;
  ws.erase(w);
  --waiter_count_;
  if (it->second.empty()) files_.erase(it);
  return true;
}

std::vector<GrantedWaiter> LockManager::free_client(const LockClient& client) {
  std::vector<GrantedWaiter> granted;
  std::lock_guard guard(mu_);
  for (auto it = files_.begin(); it != files_.end();) {
    FileState& f = it->second;
    const std::size_t before = f.locks.size();
    std::erase_if(f.locks, [&](const Lock& l) { return l.owner.client == client; });
    lock_count_ -= before - f.locks.size();
    const std::size_t wbefore = f.waiters.size();
    std::erase_if(f.waiters, [&](const Waiter& w) { return w.lock.owner.client == client; });
    waiter_count_ -= wbefore - f.waiters.size();
    std::erase_if(f.shares, [&](const Share& s) { return s.owner.client == client; });
    grant_waiters(it->first, f, granted);
    if (f.empty()) {
      it = files_.erase(it);
    } else {
      ++it;
    }
  }
  return granted;
}

bool LockManager::share(const FileKey& file, const Share& s) {
  std::lock_guard guard(mu_);
  FileState& f = files_[file];
  for (const Share& h : f.shares) {
    if (h.owner.client == s.owner.client && h.owner.opaque == s.owner.opaque) continue;
    if ((h.deny & s.access) || (h.access & s.deny)) {
      if (f.empty()) files_.erase(file);
      return false;
    }
  }
  std::erase_if(f.shares, [&](const Share& h) {
    return h.owner.client == s.owner.client && h.owner.opaque == s.owner.opaque;
  });
  f.shares.push_back(s);
  return true;
}

void LockManager::unshare(const FileKey& file, const LockOwner& owner) {
  std::lock_guard guard(mu_);
  auto it = files_.find(file);
  if (it == files_.end()) return;
  std::erase_if(it->second.shares, [&](const Share& h) {
    return h.owner.client == owner.client && h.owner.opaque == owner.opaque;
  });
  if (it->second.empty()) files_.erase(it);
}

std::vector<Lock> LockManager::locks(const FileKey& file) const {
  std::lock_guard guard(mu_);
  auto it = files_.find(file);
  return it == files_.end() ? std::vector<Lock>{} : it->second.locks;
}

std::size_t LockManager::lock_count() const {
  std::lock_guard guard(mu_);
  return lock_count_;
}

std::size_t LockManager::waiter_count() const {
  std::lock_guard guard(mu_);
  return waiter_count_;
}

bool LockManager::client_holds_locks(const LockClient& client) const {
  std::lock_guard guard(mu_);
  for (const auto& [key, f] : files_) {
    for (const Lock& l : f.locks) {
      if (l.owner.client == client) return true;
    }
    for (const Share& s : f.shares) {
      if (s.owner.client == client) return true;
    }
  }
  return false;
}

}  // namespace nasd::server
