// NFSv4 codec: COMPOUND header, operation arguments, bitmap4, fattr4
// encoding and settable fattr4 decoding (RFC 8881 §3, §5, §16, §18).
#include <gtest/gtest.h>

#include <cstring>

#include "protocol/nfs4/nfs4.h"
#include "tests/protocol/nfs3/nfs3_test_util.h"

namespace nasd::nfs4 {
namespace {

using testutil::Wire;

TEST(Nfs4Bitmap, EncodeDropsTrailingZeroWords) {
  Bitmap4 b;
  b.set(kType);
  b.set(kMode);
  Wire w;
  encode_bitmap(w.enc, b);
  auto d = w.decoder();
  EXPECT_EQ(d.u32(), 2u);
  EXPECT_EQ(d.u32(), 1u << kType);
  EXPECT_EQ(d.u32(), 1u << (kMode - 32));
  EXPECT_EQ(d.remaining(), 0u);
}

TEST(Nfs4Bitmap, DecodeFlagsBitsBeyondThirdWord) {
  Wire w;
  w.enc.u32(4);
  w.enc.u32(1);
  w.enc.u32(0);
  w.enc.u32(0);
  w.enc.u32(8);
  auto d = w.decoder();
  Bitmap4 b;
  bool beyond = false;
  ASSERT_TRUE(decode_bitmap(d, b, &beyond));
  EXPECT_TRUE(beyond);
  EXPECT_TRUE(b.test(0));
}

TEST(Nfs4Bitmap, DecodeRejectsHugeWordCount) {
  Wire w;
  w.enc.u32(1000);
  auto d = w.decoder();
  Bitmap4 b;
  EXPECT_FALSE(decode_bitmap(d, b));
}

TEST(Nfs4Compound, HeaderDecodesTagMinorAndCount) {
  Wire w;
  w.enc.string("tag!");
  w.enc.u32(2);
  w.enc.u32(7);
  w.enc.u32(53);  // first op follows
  auto d = w.decoder();
  CompoundHeader h;
  ASSERT_TRUE(decode_compound_header(d, h));
  EXPECT_EQ(h.tag, "tag!");
  EXPECT_EQ(h.minorversion, 2u);
  EXPECT_EQ(h.numops, 7u);
  EXPECT_EQ(d.u32(), 53u);
}

TEST(Nfs4Compound, TruncatedHeaderFails) {
  Wire w;
  w.enc.string("t");
  w.enc.u32(1);
  auto d = w.decoder();
  CompoundHeader h;
  EXPECT_FALSE(decode_compound_header(d, h));
}

TEST(Nfs4Compound, LastOpPerMinorVersion) {
  EXPECT_EQ(last_op(0), static_cast<std::uint32_t>(Op::kReleaseLockowner));
  EXPECT_EQ(last_op(1), static_cast<std::uint32_t>(Op::kReclaimComplete));
  EXPECT_EQ(last_op(2), static_cast<std::uint32_t>(Op::kRemovexattr));
}

TEST(Nfs4Args, SequenceDecodes) {
  Wire w;
  SessionId sid;
  for (int i = 0; i < 16; ++i) sid[i] = static_cast<std::uint8_t>(i);
  w.enc.fixed_opaque(sid);
  w.enc.u32(5);
  w.enc.u32(3);
  w.enc.u32(63);
  w.enc.boolean(true);
  auto d = w.decoder();
  SequenceArgs a;
  ASSERT_TRUE(decode(d, a));
  EXPECT_EQ(a.sessionid, sid);
  EXPECT_EQ(a.sequenceid, 5u);
  EXPECT_EQ(a.slotid, 3u);
  EXPECT_EQ(a.highest_slotid, 63u);
  EXPECT_TRUE(a.cachethis);
}

TEST(Nfs4Args, OpenCreateUncheckedWithModeAndClaimNull) {
  Wire w;
  w.enc.u32(0);        // seqid
  w.enc.u32(0x10003);  // share access BOTH + a WANT flag
  w.enc.u32(0);        // deny none
  w.enc.u64(77);       // clientid
  w.enc.string("owner-1");
  w.enc.u32(1);        // OPEN4_CREATE
  w.enc.u32(0);        // UNCHECKED4
  Bitmap4 b;
  b.set(kMode);
  encode_bitmap(w.enc, b);
  w.enc.u32(4);
  w.enc.u32(0640);
  w.enc.u32(0);        // CLAIM_NULL
  w.enc.string("file.txt");
  auto d = w.decoder();
  OpenArgs a;
  ASSERT_TRUE(decode(d, a));
  EXPECT_EQ(a.share_access, kShareAccessBoth);
  EXPECT_EQ(a.clientid, 77u);
  EXPECT_TRUE(a.create);
  EXPECT_EQ(a.createmode, 0u);
  EXPECT_EQ(a.attr_status, Nfsstat4::kOk);
  EXPECT_EQ(a.attrs.set.mode, 0640u);
  EXPECT_EQ(a.claim, 0u);
  EXPECT_EQ(a.name, "file.txt");
  EXPECT_EQ(d.remaining(), 0u);
}

/// OPEN4args up to the claim: seqid 0, read access, deny none, clientid 1,
/// owner "o", OPEN4_NOCREATE.
void open_nocreate_prefix(Wire& w) {
  w.enc.u32(0);
  w.enc.u32(1);
  w.enc.u32(0);
  w.enc.u64(1);
  w.enc.string("o");
  w.enc.u32(0);  // NOCREATE
}

TEST(Nfs4Args, OpenWithUnknownClaimIsMalformed) {
  Wire w;
  open_nocreate_prefix(w);
  w.enc.u32(99); // claim
  auto d = w.decoder();
  OpenArgs a;
  EXPECT_FALSE(decode(d, a));
}

TEST(Nfs4Args, OpenClaimDelegCurFhCarriesAStateidAndDelegPrevFhNothing) {
  for (std::uint32_t claim : {5u, 6u}) {
    Wire w;
    open_nocreate_prefix(w);
    w.enc.u32(claim);
    if (claim == 5) {  // CLAIM_DELEG_CUR_FH: stateid4 oc_delegate_stateid
      Stateid4 s;
      s.seqid = 3;
      s.other[11] = 7;
      encode_stateid(w.enc, s);
    }
    auto d = w.decoder();
    OpenArgs a;
    ASSERT_TRUE(decode(d, a)) << claim;
    EXPECT_EQ(a.claim, claim);
    EXPECT_EQ(d.remaining(), 0u) << claim;
    if (claim == 5) {
      EXPECT_EQ(a.deleg_stateid.seqid, 3u);
      EXPECT_EQ(a.deleg_stateid.other[11], 7u);
    }
  }
}

TEST(Nfs4Args, WriteDataIsAViewAndStableChecked) {
  Wire w;
  Stateid4 s;
  s.seqid = 2;
  s.other[0] = 9;
  encode_stateid(w.enc, s);
  w.enc.u64(4096);
  w.enc.u32(2);
  const std::uint8_t data[5] = {1, 2, 3, 4, 5};
  w.enc.opaque(data);
  auto d = w.decoder();
  WriteArgs a;
  ASSERT_TRUE(decode(d, a));
  EXPECT_EQ(a.stateid, s);
  EXPECT_EQ(a.offset, 4096u);
  ASSERT_EQ(a.data.size(), 5u);
  EXPECT_EQ(a.data[4], 5);
}

TEST(Nfs4Args, CreateRegularFileIsBadType) {
  Wire w;
  w.enc.u32(1);  // NF4REG: void arm
  w.enc.string("x");
  encode_bitmap(w.enc, {});
  w.enc.u32(0);
  auto d = w.decoder();
  CreateArgs a;
  ASSERT_TRUE(decode(d, a));
  EXPECT_TRUE(a.bad_type);
}

TEST(Nfs4Args, CreateSymlinkCarriesTarget) {
  Wire w;
  w.enc.u32(5);
  w.enc.string("../target");
  w.enc.string("link");
  encode_bitmap(w.enc, {});
  w.enc.u32(0);
  auto d = w.decoder();
  CreateArgs a;
  ASSERT_TRUE(decode(d, a));
  EXPECT_EQ(a.type, storage::FileType::kLnk);
  EXPECT_EQ(a.linkdata, "../target");
  EXPECT_EQ(a.name, "link");
}

TEST(Nfs4Args, ExchangeIdWithImplIdDecodes) {
  Wire w;
  Verifier4 v{1, 2, 3, 4, 5, 6, 7, 8};
  w.enc.fixed_opaque(v);
  w.enc.string("Linux NFSv4.2 guest");
  w.enc.u32(0x101);
  w.enc.u32(0);  // SP4_NONE
  w.enc.u32(1);  // one impl id
  w.enc.string("kernel.org");
  w.enc.string("Linux 6.1");
  w.enc.u64(0);
  w.enc.u32(0);
  auto d = w.decoder();
  ExchangeIdArgs a;
  ASSERT_TRUE(decode(d, a));
  EXPECT_EQ(a.verifier, v);
  EXPECT_EQ(std::string(a.ownerid.begin(), a.ownerid.end()), "Linux NFSv4.2 guest");
  EXPECT_EQ(d.remaining(), 0u);
}

TEST(Nfs4Args, CreateSessionWithAuthSysCallbackDecodes) {
  Wire w;
  w.enc.u64(0x100000001ULL);
  w.enc.u32(1);
  w.enc.u32(3);
  for (int ch = 0; ch < 2; ++ch) {
    for (std::uint32_t v : {0u, 1049620u, 1049480u, 3428u, 8u, 64u}) w.enc.u32(v);
    w.enc.u32(0);
  }
  w.enc.u32(0x40000000);
  w.enc.u32(1);  // one sec parm
  w.enc.u32(1);  // AUTH_SYS
  w.enc.u32(0);
  w.enc.string("guest");
  w.enc.u32(0);
  w.enc.u32(0);
  w.enc.u32(0);
  auto d = w.decoder();
  CreateSessionArgs a;
  ASSERT_TRUE(decode(d, a));
  EXPECT_EQ(a.clientid, 0x100000001ULL);
  EXPECT_EQ(a.fore.maxrequests, 64u);
  EXPECT_EQ(a.fore.maxresponsesize_cached, 3428u);
  EXPECT_EQ(d.remaining(), 0u);
}

TEST(Nfs4Settable, DecodesModeOwnerSizeAndTimes) {
  Wire w;
  Bitmap4 b;
  for (auto a : {kSize, kMode, kOwner, kOwnerGroup, kTimeAccessSet, kTimeModifySet}) b.set(a);
  encode_bitmap(w.enc, b);
  Wire list;
  list.enc.u64(123);        // size
  list.enc.u32(0100644);    // mode (type bits dropped)
  list.enc.string("1000");  // owner
  list.enc.string("100");   // owner_group
  list.enc.u32(0);          // atime: server time
  list.enc.u32(1);          // mtime: client time
  list.enc.u64(1700000000);
  list.enc.u32(5);
  w.enc.opaque(list.enc.written());
  auto d = w.decoder();
  SetAttrs s;
  ASSERT_EQ(decode_settable(d, s), Nfsstat4::kOk);
  EXPECT_EQ(s.set.size, 123u);
  EXPECT_EQ(s.set.mode, 0644u);
  EXPECT_EQ(s.owner_name, "1000");  // mapped to ids by the server (nfs4_idmap)
  EXPECT_EQ(s.group_name, "100");
  EXPECT_EQ(s.set.atime_how, storage::TimeHow::kServerTime);
  EXPECT_EQ(s.set.mtime_how, storage::TimeHow::kClientTime);
  EXPECT_EQ(s.set.mtime.seconds, 1700000000u);
  EXPECT_EQ(s.set.mtime.nseconds, 5u);
}

TEST(Nfs4Settable, ReadOnlyAttributeIsInval) {
  Wire w;
  Bitmap4 b;
  b.set(kFileid);
  encode_bitmap(w.enc, b);
  Wire list;
  list.enc.u64(1);
  w.enc.opaque(list.enc.written());
  auto d = w.decoder();
  SetAttrs s;
  EXPECT_EQ(decode_settable(d, s), Nfsstat4::kInval);
  EXPECT_EQ(d.remaining(), 0u);  // still consumed
}

TEST(Nfs4Settable, UnknownAttributeIsAttrNotSupp) {
  Wire w;
  Bitmap4 b;
  b.set(kAcl);
  encode_bitmap(w.enc, b);
  w.enc.u32(0);
  auto d = w.decoder();
  SetAttrs s;
  EXPECT_EQ(decode_settable(d, s), Nfsstat4::kAttrNotSupp);
}

TEST(Nfs4Settable, OwnerStringsAreKeptForTheServerToMap) {
  Wire w;
  Bitmap4 b;
  b.set(kOwner);
  b.set(kOwnerGroup);
  encode_bitmap(w.enc, b);
  Wire list;
  list.enc.string("no-such-user-xyz@example.org");
  list.enc.string("1000");
  w.enc.opaque(list.enc.written());
  auto d = w.decoder();
  SetAttrs s;
  EXPECT_EQ(decode_settable(d, s), Nfsstat4::kOk);
  EXPECT_EQ(s.owner_name, "no-such-user-xyz@example.org");
  EXPECT_EQ(s.group_name, "1000");
  EXPECT_FALSE(s.set.uid);
  EXPECT_FALSE(s.set.gid);
}

TEST(Nfs4Settable, TrailingBytesInAttrlistAreBadXdr) {
  Wire w;
  Bitmap4 b;
  b.set(kMode);
  encode_bitmap(w.enc, b);
  Wire list;
  list.enc.u32(0644);
  list.enc.u32(0);
  w.enc.opaque(list.enc.written());
  auto d = w.decoder();
  SetAttrs s;
  EXPECT_EQ(decode_settable(d, s), Nfsstat4::kBadXdr);
}

TEST(Nfs4Fattr, EncodesRequestedSupportedAttributesInOrder) {
  AttrValues v;
  v.attr.type = storage::FileType::kReg;
  v.attr.mode = 0640;
  v.attr.size = 4097;
  v.attr.uid = 1000;
  v.attr.gid = 27;
  v.attr.fileid = 99;
  v.attr.ctime = {10, 20};
  v.fsid_major = 5;
  v.fsid_minor = 6;
  Bitmap4 req;
  for (auto a : {kType, kChange, kSize, kFsid, kMode, kOwner, kOwnerGroup, kFileid}) req.set(a);
  req.set(kAcl);            // unsupported: left out
  req.set(kTimeModifySet);  // write-only: left out
  Wire w;
  ASSERT_TRUE(encode_fattr(w.enc, req, v));
  auto d = w.decoder();
  Bitmap4 got;
  ASSERT_TRUE(decode_bitmap(d, got));
  EXPECT_FALSE(got.test(kAcl));
  EXPECT_FALSE(got.test(kTimeModifySet));
  EXPECT_TRUE(got.test(kOwner));
  const std::uint32_t len = d.u32();
  EXPECT_EQ(len, d.remaining());
  EXPECT_EQ(d.u32(), 1u);                      // type NF4REG
  EXPECT_EQ(d.u64(), (10ull << 32) | 20);      // change from ctime
  EXPECT_EQ(d.u64(), 4097u);                   // size
  EXPECT_EQ(d.u64(), 5u);                      // fsid.major
  EXPECT_EQ(d.u64(), 6u);                      // fsid.minor
  EXPECT_EQ(d.u64(), 99u);                     // fileid (20) before mode (33)
  EXPECT_EQ(d.u32(), 0640u);                   // mode
  EXPECT_EQ(d.string(16), "1000");             // owner
  EXPECT_EQ(d.string(16), "27");               // owner_group
  EXPECT_EQ(d.remaining(), 0u);
}

TEST(Nfs4Fattr, SupportedAttrsDependOnMinorVersion) {
  EXPECT_FALSE(supported_attrs(0).test(kSuppattrExclcreat));
  EXPECT_TRUE(supported_attrs(1).test(kSuppattrExclcreat));
  EXPECT_TRUE(supported_attrs(2).test(kFsLayoutType));
  for (auto a : {kSupportedAttrs, kType, kFhExpireType, kChange, kSize, kLinkSupport,
                 kSymlinkSupport, kNamedAttr, kFsid, kUniqueHandles, kLeaseTime, kRdattrError,
                 kFilehandle}) {
    EXPECT_TRUE(supported_attrs(1).test(a)) << a;  // every mandatory attribute
  }
}

TEST(Nfs4Fattr, OverflowIsReported) {
  AttrValues v;
  Bitmap4 req = supported_attrs(2);
  std::vector<std::uint8_t> small(16);
  xdr::XdrEncoder out(small);
  EXPECT_FALSE(encode_fattr(out, req, v));
}

}  // namespace
}  // namespace nasd::nfs4
