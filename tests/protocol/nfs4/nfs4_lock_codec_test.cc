// NFSv4 byte-range lock codecs: LOCK4args with both locker4 arms, LOCKT4args,
// LOCKU4args, RELEASE_LOCKOWNER4args and LOCK4denied (RFC 8881 §18.10-18.12,
// RFC 7530 §16.37).
#include <gtest/gtest.h>

#include <string>

#include "protocol/nfs4/nfs4.h"
#include "tests/protocol/nfs3/nfs3_test_util.h"

namespace nasd::nfs4 {
namespace {

using testutil::Wire;

void put_stateid(Wire& w, std::uint32_t seqid, std::uint8_t fill) {
  w.enc.u32(seqid);
  std::array<std::uint8_t, 12> other;
  other.fill(fill);
  w.enc.fixed_opaque(other);
}

TEST(Nfs4LockCodec, LockWithOpenToLockOwnerDecodesEveryField) {
  Wire w;
  w.enc.u32(kWritewLt);
  w.enc.boolean(true);   // reclaim
  w.enc.u64(100);
  w.enc.u64(~std::uint64_t{0});
  w.enc.boolean(true);   // new_lock_owner: open_to_lock_owner4
  w.enc.u32(5);          // open_seqid
  put_stateid(w, 2, 0xaa);
  w.enc.u32(9);          // lock_seqid
  w.enc.u64(0x1122334455667788ULL);
  w.enc.string("owner");
  auto d = w.decoder();
  LockArgs a;
  ASSERT_TRUE(decode(d, a));
  EXPECT_EQ(a.locktype, kWritewLt);
  EXPECT_TRUE(a.reclaim);
  EXPECT_EQ(a.offset, 100u);
  EXPECT_EQ(a.length, ~std::uint64_t{0});
  EXPECT_TRUE(a.new_lock_owner);
  EXPECT_EQ(a.open_seqid, 5u);
  EXPECT_EQ(a.open_stateid.seqid, 2u);
  EXPECT_EQ(a.open_stateid.other[11], 0xaa);
  EXPECT_EQ(a.lock_seqid, 9u);
  EXPECT_EQ(a.lock_owner.clientid, 0x1122334455667788ULL);
  EXPECT_EQ(std::string(a.lock_owner.owner.begin(), a.lock_owner.owner.end()), "owner");
  EXPECT_EQ(d.remaining(), 0u);
}

TEST(Nfs4LockCodec, LockWithExistLockOwnerDecodesStateidAndSeqid) {
  Wire w;
  w.enc.u32(kReadLt);
  w.enc.boolean(false);
  w.enc.u64(0);
  w.enc.u64(10);
  w.enc.boolean(false);  // exist_lock_owner4
  put_stateid(w, 3, 0x55);
  w.enc.u32(4);
  auto d = w.decoder();
  LockArgs a;
  ASSERT_TRUE(decode(d, a));
  EXPECT_FALSE(a.new_lock_owner);
  EXPECT_EQ(a.lock_stateid.seqid, 3u);
  EXPECT_EQ(a.lock_stateid.other[0], 0x55);
  EXPECT_EQ(a.lock_seqid, 4u);
}

TEST(Nfs4LockCodec, UnknownLockTypeAndTruncatedArgumentsFail) {
  Wire w;
  w.enc.u32(5);  // no such nfs_lock_type4
  w.enc.boolean(false);
  w.enc.u64(0);
  w.enc.u64(1);
  w.enc.boolean(false);
  put_stateid(w, 1, 1);
  w.enc.u32(1);
  auto d = w.decoder();
  LockArgs a;
  EXPECT_FALSE(decode(d, a));
  Wire t;
  t.enc.u32(kReadLt);
  t.enc.u32(1);  // seqid, then the stateid is missing
  auto d2 = t.decoder();
  LockuArgs u;
  EXPECT_FALSE(decode(d2, u));
}

TEST(Nfs4LockCodec, LocktLockuAndReleaseLockownerDecode) {
  Wire w;
  w.enc.u32(kWriteLt);
  w.enc.u64(1);
  w.enc.u64(2);
  w.enc.u64(77);
  w.enc.string("lo");
  auto d = w.decoder();
  LocktArgs t;
  ASSERT_TRUE(decode(d, t));
  EXPECT_EQ(t.offset, 1u);
  EXPECT_EQ(t.length, 2u);
  EXPECT_EQ(t.owner.clientid, 77u);

  Wire u;
  u.enc.u32(kReadLt);
  u.enc.u32(6);
  put_stateid(u, 7, 9);
  u.enc.u64(3);
  u.enc.u64(4);
  auto d2 = u.decoder();
  LockuArgs l;
  ASSERT_TRUE(decode(d2, l));
  EXPECT_EQ(l.seqid, 6u);
  EXPECT_EQ(l.lock_stateid.seqid, 7u);
  EXPECT_EQ(l.offset, 3u);
  EXPECT_EQ(l.length, 4u);

  Wire r;
  r.enc.u64(88);
  r.enc.string("x");
  auto d3 = r.decoder();
  ReleaseLockownerArgs rl;
  ASSERT_TRUE(decode(d3, rl));
  EXPECT_EQ(rl.owner.clientid, 88u);
  EXPECT_EQ(rl.owner.owner.size(), 1u);
}

TEST(Nfs4LockCodec, LockDeniedEncodesRangeTypeAndOwner) {
  LockDenied den;
  den.offset = 10;
  den.length = 20;
  den.locktype = kWriteLt;
  den.clientid = 0x0102030405060708ULL;
  den.owner = {'a', 'b', 'c'};
  Wire w;
  encode_lock_denied(w.enc, den);
  auto d = w.decoder();
  EXPECT_EQ(d.u64(), 10u);
  EXPECT_EQ(d.u64(), 20u);
  EXPECT_EQ(d.u32(), kWriteLt);
  EXPECT_EQ(d.u64(), 0x0102030405060708ULL);
  auto owner = d.opaque(16);
  EXPECT_EQ(std::string(owner.begin(), owner.end()), "abc");
  EXPECT_EQ(d.remaining(), 0u);
}

}  // namespace
}  // namespace nasd::nfs4
