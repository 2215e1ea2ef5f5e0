// NFSv3 codec tests: every args decoder, every result encoder, malformed
// input, and byte-for-byte agreement with libtirpc's xdrmem primitives.
#include <rpc/xdr.h>

#include <gtest/gtest.h>

#include <array>
#include <cstring>
#include <string>
#include <vector>

#include "protocol/nfs3/nfs3.h"
#include "tests/protocol/nfs3/nfs3_test_util.h"

namespace nasd::nfs3 {
namespace {

using storage::Attr;
using storage::FileHandle;
using testutil::attr_eq;
using testutil::make_attr;
using testutil::make_fh;
using testutil::Wire;

// ----------------------------------------------------------- libtirpc side

/// Encodes with libtirpc's xdrmem into a buffer; returns the bytes.
class Tirpc {
 public:
  Tirpc() { xdrmem_create(&x_, reinterpret_cast<char*>(buf_.data()), buf_.size(), XDR_ENCODE); }
  ~Tirpc() { xdr_destroy(&x_); }
  void u32(std::uint32_t v) { ASSERT_TRUE(xdr_u_int(&x_, &v)); }
  void u64(std::uint64_t v) {
    u_quad_t q = v;
    ASSERT_TRUE(xdr_u_int64_t(&x_, &q));
  }
  void boolean(bool v) {
    bool_t b = v;
    ASSERT_TRUE(xdr_bool(&x_, &b));
  }
  void bytes(std::span<const std::uint8_t> b) {
    char* p = const_cast<char*>(reinterpret_cast<const char*>(b.data()));
    u_int n = b.size();
    ASSERT_TRUE(xdr_bytes(&x_, &p, &n, 1 << 20));
  }
  void string(const std::string& s) {
    char* p = const_cast<char*>(s.c_str());
    ASSERT_TRUE(xdr_string(&x_, &p, 1 << 20));
  }
  void fixed(std::span<const std::uint8_t> b) {
    ASSERT_TRUE(xdr_opaque(&x_, const_cast<char*>(reinterpret_cast<const char*>(b.data())),
                           b.size()));
  }
  void fattr3(const Attr& a) {
    u32(static_cast<std::uint32_t>(a.type));
    u32(a.mode);
    u32(a.nlink);
    u32(a.uid);
    u32(a.gid);
    u64(a.size);
    u64(a.used);
    u32(a.rdev_major);
    u32(a.rdev_minor);
    u64(a.fsid);
    u64(a.fileid);
    for (const storage::Time& t : {a.atime, a.mtime, a.ctime}) {
      u32(t.seconds);
      u32(t.nseconds);
    }
  }
  std::vector<std::uint8_t> result() {
    return {buf_.begin(), buf_.begin() + xdr_getpos(&x_)};
  }

