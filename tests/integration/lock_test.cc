// The embedded port mapper, NLM v4 and NSM v1 of the real nasd process,
// through libnfs's raw PMAP / NLM / NSM calls.
#include <nfsc/libnfs-raw-nlm.h>
#include <nfsc/libnfs-raw-nsm.h>
#include <nfsc/libnfs-raw-portmap.h>

#include <set>
#include <string>
#include <tuple>

#include "tests/integration/integration_fixture.h"

namespace nasd::integration {
namespace {

class LockTest : public NasdTest {
 protected:
  void SetUp() override {
    NasdTest::SetUp();
    root_ = mount_root(nasd_->export_dir());
    NfsClient nfs(nasd_->nfs_port());
    auto c = nfs.create(root_, "locked.txt", UNCHECKED, 0644);
    ASSERT_NFS(NFS3_OK, c.status);
    file_ = c.fh;
  }

  std::uint32_t getport(int prog, int vers, int prot) {
    RpcClient pm(nasd_->portmapper_port(), PMAP_PROGRAM, PMAP_V2);
    std::uint32_t port = 12345;
    pm.call([&](rpc_context* r, rpc_cb cb, void* p) {
              return rpc_pmap2_getport_async(r, prog, vers, prot, cb, p);
            },
            [&](void* d) { port = *static_cast<std::uint32_t*>(d); });
    return port;
  }

  /// NLM4 LOCK (or TEST when `test`) of [offset, offset+len) by (host, svid).
  nlmstat4 lock(RpcClient& nlm, const std::string& host, unsigned svid, std::uint64_t offset,
                std::uint64_t len, bool exclusive = true, bool block = false) {
    std::string oh = std::to_string(svid) + "@" + host;
    NLM4_LOCKargs a{};
    a.block = block;
    a.exclusive = exclusive;
    a.lock.caller_name = const_cast<char*>(host.c_str());
    a.lock.fh.data.data_len = static_cast<u_int>(file_.bytes.size());
    a.lock.fh.data.data_val = const_cast<char*>(file_.bytes.data());
    a.lock.oh = oh.data();
    a.lock.svid = svid;
    a.lock.l_offset = offset;
    a.lock.l_len = len;
    return nlm.call_pod<NLM4_LOCKres>(rpc_nlm4_lock_async, a).status;
  }

  nlmstat4 unlock(RpcClient& nlm, const std::string& host, unsigned svid, std::uint64_t offset,
                  std::uint64_t len) {
    std::string oh = std::to_string(svid) + "@" + host;
    NLM4_UNLOCKargs a{};
    a.lock.caller_name = const_cast<char*>(host.c_str());
    a.lock.fh.data.data_len = static_cast<u_int>(file_.bytes.size());
    a.lock.fh.data.data_val = const_cast<char*>(file_.bytes.data());
    a.lock.oh = oh.data();
    a.lock.svid = svid;
    a.lock.l_offset = offset;
    a.lock.l_len = len;
    return nlm.call_pod<NLM4_UNLOCKres>(rpc_nlm4_unlock_async, a).status;
  }

  /// TEST: status and, when denied, (svid, offset, len, exclusive) of the holder.
  std::pair<nlmstat4, std::tuple<unsigned, std::uint64_t, std::uint64_t, bool>> test(
      RpcClient& nlm, const std::string& host, unsigned svid, std::uint64_t offset,
      std::uint64_t len) {
    std::string oh = std::to_string(svid) + "@" + host;
    NLM4_TESTargs a{};
    a.exclusive = true;
    a.lock.caller_name = const_cast<char*>(host.c_str());
    a.lock.fh.data.data_len = static_cast<u_int>(file_.bytes.size());
    a.lock.fh.data.data_val = const_cast<char*>(file_.bytes.data());
    a.lock.oh = oh.data();
    a.lock.svid = svid;
    a.lock.l_offset = offset;
    a.lock.l_len = len;
    std::pair<nlmstat4, std::tuple<unsigned, std::uint64_t, std::uint64_t, bool>> out{};
    nlm.call([&](rpc_context* r, rpc_cb cb, void* p) { return rpc_nlm4_test_async(r, cb, &a, p); },
             [&](void* d) {
               auto* res = static_cast<NLM4_TESTres*>(d);
               out.first = res->reply.status;
               if (res->reply.status == NLM4_DENIED) {
                 const auto& h = res->reply.nlm4_testreply_u.lock.holder;
                 out.second = {h.svid, h.l_offset, h.l_len, h.exclusive != 0};
               }
             });
    return out;
  }

