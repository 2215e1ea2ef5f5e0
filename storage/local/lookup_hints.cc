// LookupHints, see lookup_hints.h.
#include "storage/local/lookup_hints.h"

namespace nasd::storage {

LookupHints::LookupHints(std::size_t slots, std::int64_t ttl_ns) : ttl_ns_(ttl_ns), slots_(slots) {}

std::uint64_t LookupHints::key_of(std::span<const std::uint8_t> dir, std::string_view name) {
  // FNV-1a over the handle, a separator and the name; never 0 (the empty slot).
  std::uint64_t h = 0xcbf29ce484222325ull;
  auto mix = [&h](unsigned char ch) {
    h ^= ch;
    h *= 0x100000001b3ull;
  };
  for (std::uint8_t b : dir) mix(b);
  mix(static_cast<unsigned char>(dir.size()));
  for (unsigned char ch : name) mix(ch);
  h ^= h >> 29;
  return h == 0 ? 1 : h;
}

bool LookupHints::find(std::span<const std::uint8_t> dir, std::string_view name,
                       std::int64_t now_ns, std::uint64_t* ino) const {
  if (slots_.empty()) return false;
  const std::uint64_t key = key_of(dir, name);
  const std::size_t i = key % slots_.size();
  std::lock_guard lock(stripes_[i % kStripes]);
  const Slot& s = slots_[i];
  if (s.key != key || now_ns - s.noted_ns > ttl_ns_ || now_ns < s.noted_ns) return false;
  *ino = s.ino;
  return true;
}

void LookupHints::note(std::span<const std::uint8_t> dir, std::string_view name,
                       std::uint64_t ino, std::int64_t now_ns) {
  if (slots_.empty()) return;
  const std::uint64_t key = key_of(dir, name);
  const std::size_t i = key % slots_.size();
  std::lock_guard lock(stripes_[i % kStripes]);
  slots_[i] = Slot{key, now_ns, ino};
}

}  // namespace nasd::storage
