// Registration of nasd's RPC programs with a system rpcbind (RFC 1833),
// through libtirpc's rpcb_set().  When no rpcbind runs, nasd carries on
// without it (one log line); registrations are removed again on destruction.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

namespace nasd::server {

class RpcbindRegistration {
 public:
  /// One (program, version, TCP port) to register.
  struct Entry {
    std::uint32_t program;
    std::uint32_t version;
    std::uint16_t port;
  };

  /// Registers every entry for "tcp" (IPv4).  Never throws: a missing
  /// rpcbind is logged once and leaves registered() false.
  explicit RpcbindRegistration(std::vector<Entry> entries);
  /// Unsets what was registered.
  ~RpcbindRegistration();
  RpcbindRegistration(const RpcbindRegistration&) = delete;
  RpcbindRegistration& operator=(const RpcbindRegistration&) = delete;

  bool registered() const { return registered_; }

 private:
  std::vector<Entry> entries_;
  bool registered_ = false;
};

}  // namespace nasd::server
