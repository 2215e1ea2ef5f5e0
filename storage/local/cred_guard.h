// CredentialsGuard: run a scope with a client's identity for filesystem calls.
//
// Sets the calling *thread's* fsuid, fsgid and supplementary groups with raw
// syscalls (glibc's wrappers would change every thread of the process).
// When fsuid moves away from 0 the kernel clears the filesystem capabilities
// (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER, CAP_CHOWN, CAP_MKNOD,
// ...) from the thread's effective set, and raises them again when it returns
// to 0, so the kernel's ordinary permission checks apply to the client's
// identity.  The process must run as root (euid 0 with those capabilities
// permitted).  Guards do not nest.
//
// The destructor returns the fsuid to 0 (and with it the capabilities) but
// leaves the fsgid and groups to the next guard, which sets them only when
// they differ: most calls come from the same identity as the one before, and
// this saves four of the six system calls per guard.  A guard for uid 0
// never moves the fsuid, so it makes no system call at all when the fsgid
// and groups are already the ones it needs.  As fsuid 0 with its
// capabilities the thread is not limited by its fsgid or groups; only files
// it creates would take the left-behind fsgid as their group, so code that
// creates files as root on a thread that ran guards calls restore_root()
// first.
#pragma once

#include "storage/types.h"

namespace nasd::storage {

/// RAII: the thread acts as `cred` for filesystem checks while this lives.
class CredentialsGuard {
 public:
  explicit CredentialsGuard(const Credentials& cred);
  ~CredentialsGuard();
  CredentialsGuard(const CredentialsGuard&) = delete;
  CredentialsGuard& operator=(const CredentialsGuard&) = delete;

  /// False when the identity could not be taken (then callers must not
  /// proceed: kServerFault).
  bool ok() const { return ok_; }

  /// Sets the calling thread fully back to root: fsuid, fsgid 0 and no
  /// supplementary groups (before creating files that must be root's).
  static void restore_root();

 private:
  bool ok_ = false;
  bool fsuid_moved_ = false;  // the destructor must return the fsuid to 0
};

}  // namespace nasd::storage
