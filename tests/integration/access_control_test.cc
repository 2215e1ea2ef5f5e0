// Access control against the real process, with chosen credentials and
// source ports (issue 5): sec=sys refuses AUTH_NONE while the default serves
// it as the anonymous user; all_squash,anonuid maps every caller; client
// specs (CIDR, exact address, host name) pick the options or refuse the
// client; `secure` refuses source ports >= 1024 for MNT and NFS calls.
// The Linux-client side of the same rules: tests/e2e/access_control_run.sh.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>

#include "tests/integration/integration_fixture.h"

namespace nasd::integration {
namespace {

constexpr std::uint32_t kNfsGetattr = 1;
constexpr std::uint32_t kNfsCreate = 8;
constexpr std::uint32_t kMountMnt = 1;
constexpr std::uint32_t kNfs3Ok = 0;
constexpr std::uint32_t kNfs3ErrAcces = 13;
constexpr std::uint32_t kMnt3ErrAcces = 13;

/// A TCP connection to 127.0.0.1:`port` from a chosen kind of source port:
/// privileged (< 1024, we run as root) or the kernel's ephemeral choice.
class SourcePortConnection {
 public:
  SourcePortConnection(std::uint16_t port, bool privileged) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd_ < 0) throw std::runtime_error("socket");
    timeval tv{5, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (privileged) {
      bool bound = false;
      for (std::uint16_t p = 1023; p >= 600 && !bound; --p) {
        a.sin_port = htons(p);
        bound = ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0;
      }
      if (!bound) throw std::runtime_error("no free privileged port");
    }
    a.sin_port = htons(port);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
      throw std::runtime_error("connect");
    }
    sockaddr_in local{};
    socklen_t len = sizeof(local);
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&local), &len);
    source_port_ = ntohs(local.sin_port);
  }
  ~SourcePortConnection() { ::close(fd_); }
  SourcePortConnection(const SourcePortConnection&) = delete;
  SourcePortConnection& operator=(const SourcePortConnection&) = delete;

  std::uint16_t source_port() const { return source_port_; }

  /// Sends `payload` as one record and returns the reply record's payload
  /// (empty on EOF or timeout).
  std::string call(const std::string& payload) {
    std::string rec;
    put_u32(rec, 0x80000000u | static_cast<std::uint32_t>(payload.size()));
    rec += payload;
    if (::send(fd_, rec.data(), rec.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(rec.size())) return {};
    std::string out;
    for (bool last = false; !last;) {
      std::string mark = recv_exact(4);
      if (mark.size() != 4) return {};
      const std::uint32_t m = get_u32(mark, 0);
      last = (m & 0x80000000u) != 0;
      std::string frag = recv_exact(m & 0x7fffffffu);
      if (frag.size() != (m & 0x7fffffffu)) return {};
      out += frag;
    }
    return out;
  }

 private:
  std::string recv_exact(std::size_t n) {
    std::string s(n, '\0');
    std::size_t got = 0;
    while (got < n) {
      const ssize_t r = ::recv(fd_, s.data() + got, n - got, 0);
      if (r <= 0) return s.substr(0, got);
      got += static_cast<std::size_t>(r);
    }
    return s;
  }

  int fd_ = -1;
  std::uint16_t source_port_ = 0;
};

/// XDR opaque<>/string: length, bytes, padding.
void put_opaque(std::string& out, const std::string& bytes) {
  put_u32(out, static_cast<std::uint32_t>(bytes.size()));
  out += bytes;
  out.append((4 - bytes.size() % 4) % 4, '\0');
}

/// The status word after an accepted-reply header with an AUTH_NONE
/// verifier (xid, REPLY, MSG_ACCEPTED, verifier, SUCCESS: 24 bytes).
std::uint32_t status_of(const std::string& reply) {
  if (reply.size() < 28) return 0xffffffffu;
  EXPECT_EQ(0u, get_u32(reply, 20)) << "accept_stat";
  return get_u32(reply, 24);
}

