// nasd_bench: an NFS load generator on libnfs's async API.
//
// Runs one workload against one NFS export with many calls in flight per
// connection and several connections, and prints one JSON line:
//   {"workload":..., "server":..., "ops":N, "seconds":S, "ops_per_s":...,
//    "mb_per_s":..., "p50_us":..., "p99_us":..., "max_us":..., "errors":N,
//    "verify_errors":N, "peak_rss_kb":N, "server_cpu_us_per_op":X}
// (server CPU time, user + system, spent per op during the measurement:
// less sensitive than ops/s to other load on a shared machine)
// An "op" is one whole unit of the workload (e.g. open+read+close of a small
// file); latency is measured per op.  Content read back is verified.
//
// Workloads:
//   smallread    open + read 4 KiB + close of prepared files (--files N)
//   smallcreate  create + write 4 KiB + fsync (COMMIT) + close of new files
//   getattr      stat of prepared files (LOOKUP + GETATTR)
//   readdir      full listing of a prepared directory of --files entries
//                (READDIRPLUS); ops counts entries
//   metaops      mkdir, create, rename, unlink, rmdir cycle (5 ops each)
//   seqwrite     1 MiB writes at increasing offsets, one file per slot
//   seqread      1 MiB reads of the files seqwrite wrote
//
// libnfs 4.0 notes: NFSv4 in libnfs 4.0 is 4.0-only, does not serialize the
// calls of its one open-owner per context (use --depth 1 and more
// --connections), and cannot encode a WRITE of more than about 4 KiB; each
// context here gets a client name of its own (else all share one clientid).  The server's peak RSS is
// sampled from /proc/PID/status (VmHWM and VmRSS) when --server-pid is given.
#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nfsc/libnfs.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace {

using Clock = std::chrono::steady_clock;

struct Config {
  std::string url;
  std::string workload = "smallread";
  std::string server = "nasd";
  unsigned files = 2000;
  unsigned depth = 16;
  unsigned connections = 4;
  double seconds = 10;
  int server_pid = 0;
  bool prepare_only = false;
  bool skip_prepare = false;
};

constexpr std::size_t kSmall = 4096;
constexpr std::size_t kBig = 1 << 20;
constexpr std::uint64_t kBigFileBytes = 64ull << 20;

// Deterministic content of file `i`: verifiable on read without storing it.
void fill(std::uint8_t* p, std::size_t n, std::uint64_t seed) {
  std::uint64_t x = seed * 0x9e3779b97f4a7c15ull + 1;
  for (std::size_t i = 0; i < n; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    p[i] = static_cast<std::uint8_t>(x);
  }
}

std::string small_path(unsigned i) {
  char b[64];
  std::snprintf(b, sizeof b, "/bench-files/f%06u", i);
  return b;
}

long rss_kb(int pid, const char* field) {
  if (pid <= 0) return 0;
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field, 0) == 0) return std::stol(line.substr(std::strlen(field)));
  }
  return 0;
}

/// CPU time (user + system) the process has used so far, in µs; 0 when
/// unknown.  From /proc/PID/stat fields 14 and 15 (clock ticks).
double cpu_us(int pid) {
  if (pid <= 0) return 0;
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto close = stat.rfind(')');  // the command name may hold spaces
  if (close == std::string::npos) return 0;
  std::istringstream rest(stat.substr(close + 2));
  std::string field;
  double ticks = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i >= 14) ticks += std::stod(field);
  }
  return ticks * 1e6 / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

struct Stats {
  std::vector<std::uint32_t> latencies_us;
  std::uint64_t ops = 0, bytes = 0, errors = 0, verify_errors = 0;
};

class Bench;

/// One outstanding op chain on one connection.
struct Slot {
  Bench* bench = nullptr;
  nfs_context* nfs = nullptr;
  unsigned id = 0;
  unsigned step = 0;
  std::uint64_t counter = 0;  // per-slot sequence (file numbers, offsets)
  std::uint64_t item = 0;
  nfsfh* fh = nullptr;
  nfsdir* dir = nullptr;
  Clock::time_point started;
  std::vector<std::uint8_t> buf;
  std::string path, path2;
};

