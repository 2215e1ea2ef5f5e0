// NFSv4 client records on disk.  See recovery.h.
#include "server/nfs4/state/recovery.h"

#include <cstdio>
#include <fstream>
#include <iterator>
#include <stdexcept>

#include <spdlog/spdlog.h>

#include "server/locking/nsm_state.h"

namespace nasd::server {

namespace fs = std::filesystem;

namespace {

/// 64-bit FNV-1a of `s` (file names for long owner ids).
std::uint64_t fnv1a(const std::string& s) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : s) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

constexpr std::size_t kHexNameMax = 100;  // owner bytes named in hex (200 chars < NAME_MAX)

}  // namespace

Nfs4ClientRecords::Nfs4ClientRecords(const fs::path& state_dir)
    : dir_(state_dir / "nfs4" / "clients") {
  std::error_code ec;
  fs::create_directories(dir_, ec);
  if (ec) throw std::runtime_error("cannot create " + dir_.string() + ": " + ec.message());
  for (const auto& e : fs::directory_iterator(dir_, ec)) {
    if (!e.is_regular_file() || e.path().extension() == ".tmp") continue;
    std::ifstream in(e.path(), std::ios::binary);
    std::string owner((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (!owner.empty() && file_for(owner) == e.path()) previous_.insert(std::move(owner));
  }
}

fs::path Nfs4ClientRecords::file_for(const std::string& ownerid) const {
  if (ownerid.size() <= kHexNameMax) return dir_ / hex_name(ownerid);
  char name[24];
  std::snprintf(name, sizeof name, "h%016llx", static_cast<unsigned long long>(fnv1a(ownerid)));
  return dir_ / name;
}

bool Nfs4ClientRecords::previous(const std::string& ownerid) const {
  return previous_.contains(ownerid);
}

void Nfs4ClientRecords::add(const std::string& ownerid) {
  {
    std::lock_guard lock(mu_);
    if (!current_.insert(ownerid).second) return;
  }
  if (!write_atomically(file_for(ownerid), ownerid)) {
    spdlog::warn("nfs4: cannot record client state under {}", dir_.string());
  }
}

void Nfs4ClientRecords::remove(const std::string& ownerid) {
  {
    std::lock_guard lock(mu_);
    current_.erase(ownerid);
  }
  std::error_code ec;
  fs::remove(file_for(ownerid), ec);
}

void Nfs4ClientRecords::forget_stale() {
  std::lock_guard lock(mu_);
  for (const auto& owner : previous_) {
    if (current_.contains(owner)) continue;
    std::error_code ec;
    fs::remove(file_for(owner), ec);
  }
}

}  // namespace nasd::server
