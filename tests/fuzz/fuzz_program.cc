// libFuzzer target: one RPC call record (payload, no record mark) through
// the whole request path of MountProgram, Nfs3Program and Nfs4Program (the
// COMPOUND decoder and every operation of minor versions 0-2, with NFSv4
// client/session/open/lock state kept across inputs) — call header
// (RFC 5531 §9, AUTH_SYS), Program::decode -> max_reply_size -> validate ->
// execute — against a real LocalBackend, single-threaded, as the pipeline
// stages run it (server/pipeline/pipeline.cc).
//
// The exports live on a private tmpfs (nodev, 64 MiB) at /tmp/nasd-fuzz-program:
//   exp/   rw,no_root_squash  (fsid=1), with f (file), d/ (dir), d/g (file),
//          s -> ../outside/secret, up -> .., loop -> loop
//   ro/    ro                  (fsid=2), with r (file)
//   outside/secret             not exported: must never change
//
// Handles: the fuzzer cannot forge a handle (SipHash MAC), so an nfs_fh3,
// fhandle3 or nfs_fh4 whose 8 encoded bytes are 00 00 00 04 'N' 'F' 'H' k stands for
// the k-th (mod count) real handle: exp root, f, d, d/g, s, ro root, ro/r.
// The seed corpus (tests/fuzz/make_corpus.py) uses these.
//
// NASD_FUZZ_TRACE=1 prints each call's outcome (to check that seeds reach
// the backend).
//
// Checks, per input: no crash, leak or UB (ASan/UBSan/libFuzzer); every
// reply fits the size max_reply_size() announced (else the pipeline would
// answer SYSTEM_ERR); confinement: nothing outside exp/ changes — ro/ and
// outside/ keep their entries, sizes, modes, owners and mtimes.
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <spdlog/spdlog.h>

#include "protocol/rpc/rpc.h"
#include "server/exports/export_registry.h"
#include "server/exports/exports.h"
#include "server/locking/lock_manager.h"
#include "server/nfs3/mount_program.h"
#include "server/nfs3/nfs3_program.h"
#include "server/nfs4/program.h"
#include "server/nfs4/state/state.h"
#include "storage/local/local_backend.h"

