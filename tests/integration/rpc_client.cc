#include "tests/integration/rpc_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "tests/integration/nasd_process.h"

namespace nasd::integration {

namespace {

using Clock = std::chrono::steady_clock;

struct CallState {
  bool done = false;
  int status = RPC_STATUS_ERROR;
  std::string error;
  const RpcClient::ReplyFn* on_reply = nullptr;
};

void on_rpc(rpc_context*, int status, void* data, void* priv) {
  auto* st = static_cast<CallState*>(priv);
  st->done = true;
  st->status = status;
  if (status == RPC_STATUS_SUCCESS) {
    if (st->on_reply && *st->on_reply) (*st->on_reply)(data);
  } else if (status == RPC_STATUS_ERROR && data != nullptr) {
    st->error = static_cast<const char*>(data);
  }
}

std::optional<fattr3> attrs_of(const post_op_attr& a) {
  if (!a.attributes_follow) return std::nullopt;
  return a.post_op_attr_u.attributes;
}

Fh fh_of(const nfs_fh3& f) { return Fh{std::string(f.data.data_val, f.data.data_len)}; }

Fh fh_of(const post_op_fh3& f) {
  if (!f.handle_follows) return Fh{};
  return fh_of(f.post_op_fh3_u.handle);
}

// CREATE3res, MKDIR3res, SYMLINK3res and MKNOD3res share one resok layout.
template <class ResOk>
void fill_obj(ObjResult& out, nfsstat3 status, const ResOk& ok) {
  out.status = status;
  if (status != NFS3_OK) return;
  out.fh = fh_of(ok.obj);
  out.attr = attrs_of(ok.obj_attributes);
}

}  // namespace

RpcClient::RpcClient(std::uint16_t port, int program, int version,
                     std::chrono::milliseconds timeout)
    : rpc_(rpc_init_context()), timeout_(timeout) {
  if (rpc_ == nullptr) throw std::runtime_error("rpc_init_context failed");
  CallState st;
  if (rpc_connect_port_async(rpc_, "127.0.0.1", port, program, version, on_rpc, &st) != 0) {
    std::string err = rpc_get_error(rpc_);
    rpc_destroy_context(rpc_);
    throw std::runtime_error("rpc_connect_port_async: " + err);
  }
  if (!pump(st.done) || st.status != RPC_STATUS_SUCCESS) {
    std::string err = st.error.empty() ? "timeout" : st.error;
    rpc_destroy_context(rpc_);
    throw std::runtime_error("connect to port " + std::to_string(port) + ": " + err);
  }
}

RpcClient::~RpcClient() { rpc_destroy_context(rpc_); }

void RpcClient::set_credentials(int uid, int gid) {
  rpc_set_uid(rpc_, uid);
  rpc_set_gid(rpc_, gid);
}

bool RpcClient::pump(const bool& done) {
  const auto deadline = Clock::now() + timeout_;
  while (!done) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) {
      // Fail pending callbacks now, while their state is still alive.
      rpc_disconnect(rpc_, "timeout");
      return false;
    }
    pollfd p{rpc_get_fd(rpc_), static_cast<short>(rpc_which_events(rpc_)), 0};
    int n = ::poll(&p, 1, static_cast<int>(std::min<long>(left.count(), 100)));
    if (n < 0 && errno != EINTR) {
      rpc_disconnect(rpc_, "poll failed");
      return done;
    }
    if (rpc_service(rpc_, n > 0 ? p.revents : 0) < 0) {
      if (!done) rpc_disconnect(rpc_, "rpc_service failed");
      return done;
    }
  }
  return true;
}

void RpcClient::call(const StartFn& start, const ReplyFn& on_reply) {
  CallState st;
  st.on_reply = &on_reply;
  if (start(rpc_, on_rpc, &st) != 0) {
    throw std::runtime_error(std::string("queueing the call failed: ") + rpc_get_error(rpc_));
  }
  if (!pump(st.done)) throw std::runtime_error("no reply within the timeout");
  if (st.status != RPC_STATUS_SUCCESS) {
    throw std::runtime_error("RPC failed (status " + std::to_string(st.status) + "): " + st.error);
  }
}

// ---- MOUNT ----------------------------------------------------------------

void MountClient::null() {
  rpc_.call([](rpc_context* r, rpc_cb cb, void* p) { return rpc_mount3_null_async(r, cb, p); },
            nullptr);
}

