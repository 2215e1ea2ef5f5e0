// Hostile input against the real process while a well-behaved client runs a
// checksummed write/read workload on its own connection: each hostile call
// gets its RFC status (or its connection closed), the server stays up, and
// the concurrent workload finishes untouched (checked in TearDown).
// Complements robustness_test.cc (oversize records, half records, garbage,
// RPC errors) and nfs3_errors_test.cc (stale/forged handles, confinement).
#include <atomic>
#include <thread>

#include "tests/integration/integration_fixture.h"

namespace nasd::integration {
namespace {

constexpr std::uint32_t kMsgDenied = 1, kAuthError = 1, kAuthBadCred = 1, kGarbageArgs = 4;
constexpr std::uint32_t kLookup = 3, kWrite = 7, kCreate = 8, kMkdir = 9, kSymlink = 10,
                        kReaddir = 16;

std::string xdr_opaque(const std::string& bytes) {
  std::string out;
  put_u32(out, static_cast<std::uint32_t>(bytes.size()));
  out += bytes;
  out.append((4 - bytes.size() % 4) % 4, '\0');
  return out;
}

class HostileInputTest : public NasdTest {
 protected:
  void SetUp() override {
    NasdTest::SetUp();
    root_ = mount_root(nasd_->export_dir());
    workload_ = std::thread([this] { run_workload(); });
  }

  void TearDown() override {
    stop_ = true;
    workload_.join();
    EXPECT_EQ("", workload_error_) << "the concurrent client was disturbed";
    EXPECT_GE(rounds_.load(), 1) << "the concurrent client made no progress";
    EXPECT_TRUE(nasd_->running()) << "nasd went down";
    NasdTest::TearDown();
  }

  /// 64 KiB FILE_SYNC writes read back and compared, until stop_.
  void run_workload() {
    try {
      NfsClient nfs(nasd_->nfs_port());
      auto c = nfs.create(root_, "workload", UNCHECKED);
      if (c.status != NFS3_OK) throw std::runtime_error("create: " + nfsstat_name(c.status));
      for (int round = 0; !stop_ || round < 3; ++round) {
        std::string data(65536, '\0');
        for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(round * 7 + i * 31);
        auto w = nfs.write(c.fh, 0, data, FILE_SYNC);
        if (w.status != NFS3_OK) throw std::runtime_error("write: " + nfsstat_name(w.status));
        auto r = nfs.read(c.fh, 0, 65536);
        if (r.status != NFS3_OK) throw std::runtime_error("read: " + nfsstat_name(r.status));
        if (r.data != data) throw std::runtime_error("read-back differs in round " + std::to_string(round));
        ++rounds_;
      }
    } catch (const std::exception& e) {
      workload_error_ = e.what();
    }
  }

  /// A raw NFSv3 call with AUTH_NONE; returns the reply payload.
  std::string raw_call(std::uint32_t proc, const std::string& args, std::uint32_t prog = NFS_PROGRAM,
                       std::uint32_t vers = NFS_V3) {
    RawConnection c(nasd_->nfs_port());
    EXPECT_TRUE(c.send_record(rpc_call_header(next_xid_, prog, vers, proc) + args));
    auto r = c.recv_record();
    EXPECT_TRUE(r.has_value()) << "no reply to procedure " << proc;
    if (r) {
      EXPECT_EQ(next_xid_, get_u32(*r, 0));
    }
    ++next_xid_;
    return r.value_or(std::string(24, '\0'));
  }

  std::filesystem::path disk(const std::string& name) const { return nasd_->export_dir() / name; }

