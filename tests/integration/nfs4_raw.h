// Helpers for hand-made NFSv4 COMPOUNDs over raw TCP in the integration
// tests: XDR appenders and a reader for a COMPOUND reply body.
#pragma once

#include <cstdint>
#include <string>

#include <gtest/gtest.h>

#include "tests/integration/rpc_client.h"

namespace nasd::integration {

inline void put_u64(std::string& s, std::uint64_t v) {
  put_u32(s, static_cast<std::uint32_t>(v >> 32));
  put_u32(s, static_cast<std::uint32_t>(v));
}
inline void put_opaque(std::string& s, const std::string& b) {
  put_u32(s, static_cast<std::uint32_t>(b.size()));
  s += b;
  s.append((4 - b.size() % 4) % 4, '\0');
}

/// A COMPOUND's reply body (after the RPC header) with a read position:
/// overall status, then (op, status, body) per result.
struct Result {
  std::string raw;
  std::size_t pos = 0;
  std::uint32_t status = 0;
  std::uint32_t numres = 0;
  std::uint32_t u32() {
    std::uint32_t v = get_u32(raw, pos);
    pos += 4;
    return v;
  }
  std::uint64_t u64() {
    std::uint64_t hi = u32();
    return hi << 32 | u32();
  }
  std::string fixed(std::size_t n) {
    std::string r = raw.substr(pos, n);
    pos += n + (4 - n % 4) % 4;
    return r;
  }
  std::string opaque() { return fixed(u32()); }
  /// Reads the next result's op (EXPECTs `op`) and returns its status.
  std::uint32_t next(std::uint32_t op) {
    EXPECT_EQ(u32(), op);
    return u32();
  }
};

/// RPC call header of an NFSv4 COMPOUND with AUTH_SYS `uid` / gid 0 (the
/// test exports are no_root_squash).
inline std::string nfs4_call_header(std::uint32_t xid, std::uint32_t uid = 0) {
  std::string s;
  for (std::uint32_t v : {xid, 0u, 2u, 100003u, 4u, 1u}) put_u32(s, v);
  std::string cred;
  put_u32(cred, 0);  // stamp
  put_opaque(cred, "test");
  put_u32(cred, uid);
  put_u32(cred, 0);
  put_u32(cred, 0);
  put_u32(s, 1);  // AUTH_SYS
  put_opaque(s, cred);
  put_u32(s, 0);
  put_u32(s, 0);
  return s;
}

/// Sends COMPOUND(tag "t", `minor`, `nops` operations encoded in `ops`) on
/// `conn` and returns the reply positioned at the first result.
inline Result nfs4_compound(RawConnection& conn, std::uint32_t xid, const std::string& ops,
                            std::uint32_t nops, std::uint32_t minor, std::uint32_t uid = 0) {
  std::string rec = nfs4_call_header(xid, uid);
  put_opaque(rec, "t");
  put_u32(rec, minor);
  put_u32(rec, nops);
  rec += ops;
  EXPECT_TRUE(conn.send_record(rec));
  auto reply = conn.recv_record();
  Result res;
  if (!reply) {
    ADD_FAILURE() << "no reply";
    return res;
  }
  EXPECT_EQ(get_u32(*reply, 20), 0u) << "accept_stat";
  res.raw = reply->substr(24);
  res.status = res.u32();
  res.opaque();  // tag
  res.numres = res.u32();
  return res;
}

}  // namespace nasd::integration
