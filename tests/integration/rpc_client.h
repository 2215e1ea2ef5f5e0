// Synchronous wrappers over libnfs's raw RPC API (rpc_mount3_*_async,
// rpc_nfs3_*_async) for integration tests: each call queues one RPC and runs
// the poll loop (rpc_get_fd / rpc_which_events / rpc_service) until its reply
// arrives or a timeout passes, so tests can check exact nfsstat3 / mountstat3
// values.  Plus a raw TCP client for hand-made RPC records.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nfsc/libnfs.h>
#include <nfsc/libnfs-raw.h>
#include <nfsc/libnfs-raw-mount.h>
#include <nfsc/libnfs-raw-nfs.h>

namespace nasd::integration {

/// An NFSv3 file handle (opaque bytes) copied out of a libnfs reply.
struct Fh {
  std::string bytes;

  /// A libnfs view of the handle; valid while this Fh lives and is unchanged.
  nfs_fh3 fh3() const {
    nfs_fh3 f{};
    f.data.data_len = static_cast<u_int>(bytes.size());
    f.data.data_val = const_cast<char*>(bytes.data());
    return f;
  }
  bool empty() const { return bytes.empty(); }
  bool operator==(const Fh&) const = default;
};

/// Result of LOOKUP, CREATE, MKDIR, SYMLINK, MKNOD: status, new handle and
/// post-op attributes when the server sent them.
struct ObjResult {
  nfsstat3 status = NFS3ERR_SERVERFAULT;
  Fh fh;
  std::optional<fattr3> attr;
};

/// Result of READ.
struct ReadResult {
  nfsstat3 status = NFS3ERR_SERVERFAULT;
  std::string data;
  bool eof = false;
};

/// Result of READLINK.
struct ReadlinkResult {
  nfsstat3 status = NFS3ERR_SERVERFAULT;
  std::string target;
};

/// One entry of READDIR / READDIRPLUS.
struct DirEntry {
  std::uint64_t fileid = 0;
  std::string name;
  std::uint64_t cookie = 0;
  Fh fh;                         // READDIRPLUS only, when sent
  std::optional<fattr3> attr;    // READDIRPLUS only, when sent
};

/// Result of one READDIR / READDIRPLUS call.
struct ReaddirResult {
  nfsstat3 status = NFS3ERR_SERVERFAULT;
  std::array<char, NFS3_COOKIEVERFSIZE> cookieverf{};
  std::vector<DirEntry> entries;
  bool eof = false;
};

/// One libnfs rpc_context connected to 127.0.0.1:`port` for one program and
/// version (no portmapper).  Construction throws std::runtime_error when the
/// connection fails; every call throws when the RPC itself fails (transport
/// error, RPC-level rejection, timeout) — NFS/MOUNT statuses are returned.
class RpcClient {
 public:
  using StartFn = std::function<int(rpc_context*, rpc_cb, void*)>;
  using ReplyFn = std::function<void(void* data)>;

  RpcClient(std::uint16_t port, int program, int version,
            std::chrono::milliseconds timeout = std::chrono::seconds(10));
  ~RpcClient();
  RpcClient(const RpcClient&) = delete;
  RpcClient& operator=(const RpcClient&) = delete;

  /// AUTH_SYS uid/gid for the following calls.
  void set_credentials(int uid, int gid);
  rpc_context* context() { return rpc_; }

  /// Queues one call with `start` and waits for its reply; `on_reply` runs
  /// inside the libnfs callback with the decoded result (valid only there).
  /// Throws std::runtime_error on RPC failure or timeout.
  void call(const StartFn& start, const ReplyFn& on_reply);

  /// Like call() but copies a result struct that holds no pointers the caller
  /// will follow (GETATTR3res, WRITE3res, ...).
  template <class Res, class Args>
  Res call_pod(int (*fn)(rpc_context*, rpc_cb, Args*, void*), Args& args) {
    Res res{};
    call([&](rpc_context* r, rpc_cb cb, void* p) { return fn(r, cb, &args, p); },
         [&](void* d) { res = *static_cast<Res*>(d); });
    return res;
  }

 private:
  bool pump(const bool& done);
  rpc_context* rpc_;
  std::chrono::milliseconds timeout_;
};

/// MOUNT v3 over an RpcClient (RFC 1813 Appendix I).
class MountClient {
 public:
  explicit MountClient(std::uint16_t port) : rpc_(port, MOUNT_PROGRAM, MOUNT_V3) {}
  RpcClient& rpc() { return rpc_; }

