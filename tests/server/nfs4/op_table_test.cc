// The NFSv4 operation table (server/nfs4/op_table.h): which numbers are
// operations of which minor version, NOTSUPP for what nasd does not serve,
// names for metrics, and rows that are complete and consistent.
#include <gtest/gtest.h>

#include <string>

#include "server/nfs4/op_table.h"

namespace nasd::server {
namespace {

using nfs4::Nfsstat4;
using nfs4::Op;

constexpr std::uint32_t num(Op op) { return static_cast<std::uint32_t>(op); }

TEST(Nfs4OpTable, NumbersOutsideTheMinorVersionAreIllegal) {
  const auto& t = nfs4_op_table();
  Nfsstat4 st = Nfsstat4::kOk;
  for (std::uint32_t op : {0u, 1u, 2u, 76u, 9999u, num(Op::kIllegal)}) {
    for (std::uint32_t minor : {0u, 1u, 2u}) {
      EXPECT_EQ(t.find(op, minor, &st), nullptr) << op;
      EXPECT_EQ(st, Nfsstat4::kOpIllegal) << op << " minor " << minor;
    }
  }
  // RFC 7530's nfs_opnum4 ends at RELEASE_LOCKOWNER; 4.1's at
  // RECLAIM_COMPLETE (RFC 8881 §16.2).
  EXPECT_EQ(t.find(num(Op::kSequence), 0, &st), nullptr);
  EXPECT_EQ(st, Nfsstat4::kOpIllegal);
  EXPECT_EQ(t.find(num(Op::kSeek), 1, &st), nullptr);
  EXPECT_EQ(st, Nfsstat4::kOpIllegal);
  EXPECT_NE(t.find(num(Op::kSeek), 2, &st), nullptr);
  EXPECT_EQ(st, Nfsstat4::kOk);
}

TEST(Nfs4OpTable, FourZeroOnlyOperationsAreNotsuppInLaterMinorVersions) {
  const auto& t = nfs4_op_table();
  Nfsstat4 st = Nfsstat4::kOk;
  for (Op op : {Op::kSetclientid, Op::kSetclientidConfirm, Op::kRenew, Op::kOpenConfirm,
                Op::kReleaseLockowner}) {
    EXPECT_NE(t.find(num(op), 0, &st), nullptr) << t.name(num(op));
    for (std::uint32_t minor : {1u, 2u}) {
      EXPECT_EQ(t.find(num(op), minor, &st), nullptr) << t.name(num(op));
      EXPECT_EQ(st, Nfsstat4::kNotSupp);
    }
  }
}

TEST(Nfs4OpTable, OperationsWithoutARowAreNotsupp) {
  const auto& t = nfs4_op_table();
  Nfsstat4 st = Nfsstat4::kOk;
  for (Op op : {Op::kDelegpurge, Op::kVerify, Op::kNverify, Op::kOpenattr}) {
    EXPECT_EQ(t.find(num(op), 0, &st), nullptr);
    EXPECT_EQ(st, Nfsstat4::kNotSupp) << t.name(num(op));
  }
  for (Op op : {Op::kLayoutget, Op::kWantDelegation, Op::kGetDirDelegation}) {
    EXPECT_EQ(t.find(num(op), 1, &st), nullptr);
    EXPECT_EQ(st, Nfsstat4::kNotSupp) << t.name(num(op));
  }
  EXPECT_EQ(t.find(num(Op::kWriteSame), 2, &st), nullptr);
  EXPECT_EQ(st, Nfsstat4::kNotSupp);
}

TEST(Nfs4OpTable, EveryOperationNumberHasItsRfcName) {
  const auto& t = nfs4_op_table();
  for (std::uint32_t op = 3; op < Nfs4OpTable::kRows; ++op) {
    EXPECT_NE(std::string(t.name(op)), "ILLEGAL") << op;
  }
  EXPECT_STREQ(t.name(num(Op::kSequence)), "SEQUENCE");
  EXPECT_STREQ(t.name(num(Op::kOpenDowngrade)), "OPEN_DOWNGRADE");
  EXPECT_STREQ(t.name(num(Op::kRemovexattr)), "REMOVEXATTR");
  EXPECT_STREQ(t.name(2), "ILLEGAL");
  EXPECT_STREQ(t.name(9999), "ILLEGAL");
}

TEST(Nfs4OpTable, ServedRowsAreCompleteAndTheirFlagsConsistent) {
  const auto& t = nfs4_op_table();
  int served = 0;
  for (std::uint32_t op = 0; op < Nfs4OpTable::kRows; ++op) {
    const Nfs4OpDesc& d = t.rows[op];
    if (!d.decode) {
      EXPECT_EQ(d.run, nullptr) << op;
      continue;
    }
    ++served;
    SCOPED_TRACE(d.name);
    EXPECT_NE(d.run, nullptr);
    EXPECT_LE(d.minor_min, d.minor_max);
    EXPECT_LE(d.minor_max, nfs4::kMaxMinorVersion);
    EXPECT_LE(op, nfs4::last_op(d.minor_min));  // exists in its first minor version
    EXPECT_GE(d.reply_bytes, Nfs4OpTable::kPerOpReply);
    if (d.flags & (kNfs4InlineState | kNfs4AfterInlineState)) {
      EXPECT_TRUE(d.flags & kNfs4Inline);
    }
    if (d.flags & kNfs4SoleOp) {
      EXPECT_TRUE(d.flags & kNfs4Sessionless);
    }
    if (d.inline_if || d.inline_prepare) {
      EXPECT_TRUE(d.flags & kNfs4Inline);
    }
    // What may run inline only reads (OPEN / CLOSE change state, and are
    // marked as doing so).
    if (d.flags & kNfs4Inline) {
      EXPECT_FALSE(d.flags & kNfs4Modifies);
    }
  }
  EXPECT_EQ(served, 53);  // every row op_table.cc sets: none lost, none added unnoticed
}

TEST(Nfs4OpTable, OperationsThatChangeTheFileSystemAreMarked) {
  const auto& t = nfs4_op_table();
  for (Op op : {Op::kSetattr, Op::kWrite, Op::kCreate, Op::kRemove, Op::kRename, Op::kLink,
                Op::kCommit, Op::kAllocate, Op::kDeallocate, Op::kCopy, Op::kClone,
                Op::kSetxattr, Op::kRemovexattr}) {
    EXPECT_TRUE(t.rows[num(op)].flags & kNfs4Modifies) << t.name(num(op));
  }
  for (Op op : {Op::kRead, Op::kGetattr, Op::kLookup, Op::kOpen, Op::kLock, Op::kGetxattr}) {
    EXPECT_FALSE(t.rows[num(op)].flags & kNfs4Modifies) << t.name(num(op));
  }
}

}  // namespace
}  // namespace nasd::server
