// PortmapProgram: SET/UNSET only from loopback, GETPORT fallback, GETADDR.
#include "server/portmap/portmap_program.h"

#include <gtest/gtest.h>

#include <vector>

namespace nasd::server {
namespace {

class PortmapProgramTest : public ::testing::Test {
 protected:
  /// Runs one call: decode `args` (already XDR), execute, return the result body.
  std::vector<std::uint8_t> call(std::uint32_t vers, std::uint32_t proc,
                                 std::vector<std::uint8_t> args, const char* peer = "127.0.0.1") {
    CallContext ctx;
    ctx.header.prog = portmap::kProgram;
    ctx.header.vers = vers;
    ctx.header.proc = proc;
    ctx.peer = boost::asio::ip::make_address(peer);
    ctx.local = boost::asio::ip::make_address("10.0.0.5");
    xdr::XdrDecoder in(args);
    ArgSlot slot;
    EXPECT_EQ(DecodeResult::kOk, prog_.decode(ctx, in, slot));
    std::vector<std::uint8_t> out(prog_.max_reply_size(ctx, slot));
    xdr::XdrEncoder enc(out);
    EXPECT_TRUE(prog_.validate(ctx, slot, enc));
    prog_.execute(ctx, slot, enc);
    EXPECT_TRUE(enc.ok());
    out.resize(enc.position());
    return out;
  }
  static std::vector<std::uint8_t> mapping(std::uint32_t prog, std::uint32_t vers,
                                           std::uint32_t prot, std::uint32_t port) {
    std::vector<std::uint8_t> b(16);
    xdr::XdrEncoder e(b);
    portmap::encode(e, portmap::Mapping{prog, vers, prot, port});
    return b;
  }
  static std::uint32_t word(const std::vector<std::uint8_t>& b) {
    xdr::XdrDecoder in(b);
    return in.u32();
  }
  std::uint32_t getport(std::uint32_t prog, std::uint32_t vers, std::uint32_t prot) {
    return word(call(2, 3, mapping(prog, vers, prot, 0)));
  }

  PortmapProgram prog_;
};

TEST_F(PortmapProgramTest, SetFromAnotherHostIsRefused) {
  EXPECT_EQ(0u, word(call(2, 1, mapping(300000, 1, 6, 4000), "10.1.1.1")));
  EXPECT_EQ(0u, getport(300000, 1, 6));
  EXPECT_EQ(1u, word(call(2, 1, mapping(300000, 1, 6, 4000))));
  EXPECT_EQ(4000u, getport(300000, 1, 6));
}

TEST_F(PortmapProgramTest, UnsetFromAnotherHostIsRefused) {
  prog_.add(100003, 3, "tcp", 2049);
  EXPECT_EQ(0u, word(call(2, 2, mapping(100003, 3, 6, 0), "192.168.0.9")));
  EXPECT_EQ(2049u, getport(100003, 3, 6));
  EXPECT_EQ(1u, word(call(2, 2, mapping(100003, 3, 6, 0))));
  EXPECT_EQ(0u, getport(100003, 3, 6));
}

TEST_F(PortmapProgramTest, GetportMatchesTransportAndFallsBackToAnotherVersion) {
  prog_.add(100021, 4, "tcp", 2049);
  EXPECT_EQ(2049u, getport(100021, 4, 6));
  EXPECT_EQ(2049u, getport(100021, 1, 6));  // like rpcbind: any version of the program
  EXPECT_EQ(0u, getport(100021, 4, 17));    // not on UDP
}

TEST_F(PortmapProgramTest, GetaddrAnswersWithTheLocalAddress) {
  prog_.add(100003, 3, "tcp", 2049);
  std::vector<std::uint8_t> args(256);
  xdr::XdrEncoder e(args);
  portmap::encode(e, portmap::Rpcb{100003, 3, "tcp", "", ""});
  args.resize(e.position());
  auto out = call(3, 3, args);
  xdr::XdrDecoder in(out);
  EXPECT_EQ("10.0.0.5.8.1", in.string(64));
}

}  // namespace
}  // namespace nasd::server