class Bench {
 public:
  explicit Bench(Config c) : cfg_(std::move(c)), rng_(12345) {}

  int run() {
    for (unsigned i = 0; i < cfg_.connections; ++i) {
      nfs_context* nfs = connect();
      if (!nfs) return 2;
      contexts_.push_back(nfs);
    }
    if (!cfg_.skip_prepare && !prepare()) return 2;
    if (cfg_.prepare_only) return 0;
    for (unsigned c = 0; c < cfg_.connections; ++c) {
      for (unsigned d = 0; d < cfg_.depth; ++d) {
        auto s = std::make_unique<Slot>();
        s->bench = this;
        s->nfs = contexts_[c];
        s->id = c * cfg_.depth + d;
        slots_.push_back(std::move(s));
      }
    }
    rss_start_ = rss_kb(cfg_.server_pid, "VmRSS:");
    cpu_start_us_ = cpu_us(cfg_.server_pid);
    begin_ = Clock::now();
    deadline_ = begin_ + std::chrono::duration_cast<Clock::duration>(
                             std::chrono::duration<double>(cfg_.seconds));
    for (auto& s : slots_) start_op(*s);
    loop();
    report();
    for (auto* nfs : contexts_) nfs_destroy_context(nfs);
    return 0;
  }

  // ---- op chains; every callback ends in step() or finish() ----
  void start_op(Slot& s) {
    if (Clock::now() >= deadline_) return;
    ++active_;
    s.started = Clock::now();
    s.step = 0;
    ++s.counter;
    const std::string& w = cfg_.workload;
    if (w == "smallread" || w == "getattr") {
      s.item = rng_() % cfg_.files;
      s.path = small_path(static_cast<unsigned>(s.item));
      if (w == "getattr") {
        issue(s, nfs_stat64_async(s.nfs, s.path.c_str(), &Bench::cb, &s));
      } else {
        issue(s, nfs_open_async(s.nfs, s.path.c_str(), O_RDONLY, &Bench::cb, &s));
      }
    } else if (w == "smallcreate") {
      s.path = "/bench-create/c" + std::to_string(s.id) + "-" + std::to_string(s.counter);
      issue(s, nfs_creat_async(s.nfs, s.path.c_str(), 0644, &Bench::cb, &s));
    } else if (w == "readdir") {
      issue(s, nfs_opendir_async(s.nfs, "/bench-files", &Bench::cb, &s));
    } else if (w == "metaops") {
      // The pid keeps names apart from a cycle an earlier run left half done.
      s.path = "/bench-meta/d" + std::to_string(::getpid()) + "-" + std::to_string(s.id) + "-" +
               std::to_string(s.counter);
      issue(s, nfs_mkdir_async(s.nfs, s.path.c_str(), &Bench::cb, &s));
    } else if (w == "seqwrite" || w == "seqread") {
      if (!s.fh) {
        s.path = "/bench-seq/s" + std::to_string(s.id);
        int flags = w == "seqwrite" ? (O_WRONLY | O_CREAT) : O_RDONLY;
        s.step = 100;  // open first, then the I/O step
        issue(s, nfs_open_async(s.nfs, s.path.c_str(), flags, &Bench::cb, &s));
      } else {
        io_step(s);
      }
    }
  }

  static void cb(int err, nfs_context*, void* data, void* priv) {
    auto& s = *static_cast<Slot*>(priv);
    s.bench->on_reply(s, err, data);
  }

