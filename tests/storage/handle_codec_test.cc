// HandleCodec: layout round trip and MAC checks.
#include "storage/handle_codec.h"

#include <gtest/gtest.h>

#include "tests/storage/test_util.h"  // Status printer (one definition for every test file)

#include <vector>

namespace nasd::storage {
namespace {

SipKey key_of(std::uint8_t seed) {
  SipKey k{};
  for (std::size_t i = 0; i < k.size(); ++i) k[i] = static_cast<std::uint8_t>(seed + i);
  return k;
}

TEST(HandleCodec, EncodeDecodeRoundTrip) {
  HandleCodec c(key_of(1));
  std::vector<std::uint8_t> kernel = {0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4};
  FileHandle fh;
  ASSERT_EQ(c.encode(0x01020304, 0x81, kernel, &fh), Status::kOk);
  EXPECT_EQ(fh.size, HandleCodec::kHeaderSize + kernel.size() + HandleCodec::kMacSize);
  EXPECT_LE(fh.size, 64);
  DecodedHandle d;
  ASSERT_EQ(c.decode(fh, &d), Status::kOk);
  EXPECT_EQ(d.export_id, 0x01020304u);
  EXPECT_EQ(d.handle_type, 0x81);
  EXPECT_EQ(std::vector<std::uint8_t>(d.kernel_bytes.begin(), d.kernel_bytes.end()), kernel);
}

TEST(HandleCodec, EncodingIsDeterministic) {
  HandleCodec c(key_of(1));
  std::vector<std::uint8_t> kernel = {9, 8, 7};
  FileHandle a, b;
  ASSERT_EQ(c.encode(5, 1, kernel, &a), Status::kOk);
  ASSERT_EQ(c.encode(5, 1, kernel, &b), Status::kOk);
  EXPECT_EQ(a, b);
}

TEST(HandleCodec, AnyFlippedByteIsBadHandle) {
  HandleCodec c(key_of(1));
  std::vector<std::uint8_t> kernel = {1, 2, 3, 4, 5, 6, 7, 8};
  FileHandle fh;
  ASSERT_EQ(c.encode(7, 1, kernel, &fh), Status::kOk);
  for (std::size_t i = 0; i < fh.size; ++i) {
    FileHandle bad = fh;
    bad.data[i] ^= 0x01;
    DecodedHandle d;
    EXPECT_EQ(c.decode(bad, &d), Status::kBadHandle) << "byte " << i;
  }
}

TEST(HandleCodec, HandleFromOtherKeyIsBadHandle) {
  HandleCodec a(key_of(1)), b(key_of(2));
  std::vector<std::uint8_t> kernel = {1, 2, 3, 4};
  FileHandle fh;
  ASSERT_EQ(a.encode(7, 1, kernel, &fh), Status::kOk);
  DecodedHandle d;
  EXPECT_EQ(b.decode(fh, &d), Status::kBadHandle);
}

TEST(HandleCodec, TruncatedOrEmptyHandleIsBadHandle) {
  HandleCodec c(key_of(1));
  std::vector<std::uint8_t> kernel = {1, 2, 3, 4};
  FileHandle fh;
  ASSERT_EQ(c.encode(7, 1, kernel, &fh), Status::kOk);
  DecodedHandle d;
  FileHandle shorter = fh;
  shorter.size -= 1;
  EXPECT_EQ(c.decode(shorter, &d), Status::kBadHandle);
  EXPECT_EQ(c.decode(FileHandle{}, &d), Status::kBadHandle);
}

TEST(HandleCodec, OversizedKernelHandleIsNotSupported) {
  HandleCodec c(key_of(1));
  std::vector<std::uint8_t> kernel(HandleCodec::kMaxKernelBytes + 1, 1);
  FileHandle fh;
  EXPECT_EQ(c.encode(1, 1, kernel, &fh), Status::kNotSupp);
  std::vector<std::uint8_t> fits(HandleCodec::kMaxKernelBytes, 1);
  EXPECT_EQ(c.encode(1, 1, fits, &fh), Status::kOk);
  EXPECT_EQ(fh.size, FileHandle::kMaxSize);
}

}  // namespace
}  // namespace nasd::storage
