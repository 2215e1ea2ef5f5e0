// Helpers shared by the NFSv3 / MOUNT v3 codec tests.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "protocol/rpc/xdr.h"
#include "storage/types.h"

namespace nasd::testutil {

/// A byte buffer with an XdrEncoder writing into it.
struct Wire {
  explicit Wire(std::size_t n = 8192) : buf(n), enc(buf) {}
  std::vector<std::uint8_t> buf;
  xdr::XdrEncoder enc;
  /// A decoder over what was written so far.
  xdr::XdrDecoder decoder() const { return xdr::XdrDecoder(enc.written()); }
  std::vector<std::uint8_t> bytes() const {
    auto w = enc.written();
    return {w.begin(), w.end()};
  }
};

/// A handle of `n` bytes valued seed, seed+1, ...
inline storage::FileHandle make_fh(std::uint8_t n, std::uint8_t seed = 1) {
  storage::FileHandle fh;
  fh.size = n;
  for (std::uint8_t i = 0; i < n; ++i) fh.data[i] = static_cast<std::uint8_t>(seed + i);
  return fh;
}

/// Attributes with every field distinct, so swapped fields are caught.
inline storage::Attr make_attr(std::uint64_t fileid = 42) {
  storage::Attr a;
  a.type = storage::FileType::kDir;
  a.mode = 0755;
  a.nlink = 3;
  a.uid = 1000;
  a.gid = 100;
  a.size = 0x100000004ULL;
  a.used = 8192;
  a.rdev_major = 7;
  a.rdev_minor = 9;
  a.fsid = 0xabcdef0123ULL;
  a.fileid = fileid;
  a.atime = {11, 12};
  a.mtime = {21, 22};
  a.ctime = {31, 32};
  return a;
}

inline bool attr_eq(const storage::Attr& a, const storage::Attr& b) {
  return a.type == b.type && a.mode == b.mode && a.nlink == b.nlink && a.uid == b.uid &&
         a.gid == b.gid && a.size == b.size && a.used == b.used &&
         a.rdev_major == b.rdev_major && a.rdev_minor == b.rdev_minor && a.fsid == b.fsid &&
         a.fileid == b.fileid && a.atime == b.atime && a.mtime == b.mtime && a.ctime == b.ctime;
}

}  // namespace nasd::testutil
