// NSM state on disk.  See nsm_state.h.
#include "server/locking/nsm_state.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <spdlog/spdlog.h>

namespace nasd::server {

namespace fs = std::filesystem;

std::string hex_name(const std::string& s) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) {
    out += kDigits[c >> 4];
    out += kDigits[c & 15];
  }
  return out;
}

bool write_atomically(const fs::path& path, const std::string& text) {
  const fs::path tmp = path.string() + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return false;
  // Worker threads leave a client's fsgid behind (storage/local/cred_guard.h): the
  // file belongs to the process's own ids, whichever thread writes it.
  (void)::fchown(fd, ::geteuid(), ::getegid());
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  ok = ::fsync(fd) == 0 && ok;
  ::close(fd);
  if (!ok) return false;
  std::error_code ec;
  fs::rename(tmp, path, ec);
  return !ec;
}

NsmState::NsmState(const fs::path& state_dir) : dir_(state_dir / "nsm") {
  std::error_code ec;
  fs::create_directories(dir_ / "clients", ec);
  if (ec) throw std::runtime_error("cannot create " + (dir_ / "clients").string() + ": " + ec.message());
  std::int64_t previous = 0;
  {
    std::ifstream in(dir_ / "state");
    std::string text;
    if (in >> text) {
      std::from_chars(text.data(), text.data() + text.size(), previous);
    }
  }
  std::int64_t next = previous + 1;
  if (next % 2 == 0) ++next;  // odd = up
  if (next > 0x7ffffff0 || next < 1) next = 1;
  state_ = static_cast<std::int32_t>(next);
  if (!write_atomically(dir_ / "state", std::to_string(state_) + "\n")) {
    throw std::runtime_error("cannot write " + (dir_ / "state").string());
  }
  for (const auto& entry : fs::directory_iterator(dir_ / "clients", ec)) {
    if (entry.path().extension() == ".tmp") continue;
    std::ifstream in(entry.path());
    std::string addr, name;
    if (!std::getline(in, addr) || !std::getline(in, name)) continue;
    boost::system::error_code aec;
    auto a = boost::asio::ip::make_address(addr, aec);
    if (aec) continue;
    previous_.push_back({name, a});
  }
}

fs::path NsmState::file_for(const std::string& name) const {
  return dir_ / "clients" / hex_name(name.substr(0, 120));
}

void NsmState::monitor(const MonitoredHost& host) {
  {
    std::lock_guard lock(mu_);
    for (const auto& h : current_) {
      if (h.name == host.name && h.address == host.address) return;
    }
    std::erase_if(current_, [&](const MonitoredHost& h) { return h.name == host.name; });
    current_.push_back(host);
  }
  if (!write_atomically(file_for(host.name), host.address.to_string() + "\n" + host.name + "\n")) {
    spdlog::warn("nsm: cannot record client {} under {}", host.name, dir_.string());
  }
}

void NsmState::unmonitor(const std::string& name) {
  {
    std::lock_guard lock(mu_);
    std::erase_if(current_, [&](const MonitoredHost& h) { return h.name == name; });
  }
  std::error_code ec;
  fs::remove(file_for(name), ec);
}

void NsmState::forget_previous(const std::string& name) {
  {
    std::lock_guard lock(mu_);
    for (const auto& h : current_) {
      if (h.name == name) return;
    }
  }
  std::error_code ec;
  fs::remove(file_for(name), ec);
}

std::vector<MonitoredHost> NsmState::monitored() const {
  std::lock_guard lock(mu_);
  return current_;
}

}  // namespace nasd::server