  Fh root_;
  std::thread workload_;
  std::atomic<bool> stop_{false};
  std::atomic<int> rounds_{0};
  std::string workload_error_;
  std::uint32_t next_xid_ = 100;
};

TEST_F(HostileInputTest, EndlessZeroLengthFragmentsCloseTheConnection) {
  const double before =
      nasd_->metric(R"(nasd_rpc_errors_total{reason="record_too_large"})").value_or(-1);
  RawConnection c(nasd_->nfs_port());
  std::string endless;
  for (int i = 0; i < 2000; ++i) put_u32(endless, 0);  // non-last fragments of 0 bytes
  c.send_bytes(endless);  // may fail part-way: the server closes after 1024
  EXPECT_TRUE(c.closed_by_peer());
  EXPECT_EQ(before + 1,
            nasd_->metric(R"(nasd_rpc_errors_total{reason="record_too_large"})").value_or(-1));
}

TEST_F(HostileInputTest, HugeCredentialCountsAreAuthBadcred) {
  for (const bool huge_groups : {true, false}) {
    RawConnection c(nasd_->nfs_port());
    std::string call;
    put_u32(call, 42);
    put_u32(call, 0);  // CALL
    put_u32(call, 2);
    put_u32(call, NFS_PROGRAM);
    put_u32(call, NFS_V3);
    put_u32(call, 0);
    put_u32(call, 1);  // AUTH_SYS
    std::string body;
    put_u32(body, 1);  // stamp
    if (huge_groups) {
      body += xdr_opaque("host");
      put_u32(body, 0);
      put_u32(body, 0);
      put_u32(body, 0xFFFFFFFFu);  // gids<16> count
    } else {
      put_u32(body, 0xFFFFFFF0u);  // machinename<255> length
    }
    call += xdr_opaque(body);
    put_u32(call, 0);  // verifier AUTH_NONE
    put_u32(call, 0);
    ASSERT_TRUE(c.send_record(call));
    auto r = c.recv_record();
    ASSERT_TRUE(r.has_value());
    ASSERT_EQ(20u, r->size());
    EXPECT_EQ(kMsgDenied, get_u32(*r, 8));
    EXPECT_EQ(kAuthError, get_u32(*r, 12));
    EXPECT_EQ(kAuthBadCred, get_u32(*r, 16));
  }
}

TEST_F(HostileInputTest, HugeStringAndOpaqueCountsAreGarbageArgs) {
  std::string lookup = xdr_opaque(root_.bytes);
  put_u32(lookup, 0xFFFFFFFFu);  // filename3 length
  lookup += "abcd";
  EXPECT_EQ(kGarbageArgs, get_u32(raw_call(kLookup, lookup), 20));

  std::string bad_fh;
  put_u32(bad_fh, 0xFFFFFFFFu);  // nfs_fh3 length
  EXPECT_EQ(kGarbageArgs, get_u32(raw_call(kLookup, bad_fh + xdr_opaque("x")), 20));

  std::string symlink = xdr_opaque(root_.bytes) + xdr_opaque("l");
  for (int i = 0; i < 6; ++i) put_u32(symlink, 0);  // sattr3: nothing set
  put_u32(symlink, 0x80000000u);                    // nfspath3 length
  EXPECT_EQ(kGarbageArgs, get_u32(raw_call(kSymlink, symlink), 20));

  std::string write = xdr_opaque(root_.bytes);
  put_u32(write, 0);
  put_u32(write, 0);           // offset
  put_u32(write, 4);           // count
  put_u32(write, 2);           // FILE_SYNC
  put_u32(write, 0xFFFFFFFFu); // data length
  write += "data";
  EXPECT_EQ(kGarbageArgs, get_u32(raw_call(kWrite, write), 20));

  std::string readdir = xdr_opaque(root_.bytes);
  readdir.append(16, '\0');  // cookie, cookieverf
  // count missing: truncated arguments
  EXPECT_EQ(kGarbageArgs, get_u32(raw_call(kReaddir, readdir), 20));
}

TEST_F(HostileInputTest, CountsBeyondTheMaximumAreClamped) {
  write_file(disk("big"), std::string(3 << 20, 'b'));
  NfsClient nfs(nasd_->nfs_port());
  auto l = nfs.lookup(root_, "big");
  ASSERT_NFS(NFS3_OK, l.status);
  auto r = nfs.read(l.fh, 0, 0xFFFFFFFFu);
  ASSERT_NFS(NFS3_OK, r.status);
  EXPECT_LE(r.data.size(), 1u << 20);  // rtmax
  EXPECT_FALSE(r.data.empty());
  auto d = nfs.readdir(root_, 0, nullptr, 0xFFFFFFFFu);
  EXPECT_NFS(NFS3_OK, d.status);
  auto dp = nfs.readdirplus(root_, 0, nullptr, 0xFFFFFFFFu, 0xFFFFFFFFu);
  EXPECT_NFS(NFS3_OK, dp.status);
}

TEST_F(HostileInputTest, WriteWithLessDataThanItsCountIsInval) {
  NfsClient nfs(nasd_->nfs_port());
  auto c = nfs.create(root_, "short", GUARDED);
  ASSERT_NFS(NFS3_OK, c.status);
  std::string write = xdr_opaque(c.fh.bytes);
  put_u32(write, 0);
  put_u32(write, 0);
  put_u32(write, 100);  // count 100 ...
  put_u32(write, 2);
  write += xdr_opaque("only ten b");  // ... but 10 bytes of data
  const std::string r = raw_call(kWrite, write);
  ASSERT_EQ(0u, get_u32(r, 20));              // accepted, SUCCESS
  EXPECT_NFS(NFS3ERR_INVAL, static_cast<int>(get_u32(r, 24)));
  EXPECT_EQ(0, stat_of(disk("short")).st_size);
}

TEST_F(HostileInputTest, HostileNamesAreRefusedAndCreateNothing) {
  NfsClient nfs(nasd_->nfs_port());
  EXPECT_NFS(NFS3ERR_NAMETOOLONG, nfs.create(root_, std::string(256, 'n'), GUARDED).status);
  EXPECT_NFS(NFS3ERR_NAMETOOLONG, nfs.lookup(root_, std::string(256, 'n')).status);
  // Raw calls: libnfs would cut a name at its NUL before sending it.
  for (const std::string& name :
       {std::string("nul\0byte", 8), std::string("a/b"), std::string(".."), std::string("."),
        std::string("")}) {
    std::string create = xdr_opaque(root_.bytes) + xdr_opaque(name);
    put_u32(create, 1);                                // GUARDED
    for (int i = 0; i < 6; ++i) put_u32(create, 0);    // sattr3: nothing set
    const std::string rc = raw_call(kCreate, create);
    ASSERT_EQ(0u, get_u32(rc, 20));
    EXPECT_NE(NFS3_OK, static_cast<int>(get_u32(rc, 24))) << "CREATE '" << name << "'";
    std::string mkdir = xdr_opaque(root_.bytes) + xdr_opaque(name);
    for (int i = 0; i < 6; ++i) put_u32(mkdir, 0);
    const std::string rm = raw_call(kMkdir, mkdir);
    ASSERT_EQ(0u, get_u32(rm, 20));
    EXPECT_NE(NFS3_OK, static_cast<int>(get_u32(rm, 24))) << "MKDIR '" << name << "'";
    const std::string rl = raw_call(kLookup, xdr_opaque(root_.bytes) + xdr_opaque(name));
    if (name != "." && name != "..") {
      EXPECT_NE(NFS3_OK, static_cast<int>(get_u32(rl, 24))) << "LOOKUP '" << name << "'";
    }
  }
  EXPECT_FALSE(std::filesystem::exists(disk("nul")));
  EXPECT_FALSE(std::filesystem::exists(disk("a")));
}

TEST_F(HostileInputTest, SymlinksAreNeverFollowedOutOfTheExport) {
  const auto secret = nasd_->export_dir().parent_path() / "secret";
  write_file(secret, "outside");
  ::chmod(secret.c_str(), 0600);
  std::filesystem::create_symlink("../secret", disk("to-secret"));
  std::filesystem::create_symlink("loop", disk("loop"));
  NfsClient nfs(nasd_->nfs_port());
  for (const char* name : {"to-secret", "loop"}) {
    auto l = nfs.lookup(root_, name);
    ASSERT_NFS(NFS3_OK, l.status) << name;
    ASSERT_TRUE(l.attr.has_value());
    EXPECT_EQ(NF3LNK, l.attr->type) << name;
    auto r = nfs.read(l.fh, 0, 100);
    EXPECT_NE(NFS3_OK, r.status) << name;
    EXPECT_EQ("", r.data) << name;
    EXPECT_NE(NFS3_OK, nfs.write(l.fh, 0, "overwritten", FILE_SYNC).status) << name;
    EXPECT_NFS(NFS3ERR_NOTDIR, nfs.lookup(l.fh, "x").status) << name;
    EXPECT_NE(NFS3_OK, nfs.create(l.fh, "x", GUARDED).status) << name;
  }
  sattr3 a = no_attrs();
  a.size.set_it = 1;
  a.size.set_size3_u.size = 0;
  nfs.setattr(nfs.lookup(root_, "to-secret").fh, a);  // whatever it answers ...
  EXPECT_EQ(7, stat_of(secret).st_size);              // ... the target keeps its data
  EXPECT_EQ(0600u, stat_of(secret).st_mode & 07777);
}

}  // namespace
}  // namespace nasd::integration
