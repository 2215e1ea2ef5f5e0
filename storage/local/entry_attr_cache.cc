#include "storage/local/entry_attr_cache.h"

namespace nasd::storage {

EntryAttrCache::EntryAttrCache(std::size_t entries)
    : n_(entries), records_(std::make_unique<Record[]>(entries)) {}

bool EntryAttrCache::get(std::size_t i, std::uint64_t gen, std::int64_t not_before_ns, Attr* attr,
                         FileHandle* handle) const {
  if (i >= n_ || gen == 0 || gen != generation()) return false;
  std::lock_guard lock(stripes_[i % kStripes]);
  const Record& r = records_[i];
  if (r.gen != gen || r.stat_ns < not_before_ns) return false;
  *attr = r.attr;
  *handle = r.handle;
  return true;
}

void EntryAttrCache::put(std::size_t i, std::uint64_t gen, std::int64_t stat_ns, const Attr& attr,
                         const FileHandle& handle) {
  if (i >= n_ || gen == 0) return;
  std::lock_guard lock(stripes_[i % kStripes]);
  records_[i] = Record{gen, stat_ns, attr, handle};
}

}  // namespace nasd::storage
