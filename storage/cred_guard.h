// CredentialsGuard: run a scope with a client's identity for filesystem calls.
//
// Sets the calling *thread's* fsuid, fsgid and supplementary groups with raw
// syscalls (glibc's wrappers would change every thread of the process), and
// restores root (fsuid 0, fsgid 0, no supplementary groups) on destruction.
// When fsuid moves away from 0 the kernel clears the filesystem capabilities
// (CAP_DAC_OVERRIDE, CAP_FOWNER, CAP_CHOWN, CAP_MKNOD, ...) from the thread's
// effective set, and raises them again when it returns to 0, so the kernel's
// ordinary permission checks apply to the client's identity.  The process must
// run as root (euid 0 with those capabilities permitted).  Guards do not nest:
// the destructor always returns to root.
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

 private:
  bool ok_ = false;
};

}  // namespace nasd::storage
