// NsmState: the persistent part of nasd's status monitor (XNFS chapter 11):
// the state number and the list of client hosts that hold locks, under
// `<state-dir>/nsm/`.  Plus GracePeriod, the reclaim window after a start.
//
//   nsm/state            the state number (decimal).  Each start makes it the
//                        next odd number (odd = up, RFC-less XNFS convention).
//   nsm/clients/<hex>    one file per monitored client: "address\nname\n"
//                        (hex = the caller_name in hex, so any name is safe).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include <boost/asio/ip/address.hpp>

namespace nasd::server {

/// One client host that held locks.
struct MonitoredHost {
  std::string name;                     // NLM caller_name
  boost::asio::ip::address address;     // where its lockd/statd run
};

class NsmState {
 public:
  /// Reads and advances the state number and loads the clients recorded by
  /// the previous run.  Throws std::runtime_error when the directory cannot
  /// be created or the state file not written (start-up error).
  explicit NsmState(const std::filesystem::path& state_dir);

  /// This run's state number (odd).
  std::int32_t state() const { return state_; }
  /// Clients recorded by the previous run (to notify after a restart).
  const std::vector<MonitoredHost>& previous_clients() const { return previous_; }

  /// Records `host` on disk (once per name per run).  Errors are logged.
  void monitor(const MonitoredHost& host);
  /// Removes the record of `name` (client rebooted / freed its locks).
  void unmonitor(const std::string& name);
  /// Removes a previous run's record unless `name` was monitored again.
  void forget_previous(const std::string& name);
  /// Names monitored in this run and their addresses.
  std::vector<MonitoredHost> monitored() const;

 private:
  std::filesystem::path file_for(const std::string& name) const;

  std::filesystem::path dir_;
  std::int32_t state_ = 1;
  std::vector<MonitoredHost> previous_;
  mutable std::mutex mu_;
  std::vector<MonitoredHost> current_;  // guarded by mu_
};

/// Lower-case hex of `s` (file names for arbitrary client names).
std::string hex_name(const std::string& s);
/// Writes `text` to `path` through a temporary file, fsync and rename.
/// False on any error.
bool write_atomically(const std::filesystem::path& path, const std::string& text);

/// The grace period after a start (one per start, shared by NLM and NFSv4):
/// while active, only reclaims are granted.  It ends after `length`, or
/// early once each of its `parts` protocols (NLM, NFSv4) has called end()
/// because it has no client left to wait for.
class GracePeriod {
 public:
  /// Active for `length` from now; zero length = never active.
  explicit GracePeriod(std::chrono::seconds length, int parts = 1)
      : end_(std::chrono::steady_clock::now() + length), parts_(parts) {}
  bool active() const { return parts_.load() > 0 && std::chrono::steady_clock::now() < end_; }
  /// One part has nobody left to wait for; the last one ends the grace
  /// period early.  Each part calls it at most once.
  void end() { --parts_; }

 private:
  const std::chrono::steady_clock::time_point end_;
  std::atomic<int> parts_;
};

}  // namespace nasd::server