  void on_reply(Slot& s, int err, void* data) {
    if (err < 0) {
      ++stats_.errors;
      if (s.fh && cfg_.workload.rfind("seq", 0) != 0) {
        nfs_close_async(s.nfs, s.fh, &Bench::ignore, nullptr);
        s.fh = nullptr;
      }
      return finish(s, false);
    }
    const std::string& w = cfg_.workload;
    if (w == "getattr") return finish(s, true);
    if (w == "smallread") {
      switch (s.step++) {
        case 0:
          s.fh = static_cast<nfsfh*>(data);
          return issue(s, nfs_pread_async(s.nfs, s.fh, 0, kSmall, &Bench::cb, &s));
        case 1: {
          s.buf.resize(kSmall);
          fill(s.buf.data(), kSmall, s.item);
          if (err != static_cast<int>(kSmall) || std::memcmp(data, s.buf.data(), kSmall) != 0) {
            ++stats_.verify_errors;
          }
          stats_.bytes += kSmall;
          nfsfh* fh = std::exchange(s.fh, nullptr);
          return issue(s, nfs_close_async(s.nfs, fh, &Bench::cb, &s));
        }
        default:
          return finish(s, true);
      }
    }
    if (w == "smallcreate") {
      switch (s.step++) {
        case 0:
          s.fh = static_cast<nfsfh*>(data);
          s.buf.resize(kSmall);
          fill(s.buf.data(), kSmall, s.counter);
          return issue(s, nfs_pwrite_async(s.nfs, s.fh, 0, kSmall, s.buf.data(), &Bench::cb, &s));
        case 1:
          stats_.bytes += kSmall;
          return issue(s, nfs_fsync_async(s.nfs, s.fh, &Bench::cb, &s));
        case 2: {
          nfsfh* fh = std::exchange(s.fh, nullptr);
          return issue(s, nfs_close_async(s.nfs, fh, &Bench::cb, &s));
        }
        default:
          return finish(s, true);
      }
    }
    if (w == "readdir") {
      auto* dir = static_cast<nfsdir*>(data);
      std::uint64_t n = 0;
      while (nfs_readdir(s.nfs, dir)) ++n;
      nfs_closedir(s.nfs, dir);
      if (n < cfg_.files) ++stats_.verify_errors;
      stats_.ops += n - 1;  // finish() adds one
      return finish(s, true);
    }
    if (w == "metaops") {
      const std::string f = s.path + "/f", g = s.path + "/g";
      switch (s.step++) {
        case 0:
          s.path2 = f;
          return issue(s, nfs_creat_async(s.nfs, s.path2.c_str(), 0644, &Bench::cb, &s));
        case 1:
          nfs_close_async(s.nfs, static_cast<nfsfh*>(data), &Bench::ignore, nullptr);
          s.path2 = g;
          return issue(s, nfs_rename_async(s.nfs, f.c_str(), s.path2.c_str(), &Bench::cb, &s));
        case 2:
          return issue(s, nfs_unlink_async(s.nfs, s.path2.c_str(), &Bench::cb, &s));
        case 3:
          return issue(s, nfs_rmdir_async(s.nfs, s.path.c_str(), &Bench::cb, &s));
        default:
          stats_.ops += 4;  // five metadata ops per cycle
          return finish(s, true);
      }
    }
    // seqwrite / seqread
    if (s.step == 100) {
      s.fh = static_cast<nfsfh*>(data);
      s.item = 0;
      return io_step(s);
    }
    if (w == "seqread") {
      s.buf.resize(kBig);
      fill(s.buf.data(), kBig, s.id * 1000003ull + s.item / kBig);
      if (err != static_cast<int>(kBig) || std::memcmp(data, s.buf.data(), kBig) != 0) {
        ++stats_.verify_errors;
      }
    }
    stats_.bytes += kBig;
    s.item = (s.item + kBig) % kBigFileBytes;
    return finish(s, true);
  }

  void io_step(Slot& s) {
    s.step = 1;
    if (cfg_.workload == "seqwrite") {
      s.buf.resize(kBig);
      fill(s.buf.data(), kBig, s.id * 1000003ull + s.item / kBig);
      issue(s, nfs_pwrite_async(s.nfs, s.fh, s.item, kBig, s.buf.data(), &Bench::cb, &s));
    } else {
      issue(s, nfs_pread_async(s.nfs, s.fh, s.item, kBig, &Bench::cb, &s));
    }
  }

  static void ignore(int, nfs_context*, void*, void*) {}

  void issue(Slot& s, int rc) {
    if (rc < 0) {
      ++stats_.errors;
      finish(s, false);
    }
  }

