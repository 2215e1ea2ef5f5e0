#include "server/portmap/rpcbind_registration.h"

#include <rpc/rpc.h>
#include <rpc/rpcb_clnt.h>

#include <memory>
#include <string>

#include <spdlog/spdlog.h>

namespace nasd::server {

namespace {
// RFC 1833 universal address of 0.0.0.0:port: "h1.h2.h3.h4.p1.p2".
std::string universal_address(std::uint16_t port) {
  return "0.0.0.0." + std::to_string(port >> 8) + "." + std::to_string(port & 0xff);
}

struct NetconfigDeleter {
  void operator()(netconfig* nc) const { freenetconfigent(nc); }
};
}  // namespace

RpcbindRegistration::RpcbindRegistration(std::vector<Entry> entries) : entries_(std::move(entries)) {
  std::unique_ptr<netconfig, NetconfigDeleter> nc(getnetconfigent("tcp"));
  if (!nc) {
    spdlog::info("rpcbind: no 'tcp' netconfig; not registering");
    return;
  }
  for (const auto& e : entries_) {
    rpcb_unset(e.program, e.version, nc.get());  // stale entries of an earlier run
    std::string uaddr = universal_address(e.port);
    netbuf* nb = uaddr2taddr(nc.get(), uaddr.c_str());
    if (!nb) continue;
    bool ok = rpcb_set(e.program, e.version, nc.get(), nb);
    free(nb->buf);
    free(nb);
    if (!ok) {
      spdlog::info("rpcbind not reachable; serving without portmapper registration");
      return;
    }
  }
  registered_ = true;
  spdlog::info("registered {} programs with rpcbind", entries_.size());
}

RpcbindRegistration::~RpcbindRegistration() {
  if (!registered_) return;
  std::unique_ptr<netconfig, NetconfigDeleter> nc(getnetconfigent("tcp"));
  if (!nc) return;
  for (const auto& e : entries_) rpcb_unset(e.program, e.version, nc.get());
}

}  // namespace nasd::server
