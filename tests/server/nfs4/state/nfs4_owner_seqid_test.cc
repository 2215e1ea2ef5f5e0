// OwnerSeqid: the NFSv4.0 state-owner seqid rules and one-reply replay cache
// (RFC 7530 §9.1.7, §9.1.8).
#include <gtest/gtest.h>

#include <vector>

#include "server/nfs4/state/owner_seqid.h"

namespace nasd::server {
namespace {

using nfs4::Nfsstat4;
using Check = OwnerSeqid::Check;

TEST(OwnerSeqidTest, NewOwnerAcceptsAnyFirstSeqid) {
  OwnerSeqid o;
  EXPECT_FALSE(o.started());
  EXPECT_EQ(o.check(0), Check::kNew);
  EXPECT_EQ(o.check(12345), Check::kNew);
}

TEST(OwnerSeqidTest, NextSeqidIsNewSameIsReplayOthersAreBad) {
  OwnerSeqid o;
  o.record(7, Nfsstat4::kOk, {});
  EXPECT_TRUE(o.started());
  EXPECT_EQ(o.last_seqid(), 7u);
  EXPECT_EQ(o.check(8), Check::kNew);
  EXPECT_EQ(o.check(7), Check::kReplay);
  EXPECT_EQ(o.check(6), Check::kBad);
  EXPECT_EQ(o.check(9), Check::kBad);
  EXPECT_EQ(o.check(0), Check::kBad);
}

TEST(OwnerSeqidTest, SeqidWrapsFromMaxToZero) {
  OwnerSeqid o;
  o.record(0xffffffffu, Nfsstat4::kOk, {});
  EXPECT_EQ(o.check(0), Check::kNew);
  EXPECT_EQ(o.check(1), Check::kBad);
}

TEST(OwnerSeqidTest, ReplayReturnsTheCachedStatusAndBody) {
  OwnerSeqid o;
  const std::vector<std::uint8_t> body{1, 2, 3, 4, 5, 6, 7, 8};
  o.record(3, Nfsstat4::kOk, body);
  ASSERT_EQ(o.check(3), Check::kReplay);
  EXPECT_EQ(o.reply_status(), Nfsstat4::kOk);
  EXPECT_EQ(std::vector<std::uint8_t>(o.reply_body().begin(), o.reply_body().end()), body);
  o.record(4, Nfsstat4::kShareDenied, {});
  EXPECT_EQ(o.reply_status(), Nfsstat4::kShareDenied);
  EXPECT_TRUE(o.reply_body().empty());
}

TEST(OwnerSeqidTest, OrdinaryErrorsConsumeTheSeqid) {
  for (Nfsstat4 st : {Nfsstat4::kNoEnt, Nfsstat4::kAccess, Nfsstat4::kShareDenied,
                      Nfsstat4::kOldStateid, Nfsstat4::kExpired, Nfsstat4::kInval}) {
    OwnerSeqid o;
    o.record(1, Nfsstat4::kOk, {});
    o.record(2, st, {});
    EXPECT_EQ(o.last_seqid(), 2u) << static_cast<int>(st);
    EXPECT_EQ(o.check(2), Check::kReplay);
    EXPECT_EQ(o.check(3), Check::kNew);
  }
}

TEST(OwnerSeqidTest, TheRfcListOfErrorsDoesNotConsumeTheSeqid) {
  // RFC 7530 §9.1.7: the client does not advance its seqid after these.
  for (Nfsstat4 st : {Nfsstat4::kStaleClientid, Nfsstat4::kStaleStateid, Nfsstat4::kBadStateid,
                      Nfsstat4::kBadSeqid, Nfsstat4::kBadXdr, Nfsstat4::kResource,
                      Nfsstat4::kNoFileHandle, Nfsstat4::kMoved}) {
    EXPECT_FALSE(OwnerSeqid::bumps_seqid(st)) << static_cast<int>(st);
    OwnerSeqid o;
    o.record(1, Nfsstat4::kOk, {});
    o.record(2, st, {});
    EXPECT_EQ(o.last_seqid(), 1u) << static_cast<int>(st);
    EXPECT_EQ(o.check(2), Check::kNew) << "the same seqid is sent again as a new request";
    EXPECT_EQ(o.reply_status(), Nfsstat4::kOk) << "the cached reply is still the old one";
  }
  EXPECT_TRUE(OwnerSeqid::bumps_seqid(Nfsstat4::kOk));
}

TEST(OwnerSeqidTest, NonBumpingErrorLeavesABrandNewOwnerNew) {
  OwnerSeqid o;
  o.record(5, Nfsstat4::kBadStateid, {});
  EXPECT_FALSE(o.started());
  EXPECT_EQ(o.check(99), Check::kNew);
}

TEST(OwnerSeqidTest, OversizedBodyIsNotCachedButTheStatusIs) {
  OwnerSeqid o;
  std::vector<std::uint8_t> big(OwnerSeqid::kMaxReply + 1, 0xab);
  o.record(1, Nfsstat4::kOk, big);
  EXPECT_EQ(o.check(1), Check::kReplay);
  EXPECT_TRUE(o.reply_body().empty());
  std::vector<std::uint8_t> fits(OwnerSeqid::kMaxReply, 0xcd);
  o.record(2, Nfsstat4::kOk, fits);
  EXPECT_EQ(o.reply_body().size(), OwnerSeqid::kMaxReply);
}

}  // namespace
}  // namespace nasd::server
