// LookupHints, see storage/lookup_hints.h.
#include "storage/lookup_hints.h"

namespace nasd::storage {

LookupHints::LookupHints(std::size_t slots, std::int64_t ttl_ns) : ttl_ns_(ttl_ns), slots_(slots) {}

std::uint64_t LookupHints::key_of(std::uint64_t dir_dev, std::uint64_t dir_ino,
                                  std::string_view name) {
  // FNV-1a over the name, mixed with the directory; never 0 (the empty slot).
  std::uint64_t h = 0xcbf29ce484222325ull ^ (dir_ino * 0x9E3779B97F4A7C15ull) ^ dir_dev;
  for (unsigned char ch : name) {
    h ^= ch;
    h *= 0x100000001b3ull;
  }
  h ^= h >> 29;
  return h == 0 ? 1 : h;
}

bool LookupHints::find(std::uint64_t dir_dev, std::uint64_t dir_ino, std::string_view name,
                       std::int64_t now_ns, std::uint64_t* ino) const {
  if (slots_.empty()) return false;
  const std::uint64_t key = key_of(dir_dev, dir_ino, name);
  const std::size_t i = key % slots_.size();
  std::lock_guard lock(stripes_[i % kStripes]);
  const Slot& s = slots_[i];
  if (s.key != key || now_ns - s.noted_ns > ttl_ns_ || now_ns < s.noted_ns) return false;
  *ino = s.ino;
  return true;
}

void LookupHints::note(std::uint64_t dir_dev, std::uint64_t dir_ino, std::string_view name,
                       std::uint64_t ino, std::int64_t now_ns) {
  if (slots_.empty()) return;
  const std::uint64_t key = key_of(dir_dev, dir_ino, name);
  const std::size_t i = key % slots_.size();
  std::lock_guard lock(stripes_[i % kStripes]);
  slots_[i] = Slot{key, now_ns, ino};
}

}  // namespace nasd::storage