namespace {

namespace fs = std::filesystem;
using namespace nasd;

const fs::path kRoot = "/tmp/nasd-fuzz-program";
constexpr std::uint32_t kPruneEvery = 2000;  // inputs between resets of exp/

[[noreturn]] void invariant_failed(const std::string& what) {
  std::fprintf(stderr, "invariant failed: %s\n", what.c_str());
  std::abort();
}

void write_file(const fs::path& p, const std::string& content, mode_t mode) {
  std::ofstream(p, std::ios::binary | std::ios::trunc) << content;
  ::chmod(p.c_str(), mode);
}

/// What may not change outside exp/: (path -> size, mode, uid, gid, mtime).
std::map<std::string, std::string> snapshot() {
  std::map<std::string, std::string> out;
  for (const fs::path& dir : {kRoot, kRoot / "ro", kRoot / "outside", kRoot / "state"}) {
    std::error_code ec;
    for (auto it = fs::directory_iterator(dir, ec); !ec && it != fs::directory_iterator();
         it.increment(ec)) {
      const fs::path p = it->path();
      if (p == kRoot / "exp") continue;
      struct stat st {};
      if (::lstat(p.c_str(), &st) != 0) continue;
      const bool is_dir = S_ISDIR(st.st_mode);
      out[p.string()] = std::to_string(is_dir ? 0 : st.st_size) + " " + std::to_string(st.st_mode) +
                        " " + std::to_string(st.st_uid) + ":" + std::to_string(st.st_gid) + " " +
                        (is_dir ? std::string() : std::to_string(st.st_mtim.tv_sec) + "." +
                                                      std::to_string(st.st_mtim.tv_nsec));
    }
  }
  return out;
}

class World {
 public:
  World() {
    spdlog::set_level(spdlog::level::off);
    ::umount2(kRoot.c_str(), MNT_DETACH);
    std::error_code ec;
    fs::remove_all(kRoot, ec);
    fs::create_directories(kRoot);
    // A private tmpfs: bounded, and nodev so fuzzed MKNODs create no usable
    // device.  Without the privilege to mount, fall back to the plain dir.
    if (::mount("tmpfs", kRoot.c_str(), "tmpfs", MS_NODEV | MS_NOSUID, "size=64m,mode=0755") != 0) {
      std::fprintf(stderr, "fuzz_program: no tmpfs at %s (%s); using the directory as is\n",
                   kRoot.c_str(), std::strerror(errno));
    } else {
      mounted_ = true;
    }
    for (const char* d : {"exp", "ro", "outside", "state"}) fs::create_directories(kRoot / d);
    ::chmod((kRoot / "outside").c_str(), 0755);
    write_file(kRoot / "outside" / "secret", "outside the export\n", 0600);
    write_file(kRoot / "ro" / "r", "read only\n", 0644);
    reset_export();
    backend_ = std::make_unique<storage::LocalBackend>((kRoot / "state").string());
    if (backend_->add_export(1, (kRoot / "exp").string()) != storage::Status::kOk ||
        backend_->add_export(2, (kRoot / "ro").string()) != storage::Status::kOk) {
      invariant_failed("cannot export the fuzz directories");
    }
    const std::string lines = (kRoot / "exp").string() + " *(rw,no_root_squash,insecure,fsid=1)\n" +
                              (kRoot / "ro").string() + " *(ro,no_root_squash,insecure,fsid=2)\n";
    auto table = server::parse_exports(lines, "fuzz");
    if (!std::holds_alternative<server::ExportTable>(table)) invariant_failed("exports");
    registry_ = std::make_unique<server::ExportRegistry>(std::get<server::ExportTable>(table));
    nfs3_ = std::make_unique<server::Nfs3Program>(*backend_, *registry_, server::Nfs3Limits{},
                                                  storage::Verifier{1, 2, 3, 4, 5, 6, 7, 8});
    mount_ = std::make_unique<server::MountProgram>(*backend_, *registry_);
    nfs4_state_ = std::make_unique<server::Nfs4State>(server::Nfs4State::Config{});
    nfs4_state_->set_lock_manager(&locks_, [](std::vector<server::GrantedWaiter>) {});
    nfs4_ = std::make_unique<server::Nfs4Program>(*backend_, *registry_, *nfs4_state_,
                                                  server::Nfs4Limits{},
                                                  storage::Verifier{1, 2, 3, 4, 5, 6, 7, 9});
    load_handles();
    before_ = snapshot();
  }

  ~World() {
    nfs4_.reset();
    nfs4_state_.reset();
    nfs3_.reset();
    mount_.reset();
    backend_.reset();
    if (mounted_) ::umount2(kRoot.c_str(), MNT_DETACH);
    std::error_code ec;
    fs::remove_all(kRoot, ec);
  }

  void run(const std::uint8_t* data, std::size_t size) {
    if (++inputs_ % kPruneEvery == 0) {
      reset_export();
      load_handles();
    }
    const std::vector<std::uint8_t> record = substitute_handles(data, size);
    xdr::XdrDecoder in(record);
    server::CallContext ctx;
    if (rpc::decode_call(in, ctx.header) != rpc::HeaderResult::kOk) return;
    server::Program* prog = nullptr;
    for (server::Program* p : {static_cast<server::Program*>(nfs3_.get()),
                               static_cast<server::Program*>(mount_.get()),
                               static_cast<server::Program*>(nfs4_.get())}) {
      // NFSv3 and NFSv4 share the program number: go by (number, version).
      if (p->number() == ctx.header.prog && ctx.header.vers >= p->low_version() &&
          ctx.header.vers <= p->high_version()) {
        prog = p;
      }
    }
    if (prog == nullptr || ctx.header.vers < prog->low_version() ||
        ctx.header.vers > prog->high_version() || ctx.header.proc >= prog->procedure_count()) {
      return;
    }
    ctx.peer = boost::asio::ip::make_address("127.0.0.1");
    ctx.peer_port = 1023;
    server::ArgSlot args;
    if (prog->decode(ctx, in, args) != server::DecodeResult::kOk) return;
    const std::size_t max = prog->max_reply_size(ctx, args);
    std::vector<std::uint8_t> reply(max);
    xdr::XdrEncoder out{std::span<std::uint8_t>(reply)};
    storage::Status status = storage::Status::kOk;
    const bool executed = prog->validate(ctx, args, out);
    if (executed) status = prog->execute(ctx, args, out);
    if (trace_) {
      std::fprintf(stderr, "%s proc %u uid %u: %s\n", prog->name(), ctx.header.proc,
                   ctx.header.sys.uid,
                   executed ? storage::status_name(status) : "answered by validate");
    }
    if (!out.ok()) {
      invariant_failed(std::string(prog->name()) + " procedure " +
                       std::to_string(ctx.header.proc) + ": reply larger than max_reply_size " +
                       std::to_string(max));
    }
    if (snapshot() != before_) invariant_failed("something outside the rw export changed");
  }

