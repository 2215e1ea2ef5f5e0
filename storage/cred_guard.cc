// CredentialsGuard, see storage/cred_guard.h.
#include "storage/cred_guard.h"

#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <array>

namespace nasd::storage {
namespace {

// setfsuid/setfsgid never fail visibly; asking with an invalid id (-1) returns
// the current value, which is how success is checked.
long current_fsuid() { return syscall(SYS_setfsuid, static_cast<uid_t>(-1)); }
long current_fsgid() { return syscall(SYS_setfsgid, static_cast<gid_t>(-1)); }

void restore_root() {
  syscall(SYS_setfsuid, 0);  // first: brings the fs capabilities back
  syscall(SYS_setfsgid, 0);
  syscall(SYS_setgroups, 0, nullptr);
}

}  // namespace

CredentialsGuard::CredentialsGuard(const Credentials& cred) {
  std::array<gid_t, Credentials::kMaxGroups> groups{};
  const std::size_t n = std::min<std::size_t>(cred.ngroups, Credentials::kMaxGroups);
  std::copy_n(cred.groups.begin(), n, groups.begin());
  // Groups and fsgid first, while still fsuid 0 (setgroups needs CAP_SETGID,
  // which is not dropped by setfsuid, but keep the order obvious anyway).
  if (syscall(SYS_setgroups, n, groups.data()) != 0) {
    restore_root();
    return;
  }
  syscall(SYS_setfsgid, cred.gid);
  syscall(SYS_setfsuid, cred.uid);
  ok_ = current_fsgid() == static_cast<long>(cred.gid) && current_fsuid() == static_cast<long>(cred.uid);
  if (!ok_) restore_root();
}

CredentialsGuard::~CredentialsGuard() { restore_root(); }

}  // namespace nasd::storage