  void null();
  /// MNT: status and the root handle on success.
  std::pair<mountstat3, Fh> mnt(const std::string& path);
  /// DUMP: (hostname, directory) pairs.
  std::vector<std::pair<std::string, std::string>> dump();
  void umnt(const std::string& path);
  void umntall();
  /// EXPORT: (directory, groups) pairs.
  std::vector<std::pair<std::string, std::vector<std::string>>> exports();

 private:
  RpcClient rpc_;
};

/// NFSv3 over an RpcClient (RFC 1813 §3.3).  Each method returns the
/// nfsstat3 (and the result fields the tests look at).
class NfsClient {
 public:
  explicit NfsClient(std::uint16_t port) : rpc_(port, NFS_PROGRAM, NFS_V3) {}
  RpcClient& rpc() { return rpc_; }
  void set_credentials(int uid, int gid) { rpc_.set_credentials(uid, gid); }

  void null();
  GETATTR3res getattr(const Fh& fh);
  SETATTR3res setattr(const Fh& fh, const sattr3& attrs, const nfstime3* guard_ctime = nullptr);
  ObjResult lookup(const Fh& dir, const std::string& name);
  ACCESS3res access(const Fh& fh, std::uint32_t access);
  ReadlinkResult readlink(const Fh& fh);
  ReadResult read(const Fh& fh, std::uint64_t offset, std::uint32_t count);
  WRITE3res write(const Fh& fh, std::uint64_t offset, const std::string& data, stable_how how);
  ObjResult create(const Fh& dir, const std::string& name, createmode3 mode,
                   std::uint32_t file_mode = 0644, const char* verifier = nullptr);
  ObjResult mkdir(const Fh& dir, const std::string& name, std::uint32_t mode = 0755);
  ObjResult symlink(const Fh& dir, const std::string& name, const std::string& target);
  ObjResult mknod_fifo(const Fh& dir, const std::string& name, std::uint32_t mode = 0644);
  REMOVE3res remove(const Fh& dir, const std::string& name);
  RMDIR3res rmdir(const Fh& dir, const std::string& name);
  RENAME3res rename(const Fh& from_dir, const std::string& from, const Fh& to_dir,
                    const std::string& to);
  LINK3res link(const Fh& file, const Fh& dir, const std::string& name);
  ReaddirResult readdir(const Fh& dir, std::uint64_t cookie, const char* cookieverf,
                        std::uint32_t count);
  ReaddirResult readdirplus(const Fh& dir, std::uint64_t cookie, const char* cookieverf,
                            std::uint32_t dircount, std::uint32_t maxcount);
  FSSTAT3res fsstat(const Fh& fh);
  FSINFO3res fsinfo(const Fh& fh);
  PATHCONF3res pathconf(const Fh& fh);
  COMMIT3res commit(const Fh& fh, std::uint64_t offset, std::uint32_t count);

 private:
  RpcClient rpc_;
};

/// sattr3 with nothing set; tests set the fields they need.
sattr3 no_attrs();

/// A blocking TCP socket to 127.0.0.1 for hand-made RPC records.
class RawConnection {
 public:
  /// Throws std::runtime_error when the connection fails.
  explicit RawConnection(std::uint16_t port);
  ~RawConnection();
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  /// Sends bytes as they are; false on error.
  bool send_bytes(const std::string& bytes);
  /// Sends `payload` as one record (last-fragment mark + length).
  bool send_record(const std::string& payload);
  /// Receives one record's payload; nullopt on EOF, error or timeout.
  std::optional<std::string> recv_record(std::chrono::milliseconds timeout = std::chrono::seconds(5));
  /// True when the peer closed the connection (EOF or reset) within `timeout`,
  /// discarding any data.
  bool closed_by_peer(std::chrono::milliseconds timeout = std::chrono::seconds(5));
  int fd() const { return fd_; }

 private:
  bool recv_exact(char* out, std::size_t n, std::chrono::steady_clock::time_point deadline);
  int fd_;
};

/// Big-endian XDR helpers for hand-made records.
void put_u32(std::string& out, std::uint32_t v);
std::uint32_t get_u32(const std::string& in, std::size_t offset);

/// An RPC CALL header with AUTH_NONE credentials and verifier (RFC 5531 §9),
/// without arguments.
std::string rpc_call_header(std::uint32_t xid, std::uint32_t prog, std::uint32_t vers,
                            std::uint32_t proc);

}  // namespace nasd::integration
