// libFuzzer target: a TCP byte stream as a client sends it — RFC 5531 §11
// record marking (RecordAssembler, as server/transport/connection.cc drives it) and,
// for each complete record, the RPC call header with its AUTH_SYS
// credential (rpc::decode_call, RFC 5531 §9 and appendix A).
//
// Checks: no crash or UB; a record never exceeds the maximum; decode_call
// never reads past the record and, on kOk, leaves at most 16 groups.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "protocol/rpc/record_marking.h"
#include "protocol/rpc/rpc.h"

namespace {

constexpr std::size_t kMaxRecord = (1u << 20) + (64u << 10);  // nasd's default

[[noreturn]] void invariant_failed(const char* what) {
  std::fprintf(stderr, "invariant failed: %s\n", what);
  std::abort();
}

std::uint32_t be32(const std::uint8_t* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
         std::uint32_t{p[3]};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using nasd::rpc::RecordAssembler;
  RecordAssembler assembler(kMaxRecord);
  std::vector<std::uint8_t> record;
  std::size_t pos = 0;
  while (size - pos >= nasd::rpc::kRecordMarkBytes) {
    const auto step = assembler.on_header(be32(data + pos));
    pos += nasd::rpc::kRecordMarkBytes;
    if (step != RecordAssembler::Step::kReadFragment) return 0;  // connection closed
    const std::size_t len = assembler.fragment_length();
    if (assembler.received() + len > kMaxRecord) invariant_failed("record over the maximum");
    if (len > size - pos) return 0;  // stream ends mid-fragment
    record.insert(record.end(), data + pos, data + pos + len);
    pos += len;
    if (!assembler.on_fragment_done()) continue;
    if (record.size() != assembler.record_length()) invariant_failed("record length");

    nasd::xdr::XdrDecoder in(record);
    nasd::rpc::CallHeader h;
    const auto r = nasd::rpc::decode_call(in, h);
    if (in.position() > record.size()) invariant_failed("decoder past the record");
    if (r == nasd::rpc::HeaderResult::kOk) {
      if (h.rpcvers != nasd::rpc::kRpcVersion) invariant_failed("kOk with rpcvers != 2");
      if (h.flavor == nasd::rpc::AuthFlavor::kSys &&
          h.sys.ngroups > nasd::rpc::AuthSys::kMaxGroups) {
        invariant_failed("more than 16 AUTH_SYS groups");
      }
    }
    record.clear();
  }
  return 0;
}