std::pair<mountstat3, Fh> MountClient::mnt(const std::string& path) {
  std::pair<mountstat3, Fh> out{MNT3ERR_SERVERFAULT, {}};
  std::string arg = path;
  rpc_.call(
      [&](rpc_context* r, rpc_cb cb, void* p) { return rpc_mount3_mnt_async(r, cb, arg.data(), p); },
      [&](void* d) {
        auto* res = static_cast<mountres3*>(d);
        out.first = res->fhs_status;
        if (res->fhs_status == MNT3_OK) {
          const auto& fh = res->mountres3_u.mountinfo.fhandle;
          out.second.bytes.assign(fh.fhandle3_val, fh.fhandle3_len);
        }
      });
  return out;
}

std::vector<std::pair<std::string, std::string>> MountClient::dump() {
  std::vector<std::pair<std::string, std::string>> out;
  rpc_.call([](rpc_context* r, rpc_cb cb, void* p) { return rpc_mount3_dump_async(r, cb, p); },
            [&](void* d) {
              for (mountbody* m = *static_cast<mountlist*>(d); m != nullptr; m = m->ml_next) {
                out.emplace_back(m->ml_hostname, m->ml_directory);
              }
            });
  return out;
}

void MountClient::umnt(const std::string& path) {
  std::string arg = path;
  rpc_.call(
      [&](rpc_context* r, rpc_cb cb, void* p) { return rpc_mount3_umnt_async(r, cb, arg.data(), p); },
      nullptr);
}

void MountClient::umntall() {
  rpc_.call([](rpc_context* r, rpc_cb cb, void* p) { return rpc_mount3_umntall_async(r, cb, p); },
            nullptr);
}

std::vector<std::pair<std::string, std::vector<std::string>>> MountClient::exports() {
  std::vector<std::pair<std::string, std::vector<std::string>>> out;
  rpc_.call([](rpc_context* r, rpc_cb cb, void* p) { return rpc_mount3_export_async(r, cb, p); },
            [&](void* d) {
              for (exportnode* e = *static_cast<::exports*>(d); e != nullptr; e = e->ex_next) {
                std::vector<std::string> groups;
                for (groupnode* g = e->ex_groups; g != nullptr; g = g->gr_next) {
                  groups.emplace_back(g->gr_name);
                }
                out.emplace_back(e->ex_dir, std::move(groups));
              }
            });
  return out;
}

// ---- NFSv3 ----------------------------------------------------------------

sattr3 no_attrs() {
  sattr3 a{};
  a.atime.set_it = DONT_CHANGE;
  a.mtime.set_it = DONT_CHANGE;
  return a;
}

void NfsClient::null() {
  rpc_.call([](rpc_context* r, rpc_cb cb, void* p) { return rpc_nfs3_null_async(r, cb, p); },
            nullptr);
}

GETATTR3res NfsClient::getattr(const Fh& fh) {
  GETATTR3args a{};
  a.object = fh.fh3();
  return rpc_.call_pod<GETATTR3res>(rpc_nfs3_getattr_async, a);
}

SETATTR3res NfsClient::setattr(const Fh& fh, const sattr3& attrs, const nfstime3* guard_ctime) {
  SETATTR3args a{};
  a.object = fh.fh3();
  a.new_attributes = attrs;
  if (guard_ctime != nullptr) {
    a.guard.check = 1;
    a.guard.sattrguard3_u.obj_ctime = *guard_ctime;
  }
  return rpc_.call_pod<SETATTR3res>(rpc_nfs3_setattr_async, a);
}

ObjResult NfsClient::lookup(const Fh& dir, const std::string& name) {
  LOOKUP3args a{};
  std::string n = name;
  a.what.dir = dir.fh3();
  a.what.name = n.data();
  ObjResult out;
  rpc_.call([&](rpc_context* r, rpc_cb cb, void* p) { return rpc_nfs3_lookup_async(r, cb, &a, p); },
            [&](void* d) {
              auto* res = static_cast<LOOKUP3res*>(d);
              out.status = res->status;
              if (res->status == NFS3_OK) {
                out.fh = fh_of(res->LOOKUP3res_u.resok.object);
                out.attr = attrs_of(res->LOOKUP3res_u.resok.obj_attributes);
              }
            });
  return out;
}

ACCESS3res NfsClient::access(const Fh& fh, std::uint32_t access) {
  ACCESS3args a{};
  a.object = fh.fh3();
  a.access = access;
  return rpc_.call_pod<ACCESS3res>(rpc_nfs3_access_async, a);
}