class AccessControlTest : public NasdTest {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/nasd-access-XXXXXX";
    ASSERT_NE(nullptr, ::mkdtemp(tmpl));
    base_ = tmpl;
    ::chmod(base_.c_str(), 0755);
    for (const char* d : {"sys", "any", "allsq", "cidr", "nobody", "exact", "host", "sec"}) {
      std::filesystem::create_directory(base_ / d);
      ::chmod((base_ / d).c_str(), 01777);
    }
    const std::string b = base_.string();
    nasd_ = std::make_unique<NasdProcess>(std::vector<std::string>{
        "--export", b + "/sys 127.0.0.1(rw,no_root_squash,insecure,sec=sys)",
        "--export", b + "/any 127.0.0.1(rw,no_root_squash,insecure)",
        "--export", b + "/allsq *(rw,all_squash,anonuid=2000,anongid=2001,insecure)",
        // First match wins: 127.0.0.1 is in 127.0.0.0/8, which is read-only.
        "--export", b + "/cidr 10.0.0.0/8(rw,insecure) 127.0.0.0/8(ro,insecure) *(rw,insecure)",
        "--export", b + "/nobody 10.0.0.0/8(rw,insecure) 192.168.0.0/16(rw,insecure)",
        "--export", b + "/exact 127.0.0.2(rw,insecure)",
        "--export", b + "/host localhost(rw,no_root_squash,insecure)",
        "--export", b + "/sec 127.0.0.1(rw,no_root_squash,secure)"});
  }
  void TearDown() override {
    nasd_.reset();
    std::error_code ec;
    std::filesystem::remove_all(base_, ec);
  }

  std::string path(const char* name) const { return (base_ / name).string(); }

  /// MNT status of `dir` through libnfs (AUTH_SYS).
  mountstat3 mnt_status(const char* dir) {
    MountClient m(nasd_->mount_port());
    return m.mnt(path(dir)).first;
  }

  /// A raw NFSv3 call with AUTH_NONE credentials on a fresh connection.
  std::string auth_none_call(std::uint32_t proc, const std::string& args) {
    SourcePortConnection c(nasd_->nfs_port(), false);
    return c.call(rpc_call_header(xid_++, NFS_PROGRAM, NFS_V3, proc) + args);
  }

  /// CREATE3args: UNCHECKED, no attributes set (RFC 1813 §3.3.8).
  static std::string create_args(const Fh& dir, const std::string& name) {
    std::string a;
    put_opaque(a, dir.bytes);
    put_opaque(a, name);
    put_u32(a, 0);                           // UNCHECKED
    for (int i = 0; i < 6; ++i) put_u32(a, 0);  // sattr3: nothing set
    return a;
  }

  std::filesystem::path base_;
  std::uint32_t xid_ = 500;
};

TEST_F(AccessControlTest, AuthNoneIsRefusedOnASecSysExport) {
  Fh root = mount_root(path("sys"));
  std::string fh;
  put_opaque(fh, root.bytes);
  EXPECT_EQ(kNfs3ErrAcces, status_of(auth_none_call(kNfsGetattr, fh)));
  EXPECT_EQ(kNfs3ErrAcces, status_of(auth_none_call(kNfsCreate, create_args(root, "anon"))));
  EXPECT_FALSE(std::filesystem::exists(base_ / "sys" / "anon"));
  // AUTH_SYS is served there.
  NfsClient nfs(nasd_->nfs_port());
  nfs.set_credentials(1000, 1000);
  ASSERT_NFS(NFS3_OK, nfs.create(root, "by-1000", UNCHECKED).status);
  EXPECT_EQ(1000u, stat_of(base_ / "sys" / "by-1000").st_uid);
}

TEST_F(AccessControlTest, AuthNoneIsTheAnonymousUserWithoutSec) {
  Fh root = mount_root(path("any"));
  std::string fh;
  put_opaque(fh, root.bytes);
  EXPECT_EQ(kNfs3Ok, status_of(auth_none_call(kNfsGetattr, fh)));
  EXPECT_EQ(kNfs3Ok, status_of(auth_none_call(kNfsCreate, create_args(root, "anon"))));
  // no_root_squash does not make AUTH_NONE root: it is anonuid/anongid.
  const struct stat st = stat_of(base_ / "any" / "anon");
  EXPECT_EQ(65534u, st.st_uid);
  EXPECT_EQ(65534u, st.st_gid);
}

