// CredentialsGuard, see cred_guard.h.
#include "storage/local/cred_guard.h"

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

/// What this thread's fsgid and supplementary groups are (the kernel keeps
/// them per thread; this mirrors them so unchanged ones are not set again).
struct ThreadIds {
  bool known = false;  // false: unknown, set everything
  gid_t gid = 0;
  std::array<gid_t, Credentials::kMaxGroups> groups{};
  std::size_t ngroups = 0;
};
thread_local ThreadIds thread_ids;

}  // namespace

void CredentialsGuard::restore_root() {
  syscall(SYS_setfsuid, 0);  // first: brings the fs capabilities back
  syscall(SYS_setfsgid, 0);
  syscall(SYS_setgroups, 0, nullptr);
  thread_ids = ThreadIds{true, 0, {}, 0};
}

CredentialsGuard::CredentialsGuard(const Credentials& cred) {
  ThreadIds want;
  want.known = true;
  want.gid = cred.gid;
  want.ngroups = std::min<std::size_t>(cred.ngroups, Credentials::kMaxGroups);
  std::copy_n(cred.groups.begin(), want.ngroups, want.groups.begin());
  ThreadIds& have = thread_ids;
  const bool same_groups = have.known && have.ngroups == want.ngroups &&
                           std::equal(want.groups.begin(), want.groups.begin() + want.ngroups,
                                      have.groups.begin());
  // Groups and fsgid first, while still fsuid 0 (setgroups needs CAP_SETGID,
  // which is not dropped by setfsuid, but keep the order obvious anyway).
  if (!same_groups) {
    if (syscall(SYS_setgroups, want.ngroups, want.groups.data()) != 0) {
      restore_root();
      return;
    }
  }
  if (!have.known || have.gid != want.gid) {
    syscall(SYS_setfsgid, cred.gid);
    if (current_fsgid() != static_cast<long>(cred.gid)) {
      restore_root();
      return;
    }
  }
  have = want;
  if (cred.uid != 0) {
    // setfsuid returns the previous fsuid: 0 here (every guard returns to 0).
    fsuid_moved_ = true;
    syscall(SYS_setfsuid, cred.uid);
    if (current_fsuid() != static_cast<long>(cred.uid)) {
      restore_root();
      return;
    }
  }
  ok_ = true;
}

CredentialsGuard::~CredentialsGuard() {
  // Only the fsuid goes back: with fsuid 0 the thread has its filesystem
  // capabilities again, and the fsgid and groups left behind are set again
  // only when the next guard needs different ones.  A guard for uid 0 never
  // moved it.
  if (fsuid_moved_) syscall(SYS_setfsuid, 0);
}

}  // namespace nasd::storage