ReadlinkResult NfsClient::readlink(const Fh& fh) {
  READLINK3args a{};
  a.symlink = fh.fh3();
  ReadlinkResult out;
  rpc_.call(
      [&](rpc_context* r, rpc_cb cb, void* p) { return rpc_nfs3_readlink_async(r, cb, &a, p); },
      [&](void* d) {
        auto* res = static_cast<READLINK3res*>(d);
        out.status = res->status;
        if (res->status == NFS3_OK) out.target = res->READLINK3res_u.resok.data;
      });
  return out;
}

ReadResult NfsClient::read(const Fh& fh, std::uint64_t offset, std::uint32_t count) {
  READ3args a{};
  a.file = fh.fh3();
  a.offset = offset;
  a.count = count;
  ReadResult out;
  rpc_.call([&](rpc_context* r, rpc_cb cb, void* p) { return rpc_nfs3_read_async(r, cb, &a, p); },
            [&](void* d) {
              auto* res = static_cast<READ3res*>(d);
              out.status = res->status;
              if (res->status == NFS3_OK) {
                const auto& ok = res->READ3res_u.resok;
                out.data.assign(ok.data.data_val, ok.data.data_len);
                out.eof = ok.eof != 0;
              }
            });
  return out;
}

WRITE3res NfsClient::write(const Fh& fh, std::uint64_t offset, const std::string& data,
                           stable_how how) {
  WRITE3args a{};
  std::string buf = data;
  a.file = fh.fh3();
  a.offset = offset;
  a.count = static_cast<count3>(buf.size());
  a.stable = how;
  a.data.data_len = static_cast<u_int>(buf.size());
  a.data.data_val = buf.data();
  return rpc_.call_pod<WRITE3res>(rpc_nfs3_write_async, a);
}

ObjResult NfsClient::create(const Fh& dir, const std::string& name, createmode3 mode,
                            std::uint32_t file_mode, const char* verifier) {
  CREATE3args a{};
  std::string n = name;
  a.where.dir = dir.fh3();
  a.where.name = n.data();
  a.how.mode = mode;
  if (mode == EXCLUSIVE) {
    std::memcpy(a.how.createhow3_u.verf, verifier, NFS3_CREATEVERFSIZE);
  } else {
    sattr3& s = a.how.createhow3_u.obj_attributes;
    s = no_attrs();
    s.mode.set_it = 1;
    s.mode.set_mode3_u.mode = file_mode;
  }
  ObjResult out;
  rpc_.call([&](rpc_context* r, rpc_cb cb, void* p) { return rpc_nfs3_create_async(r, cb, &a, p); },
            [&](void* d) {
              auto* res = static_cast<CREATE3res*>(d);
              fill_obj(out, res->status, res->CREATE3res_u.resok);
            });
  return out;
}

ObjResult NfsClient::mkdir(const Fh& dir, const std::string& name, std::uint32_t mode) {
  MKDIR3args a{};
  std::string n = name;
  a.where.dir = dir.fh3();
  a.where.name = n.data();
  a.attributes = no_attrs();
  a.attributes.mode.set_it = 1;
  a.attributes.mode.set_mode3_u.mode = mode;
  ObjResult out;
  rpc_.call([&](rpc_context* r, rpc_cb cb, void* p) { return rpc_nfs3_mkdir_async(r, cb, &a, p); },
            [&](void* d) {
              auto* res = static_cast<MKDIR3res*>(d);
              fill_obj(out, res->status, res->MKDIR3res_u.resok);
            });
  return out;
}

ObjResult NfsClient::symlink(const Fh& dir, const std::string& name, const std::string& target) {
  SYMLINK3args a{};
  std::string n = name;
  std::string t = target;
  a.where.dir = dir.fh3();
  a.where.name = n.data();
  a.symlink.symlink_attributes = no_attrs();
  a.symlink.symlink_data = t.data();
  ObjResult out;
  rpc_.call(
      [&](rpc_context* r, rpc_cb cb, void* p) { return rpc_nfs3_symlink_async(r, cb, &a, p); },
      [&](void* d) {
        auto* res = static_cast<SYMLINK3res*>(d);
        fill_obj(out, res->status, res->SYMLINK3res_u.resok);
      });
  return out;
}