TEST_F(AccessControlTest, AllSquashMapsEveryCallerToAnonuidAndAnongid) {
  Fh root = mount_root(path("allsq"));
  for (int uid : {0, 1000, 1001}) {
    NfsClient nfs(nasd_->nfs_port());
    nfs.set_credentials(uid, uid);
    const std::string name = "by-" + std::to_string(uid);
    auto c = nfs.create(root, name, GUARDED);
    ASSERT_NFS(NFS3_OK, c.status) << uid;
    const struct stat st = stat_of(base_ / "allsq" / name);
    EXPECT_EQ(2000u, st.st_uid) << uid;
    EXPECT_EQ(2001u, st.st_gid) << uid;
    ASSERT_TRUE(c.attr.has_value());
    EXPECT_EQ(2000u, c.attr->uid);
  }
  // Squashed root cannot read root's 0600 file there either.
  write_file(base_ / "allsq" / "rootonly", "x");
  ASSERT_EQ(0, ::chmod((base_ / "allsq" / "rootonly").c_str(), 0600));
  NfsClient root_caller(nasd_->nfs_port());
  root_caller.set_credentials(0, 0);
  auto l = root_caller.lookup(root, "rootonly");
  ASSERT_NFS(NFS3_OK, l.status);
  EXPECT_NFS(NFS3ERR_ACCES, root_caller.read(l.fh, 0, 1).status);
}

TEST_F(AccessControlTest, FirstMatchingClientSpecGivesTheOptions) {
  // 127.0.0.1 is not in 10.0.0.0/8; 127.0.0.0/8 (ro) matches before *.
  Fh root = mount_root(path("cidr"));
  NfsClient nfs(nasd_->nfs_port());
  EXPECT_NFS(NFS3ERR_ROFS, nfs.create(root, "x", UNCHECKED).status);
  EXPECT_FALSE(std::filesystem::exists(base_ / "cidr" / "x"));
  // A host name resolves to the caller's address.
  Fh host = mount_root(path("host"));
  ASSERT_NFS(NFS3_OK, nfs.create(host, "x", UNCHECKED).status);
}

TEST_F(AccessControlTest, ClientsMatchingNoSpecAreRefused) {
  EXPECT_EQ(MNT3ERR_ACCES, mnt_status("nobody"));  // other networks only
  EXPECT_EQ(MNT3ERR_ACCES, mnt_status("exact"));   // 127.0.0.2, not us
  EXPECT_EQ(MNT3_OK, mnt_status("any"));
}

TEST_F(AccessControlTest, SecureExportRefusesSourcePortsAbove1023) {
  std::string mnt_args;
  put_opaque(mnt_args, path("sec"));
  SourcePortConnection high(nasd_->mount_port(), false);
  ASSERT_GE(high.source_port(), 1024);
  EXPECT_EQ(kMnt3ErrAcces,
            status_of(high.call(rpc_call_header(1, MOUNT_PROGRAM, MOUNT_V3, kMountMnt) + mnt_args)));

  SourcePortConnection low(nasd_->mount_port(), true);
  ASSERT_LT(low.source_port(), 1024);
  const std::string ok = low.call(rpc_call_header(2, MOUNT_PROGRAM, MOUNT_V3, kMountMnt) + mnt_args);
  ASSERT_EQ(0u, status_of(ok)) << "MNT from a privileged port";
  // mountres3: status, fhandle3 (opaque<64>), auth_flavors.
  ASSERT_GE(ok.size(), 32u);
  const std::uint32_t fh_len = get_u32(ok, 28);
  ASSERT_LE(32u + fh_len, ok.size());
  std::string fh;
  put_opaque(fh, ok.substr(32, fh_len));

  // The handle does not help from a non-privileged port either.
  SourcePortConnection nfs_high(nasd_->nfs_port(), false);
  EXPECT_EQ(kNfs3ErrAcces,
            status_of(nfs_high.call(rpc_call_header(3, NFS_PROGRAM, NFS_V3, kNfsGetattr) + fh)));
  SourcePortConnection nfs_low(nasd_->nfs_port(), true);
  EXPECT_EQ(kNfs3Ok,
            status_of(nfs_low.call(rpc_call_header(4, NFS_PROGRAM, NFS_V3, kNfsGetattr) + fh)));
}

}  // namespace
}  // namespace nasd::integration