 private:
  std::array<std::uint8_t, 8192> buf_{};
  XDR x_;
};

// ------------------------------------------------------ args: handles etc.

TEST(Nfs3ArgsTest, GetattrDecodesHandleBytes) {
  Wire w;
  FileHandle fh = make_fh(28);
  w.enc.opaque(fh.bytes());
  auto in = w.decoder();
  HandleArgs a;
  ASSERT_TRUE(decode(in, a));
  EXPECT_EQ(a.object, fh);
  EXPECT_EQ(in.remaining(), 0u);
}

TEST(Nfs3ArgsTest, EmptyHandleDecodesWithSizeZero) {
  Wire w;
  w.enc.u32(0);
  auto in = w.decoder();
  HandleArgs a;
  a.object = make_fh(8);
  ASSERT_TRUE(decode(in, a));
  EXPECT_EQ(a.object.size, 0);
}

TEST(Nfs3ArgsTest, HandleLongerThan64BytesFails) {
  Wire w;
  std::vector<std::uint8_t> big(65, 7);
  w.enc.opaque(big);
  auto in = w.decoder();
  HandleArgs a;
  EXPECT_FALSE(decode(in, a));
}

TEST(Nfs3ArgsTest, TruncatedHandleFails) {
  Wire w;
  w.enc.u32(32);
  w.enc.u32(0x01020304);  // only 4 of 32 bytes
  auto in = w.decoder();
  HandleArgs a;
  EXPECT_FALSE(decode(in, a));
}

void encode_sattr_all(xdr::XdrEncoder& e) {
  e.boolean(true); e.u32(0640);
  e.boolean(true); e.u32(1001);
  e.boolean(true); e.u32(1002);
  e.boolean(true); e.u64(1ULL << 40);
  e.u32(2); e.u32(100); e.u32(200);  // atime SET_TO_CLIENT_TIME
  e.u32(1);                          // mtime SET_TO_SERVER_TIME
}

void expect_sattr_all(const storage::SetAttr& s) {
  EXPECT_EQ(s.mode, 0640u);
  EXPECT_EQ(s.uid, 1001u);
  EXPECT_EQ(s.gid, 1002u);
  EXPECT_EQ(s.size, 1ULL << 40);
  EXPECT_EQ(s.atime_how, storage::TimeHow::kClientTime);
  EXPECT_EQ(s.atime, (storage::Time{100, 200}));
  EXPECT_EQ(s.mtime_how, storage::TimeHow::kServerTime);
}

TEST(Nfs3ArgsTest, SetattrDecodesEverySattr3FieldAndGuard) {
  Wire w;
  FileHandle fh = make_fh(16);
  w.enc.opaque(fh.bytes());
  encode_sattr_all(w.enc);
  w.enc.boolean(true);
  w.enc.u32(555);
  w.enc.u32(666);
  auto in = w.decoder();
  SetattrArgs a;
  ASSERT_TRUE(decode(in, a));
  EXPECT_EQ(a.object, fh);
  expect_sattr_all(a.new_attributes);
  ASSERT_TRUE(a.guard.has_value());
  EXPECT_EQ(*a.guard, (storage::Time{555, 666}));
}

TEST(Nfs3ArgsTest, SetattrWithNothingSetLeavesFieldsEmpty) {
  Wire w;
  w.enc.opaque(make_fh(8).bytes());
  for (int i = 0; i < 4; ++i) w.enc.boolean(false);
  w.enc.u32(0);
  w.enc.u32(0);
  w.enc.boolean(false);
  auto in = w.decoder();
  SetattrArgs a;
  ASSERT_TRUE(decode(in, a));
  EXPECT_FALSE(a.new_attributes.mode || a.new_attributes.uid || a.new_attributes.gid ||
               a.new_attributes.size);
  EXPECT_EQ(a.new_attributes.atime_how, storage::TimeHow::kDontChange);
  EXPECT_FALSE(a.guard.has_value());
}

TEST(Nfs3ArgsTest, SetattrWithBadTimeHowFails) {
  Wire w;
  w.enc.opaque(make_fh(8).bytes());
  for (int i = 0; i < 4; ++i) w.enc.boolean(false);
  w.enc.u32(3);  // not a time_how
  w.enc.u32(0);
  w.enc.boolean(false);
  auto in = w.decoder();
  SetattrArgs a;
  EXPECT_FALSE(decode(in, a));
}

TEST(Nfs3ArgsTest, BoolOtherThanZeroOrOneFails) {
  Wire w;
  w.enc.opaque(make_fh(8).bytes());
  w.enc.u32(2);  // set_mode3 discriminant
  auto in = w.decoder();
  SetattrArgs a;
  EXPECT_FALSE(decode(in, a));
}

TEST(Nfs3ArgsTest, LookupNameIsAViewIntoTheRequest) {
  Wire w;
  FileHandle fh = make_fh(12);
  w.enc.opaque(fh.bytes());
  w.enc.string("hello.txt");
  auto in = w.decoder();
  DirOpArgs a;
  ASSERT_TRUE(decode(in, a));
  EXPECT_EQ(a.dir, fh);
  EXPECT_EQ(a.name, "hello.txt");
  EXPECT_GE(reinterpret_cast<const std::uint8_t*>(a.name.data()), w.buf.data());
  EXPECT_LT(reinterpret_cast<const std::uint8_t*>(a.name.data()), w.buf.data() + w.buf.size());
}

TEST(Nfs3ArgsTest, NameUpTo1024BytesDecodesLongerFails) {
  {
    Wire w;
    w.enc.opaque(make_fh(8).bytes());
    w.enc.string(std::string(300, 'a'));
    auto in = w.decoder();
    DirOpArgs a;
    ASSERT_TRUE(decode(in, a));  // NAMETOOLONG is the program's answer
    EXPECT_EQ(a.name.size(), 300u);
  }
  {
    Wire w;
    w.enc.opaque(make_fh(8).bytes());
    w.enc.string(std::string(1025, 'a'));
    auto in = w.decoder();
    DirOpArgs a;
    EXPECT_FALSE(decode(in, a));
  }
}

TEST(Nfs3ArgsTest, AccessDecodesMask) {
  Wire w;
  w.enc.opaque(make_fh(8).bytes());
  w.enc.u32(kAccessRead | kAccessExecute);
  auto in = w.decoder();
  AccessArgs a;
  ASSERT_TRUE(decode(in, a));
  EXPECT_EQ(a.access, kAccessRead | kAccessExecute);
}

TEST(Nfs3ArgsTest, ReadDecodesOffsetAndCount) {
  Wire w;
  w.enc.opaque(make_fh(8).bytes());
  w.enc.u64(0x123456789aULL);
  w.enc.u32(65536);
  auto in = w.decoder();
  ReadArgs a;
  ASSERT_TRUE(decode(in, a));
  EXPECT_EQ(a.offset, 0x123456789aULL);
  EXPECT_EQ(a.count, 65536u);
}

TEST(Nfs3ArgsTest, ReadTruncatedFails) {
  Wire w;
  w.enc.opaque(make_fh(8).bytes());
  w.enc.u64(1);
  auto in = w.decoder();
  ReadArgs a;
  EXPECT_FALSE(decode(in, a));
}

TEST(Nfs3ArgsTest, WriteDataViewsTheRequestWithoutCopy) {
  Wire w;
  std::vector<std::uint8_t> data = {1, 2, 3, 4, 5};
  w.enc.opaque(make_fh(8).bytes());
  w.enc.u64(4096);
  w.enc.u32(5);
  w.enc.u32(2);  // FILE_SYNC
  std::size_t data_pos = w.enc.position() + 4;
  w.enc.opaque(data);
  auto in = w.decoder();
  WriteArgs a;
  ASSERT_TRUE(decode(in, a));
  EXPECT_EQ(a.offset, 4096u);
  EXPECT_EQ(a.count, 5u);
  EXPECT_EQ(a.stable, storage::StableHow::kFileSync);
  ASSERT_EQ(a.data.size(), 5u);
  EXPECT_EQ(a.data.data(), w.buf.data() + data_pos);
  EXPECT_TRUE(std::equal(data.begin(), data.end(), a.data.begin()));
}

TEST(Nfs3ArgsTest, WriteWithBadStableHowFails) {
  Wire w;
  w.enc.opaque(make_fh(8).bytes());
  w.enc.u64(0);
  w.enc.u32(0);
  w.enc.u32(3);
  w.enc.u32(0);
  auto in = w.decoder();
  WriteArgs a;
  EXPECT_FALSE(decode(in, a));
}

TEST(Nfs3ArgsTest, WriteWithDataShorterThanItsLengthFails) {
  Wire w;
  w.enc.opaque(make_fh(8).bytes());
  w.enc.u64(0);
  w.enc.u32(100);
  w.enc.u32(0);
  w.enc.u32(100);  // opaque length 100, but only 8 bytes follow
  w.enc.u64(0);
  auto in = w.decoder();
  WriteArgs a;
  EXPECT_FALSE(decode(in, a));
}

TEST(Nfs3ArgsTest, CreateUncheckedCarriesSattr3) {
  Wire w;
  w.enc.opaque(make_fh(8).bytes());
  w.enc.string("new");
  w.enc.u32(0);
  encode_sattr_all(w.enc);
  auto in = w.decoder();
  CreateArgs a;
  ASSERT_TRUE(decode(in, a));
  EXPECT_EQ(a.where.name, "new");
  EXPECT_EQ(a.mode, storage::CreateMode::kUnchecked);
  expect_sattr_all(a.obj_attributes);
}

TEST(Nfs3ArgsTest, CreateExclusiveCarriesVerifier) {
  Wire w;
  storage::Verifier v = {1, 2, 3, 4, 5, 6, 7, 8};
  w.enc.opaque(make_fh(8).bytes());
  w.enc.string("x");
  w.enc.u32(2);
  w.enc.fixed_opaque(v);
  auto in = w.decoder();
  CreateArgs a;
  ASSERT_TRUE(decode(in, a));
  EXPECT_EQ(a.mode, storage::CreateMode::kExclusive);
  EXPECT_EQ(a.verf, v);
  EXPECT_EQ(in.remaining(), 0u);
}

TEST(Nfs3ArgsTest, CreateWithUnknownModeFails) {
  Wire w;
  w.enc.opaque(make_fh(8).bytes());
  w.enc.string("x");
  w.enc.u32(3);
  auto in = w.decoder();
  CreateArgs a;
  EXPECT_FALSE(decode(in, a));
}

TEST(Nfs3ArgsTest, MkdirDecodesWhereAndAttributes) {
  Wire w;
  w.enc.opaque(make_fh(8).bytes());
  w.enc.string("dir");
  encode_sattr_all(w.enc);
  auto in = w.decoder();
  MkdirArgs a;
  ASSERT_TRUE(decode(in, a));
  EXPECT_EQ(a.where.name, "dir");
  expect_sattr_all(a.attributes);
}

TEST(Nfs3ArgsTest, SymlinkDecodesTargetPath) {
  Wire w;
  w.enc.opaque(make_fh(8).bytes());
  w.enc.string("ln");
  encode_sattr_all(w.enc);
  w.enc.string("../target/file");
  auto in = w.decoder();
  SymlinkArgs a;
  ASSERT_TRUE(decode(in, a));
  EXPECT_EQ(a.where.name, "ln");
  EXPECT_EQ(a.symlink_data, "../target/file");
  expect_sattr_all(a.symlink_attributes);
}

TEST(Nfs3ArgsTest, SymlinkPathOver4096BytesFails) {
  Wire w(16384);
  w.enc.opaque(make_fh(8).bytes());
  w.enc.string("ln");
  for (int i = 0; i < 6; ++i) w.enc.u32(0);
  w.enc.string(std::string(4097, 'p'));
  auto in = w.decoder();
  SymlinkArgs a;
  EXPECT_FALSE(decode(in, a));
}

TEST(Nfs3ArgsTest, MknodCharDeviceCarriesSpecdata) {
  Wire w;
  w.enc.opaque(make_fh(8).bytes());
  w.enc.string("tty");
  w.enc.u32(4);  // NF3CHR
  encode_sattr_all(w.enc);
  w.enc.u32(136);
  w.enc.u32(3);
  auto in = w.decoder();
  MknodArgs a;
  ASSERT_TRUE(decode(in, a));
  EXPECT_EQ(a.type, storage::FileType::kChr);
  EXPECT_EQ(a.spec_major, 136u);
  EXPECT_EQ(a.spec_minor, 3u);
  expect_sattr_all(a.attributes);
}

TEST(Nfs3ArgsTest, MknodFifoHasAttributesOnlyAndRegIsVoid) {
  {
    Wire w;
    w.enc.opaque(make_fh(8).bytes());
    w.enc.string("p");
    w.enc.u32(7);  // NF3FIFO
    encode_sattr_all(w.enc);
    auto in = w.decoder();
    MknodArgs a;
    ASSERT_TRUE(decode(in, a));
    EXPECT_EQ(a.type, storage::FileType::kFifo);
    EXPECT_EQ(in.remaining(), 0u);
  }
  {
    Wire w;
    w.enc.opaque(make_fh(8).bytes());
    w.enc.string("r");
    w.enc.u32(1);  // NF3REG: void arm
    auto in = w.decoder();
    MknodArgs a;
    ASSERT_TRUE(decode(in, a));
    EXPECT_EQ(a.type, storage::FileType::kReg);
  }
}

TEST(Nfs3ArgsTest, MknodWithUnknownTypeFails) {
  Wire w;
  w.enc.opaque(make_fh(8).bytes());
  w.enc.string("x");
  w.enc.u32(9);
  auto in = w.decoder();
  MknodArgs a;
  EXPECT_FALSE(decode(in, a));
}

TEST(Nfs3ArgsTest, RemoveAndRenameAndLinkDecodeBothSides) {
  FileHandle d1 = make_fh(8, 1), d2 = make_fh(20, 50);
  {
    Wire w;
    w.enc.opaque(d1.bytes());
    w.enc.string("gone");
    auto in = w.decoder();
    RemoveArgs a;
    ASSERT_TRUE(decode(in, a));
    EXPECT_EQ(a.object.dir, d1);
    EXPECT_EQ(a.object.name, "gone");
  }
  {
    Wire w;
    w.enc.opaque(d1.bytes());
    w.enc.string("from");
    w.enc.opaque(d2.bytes());
    w.enc.string("to");
    auto in = w.decoder();
    RenameArgs a;
    ASSERT_TRUE(decode(in, a));
    EXPECT_EQ(a.from.dir, d1);
    EXPECT_EQ(a.from.name, "from");
    EXPECT_EQ(a.to.dir, d2);
    EXPECT_EQ(a.to.name, "to");
  }
  {
    Wire w;
    w.enc.opaque(d1.bytes());
    w.enc.opaque(d2.bytes());
    w.enc.string("hard");
    auto in = w.decoder();
    LinkArgs a;
    ASSERT_TRUE(decode(in, a));
    EXPECT_EQ(a.file, d1);
    EXPECT_EQ(a.link.dir, d2);
    EXPECT_EQ(a.link.name, "hard");
  }
}

TEST(Nfs3ArgsTest, RenameMissingTargetFails) {
  Wire w;
  w.enc.opaque(make_fh(8).bytes());
  w.enc.string("from");
  auto in = w.decoder();
  RenameArgs a;
  EXPECT_FALSE(decode(in, a));
}

TEST(Nfs3ArgsTest, ReaddirAndReaddirplusAndCommitDecode) {
  storage::Verifier v = {9, 8, 7, 6, 5, 4, 3, 2};
  {
    Wire w;
    w.enc.opaque(make_fh(8).bytes());
    w.enc.u64(77);
    w.enc.fixed_opaque(v);
    w.enc.u32(4096);
    auto in = w.decoder();
    ReaddirArgs a;
    ASSERT_TRUE(decode(in, a));
    EXPECT_EQ(a.cookie, 77u);
    EXPECT_EQ(a.cookieverf, v);
    EXPECT_EQ(a.count, 4096u);
  }
  {
    Wire w;
    w.enc.opaque(make_fh(8).bytes());
    w.enc.u64(78);
    w.enc.fixed_opaque(v);
    w.enc.u32(1024);
    w.enc.u32(32768);
    auto in = w.decoder();
    ReaddirplusArgs a;
    ASSERT_TRUE(decode(in, a));
    EXPECT_EQ(a.cookie, 78u);
    EXPECT_EQ(a.cookieverf, v);
    EXPECT_EQ(a.dircount, 1024u);
    EXPECT_EQ(a.maxcount, 32768u);
  }
  {
    Wire w;
    w.enc.opaque(make_fh(8).bytes());
    w.enc.u64(1ULL << 33);
    w.enc.u32(99);
    auto in = w.decoder();
    CommitArgs a;
    ASSERT_TRUE(decode(in, a));
    EXPECT_EQ(a.offset, 1ULL << 33);
    EXPECT_EQ(a.count, 99u);
  }
}

TEST(Nfs3ArgsTest, ReaddirplusTruncatedFails) {
  Wire w;
  w.enc.opaque(make_fh(8).bytes());
  w.enc.u64(0);
  w.enc.u32(0);  // half a cookieverf
  auto in = w.decoder();
  ReaddirplusArgs a;
  EXPECT_FALSE(decode(in, a));
}

// ------------------------------------------ results: byte-level vs libtirpc

TEST(Nfs3ResultTest, Fattr3MatchesLibtirpcByteForByte) {
  Attr a = make_attr();
  Wire w;
  encode_fattr3(w.enc, a);
  Tirpc t;
  t.fattr3(a);
  EXPECT_EQ(w.bytes(), t.result());
  EXPECT_EQ(w.bytes().size(), kFattr3Size);
}

TEST(Nfs3ResultTest, GetattrOkMatchesLibtirpc) {
  Attr a = make_attr();
  Wire w;
  encode(w.enc, GetattrRes{Nfsstat3::kOk, a});
  Tirpc t;
  t.u32(0);
  t.fattr3(a);
  EXPECT_EQ(w.bytes(), t.result());
}

TEST(Nfs3ResultTest, WccDataWithBothSidesMatchesLibtirpc) {
  storage::WccData wcc;
  wcc.before = storage::WccAttr{1234, {5, 6}, {7, 8}};
  wcc.after = make_attr();
  Wire w;
  encode(w.enc, SetattrRes{Nfsstat3::kOk, wcc});
  Tirpc t;
  t.u32(0);
  t.boolean(true);
  t.u64(1234);
  t.u32(5); t.u32(6); t.u32(7); t.u32(8);
  t.boolean(true);
  t.fattr3(*wcc.after);
  EXPECT_EQ(w.bytes(), t.result());
}

TEST(Nfs3ResultTest, LookupOkMatchesLibtirpc) {
  LookupRes r;
  r.object = make_fh(22);
  r.obj_attributes = make_attr(5);
  r.dir_attributes = std::nullopt;
  Wire w;
  encode(w.enc, r);
  Tirpc t;
  t.u32(0);
  t.bytes(r.object.bytes());
  t.boolean(true);
  t.fattr3(*r.obj_attributes);
  t.boolean(false);
  EXPECT_EQ(w.bytes(), t.result());
}

TEST(Nfs3ResultTest, ReaddirplusEntriesMatchLibtirpc) {
  std::vector<storage::DirEntry> entries(2);
  entries[0] = {10, "a", 1, make_attr(10), make_fh(9, 3)};
  entries[1] = {11, "bcdef", 2, std::nullopt, std::nullopt};
  ReaddirRes r;
  r.plus = true;
  r.dir_attributes = make_attr(2);
  r.cookieverf = {1, 1, 2, 2, 3, 3, 4, 4};
  r.entries = entries;
  r.eof = true;
  Wire w;
  encode(w.enc, r);
  Tirpc t;
  t.u32(0);
  t.boolean(true);
  t.fattr3(*r.dir_attributes);
  t.fixed(r.cookieverf);
  t.boolean(true);
  t.u64(10);
  t.string("a");
  t.u64(1);
  t.boolean(true);
  t.fattr3(*entries[0].attr);
  t.boolean(true);
  t.bytes(entries[0].handle->bytes());
  t.boolean(true);
  t.u64(11);
  t.string("bcdef");
  t.u64(2);
  t.boolean(false);
  t.boolean(false);
  t.boolean(false);  // end of list
  t.boolean(true);   // eof
  EXPECT_EQ(w.bytes(), t.result());
}

TEST(Nfs3ResultTest, EntrySizesMatchTheirEncoding) {
  const std::vector<std::string> names = {"", "a", "abcd", "abcde", std::string(255, 'n')};
  for (const std::string& name : names) {
    storage::DirEntry e{1, name, 2, std::nullopt, std::nullopt};
    Wire w;
    ReaddirRes r;
    r.entries = std::span(&e, 1);
    encode(w.enc, r);
    Wire empty;
    encode(empty.enc, ReaddirRes{});
    EXPECT_EQ(w.enc.position() - empty.enc.position(), entry3_size(name.size())) << name;

    storage::DirEntry p{1, name, 2, make_attr(), make_fh(64)};
    Wire wp;
    ReaddirRes rp;
    rp.plus = true;
    rp.entries = std::span(&p, 1);
    encode(wp.enc, rp);
    EXPECT_EQ(wp.enc.position() - empty.enc.position(), entryplus3_size(p)) << name;
  }
}

// -------------------------------------------- results: encode, decode back

TEST(Nfs3ResultTest, ErrorResultsCarryOnlyTheirFailArms) {
  Wire w;
  encode(w.enc, GetattrRes{Nfsstat3::kStale, make_attr()});
  EXPECT_EQ(w.bytes(), (std::vector<std::uint8_t>{0, 0, 0, 70}));

  Wire l;
  LookupRes lr;
  lr.status = Nfsstat3::kNoEnt;
  lr.object = make_fh(8);
  lr.dir_attributes = make_attr();
  encode(l.enc, lr);
  auto in = l.decoder();
  EXPECT_EQ(in.u32(), 2u);
  std::optional<Attr> dir;
  ASSERT_TRUE(decode_post_op_attr(in, dir));
  ASSERT_TRUE(dir.has_value());
  EXPECT_TRUE(attr_eq(*dir, make_attr()));
  EXPECT_EQ(in.remaining(), 0u);
}

TEST(Nfs3ResultTest, AccessAndReadlinkRoundTrip) {
  Wire w;
  encode(w.enc, AccessRes{Nfsstat3::kOk, make_attr(), kAccessRead | kAccessLookup});
  encode(w.enc, ReadlinkRes{Nfsstat3::kOk, std::nullopt, "/some/where"});
  auto in = w.decoder();
  EXPECT_EQ(in.u32(), 0u);
  std::optional<Attr> a;
  ASSERT_TRUE(decode_post_op_attr(in, a));
  EXPECT_TRUE(a.has_value());
  EXPECT_EQ(in.u32(), kAccessRead | kAccessLookup);
  EXPECT_EQ(in.u32(), 0u);
  ASSERT_TRUE(decode_post_op_attr(in, a));
  EXPECT_FALSE(a.has_value());
  EXPECT_EQ(in.string(4096), "/some/where");
  EXPECT_EQ(in.remaining(), 0u);
}

TEST(Nfs3ResultTest, WriteAndCommitRoundTrip) {
  WriteRes r;
  r.file_wcc.after = make_attr(3);
  r.count = 4096;
  r.committed = storage::StableHow::kDataSync;
  r.verf = {1, 2, 3, 4, 5, 6, 7, 8};
  CommitRes c;
  c.verf = r.verf;
  Wire w;
  encode(w.enc, r);
  encode(w.enc, c);
  auto in = w.decoder();
  EXPECT_EQ(in.u32(), 0u);
  storage::WccData wcc;
  ASSERT_TRUE(decode_wcc_data(in, wcc));
  EXPECT_FALSE(wcc.before.has_value());
  ASSERT_TRUE(wcc.after.has_value());
  EXPECT_EQ(wcc.after->fileid, 3u);
  EXPECT_EQ(in.u32(), 4096u);
  EXPECT_EQ(in.u32(), 1u);
  auto v = in.fixed_opaque(8);
  EXPECT_TRUE(std::equal(v.begin(), v.end(), r.verf.begin()));
  EXPECT_EQ(in.u32(), 0u);
  ASSERT_TRUE(decode_wcc_data(in, wcc));
  v = in.fixed_opaque(8);
  EXPECT_TRUE(std::equal(v.begin(), v.end(), r.verf.begin()));
  EXPECT_EQ(in.remaining(), 0u);
}

TEST(Nfs3ResultTest, CreateOkAndFailRoundTrip) {
  CreateRes ok;
  ok.obj = make_fh(32, 9);
  ok.obj_attributes = make_attr(77);
  ok.dir_wcc.before = storage::WccAttr{1, {2, 3}, {4, 5}};
  CreateRes bad;
  bad.status = Nfsstat3::kExist;
  bad.obj = make_fh(32);  // must not be sent
  Wire w;
  encode(w.enc, ok);
  encode(w.enc, bad);
  auto in = w.decoder();
  EXPECT_EQ(in.u32(), 0u);
  std::optional<FileHandle> fh;
  ASSERT_TRUE(decode_post_op_fh3(in, fh));
  ASSERT_TRUE(fh.has_value());
  EXPECT_EQ(*fh, *ok.obj);
  std::optional<Attr> a;
  ASSERT_TRUE(decode_post_op_attr(in, a));
  EXPECT_EQ(a->fileid, 77u);
  storage::WccData wcc;
  ASSERT_TRUE(decode_wcc_data(in, wcc));
  ASSERT_TRUE(wcc.before.has_value());
  EXPECT_EQ(wcc.before->size, 1u);
  EXPECT_EQ(wcc.before->ctime, (storage::Time{4, 5}));
  EXPECT_EQ(in.u32(), 17u);
  ASSERT_TRUE(decode_wcc_data(in, wcc));
  EXPECT_FALSE(wcc.before || wcc.after);
  EXPECT_EQ(in.remaining(), 0u);
}

TEST(Nfs3ResultTest, RemoveRenameLinkRoundTrip) {
  RenameRes rn;
  rn.fromdir_wcc.after = make_attr(1);
  rn.todir_wcc.after = make_attr(2);
  LinkRes ln;
  ln.status = Nfsstat3::kXdev;
  ln.file_attributes = make_attr(3);
  Wire w;
  encode(w.enc, RemoveRes{Nfsstat3::kNotEmpty, {}});
  encode(w.enc, rn);
  encode(w.enc, ln);
  auto in = w.decoder();
  storage::WccData wcc;
  EXPECT_EQ(in.u32(), 66u);
  ASSERT_TRUE(decode_wcc_data(in, wcc));
  EXPECT_EQ(in.u32(), 0u);
  ASSERT_TRUE(decode_wcc_data(in, wcc));
  EXPECT_EQ(wcc.after->fileid, 1u);
  ASSERT_TRUE(decode_wcc_data(in, wcc));
  EXPECT_EQ(wcc.after->fileid, 2u);
  EXPECT_EQ(in.u32(), 18u);
  std::optional<Attr> a;
  ASSERT_TRUE(decode_post_op_attr(in, a));
  EXPECT_EQ(a->fileid, 3u);
  ASSERT_TRUE(decode_wcc_data(in, wcc));
  EXPECT_EQ(in.remaining(), 0u);
}

TEST(Nfs3ResultTest, FsstatFsinfoPathconfRoundTrip) {
  FsstatRes fs;
  fs.stat = {1, 2, 3, 4, 5, 6};
  fs.invarsec = 7;
  FsinfoRes fi;
  fi.rtmax = 1 << 20;
  fi.rtpref = 1 << 19;
  fi.rtmult = 4096;
  fi.wtmax = 1 << 18;
  fi.wtpref = 1 << 17;
  fi.wtmult = 512;
  fi.dtpref = 32768;
  fi.maxfilesize = ~0ULL >> 1;
  fi.time_delta = {0, 1};
  fi.properties = kFsfLink | kFsfCanSetTime;
  PathconfRes pc;
  pc.linkmax = 32000;
  pc.name_max = 255;
  pc.case_insensitive = true;
  Wire w;
  encode(w.enc, fs);
  encode(w.enc, fi);
  encode(w.enc, pc);
  auto in = w.decoder();
  std::optional<Attr> a;
  EXPECT_EQ(in.u32(), 0u);
  ASSERT_TRUE(decode_post_op_attr(in, a));
  for (std::uint64_t want = 1; want <= 6; ++want) EXPECT_EQ(in.u64(), want);
  EXPECT_EQ(in.u32(), 7u);
  EXPECT_EQ(in.u32(), 0u);
  ASSERT_TRUE(decode_post_op_attr(in, a));
  EXPECT_EQ(in.u32(), 1u << 20);
  EXPECT_EQ(in.u32(), 1u << 19);
  EXPECT_EQ(in.u32(), 4096u);
  EXPECT_EQ(in.u32(), 1u << 18);
  EXPECT_EQ(in.u32(), 1u << 17);
  EXPECT_EQ(in.u32(), 512u);
  EXPECT_EQ(in.u32(), 32768u);
  EXPECT_EQ(in.u64(), ~0ULL >> 1);
  EXPECT_EQ(in.u32(), 0u);
  EXPECT_EQ(in.u32(), 1u);
  EXPECT_EQ(in.u32(), kFsfLink | kFsfCanSetTime);
  EXPECT_EQ(in.u32(), 0u);
  ASSERT_TRUE(decode_post_op_attr(in, a));
  EXPECT_EQ(in.u32(), 32000u);
  EXPECT_EQ(in.u32(), 255u);
  EXPECT_TRUE(in.boolean());
  EXPECT_TRUE(in.boolean());
  EXPECT_TRUE(in.boolean());
  EXPECT_TRUE(in.boolean());
  EXPECT_EQ(in.remaining(), 0u);
}

TEST(Nfs3ResultTest, ReadResMatchesReadResWriterOutput) {
  std::vector<std::uint8_t> data = {10, 20, 30, 40, 50, 60};
  for (bool with_attr : {true, false}) {
    std::optional<Attr> attr;
    if (with_attr) attr = make_attr(8);
    Wire plain;
    encode(plain.enc, ReadRes{Nfsstat3::kOk, attr, true, data});

    Wire zc;
    ReadResWriter writer(zc.enc);
    auto dst = writer.begin(100);
    ASSERT_EQ(dst.size(), 100u);
    std::fill(dst.begin(), dst.end(), 0xEE);
    std::copy(data.begin(), data.end(), dst.begin());
    writer.finish_ok(attr, static_cast<std::uint32_t>(data.size()), true);
    EXPECT_EQ(zc.bytes(), plain.bytes()) << "with_attr=" << with_attr;
  }
}

TEST(Nfs3ResultTest, ReadResWriterErrorDropsTheDataArea) {
  Wire w;
  w.enc.u32(0xdeadbeef);  // something before the result
  ReadResWriter writer(w.enc);
  writer.begin(64);
  writer.finish_error(Nfsstat3::kIo, std::nullopt);
  auto in = w.decoder();
  EXPECT_EQ(in.u32(), 0xdeadbeefu);
  EXPECT_EQ(in.u32(), 5u);
  EXPECT_FALSE(in.boolean());
  EXPECT_EQ(in.remaining(), 0u);
}

TEST(Nfs3ResultTest, ReadResWriterOverflowLatchesEncoder) {
  Wire w(64);
  ReadResWriter writer(w.enc);
  EXPECT_TRUE(writer.begin(1000).empty());
  EXPECT_FALSE(w.enc.ok());
}

TEST(Nfs3ResultTest, DecodeFattr3RejectsUnknownType) {
  Wire w;
  Attr a = make_attr();
  encode_fattr3(w.enc, a);
  w.enc.patch_u32(0, 8);
  auto in = w.decoder();
  Attr back;
  EXPECT_FALSE(decode_fattr3(in, back));
}

}  // namespace
}  // namespace nasd::nfs3