ObjResult NfsClient::mknod_fifo(const Fh& dir, const std::string& name, std::uint32_t mode) {
  MKNOD3args a{};
  std::string n = name;
  a.where.dir = dir.fh3();
  a.where.name = n.data();
  a.what.type = NF3FIFO;
  a.what.mknoddata3_u.pipe_attributes = no_attrs();
  a.what.mknoddata3_u.pipe_attributes.mode.set_it = 1;
  a.what.mknoddata3_u.pipe_attributes.mode.set_mode3_u.mode = mode;
  ObjResult out;
  rpc_.call([&](rpc_context* r, rpc_cb cb, void* p) { return rpc_nfs3_mknod_async(r, cb, &a, p); },
            [&](void* d) {
              auto* res = static_cast<MKNOD3res*>(d);
              fill_obj(out, res->status, res->MKNOD3res_u.resok);
            });
  return out;
}

REMOVE3res NfsClient::remove(const Fh& dir, const std::string& name) {
  REMOVE3args a{};
  std::string n = name;
  a.object.dir = dir.fh3();
  a.object.name = n.data();
  return rpc_.call_pod<REMOVE3res>(rpc_nfs3_remove_async, a);
}

RMDIR3res NfsClient::rmdir(const Fh& dir, const std::string& name) {
  RMDIR3args a{};
  std::string n = name;
  a.object.dir = dir.fh3();
  a.object.name = n.data();
  return rpc_.call_pod<RMDIR3res>(rpc_nfs3_rmdir_async, a);
}

RENAME3res NfsClient::rename(const Fh& from_dir, const std::string& from, const Fh& to_dir,
                             const std::string& to) {
  RENAME3args a{};
  std::string f = from, t = to;
  a.from.dir = from_dir.fh3();
  a.from.name = f.data();
  a.to.dir = to_dir.fh3();
  a.to.name = t.data();
  return rpc_.call_pod<RENAME3res>(rpc_nfs3_rename_async, a);
}

LINK3res NfsClient::link(const Fh& file, const Fh& dir, const std::string& name) {
  LINK3args a{};
  std::string n = name;
  a.file = file.fh3();
  a.link.dir = dir.fh3();
  a.link.name = n.data();
  return rpc_.call_pod<LINK3res>(rpc_nfs3_link_async, a);
}

ReaddirResult NfsClient::readdir(const Fh& dir, std::uint64_t cookie, const char* cookieverf,
                                 std::uint32_t count) {
  READDIR3args a{};
  a.dir = dir.fh3();
  a.cookie = cookie;
  if (cookieverf != nullptr) std::memcpy(a.cookieverf, cookieverf, NFS3_COOKIEVERFSIZE);
  a.count = count;
  ReaddirResult out;
  rpc_.call(
      [&](rpc_context* r, rpc_cb cb, void* p) { return rpc_nfs3_readdir_async(r, cb, &a, p); },
      [&](void* d) {
        auto* res = static_cast<READDIR3res*>(d);
        out.status = res->status;
        if (res->status != NFS3_OK) return;
        const auto& ok = res->READDIR3res_u.resok;
        std::memcpy(out.cookieverf.data(), ok.cookieverf, NFS3_COOKIEVERFSIZE);
        for (entry3* e = ok.reply.entries; e != nullptr; e = e->nextentry) {
          out.entries.push_back(DirEntry{e->fileid, e->name, e->cookie, {}, std::nullopt});
        }
        out.eof = ok.reply.eof != 0;
      });
  return out;
}

ReaddirResult NfsClient::readdirplus(const Fh& dir, std::uint64_t cookie, const char* cookieverf,
                                     std::uint32_t dircount, std::uint32_t maxcount) {
  READDIRPLUS3args a{};
  a.dir = dir.fh3();
  a.cookie = cookie;
  if (cookieverf != nullptr) std::memcpy(a.cookieverf, cookieverf, NFS3_COOKIEVERFSIZE);
  a.dircount = dircount;
  a.maxcount = maxcount;
  ReaddirResult out;
  rpc_.call(
      [&](rpc_context* r, rpc_cb cb, void* p) { return rpc_nfs3_readdirplus_async(r, cb, &a, p); },
      [&](void* d) {
        auto* res = static_cast<READDIRPLUS3res*>(d);
        out.status = res->status;
        if (res->status != NFS3_OK) return;
        const auto& ok = res->READDIRPLUS3res_u.resok;
        std::memcpy(out.cookieverf.data(), ok.cookieverf, NFS3_COOKIEVERFSIZE);
        for (entryplus3* e = ok.reply.entries; e != nullptr; e = e->nextentry) {
          out.entries.push_back(DirEntry{e->fileid, e->name, e->cookie, fh_of(e->name_handle),
                                         attrs_of(e->name_attributes)});
        }
        out.eof = ok.reply.eof != 0;
      });
  return out;
}

