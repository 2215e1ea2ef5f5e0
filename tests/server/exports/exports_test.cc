// Tests for server/exports/exports.h: exports(5) parsing, matching and squashing.
#include "server/exports/exports.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <array>

namespace nasd::server {
namespace {

using boost::asio::ip::make_address;
using ::testing::HasSubstr;

ExportTable parse_ok(std::string_view text) {
  auto r = parse_exports(text, "exports");
  if (auto* e = std::get_if<ExportsError>(&r)) {
    ADD_FAILURE() << "unexpected error: " << e->to_string();
    return {};
  }
  return std::get<ExportTable>(std::move(r));
}

ExportsError parse_err(std::string_view text) {
  auto r = parse_exports(text, "exports");
  if (auto* e = std::get_if<ExportsError>(&r)) return *e;
  ADD_FAILURE() << "expected an error, got:\n" << std::get<ExportTable>(r).to_string();
  return {};
}

// ---------------------------------------------------------------------------
// Good input

TEST(ExportsParse, DefaultsFollowExports5WhenNoOptionsGiven) {
  auto t = parse_ok("/srv *\n");
  ASSERT_EQ(t.exports().size(), 1u);
  const Export& e = t.exports()[0];
  EXPECT_EQ(e.path, "/srv");
  EXPECT_EQ(e.pseudo, "/srv");
  ASSERT_EQ(e.clients.size(), 1u);
  EXPECT_EQ(e.clients[0].kind, ClientSpec::Kind::kAny);
  EXPECT_EQ(e.clients[0].options, ExportOptions{});
  EXPECT_TRUE(e.clients[0].options.read_only);
  EXPECT_EQ(e.clients[0].options.squash, ExportOptions::Squash::kRoot);
  EXPECT_TRUE(e.clients[0].options.sync);
  EXPECT_TRUE(e.clients[0].options.secure);
}

TEST(ExportsParse, SecSysAloneRefusesAuthNoneAndTheDefaultAllowsIt) {
  auto t = parse_ok("/a *(sec=sys)\n/b *(sec=sys:none)\n/c *(sec=none:sys)\n/d *(rw)\n");
  ASSERT_EQ(t.exports().size(), 4u);
  EXPECT_FALSE(t.exports()[0].clients[0].options.auth_none);
  EXPECT_TRUE(t.exports()[1].clients[0].options.auth_none);
  EXPECT_TRUE(t.exports()[2].clients[0].options.auth_none);
  EXPECT_TRUE(t.exports()[3].clients[0].options.auth_none);
  const std::string s = t.to_string();
  EXPECT_THAT(s, HasSubstr("/a *(ro,root_squash,anonuid=65534,anongid=65534,sync,secure,sec=sys,fsid="));
}

TEST(ExportsParse, EveryOptionIsApplied) {
  auto t = parse_ok(
      "/a *(rw,no_root_squash,anonuid=1000,anongid=2000,async,insecure,fsid=7,pseudo=/pa,"
      "sec=sys,subtree_check,no_subtree_check,wdelay,no_wdelay,hide,nohide,crossmnt)\n"
      "/b *(ro,root_squash,sync,secure)\n"
      "/c *(all_squash)\n"
      "/d *(all_squash,no_all_squash)\n"
      "/e *(all_squash,no_root_squash)\n"
      "/f *(no_root_squash,root_squash)\n");
  ASSERT_EQ(t.exports().size(), 6u);
  const Export& a = t.exports()[0];
  const ExportOptions& o = a.clients[0].options;
  EXPECT_FALSE(o.read_only);
  EXPECT_EQ(o.squash, ExportOptions::Squash::kNone);
  EXPECT_EQ(o.anonuid, 1000u);
  EXPECT_EQ(o.anongid, 2000u);
  EXPECT_FALSE(o.sync);
  EXPECT_FALSE(o.secure);
  EXPECT_EQ(a.id, 7u);
  EXPECT_EQ(a.pseudo, "/pa");

  const ExportOptions& b = t.exports()[1].clients[0].options;
  EXPECT_TRUE(b.read_only);
  EXPECT_EQ(b.squash, ExportOptions::Squash::kRoot);
  EXPECT_TRUE(b.sync);
  EXPECT_TRUE(b.secure);

  EXPECT_EQ(t.exports()[2].clients[0].options.squash, ExportOptions::Squash::kAll);
  EXPECT_EQ(t.exports()[3].clients[0].options.squash, ExportOptions::Squash::kRoot);
  EXPECT_EQ(t.exports()[4].clients[0].options.squash, ExportOptions::Squash::kAll);
  EXPECT_EQ(t.exports()[5].clients[0].options.squash, ExportOptions::Squash::kRoot);
}

TEST(ExportsParse, SeveralClientsKeepOrderAndOwnOptions) {
  auto t = parse_ok("/srv 10.0.0.1(rw) 192.168.0.0/16(ro,all_squash) 2001:db8::/32(rw) *(ro)\n");
  const auto& c = t.exports()[0].clients;
  ASSERT_EQ(c.size(), 4u);
  EXPECT_EQ(c[0].kind, ClientSpec::Kind::kAddress);
  EXPECT_EQ(c[0].address, make_address("10.0.0.1"));
  EXPECT_FALSE(c[0].options.read_only);
  EXPECT_EQ(c[1].kind, ClientSpec::Kind::kCidr);
  EXPECT_EQ(c[1].address, make_address("192.168.0.0"));
  EXPECT_EQ(c[1].prefix_length, 16u);
  EXPECT_EQ(c[1].options.squash, ExportOptions::Squash::kAll);
  EXPECT_EQ(c[2].kind, ClientSpec::Kind::kCidr);
  EXPECT_EQ(c[2].address, make_address("2001:db8::"));
  EXPECT_EQ(c[2].prefix_length, 32u);
  EXPECT_EQ(c[3].kind, ClientSpec::Kind::kAny);
}

TEST(ExportsParse, CidrHostBitsAreMaskedAndNetmaskFormAccepted) {
  auto t = parse_ok("/srv 10.1.2.3/8 172.16.5.5/255.255.0.0 2001:db8:ffff::1/33\n");
  const auto& c = t.exports()[0].clients;
  EXPECT_EQ(c[0].address, make_address("10.0.0.0"));
  EXPECT_EQ(c[1].address, make_address("172.16.0.0"));
  EXPECT_EQ(c[1].prefix_length, 16u);
  EXPECT_EQ(c[2].address, make_address("2001:db8:8000::"));
}

TEST(ExportsParse, QuotedPathWithSpaces) {
  auto t = parse_ok("\"/srv/my share\" *(rw)\n");
  ASSERT_EQ(t.exports().size(), 1u);
  EXPECT_EQ(t.exports()[0].path, "/srv/my share");
  EXPECT_NE(t.find_by_path("/srv/my share"), nullptr);
}

TEST(ExportsParse, ContinuationCommentsAndBlankLines) {
  auto t = parse_ok(
      "# leading comment\n"
      "\n"
      "   \t\n"
      "/a 10.0.0.1(rw) \\\n"
      "   10.0.0.2(ro)   # trailing comment\n"
      "/b *\r\n");
  ASSERT_EQ(t.exports().size(), 2u);
  ASSERT_EQ(t.exports()[0].clients.size(), 2u);
  EXPECT_EQ(t.exports()[0].clients[1].address, make_address("10.0.0.2"));
  EXPECT_EQ(t.exports()[1].path, "/b");
}

TEST(ExportsParse, ErrorsAfterContinuationReportThePhysicalLine) {
  auto e = parse_err("/a 10.0.0.1(rw) \\\n  10.0.0.2(bogus)\n");
  EXPECT_EQ(e.line, 2u);
  EXPECT_THAT(e.reason, HasSubstr("'bogus'"));
}

TEST(ExportsParse, PathsAreNormalised) {
  auto t = parse_ok("//srv//data/./x/ *\n/ *\n");
  EXPECT_EQ(t.exports()[0].path, "/srv/data/x");
  EXPECT_EQ(t.exports()[1].path, "/");
  EXPECT_NE(t.find_by_path("/srv/data/x/"), nullptr);
  EXPECT_EQ(t.find_by_path("/srv/data"), nullptr);
  EXPECT_EQ(t.find_by_path("srv/data/x"), nullptr);
}

TEST(ExportsParse, HostNameIsResolved) {
  auto t = parse_ok("/srv localhost(rw)\n");
  const ClientSpec& c = t.exports()[0].clients[0];
  EXPECT_EQ(c.kind, ClientSpec::Kind::kHostName);
  EXPECT_EQ(c.text, "localhost");
  ASSERT_FALSE(c.resolved.empty());
  EXPECT_TRUE(c.matches(make_address("127.0.0.1")) || c.matches(make_address("::1")));
  EXPECT_FALSE(c.matches(make_address("192.0.2.1")));
}

TEST(ExportsParse, IdIsStableHashOfPathUnlessFsidGiven) {
  auto t1 = parse_ok("/srv/a *\n/srv/b *\n");
  auto t2 = parse_ok("/srv/b *\n/srv//a/ *\n");
  const std::uint32_t a1 = t1.find_by_path("/srv/a")->id;
  EXPECT_NE(a1, 0u);
  EXPECT_EQ(a1, t2.find_by_path("/srv/a")->id);
  EXPECT_NE(a1, t1.find_by_path("/srv/b")->id);

  auto t3 = parse_ok("/srv/a *(fsid=0)\n/srv/b *(fsid=4294967295)\n");
  EXPECT_EQ(t3.find_by_path("/srv/a")->id, 0u);
  EXPECT_EQ(t3.find_by_id(4294967295u)->path, "/srv/b");
  EXPECT_EQ(t3.find_by_id(a1), nullptr);
}

TEST(ExportsParse, EmptyTextGivesEmptyTable) {
  EXPECT_TRUE(parse_ok("# nothing\n\n").exports().empty());
}

TEST(ExportsParse, BareParenthesesMeanEveryone) {
  auto t = parse_ok("/pub (ro,insecure)\n");
  EXPECT_EQ(t.exports()[0].clients[0].kind, ClientSpec::Kind::kAny);
  EXPECT_FALSE(t.exports()[0].clients[0].options.secure);
}

// ---------------------------------------------------------------------------
// Bad input: each error names the line and the reason.

struct BadCase {
  const char* text;
  unsigned line;
  const char* reason_part;
};

class ExportsParseErrors : public ::testing::TestWithParam<BadCase> {};

TEST_P(ExportsParseErrors, ReportLineAndReason) {
  const BadCase& c = GetParam();
  auto e = parse_err(c.text);
  EXPECT_EQ(e.source, "exports");
  EXPECT_EQ(e.line, c.line) << e.to_string();
  EXPECT_THAT(e.reason, HasSubstr(c.reason_part)) << e.to_string();
}

INSTANTIATE_TEST_SUITE_P(
    BadLines, ExportsParseErrors,
    ::testing::Values(
        BadCase{"/ok *\n/srv *(rw,frobnicate)\n", 2, "unknown export option 'frobnicate'"},
        BadCase{"/srv *(rw=1)\n", 1, "'rw' takes no value"},
        BadCase{"/srv *(anonuid)\n", 1, "'anonuid' needs a value"},
        BadCase{"/srv *(anonuid=-1)\n", 1, "bad anonuid '-1'"},
        BadCase{"/srv *(anongid=4294967296)\n", 1, "bad anongid '4294967296'"},
        BadCase{"/srv *(fsid=root)\n", 1, "bad fsid 'root'"},
        BadCase{"/srv *(sec=krb5)\n", 1, "unsupported security flavour 'krb5'"},
        BadCase{"/srv *(sec=sys:krb5p)\n", 1, "unsupported security flavour 'krb5p'"},
        BadCase{"/srv *(sec=none)\n", 1, "must include sys"},
        BadCase{"/srv *(rw,,sync)\n", 1, "empty option"},
        BadCase{"#c\n\n/srv 10.0.0.0/33(rw)\n", 3, "bad prefix length /33"},
        BadCase{"/srv 2001:db8::/129\n", 1, "bad prefix length /129"},
        BadCase{"/srv 10.0.0.0/x\n", 1, "bad prefix length /x"},
        BadCase{"/srv 10.0.0.0/255.0.255.0\n", 1, "not contiguous"},
        BadCase{"/srv 10.0.0.300/8\n", 1, "bad network address"},
        BadCase{"srv *(rw)\n", 1, "must be absolute: 'srv'"},
        BadCase{"/srv/../etc *\n", 1, "must not contain '..'"},
        BadCase{"/srv *(pseudo=../x)\n", 1, "pseudo path must be absolute"},
        BadCase{"/a *\n/b *\n/a/ *(rw)\n", 3, "duplicate export path '/a'"},
        BadCase{"/a *(fsid=5)\n/b *(fsid=5)\n", 2, "export id 5"},
        BadCase{"/a *(pseudo=/x)\n/b *(pseudo=/x)\n", 2, "duplicate pseudo path '/x'"},
        BadCase{"/a 10.0.0.1(fsid=1) 10.0.0.2(fsid=2)\n", 1, "conflicting fsid"},
        BadCase{"/srv no-such-host.invalid(rw)\n", 1, "'no-such-host.invalid'"},
        BadCase{"/srv *(rw\n", 1, "missing ')'"},
        BadCase{"/srv *(rw)x\n", 1, "unexpected text after ')'"},
        BadCase{"/srv *rw)\n", 1, "unexpected ')'"},
        BadCase{"/srv @trusted(rw)\n", 1, "netgroups are not supported"},
        BadCase{"/srv *.example.com(rw)\n", 1, "wildcard host names are not supported"},
        BadCase{"/srv bad!host(rw)\n", 1, "invalid client 'bad!host'"},
        BadCase{"\n/srv\n", 2, "no clients"},
        BadCase{"\"/srv *(rw)\n", 1, "unterminated double-quoted string"},
        BadCase{"\"\" *\n", 1, "empty export path"}));

TEST(ExportsError, ToStringIsSourceLineReason) {
  EXPECT_EQ((ExportsError{"/etc/exports", 12, "bad thing"}.to_string()), "/etc/exports:12: bad thing");
  EXPECT_EQ((ExportsError{"/etc/exports", 0, "unreadable"}.to_string()), "/etc/exports: unreadable");
}

TEST(ExportsParse, MultipleSourcesDetectDuplicatesAcrossThem) {
  const std::array<ExportsText, 2> texts{ExportsText{"/a *\n", "file", 1},
                                         ExportsText{"/a *(rw)", "--export", 3}};
  auto r = parse_exports(texts);
  ASSERT_TRUE(std::holds_alternative<ExportsError>(r));
  const auto& e = std::get<ExportsError>(r);
  EXPECT_EQ(e.to_string(), "--export:3: duplicate export path '/a' (first at file:1)");
}

// ---------------------------------------------------------------------------
// Matching

TEST(ClientSpecMatches, IPv4CidrMatchesPlainAndMappedPeers) {
  auto t = parse_ok("/srv 10.0.0.0/8\n");
  const ClientSpec& c = t.exports()[0].clients[0];
  EXPECT_TRUE(c.matches(make_address("10.0.0.1")));
  EXPECT_TRUE(c.matches(make_address("10.255.255.255")));
  EXPECT_TRUE(c.matches(make_address("::ffff:10.0.0.1")));
  EXPECT_FALSE(c.matches(make_address("11.0.0.1")));
  EXPECT_FALSE(c.matches(make_address("::ffff:11.0.0.1")));
  EXPECT_FALSE(c.matches(make_address("::a00:1")));  // IPv4-compatible, not mapped
}

TEST(ClientSpecMatches, NonByteAlignedPrefix) {
  auto t = parse_ok("/srv 192.168.4.0/22\n");
  const ClientSpec& c = t.exports()[0].clients[0];
  EXPECT_TRUE(c.matches(make_address("192.168.7.255")));
  EXPECT_FALSE(c.matches(make_address("192.168.8.0")));
  EXPECT_FALSE(c.matches(make_address("192.168.3.255")));
}

TEST(ClientSpecMatches, ZeroPrefixMatchesWholeFamily) {
  auto t = parse_ok("/srv 0.0.0.0/0\n");
  const ClientSpec& c = t.exports()[0].clients[0];
  EXPECT_TRUE(c.matches(make_address("1.2.3.4")));
  EXPECT_FALSE(c.matches(make_address("2001:db8::1")));
}

TEST(ClientSpecMatches, IPv6Prefix) {
  auto t = parse_ok("/srv 2001:db8:abcd::/48\n");
  const ClientSpec& c = t.exports()[0].clients[0];
  EXPECT_TRUE(c.matches(make_address("2001:db8:abcd:1::5")));
  EXPECT_FALSE(c.matches(make_address("2001:db8:abce::5")));
  EXPECT_FALSE(c.matches(make_address("10.0.0.1")));
}

TEST(ClientSpecMatches, SingleAddressBothWaysMapped) {
  auto t = parse_ok("/srv 10.0.0.1 ::ffff:10.0.0.2 2001:db8::7\n");
  const auto& c = t.exports()[0].clients;
  EXPECT_TRUE(c[0].matches(make_address("10.0.0.1")));
  EXPECT_TRUE(c[0].matches(make_address("::ffff:10.0.0.1")));
  EXPECT_FALSE(c[0].matches(make_address("10.0.0.2")));
  EXPECT_TRUE(c[1].matches(make_address("10.0.0.2")));
  EXPECT_TRUE(c[2].matches(make_address("2001:db8::7")));
  EXPECT_FALSE(c[2].matches(make_address("2001:db8::8")));
}

TEST(ClientSpecMatches, IPv6MappedPrefixMatchesIPv4Peer) {
  auto t = parse_ok("/srv ::ffff:10.0.0.0/104\n");
  const ClientSpec& c = t.exports()[0].clients[0];
  EXPECT_TRUE(c.matches(make_address("10.9.8.7")));
  EXPECT_TRUE(c.matches(make_address("::ffff:10.9.8.7")));
  EXPECT_FALSE(c.matches(make_address("11.0.0.1")));
}

TEST(ExportOptionsFor, FirstMatchingClientWins) {
  auto t = parse_ok("/srv 10.0.0.1(rw,no_root_squash) 10.0.0.0/8(ro) \n");
  const Export& e = t.exports()[0];
  auto o1 = e.options_for(make_address("10.0.0.1"));
  ASSERT_TRUE(o1.has_value());
  EXPECT_FALSE(o1->read_only);
  auto o2 = e.options_for(make_address("::ffff:10.0.0.9"));
  ASSERT_TRUE(o2.has_value());
  EXPECT_TRUE(o2->read_only);
  EXPECT_FALSE(e.options_for(make_address("192.0.2.1")).has_value());
}

// ---------------------------------------------------------------------------
// Squashing

TEST(Squash, RootSquashMapsRootUidGidAndDropsGroupZero) {
  ExportOptions o;  // root_squash by default
  o.anonuid = 4000;
  o.anongid = 5000;
  const std::uint32_t groups[] = {0, 10, 20};
  auto c = squash(o, 0, 0, groups);
  EXPECT_EQ(c.uid, 4000u);
  EXPECT_EQ(c.gid, 5000u);
  ASSERT_EQ(c.ngroups, 2);
  EXPECT_EQ(c.groups[0], 10u);
  EXPECT_EQ(c.groups[1], 20u);

  auto u = squash(o, 1000, 100, groups);
  EXPECT_EQ(u.uid, 1000u);
  EXPECT_EQ(u.gid, 100u);
  EXPECT_EQ(u.ngroups, 2);
}

TEST(Squash, AllSquashMapsEveryoneAndDropsGroups) {
  ExportOptions o;
  o.squash = ExportOptions::Squash::kAll;
  o.anonuid = 4000;
  o.anongid = 5000;
  const std::uint32_t groups[] = {10, 20};
  auto c = squash(o, 1000, 100, groups);
  EXPECT_EQ(c.uid, 4000u);
  EXPECT_EQ(c.gid, 5000u);
  EXPECT_EQ(c.ngroups, 0);
}

TEST(Squash, NoRootSquashKeepsRootEvenWithAnonuid) {
  auto t = parse_ok("/srv *(no_root_squash,anonuid=4000,anongid=5000)\n");
  const ExportOptions& o = t.exports()[0].clients[0].options;
  const std::uint32_t groups[] = {0, 7};
  auto c = squash(o, 0, 0, groups);
  EXPECT_EQ(c.uid, 0u);
  EXPECT_EQ(c.gid, 0u);
  ASSERT_EQ(c.ngroups, 2);
  EXPECT_EQ(c.groups[0], 0u);
  EXPECT_EQ(c.groups[1], 7u);
}

TEST(Squash, GroupsBeyondAuthSysLimitAreTruncated) {
  ExportOptions o;
  o.squash = ExportOptions::Squash::kNone;
  std::array<std::uint32_t, 20> groups{};
  for (std::size_t i = 0; i < groups.size(); ++i) groups[i] = static_cast<std::uint32_t>(i + 1);
  auto c = squash(o, 1, 1, groups);
  EXPECT_EQ(c.ngroups, storage::Credentials::kMaxGroups);
  EXPECT_EQ(c.groups[15], 16u);
}

// ---------------------------------------------------------------------------
// to_string

TEST(ExportTableToString, SpellsOutAllOptionsAndRoundTrips) {
  auto t = parse_ok("\"/srv/my share\" 10.0.0.0/8(rw,async) *\n/b localhost(all_squash)\n");
  const std::string s = t.to_string();
  EXPECT_THAT(s, HasSubstr("\"/srv/my share\" 10.0.0.0/8(rw,root_squash,anonuid=65534,"
                           "anongid=65534,async,secure,sec=sys:none,fsid="));
  EXPECT_THAT(s, HasSubstr(" *(ro,root_squash,"));
  EXPECT_THAT(s, HasSubstr("localhost(ro,all_squash,"));
  EXPECT_THAT(s, HasSubstr("# localhost ="));

  auto again = parse_ok(s);
  ASSERT_EQ(again.exports().size(), t.exports().size());
  for (std::size_t i = 0; i < t.exports().size(); ++i) {
    const Export& a = t.exports()[i];
    const Export& b = again.exports()[i];
    EXPECT_EQ(a.path, b.path);
    EXPECT_EQ(a.id, b.id);
    EXPECT_EQ(a.pseudo, b.pseudo);
    ASSERT_EQ(a.clients.size(), b.clients.size());
    for (std::size_t k = 0; k < a.clients.size(); ++k) {
      EXPECT_EQ(a.clients[k].options, b.clients[k].options);
      EXPECT_EQ(a.clients[k].kind, b.clients[k].kind);
    }
  }
}

}  // namespace
}  // namespace nasd::server

namespace nasd::server {
namespace {

// Arbitrary text from the grammar's alphabet never crashes the parser, and an
// error always points at a line that exists.
TEST(ExportsParse, GarbageInputGivesTableOrErrorOnExistingLine) {
  constexpr std::string_view kAlphabet = "/ *()=,.:#\\\"\n\t\r0123456789[]@?-";
  std::uint32_t state = 12345;
  auto next = [&state] {
    state = state * 1103515245u + 12345u;
    return state >> 16;
  };
  for (int round = 0; round < 2000; ++round) {
    std::string text;
    const unsigned len = next() % 80;
    for (unsigned i = 0; i < len; ++i) text.push_back(kAlphabet[next() % kAlphabet.size()]);
    const unsigned lines = static_cast<unsigned>(std::count(text.begin(), text.end(), '\n')) + 1;
    auto r = parse_exports(text, "fuzz");
    if (auto* e = std::get_if<ExportsError>(&r)) {
      EXPECT_GE(e->line, 1u) << text;
      EXPECT_LE(e->line, lines) << text;
      EXPECT_FALSE(e->reason.empty()) << text;
    }
  }
}

}  // namespace
}  // namespace nasd::server
