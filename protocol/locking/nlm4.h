// NLM version 4 (Open Group XNFS, "Network Lock Manager Protocol",
// chapters 10-14; program 100021 version 4) XDR codecs.  Decoded strings and
// opaques are views into the request buffer.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "protocol/rpc/xdr.h"

namespace nasd::nlm4 {

constexpr std::uint32_t kProgram = 100021;
constexpr std::uint32_t kVersion = 4;

/// Procedure numbers (XNFS chapter 14).
enum class Proc : std::uint32_t {
  kNull = 0, kTest = 1, kLock = 2, kCancel = 3, kUnlock = 4, kGranted = 5,
  kTestMsg = 6, kLockMsg = 7, kCancelMsg = 8, kUnlockMsg = 9, kGrantedMsg = 10,
  kTestRes = 11, kLockRes = 12, kCancelRes = 13, kUnlockRes = 14, kGrantedRes = 15,
  kShare = 20, kUnshare = 21, kNmLock = 22, kFreeAll = 23,
};
constexpr std::uint32_t kProcCount = 24;

/// nlm4_stats.
enum class Stat : std::uint32_t {
  kGranted = 0, kDenied = 1, kDeniedNoLocks = 2, kBlocked = 3, kDeniedGracePeriod = 4,
  kDeadlck = 5, kRofs = 6, kStaleFh = 7, kFbig = 8, kFailed = 9,
};

constexpr std::size_t kMaxNetobj = 1024;   // MAXNETOBJ_SZ
constexpr std::size_t kMaxStrLen = 1024;   // LM_MAXSTRLEN

using Bytes = std::span<const std::uint8_t>;

/// nlm4_lock.
struct Lock {
  std::string_view caller_name;
  Bytes fh;
  Bytes oh;
  std::uint32_t svid = 0;
  std::uint64_t l_offset = 0;
  std::uint64_t l_len = 0;
};

/// nlm4_testargs (TEST, TEST_MSG).
struct TestArgs {
  Bytes cookie;
  bool exclusive = false;
  Lock lock;
};
/// nlm4_lockargs (LOCK, LOCK_MSG, NM_LOCK).
struct LockArgs {
  Bytes cookie;
  bool block = false;
  bool exclusive = false;
  Lock lock;
  bool reclaim = false;
  std::int32_t state = 0;
};
/// nlm4_cancargs (CANCEL, CANCEL_MSG).
struct CancArgs {
  Bytes cookie;
  bool block = false;
  bool exclusive = false;
  Lock lock;
};
/// nlm4_unlockargs (UNLOCK, UNLOCK_MSG).
struct UnlockArgs {
  Bytes cookie;
  Lock lock;
};
/// nlm4_share.
struct Share {
  std::string_view caller_name;
  Bytes fh;
  Bytes oh;
  std::uint32_t mode = 0;    // fsh4_mode: deny none/read/write/read-write
  std::uint32_t access = 0;  // fsh4_access
};
/// nlm4_shareargs (SHARE, UNSHARE).
struct ShareArgs {
  Bytes cookie;
  Share share;
  bool reclaim = false;
};
/// nlm4_notify (FREE_ALL).
struct NotifyArgs {
  std::string_view name;
  std::int32_t state = 0;
};
/// nlm4_res (results of LOCK/CANCEL/UNLOCK/GRANTED and their _RES calls).
struct Res {
  Bytes cookie;
  Stat stat = Stat::kGranted;
};
/// nlm4_holder (TEST denied).
struct Holder {
  bool exclusive = false;
  std::uint32_t svid = 0;
  Bytes oh;
  std::uint64_t l_offset = 0;
  std::uint64_t l_len = 0;
};
/// nlm4_testres.
struct TestRes {
  Bytes cookie;
  Stat stat = Stat::kGranted;
  Holder holder;  // when stat == kDenied
};

bool decode(xdr::XdrDecoder& in, TestArgs& out);
bool decode(xdr::XdrDecoder& in, LockArgs& out);
bool decode(xdr::XdrDecoder& in, CancArgs& out);
bool decode(xdr::XdrDecoder& in, UnlockArgs& out);
bool decode(xdr::XdrDecoder& in, ShareArgs& out);
bool decode(xdr::XdrDecoder& in, NotifyArgs& out);
bool decode(xdr::XdrDecoder& in, Res& out);
bool decode(xdr::XdrDecoder& in, TestRes& out);

void encode(xdr::XdrEncoder& out, const Lock& l);
void encode(xdr::XdrEncoder& out, const TestArgs& a);
void encode(xdr::XdrEncoder& out, const LockArgs& a);
void encode(xdr::XdrEncoder& out, const CancArgs& a);
void encode(xdr::XdrEncoder& out, const UnlockArgs& a);
void encode(xdr::XdrEncoder& out, const ShareArgs& a);
void encode(xdr::XdrEncoder& out, const NotifyArgs& a);
/// nlm4_res.
void encode(xdr::XdrEncoder& out, const Res& r);
/// nlm4_testres.
void encode(xdr::XdrEncoder& out, const TestRes& r);
/// nlm4_shareres: cookie, stat, sequence.
void encode_shareres(xdr::XdrEncoder& out, Bytes cookie, Stat stat, std::int32_t sequence);

/// nlm4_testargs is also the argument of GRANTED (nlm4_testargs, XNFS).
using GrantedArgs = TestArgs;

}  // namespace nasd::nlm4