FSSTAT3res NfsClient::fsstat(const Fh& fh) {
  FSSTAT3args a{};
  a.fsroot = fh.fh3();
  return rpc_.call_pod<FSSTAT3res>(rpc_nfs3_fsstat_async, a);
}

FSINFO3res NfsClient::fsinfo(const Fh& fh) {
  FSINFO3args a{};
  a.fsroot = fh.fh3();
  return rpc_.call_pod<FSINFO3res>(rpc_nfs3_fsinfo_async, a);
}

PATHCONF3res NfsClient::pathconf(const Fh& fh) {
  PATHCONF3args a{};
  a.object = fh.fh3();
  return rpc_.call_pod<PATHCONF3res>(rpc_nfs3_pathconf_async, a);
}

COMMIT3res NfsClient::commit(const Fh& fh, std::uint64_t offset, std::uint32_t count) {
  COMMIT3args a{};
  a.file = fh.fh3();
  a.offset = offset;
  a.count = count;
  return rpc_.call_pod<COMMIT3res>(rpc_nfs3_commit_async, a);
}

// ---- raw TCP --------------------------------------------------------------

void put_u32(std::string& out, std::uint32_t v) {
  std::uint32_t be = htonl(v);
  out.append(reinterpret_cast<const char*>(&be), 4);
}

std::uint32_t get_u32(const std::string& in, std::size_t offset) {
  std::uint32_t be = 0;
  if (offset + 4 > in.size()) throw std::out_of_range("get_u32 past the end of the reply");
  std::memcpy(&be, in.data() + offset, 4);
  return ntohl(be);
}

std::string rpc_call_header(std::uint32_t xid, std::uint32_t prog, std::uint32_t vers,
                            std::uint32_t proc) {
  std::string s;
  for (std::uint32_t v : {xid, 0u /*CALL*/, 2u /*rpcvers*/, prog, vers, proc, 0u, 0u, 0u, 0u}) {
    put_u32(s, v);
  }
  return s;
}

RawConnection::RawConnection(std::uint16_t port) : fd_(connect_loopback(port)) {
  if (fd_ < 0) {
    throw std::runtime_error("connect to port " + std::to_string(port) + ": " +
                             std::strerror(errno));
  }
}

RawConnection::~RawConnection() {
  if (fd_ >= 0) ::close(fd_);
}

bool RawConnection::send_bytes(const std::string& bytes) {
  std::size_t off = 0;
  while (off < bytes.size()) {
    ssize_t n = ::send(fd_, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    off += static_cast<std::size_t>(n);
  }
  return true;
}

bool RawConnection::send_record(const std::string& payload) {
  std::string rec;
  put_u32(rec, 0x80000000u | static_cast<std::uint32_t>(payload.size()));
  rec += payload;
  return send_bytes(rec);
}

bool RawConnection::recv_exact(char* out, std::size_t n, Clock::time_point deadline) {
  std::size_t got = 0;
  while (got < n) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd_, POLLIN, 0};
    int r = ::poll(&p, 1, static_cast<int>(left.count()));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    ssize_t k = ::recv(fd_, out + got, n - got, 0);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) return false;
    got += static_cast<std::size_t>(k);
  }
  return true;
}

std::optional<std::string> RawConnection::recv_record(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  std::string payload;
  for (;;) {
    char mark[4];
    if (!recv_exact(mark, 4, deadline)) return std::nullopt;
    std::uint32_t m = get_u32(std::string(mark, 4), 0);
    std::size_t len = m & 0x7fffffffu;
    if (len > (8u << 20)) return std::nullopt;  // not a reply we would expect
    std::string frag(len, '\0');
    if (!recv_exact(frag.data(), len, deadline)) return std::nullopt;
    payload += frag;
    if (m & 0x80000000u) return payload;
  }
}

bool RawConnection::closed_by_peer(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  char buf[4096];
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd_, POLLIN, 0};
    int r = ::poll(&p, 1, static_cast<int>(left.count()));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    ssize_t k = ::recv(fd_, buf, sizeof(buf), 0);
    if (k == 0 || (k < 0 && errno != EINTR && errno != EAGAIN)) return true;
  }
}

}  // namespace nasd::integration
