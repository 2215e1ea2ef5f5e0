// NSM, the network status monitor (Open Group XNFS chapter 11; program
// 100024 version 1) XDR codecs.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

#include "protocol/rpc/xdr.h"

namespace nasd::nsm {

constexpr std::uint32_t kProgram = 100024;
constexpr std::uint32_t kVersion = 1;
constexpr std::size_t kMaxStrLen = 1024;  // SM_MAXSTRLEN

/// Procedures.
enum class Proc : std::uint32_t {
  kNull = 0, kStat = 1, kMon = 2, kUnmon = 3, kUnmonAll = 4, kSimuCrash = 5, kNotify = 6,
};
constexpr std::uint32_t kProcCount = 7;

/// res: stat_succ / stat_fail.
enum class Res : std::uint32_t { kSucc = 0, kFail = 1 };

/// my_id: the RPC callback a monitor registers.
struct MyId {
  std::string_view my_name;
  std::uint32_t my_prog = 0, my_vers = 0, my_proc = 0;
};
/// mon_id.
struct MonId {
  std::string_view mon_name;
  MyId my_id;
};
/// mon (SM_MON).
struct Mon {
  MonId mon_id;
  std::array<std::uint8_t, 16> priv{};
};
/// sm_name (SM_STAT).
struct SmName {
  std::string_view mon_name;
};
/// stat_chge (SM_NOTIFY).
struct StatChge {
  std::string_view mon_name;
  std::int32_t state = 0;
};

bool decode(xdr::XdrDecoder& in, MyId& out);
bool decode(xdr::XdrDecoder& in, MonId& out);
bool decode(xdr::XdrDecoder& in, Mon& out);
bool decode(xdr::XdrDecoder& in, SmName& out);
bool decode(xdr::XdrDecoder& in, StatChge& out);

void encode(xdr::XdrEncoder& out, const MyId& v);
void encode(xdr::XdrEncoder& out, const MonId& v);
void encode(xdr::XdrEncoder& out, const Mon& v);
void encode(xdr::XdrEncoder& out, const StatChge& v);
/// sm_stat_res: res, state.
void encode_stat_res(xdr::XdrEncoder& out, Res res, std::int32_t state);
/// sm_stat: state.
void encode_stat(xdr::XdrEncoder& out, std::int32_t state);

}  // namespace nasd::nsm
