// MOUNT v3 codec tests (RFC 1813 appendix I), including byte-for-byte
// agreement with libtirpc.
#include <rpc/xdr.h>

#include <gtest/gtest.h>

#include <array>
#include <string>
#include <vector>

#include "protocol/nfs3/mount3.h"
#include "tests/protocol/nfs3/nfs3_test_util.h"

namespace nasd::mount3 {
namespace {

using testutil::make_fh;
using testutil::Wire;

TEST(Mount3XdrTest, DirpathDecodesAsView) {
  Wire w;
  w.enc.string("/srv/share");
  auto in = w.decoder();
  DirpathArgs a;
  ASSERT_TRUE(decode(in, a));
  EXPECT_EQ(a.dirpath, "/srv/share");
}

TEST(Mount3XdrTest, DirpathLongerThanMntPathLenFails) {
  Wire w;
  w.enc.string(std::string(1025, 'x'));
  auto in = w.decoder();
  DirpathArgs a;
  EXPECT_FALSE(decode(in, a));
}

TEST(Mount3XdrTest, TruncatedDirpathFails) {
  Wire w;
  w.enc.u32(10);
  w.enc.u32(0x2f2f2f2f);
  auto in = w.decoder();
  DirpathArgs a;
  EXPECT_FALSE(decode(in, a));
}

TEST(Mount3XdrTest, MntOkMatchesLibtirpc) {
  storage::FileHandle fh = make_fh(30, 4);
  std::array<std::uint32_t, 1> flavors = {kAuthSys};
  Wire w;
  encode_mnt_ok(w.enc, fh, flavors);

  std::array<char, 256> buf{};
  XDR x;
  xdrmem_create(&x, buf.data(), buf.size(), XDR_ENCODE);
  u_int status = 0, n = fh.size, count = 1, flavor = 1;
  char* p = reinterpret_cast<char*>(fh.data.data());
  ASSERT_TRUE(xdr_u_int(&x, &status));
  ASSERT_TRUE(xdr_bytes(&x, &p, &n, 64));
  ASSERT_TRUE(xdr_u_int(&x, &count));
  ASSERT_TRUE(xdr_u_int(&x, &flavor));
  std::vector<std::uint8_t> want(buf.begin(), buf.begin() + xdr_getpos(&x));
  xdr_destroy(&x);
  EXPECT_EQ(w.bytes(), want);
}

TEST(Mount3XdrTest, MntErrorIsStatusOnly) {
  Wire w;
  encode_mnt_error(w.enc, Mountstat3::kAcces);
  EXPECT_EQ(w.bytes(), (std::vector<std::uint8_t>{0, 0, 0, 13}));
}

TEST(Mount3XdrTest, MountlistMatchesLibtirpcAndRoundTrips) {
  std::vector<MountEntry> list = {{"10.0.0.1", "/srv/a"}, {"client.example", "/srv/bb"}};
  Wire w;
  encode_mountlist(w.enc, list);
  EXPECT_EQ(w.enc.position(), mountlist_size(list));

  std::array<char, 512> buf{};
  XDR x;
  xdrmem_create(&x, buf.data(), buf.size(), XDR_ENCODE);
  for (const MountEntry& e : list) {
    bool_t more = 1;
    char* h = const_cast<char*>(e.hostname.c_str());
    char* d = const_cast<char*>(e.directory.c_str());
    ASSERT_TRUE(xdr_bool(&x, &more));
    ASSERT_TRUE(xdr_string(&x, &h, 255));
    ASSERT_TRUE(xdr_string(&x, &d, 1024));
  }
  bool_t end = 0;
  ASSERT_TRUE(xdr_bool(&x, &end));
  std::vector<std::uint8_t> want(buf.begin(), buf.begin() + xdr_getpos(&x));
  xdr_destroy(&x);
  EXPECT_EQ(w.bytes(), want);

  auto in = w.decoder();
  std::vector<MountEntry> back;
  ASSERT_TRUE(decode_mountlist(in, back));
  EXPECT_EQ(back, list);
}

TEST(Mount3XdrTest, EmptyMountlistIsOneFalseWord) {
  Wire w;
  encode_mountlist(w.enc, {});
  EXPECT_EQ(w.bytes(), (std::vector<std::uint8_t>{0, 0, 0, 0}));
}

TEST(Mount3XdrTest, ExportsRoundTripWithGroups) {
  std::vector<ExportNode> nodes = {{"/srv/a", {"*"}}, {"/srv/b", {"10.0.0.0/8", "host1"}},
                                   {"/srv/c", {}}};
  Wire w;
  encode_exports(w.enc, nodes);
  EXPECT_EQ(w.enc.position(), exports_size(nodes));
  auto in = w.decoder();
  std::vector<ExportNode> back;
  ASSERT_TRUE(decode_exports(in, back));
  EXPECT_EQ(back, nodes);
  EXPECT_EQ(in.remaining(), 0u);
}

TEST(Mount3XdrTest, TruncatedExportsFails) {
  Wire w;
  std::vector<ExportNode> nodes = {{"/srv/a", {"*"}}};
  encode_exports(w.enc, nodes);
  auto bytes = w.bytes();
  bytes.resize(bytes.size() - 4);  // drop the list end
  xdr::XdrDecoder in(bytes);
  std::vector<ExportNode> back;
  EXPECT_FALSE(decode_exports(in, back));
}

}  // namespace
}  // namespace nasd::mount3