 private:
  /// Empties exp/ and recreates the fixtures (handles change: reload them).
  void reset_export() {
    const fs::path exp = kRoot / "exp";
    std::error_code ec;
    for (auto it = fs::directory_iterator(exp, ec); !ec && it != fs::directory_iterator();
         it.increment(ec)) {
      std::error_code rm;
      fs::permissions(it->path(), fs::perms::all, fs::perm_options::add | fs::perm_options::nofollow, rm);
      fs::remove_all(it->path(), rm);
    }
    ::chmod(exp.c_str(), 0777);
    ::chown(exp.c_str(), 0, 0);
    write_file(exp / "f", "hello, fuzzer\n", 0666);
    fs::create_directories(exp / "d");
    ::chmod((exp / "d").c_str(), 0777);
    write_file(exp / "d" / "g", "nested\n", 0644);
    fs::create_symlink("../outside/secret", exp / "s", ec);
    fs::create_symlink("..", exp / "up", ec);
    fs::create_symlink("loop", exp / "loop", ec);
  }

  void load_handles() {
    handles_.clear();
    storage::Credentials root;
    root.uid = root.gid = 0;
    auto add_root = [&](std::uint32_t id) {
      storage::FileHandle fh;
      if (backend_->root_handle(id, &fh) == storage::Status::kOk) handles_.push_back(fh);
      return fh;
    };
    auto add_child = [&](const storage::FileHandle& dir, const char* name) {
      storage::FileHandle fh;
      storage::Attr attr;
      std::optional<storage::Attr> dir_attr;
      if (backend_->lookup(root, dir, name, &fh, &attr, &dir_attr) == storage::Status::kOk) {
        handles_.push_back(fh);
      }
      return fh;
    };
    const auto exp = add_root(1);
    add_child(exp, "f");
    const auto d = add_child(exp, "d");
    add_child(d, "g");
    add_child(exp, "s");
    const auto ro = add_root(2);
    add_child(ro, "r");
  }

  /// Replaces each 00 00 00 04 'N' 'F' 'H' k with the XDR of a real handle.
  std::vector<std::uint8_t> substitute_handles(const std::uint8_t* data, std::size_t size) const {
    static constexpr std::uint8_t kMark[] = {0, 0, 0, 4, 'N', 'F', 'H'};
    std::vector<std::uint8_t> out;
    out.reserve(size + 64);
    std::size_t i = 0;
    while (i < size) {
      if (!handles_.empty() && size - i >= 8 && std::memcmp(data + i, kMark, sizeof(kMark)) == 0) {
        const storage::FileHandle& fh = handles_[data[i + 7] % handles_.size()];
        const std::uint32_t n = fh.size;
        out.insert(out.end(), {0, 0, static_cast<std::uint8_t>(n >> 8), static_cast<std::uint8_t>(n)});
        out.insert(out.end(), fh.data.begin(), fh.data.begin() + n);
        out.insert(out.end(), xdr::pad(n), 0);
        i += 8;
      } else {
        out.push_back(data[i++]);
      }
    }
    return out;
  }

  const bool trace_ = std::getenv("NASD_FUZZ_TRACE") != nullptr;  // one line per call
  bool mounted_ = false;
  std::unique_ptr<storage::LocalBackend> backend_;
  std::unique_ptr<server::ExportRegistry> registry_;
  std::unique_ptr<server::Nfs3Program> nfs3_;
  std::unique_ptr<server::MountProgram> mount_;
  server::LockManager locks_;
  std::unique_ptr<server::Nfs4State> nfs4_state_;
  std::unique_ptr<server::Nfs4Program> nfs4_;
  std::vector<storage::FileHandle> handles_;
  std::map<std::string, std::string> before_;
  std::uint64_t inputs_ = 0;
};

/// The fuzzing world, built on first use and torn down (tmpfs unmounted) at exit.
World& world() {
  static World w;
  return w;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  world();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  world().run(data, size);
  return 0;
}