  Fh root_, file_;
};

TEST_F(LockTest, PortmapperGetportReturnsNasdsPorts) {
  EXPECT_EQ(nasd_->nfs_port(), getport(100003, 3, 6));
  EXPECT_EQ(nasd_->mount_port(), getport(100005, 3, 6));
  EXPECT_EQ(nasd_->nfs_port(), getport(NLM_PROGRAM, NLM_V4, 6));
  EXPECT_EQ(nasd_->nfs_port(), getport(NSM_PROGRAM, NSM_V1, 6));
  EXPECT_EQ(nasd_->nfs_port(), getport(NSM_PROGRAM, NSM_V1, 17));  // UDP for SM_NOTIFY
  EXPECT_EQ(nasd_->portmapper_port(), getport(PMAP_PROGRAM, PMAP_V2, 6));
  EXPECT_EQ(0u, getport(100003, 3, 17));  // no NFS over UDP
  EXPECT_EQ(0u, getport(399999, 1, 6));   // unknown program
}

TEST_F(LockTest, PortmapperDumpListsEveryProgram) {
  RpcClient pm(nasd_->portmapper_port(), PMAP_PROGRAM, PMAP_V2);
  std::set<std::tuple<unsigned, unsigned, unsigned, unsigned>> got;
  pm.call([](rpc_context* r, rpc_cb cb, void* p) { return rpc_pmap2_dump_async(r, cb, p); },
          [&](void* d) {
            for (auto* l = static_cast<pmap2_dump_result*>(d)->list; l; l = l->next) {
              got.insert({l->map.prog, l->map.vers, l->map.prot, l->map.port});
            }
          });
  EXPECT_TRUE(got.count({100003, 3, 6, nasd_->nfs_port()}));
  EXPECT_TRUE(got.count({100005, 3, 6, nasd_->mount_port()}));
  EXPECT_TRUE(got.count({NLM_PROGRAM, NLM_V4, 6, nasd_->nfs_port()}));
  EXPECT_TRUE(got.count({NSM_PROGRAM, NSM_V1, 6, nasd_->nfs_port()}));
}

TEST_F(LockTest, RpcbindGetaddrReturnsAUniversalAddressWithThePort) {
  RpcClient pm(nasd_->portmapper_port(), PMAP_PROGRAM, PMAP_V3);
  pmap3_mapping m{};
  m.prog = NLM_PROGRAM;
  m.vers = NLM_V4;
  m.netid = const_cast<char*>("tcp");
  m.addr = const_cast<char*>("");
  m.owner = const_cast<char*>("");
  std::string addr;
  pm.call([&](rpc_context* r, rpc_cb cb, void* p) { return rpc_pmap3_getaddr_async(r, &m, cb, p); },
          [&](void* d) { addr = static_cast<pmap3_string_result*>(d)->addr; });
  const unsigned port = nasd_->nfs_port();
  EXPECT_EQ("127.0.0.1." + std::to_string(port >> 8) + "." + std::to_string(port & 255), addr);
}

TEST_F(LockTest, ConflictingLockOfAnotherOwnerIsDeniedUntilUnlock) {
  RpcClient nlm(nasd_->nfs_port(), NLM_PROGRAM, NLM_V4);
  EXPECT_EQ(NLM4_GRANTED, lock(nlm, "hostA", 7, 0, 100));
  EXPECT_EQ(NLM4_DENIED, lock(nlm, "hostB", 9, 50, 100));
  EXPECT_EQ(NLM4_DENIED, lock(nlm, "hostA", 8, 99, 1));  // another process on hostA
  EXPECT_EQ(NLM4_GRANTED, lock(nlm, "hostB", 9, 100, 100));  // disjoint
  EXPECT_EQ(2.0, nasd_->metric("nasd_nlm_locks_held").value_or(-1));
  EXPECT_EQ(NLM4_GRANTED, unlock(nlm, "hostA", 7, 0, 100));
  EXPECT_EQ(NLM4_GRANTED, lock(nlm, "hostB", 9, 50, 100));
}

TEST_F(LockTest, TestShowsTheHolder) {
  RpcClient nlm(nasd_->nfs_port(), NLM_PROGRAM, NLM_V4);
  EXPECT_EQ(NLM4_GRANTED, test(nlm, "hostB", 9, 0, 0).first);
  ASSERT_EQ(NLM4_GRANTED, lock(nlm, "hostA", 7, 10, 20));
  auto [status, holder] = test(nlm, "hostB", 9, 0, 0);
  EXPECT_EQ(NLM4_DENIED, status);
  EXPECT_EQ(std::make_tuple(7u, std::uint64_t{10}, std::uint64_t{20}, true), holder);
  EXPECT_EQ(NLM4_GRANTED, test(nlm, "hostA", 7, 0, 0).first);  // own lock
}

TEST_F(LockTest, BlockingLockIsQueuedAndCountedAsWaiter) {
  RpcClient nlm(nasd_->nfs_port(), NLM_PROGRAM, NLM_V4);
  ASSERT_EQ(NLM4_GRANTED, lock(nlm, "hostA", 7, 0, 0));
  EXPECT_EQ(NLM4_BLOCKED, lock(nlm, "hostB", 9, 0, 0, true, /*block=*/true));
  EXPECT_EQ(1.0, nasd_->metric("nasd_nlm_blocked_waiters").value_or(-1));
  // The release grants it (the GRANTED callback to "hostB" at 127.0.0.1
  // finds no lockd; the lock stays granted, as a re-polling client expects).
  EXPECT_EQ(NLM4_GRANTED, unlock(nlm, "hostA", 7, 0, 0));
  EXPECT_EQ(0.0, nasd_->metric("nasd_nlm_blocked_waiters").value_or(-1));
  EXPECT_EQ(NLM4_DENIED, lock(nlm, "hostA", 7, 0, 0));
  EXPECT_EQ(NLM4_GRANTED, lock(nlm, "hostB", 9, 0, 0, true, true));  // the re-poll
}

TEST_F(LockTest, ForgedFileHandleIsStaleFh) {
  RpcClient nlm(nasd_->nfs_port(), NLM_PROGRAM, NLM_V4);
  file_.bytes[file_.bytes.size() - 1] ^= 0x5a;  // breaks the handle's MAC
  EXPECT_EQ(NLM4_STALE_FH, lock(nlm, "hostA", 7, 0, 0));
  EXPECT_EQ(NLM4_STALE_FH, unlock(nlm, "hostA", 7, 0, 0));
  EXPECT_EQ(NLM4_STALE_FH, test(nlm, "hostA", 7, 0, 0).first);
  EXPECT_EQ(0.0, nasd_->metric("nasd_nlm_locks_held").value_or(-1));
}

TEST_F(LockTest, NsmStatReportsAnOddStateThatGrowsAcrossRestarts) {
  auto stat = [&] {
    RpcClient nsm(nasd_->nfs_port(), NSM_PROGRAM, NSM_V1);
    NSM1_STATargs a{};
    a.mon_name = const_cast<char*>("localhost");
    return nsm.call_pod<NSM1_STATres>(rpc_nsm1_stat_async, a);
  };
  auto first = stat();
  EXPECT_EQ(NSM_STAT_SUCC, first.res);
  EXPECT_EQ(1, first.state % 2);
  nasd_->restart();
  auto second = stat();
  EXPECT_EQ(1, second.state % 2);
  EXPECT_EQ(first.state + 2, second.state);
}

TEST_F(LockTest, SmNotifyFromARebootedClientFreesItsLocks) {
  RpcClient nlm(nasd_->nfs_port(), NLM_PROGRAM, NLM_V4);
  ASSERT_EQ(NLM4_GRANTED, lock(nlm, "hostA", 7, 0, 0));
  RpcClient nsm(nasd_->nfs_port(), NSM_PROGRAM, NSM_V1);
  NSM1_NOTIFYargs n{};
  n.mon_name = const_cast<char*>("hostA");
  n.state = 3;
  nsm.call([&](rpc_context* r, rpc_cb cb, void* p) { return rpc_nsm1_notify_async(r, cb, &n, p); },
           [](void*) {});
  EXPECT_EQ(NLM4_GRANTED, lock(nlm, "hostB", 9, 0, 0));
}

}  // namespace
}  // namespace nasd::integration