  void finish(Slot& s, bool ok) {
    --active_;
    if (ok) {
      ++stats_.ops;
      auto us = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - s.started).count();
      stats_.latencies_us.push_back(static_cast<std::uint32_t>(us));
    }
    start_op(s);
  }

  void loop() {
    std::vector<pollfd> fds(contexts_.size());
    while (active_ > 0) {
      for (std::size_t i = 0; i < contexts_.size(); ++i) {
        fds[i] = {nfs_get_fd(contexts_[i]), static_cast<short>(nfs_which_events(contexts_[i])), 0};
      }
      if (poll(fds.data(), fds.size(), 100) < 0) break;
      for (std::size_t i = 0; i < contexts_.size(); ++i) {
        if (nfs_service(contexts_[i], fds[i].revents) < 0) {
          std::fprintf(stderr, "nasd_bench: connection %zu failed: %s\n", i, nfs_get_error(contexts_[i]));
          return;
        }
      }
      sample_rss();
    }
    // Close what seq workloads kept open.
    for (auto& s : slots_) {
      if (s->fh) nfs_close(s->nfs, s->fh);
    }
  }

  void sample_rss() {
    if (++polls_ % 64 == 0) peak_rss_ = std::max(peak_rss_, rss_kb(cfg_.server_pid, "VmRSS:"));
  }

  void report() {
    const double secs = std::chrono::duration<double>(Clock::now() - begin_).count();
    auto& l = stats_.latencies_us;
    std::sort(l.begin(), l.end());
    auto pct = [&](double p) -> std::uint32_t {
      return l.empty() ? 0 : l[std::min(l.size() - 1, static_cast<std::size_t>(p * l.size()))];
    };
    peak_rss_ = std::max(peak_rss_, rss_kb(cfg_.server_pid, "VmRSS:"));
    const double server_cpu = cfg_.server_pid > 0 && stats_.ops > 0
                                  ? (cpu_us(cfg_.server_pid) - cpu_start_us_) / stats_.ops
                                  : 0;
    std::printf(
        "{\"workload\":\"%s\",\"server\":\"%s\",\"connections\":%u,\"depth\":%u,\"ops\":%llu,"
        "\"seconds\":%.3f,\"ops_per_s\":%.1f,\"mb_per_s\":%.2f,\"p50_us\":%u,\"p99_us\":%u,"
        "\"max_us\":%u,\"errors\":%llu,\"verify_errors\":%llu,\"rss_start_kb\":%ld,"
        "\"peak_rss_kb\":%ld,\"server_cpu_us_per_op\":%.1f}\n",
        cfg_.workload.c_str(), cfg_.server.c_str(), cfg_.connections, cfg_.depth,
        static_cast<unsigned long long>(stats_.ops), secs, stats_.ops / secs,
        stats_.bytes / secs / 1e6, pct(0.5), pct(0.99), l.empty() ? 0 : l.back(),
        static_cast<unsigned long long>(stats_.errors),
        static_cast<unsigned long long>(stats_.verify_errors), rss_start_, peak_rss_, server_cpu);
  }

 private:
  unsigned contexts_made_ = 0;
  nfs_context* connect() {
    nfs_context* nfs = nfs_init_context();
    nfs_set_dircache(nfs, 0);  // every listing must reach the server
    // NFSv4: a client name of its own per context.  libnfs gives every
    // context of a process the same name, so the contexts would share one
    // clientid and open-owner, and their OPENs would collide on its seqid
    // (NFS4ERR_BAD_SEQID, NFS4ERR_DELAY).
    const std::string client_name =
        "nasd_bench-" + std::to_string(::getpid()) + "-" + std::to_string(contexts_made_++);
    nfs4_set_client_name(nfs, client_name.c_str());
    nfs_url* url = nfs_parse_url_dir(nfs, cfg_.url.c_str());
    if (!url) {
      std::fprintf(stderr, "nasd_bench: bad url %s: %s\n", cfg_.url.c_str(), nfs_get_error(nfs));
      return nullptr;
    }
    int rc = nfs_mount(nfs, url->server, url->path);
    nfs_destroy_url(url);
    if (rc != 0) {
      std::fprintf(stderr, "nasd_bench: mount %s failed: %s\n", cfg_.url.c_str(), nfs_get_error(nfs));
      return nullptr;
    }
    return nfs;
  }

  // Creates the files and directories the workloads use (sync API).
  bool prepare() {
    nfs_context* nfs = contexts_.front();
    for (const char* d : {"/bench-files", "/bench-create", "/bench-meta", "/bench-seq"}) nfs_mkdir(nfs, d);
    const std::string& w = cfg_.workload;
    if (w == "smallread" || w == "getattr" || w == "readdir") {
      std::vector<std::uint8_t> buf(kSmall);
      nfs_stat_64 st;
      for (unsigned i = 0; i < cfg_.files; ++i) {
        std::string p = small_path(i);
        if (nfs_stat64(nfs, p.c_str(), &st) == 0 && st.nfs_size == kSmall) continue;
        nfsfh* fh = nullptr;
        if (nfs_creat(nfs, p.c_str(), 0644, &fh) != 0) return fail("create " + p, nfs);
        fill(buf.data(), kSmall, i);
        if (nfs_pwrite(nfs, fh, 0, kSmall, buf.data()) != static_cast<int>(kSmall)) return fail("write " + p, nfs);
        nfs_close(nfs, fh);
      }
    }
    if (w == "seqread") {
      std::vector<std::uint8_t> buf(kBig);
      for (unsigned id = 0; id < cfg_.connections * cfg_.depth; ++id) {
        std::string p = "/bench-seq/s" + std::to_string(id);
        nfsfh* fh = nullptr;
        if (nfs_open(nfs, p.c_str(), O_WRONLY | O_CREAT, &fh) != 0) return fail("open " + p, nfs);
        for (std::uint64_t off = 0; off < kBigFileBytes; off += kBig) {
          fill(buf.data(), kBig, id * 1000003ull + off / kBig);
          if (nfs_pwrite(nfs, fh, off, kBig, buf.data()) != static_cast<int>(kBig)) return fail("write " + p, nfs);
        }
        nfs_close(nfs, fh);
      }
    }
    return true;
  }

  bool fail(const std::string& what, nfs_context* nfs) {
    std::fprintf(stderr, "nasd_bench: prepare: %s: %s\n", what.c_str(), nfs_get_error(nfs));
    return false;
  }

  Config cfg_;
  std::mt19937_64 rng_;
  std::vector<nfs_context*> contexts_;
  std::vector<std::unique_ptr<Slot>> slots_;
  Stats stats_;
  Clock::time_point begin_, deadline_;
  long active_ = 0;
  long peak_rss_ = 0, rss_start_ = 0;
  double cpu_start_us_ = 0;  // the server's CPU time when the measurement began
  std::uint64_t polls_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
  Config cfg;
  CLI::App app{"nasd_bench: NFS load generator (libnfs async API); prints one JSON line"};
  app.add_option("--url", cfg.url, "nfs://HOST/EXPORT?version=3&nfsport=P&mountport=Q")->required();
  app.add_option("--workload", cfg.workload, "workload")
      ->check(CLI::IsMember({"smallread", "smallcreate", "getattr", "readdir", "metaops", "seqwrite", "seqread"}));
  app.add_option("--server", cfg.server, "label for the JSON line");
  app.add_option("--files", cfg.files, "prepared files (smallread, getattr, readdir)")->check(CLI::Range(1u, 10000000u));
  app.add_option("--depth", cfg.depth, "ops in flight per connection")->check(CLI::Range(1u, 4096u));
  app.add_option("--connections", cfg.connections, "connections")->check(CLI::Range(1u, 256u));
  app.add_option("--seconds", cfg.seconds, "measured duration")->check(CLI::Range(0.1, 3600.0));
  app.add_option("--server-pid", cfg.server_pid, "sample this process's RSS and CPU time");
  app.add_flag("--prepare-only", cfg.prepare_only, "only create the data set");
  app.add_flag("--skip-prepare", cfg.skip_prepare, "assume the data set exists");
  CLI11_PARSE(app, argc, argv);
  return Bench(cfg).run();
}
