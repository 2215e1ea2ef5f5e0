// NFSv4 owner strings (RFC 7530 §5.9, RFC 8881 §5.9): decimal ids,
// name@domain through the server's passwd/group with the configured
// domain, another domain or an unknown name NFS4ERR_BADOWNER.
#include <gtest/gtest.h>

#include <grp.h>
#include <pwd.h>

#include "server/nfs4/idmap.h"

namespace nasd::server {
namespace {

using nfs4::Nfsstat4;

TEST(Nfs4IdMap, DecimalIdsAreTakenAsIs) {
  Nfs4IdMap m("example.org");
  EXPECT_EQ(m.to_id("1000", false), 1000u);
  EXPECT_EQ(m.to_id("1000", true), 1000u);
  EXPECT_EQ(m.to_id("0", false), 0u);
  EXPECT_EQ(m.to_id("4294967295", false), 4294967295u);
}

TEST(Nfs4IdMap, NameAtTheServersDomainMapsThroughPasswdAndGroup) {
  ASSERT_NE(::getpwnam("root"), nullptr);
  ASSERT_NE(::getgrnam("root"), nullptr);
  Nfs4IdMap m("example.org");
  EXPECT_EQ(m.to_id("root@example.org", false), 0u);
  EXPECT_EQ(m.to_id("root@example.org", true), 0u);
  EXPECT_EQ(m.to_id("root@Example.ORG", false), 0u) << "DNS domains compare without case";
  const struct passwd* daemon = ::getpwnam("daemon");
  ASSERT_NE(daemon, nullptr);
  EXPECT_EQ(m.to_id("daemon@example.org", false), daemon->pw_uid);
}

TEST(Nfs4IdMap, BareNameMapsLikeTheServersDomain) {
  Nfs4IdMap m("example.org");
  EXPECT_EQ(m.to_id("root", false), 0u);
  EXPECT_EQ(m.to_id("root", true), 0u);
}

TEST(Nfs4IdMap, NameAtAnotherDomainDoesNotMap) {
  Nfs4IdMap m("example.org");
  EXPECT_EQ(m.to_id("root@otherdomain", false), std::nullopt);
  EXPECT_EQ(m.to_id("root@example.org.evil", true), std::nullopt);
  EXPECT_EQ(m.to_id("root@", false), std::nullopt);
}

TEST(Nfs4IdMap, UnknownNamesAndMalformedStringsDoNotMap) {
  Nfs4IdMap m("example.org");
  EXPECT_EQ(m.to_id("no-such-user-xyz@example.org", false), std::nullopt);
  EXPECT_EQ(m.to_id("no-such-group-xyz@example.org", true), std::nullopt);
  EXPECT_EQ(m.to_id("", false), std::nullopt);
  EXPECT_EQ(m.to_id("@example.org", false), std::nullopt);
  EXPECT_EQ(m.to_id("12abc", false), std::nullopt);
  EXPECT_EQ(m.to_id("-1", false), std::nullopt);
  EXPECT_EQ(m.to_id("4294967296", false), std::nullopt) << "beyond 32 bits";
}

TEST(Nfs4IdMap, ResolveSetsTheIdsOrIsBadOwner) {
  Nfs4IdMap m("example.org");
  nfs4::SetAttrs a;
  a.owner_name = "1000";
  a.group_name = "root@example.org";
  EXPECT_EQ(m.resolve(a), Nfsstat4::kOk);
  EXPECT_EQ(a.set.uid, 1000u);
  EXPECT_EQ(a.set.gid, 0u);
  nfs4::SetAttrs bad;
  bad.owner_name = "root@otherdomain";
  EXPECT_EQ(m.resolve(bad), Nfsstat4::kBadOwner);
  nfs4::SetAttrs bad_group;
  bad_group.group_name = "no-such-group-xyz";
  EXPECT_EQ(m.resolve(bad_group), Nfsstat4::kBadOwner);
  nfs4::SetAttrs none;
  EXPECT_EQ(m.resolve(none), Nfsstat4::kOk);
  EXPECT_FALSE(none.set.uid);
}

TEST(Nfs4IdMap, EmptyDomainMeansTheHostsDomain) {
  Nfs4IdMap m;
  EXPECT_EQ(m.domain(), Nfs4IdMap::host_domain());
  EXPECT_FALSE(m.domain().empty());
  EXPECT_EQ(m.to_id("root@" + m.domain(), false), 0u);
}

}  // namespace
}  // namespace nasd::server
