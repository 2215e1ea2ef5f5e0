// NlmProgram: the Network Lock Manager, version 4 (Open Group XNFS chapters
// 10-14, program 100021) over the protocol-independent LockManager.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "protocol/locking/nlm4.h"
#include "server/exports/export_registry.h"
#include "server/locking/lock_manager.h"
#include "server/locking/nsm_state.h"
#include "server/pipeline/program.h"
#include "server/transport/rpc_callback.h"
#include "storage/backend.h"

namespace nasd::server {

/// NLM v4: NULL, TEST, LOCK, CANCEL, UNLOCK, GRANTED (we hold no client
/// locks: answers DENIED), the _MSG variants (the result goes back as the
/// matching _RES call to the caller's NLM through the CallbackClient; the
/// _MSG call itself gets an empty reply), the _RES procedures (GRANTED_RES
/// completes a GRANTED_MSG; the others are accepted and ignored), SHARE,
/// UNSHARE, NM_LOCK and FREE_ALL.
///
/// Locks are keyed by the file handle bytes; owners are (caller_name, svid).
/// A blocking LOCK that conflicts answers BLOCKED; when the lock is granted
/// later a GRANTED call goes to the caller's lockd (its address is the
/// call's source, its port from its port mapper); if that client answers
/// DENIED (it no longer waits), the lock is released again.
/// While the grace period is active only reclaims (reclaim=true) are
/// granted, others get DENIED_GRACE_PERIOD (TEST too); UNLOCK and CANCEL are
/// always served.  Each client that is granted a lock is recorded in the
/// NsmState, so a restart can notify it.
/// Validate stage (when `backend` and `exports` are given): the file handle
/// must be one of ours (else NLM4_STALE_FH) and the caller must be allowed
/// by its export, `secure` included (else NLM4_FAILED).
class NlmProgram final : public Program {
 public:
  NlmProgram(LockManager& locks, NsmState& nsm, GracePeriod& grace, CallbackClient& callbacks,
             storage::Backend* backend = nullptr, const ExportRegistry* exports = nullptr);

  std::uint32_t number() const override { return nlm4::kProgram; }
  std::uint32_t low_version() const override { return nlm4::kVersion; }
  std::uint32_t high_version() const override { return nlm4::kVersion; }
  const char* name() const override { return "nlm4"; }
  const char* procedure_name(std::uint32_t proc) const override;
  std::uint32_t procedure_count() const override { return nlm4::kProcCount; }

  DecodeResult decode(const CallContext& ctx, xdr::XdrDecoder& in, ArgSlot& args) override;
  std::size_t max_reply_size(const CallContext& ctx, ArgSlot& args) override;
  bool validate(CallContext& ctx, ArgSlot& args, xdr::XdrEncoder& out) override;
  storage::Status execute(CallContext& ctx, ArgSlot& args, xdr::XdrEncoder& out) override;

  /// A client host rebooted (SM_NOTIFY from it, or FREE_ALL): frees the
  /// locks of every caller_name recorded for `name` or `address`.
  void host_rebooted(std::string_view name, const boost::asio::ip::address& address);

  /// Requests waiting for a GRANTED callback (metrics).
  std::size_t blocked_count() const;

  /// Sends GRANTED callbacks for locks an unlock handed to waiters (also
  /// for unlocks by NFSv4 clients on the shared LockManager).  Waiters that
  /// are not NLM's are ignored.
  void notify_granted(std::vector<GrantedWaiter> granted);

 private:
  /// What a queued request needs for its GRANTED callback.
  struct Blocked {
    boost::asio::ip::address host;
    std::string caller_name;
    std::vector<std::uint8_t> fh, oh;
    std::uint32_t svid = 0;
    std::uint64_t offset = 0, length = 0;
    bool exclusive = false;
  };

  /// NLM4_GRANTED when `fh` is ours and the caller may use its export.
  nlm4::Stat check_access(const CallContext& ctx, nlm4::Bytes fh) const;
  nlm4::Stat do_test(const CallContext& ctx, const nlm4::TestArgs& a, nlm4::Holder& holder,
                     std::string& holder_oh);
  nlm4::Stat do_lock(const CallContext& ctx, const nlm4::LockArgs& a, bool monitor);
  nlm4::Stat do_cancel(const nlm4::CancArgs& a);
  nlm4::Stat do_unlock(const nlm4::UnlockArgs& a);
  /// Sends an encoded *_RES call to the caller's NLM.
  void send_res(const boost::asio::ip::address& host, nlm4::Proc res_proc,
                std::vector<std::uint8_t> body);

  LockManager& locks_;
  NsmState& nsm_;
  GracePeriod& grace_;
  CallbackClient& callbacks_;
  storage::Backend* backend_;
  const ExportRegistry* exports_;
  mutable std::mutex mu_;
  std::map<std::uint64_t, Blocked> blocked_;  // by lock-manager cookie, guarded by mu_
  std::uint64_t next_cookie_ = 1;              // guarded by mu_
};

/// NSM v1 (XNFS chapter 11): SM_NULL, SM_STAT and SM_MON (answer stat_succ
/// and our state; nasd monitors the hosts its NLM serves itself, so SM_MON
/// registrations are only acknowledged), SM_UNMON, SM_UNMON_ALL (state),
/// SM_SIMU_CRASH (void, no effect) and SM_NOTIFY: a rebooted host's notice,
/// which frees its locks through `on_notify`.
class NsmProgram final : public Program {
 public:
  NsmProgram(NsmState& state, NlmProgram& nlm);

  std::uint32_t number() const override;
  std::uint32_t low_version() const override;
  std::uint32_t high_version() const override;
  const char* name() const override { return "nsm1"; }
  const char* procedure_name(std::uint32_t proc) const override;
  std::uint32_t procedure_count() const override;

  DecodeResult decode(const CallContext& ctx, xdr::XdrDecoder& in, ArgSlot& args) override;
  std::size_t max_reply_size(const CallContext&, ArgSlot&) override { return 64; }
  bool validate(CallContext&, ArgSlot&, xdr::XdrEncoder&) override { return true; }
  storage::Status execute(CallContext& ctx, ArgSlot& args, xdr::XdrEncoder& out) override;

 private:
  NsmState& state_;
  NlmProgram& nlm_;
};

/// Sends SM_NOTIFY (our new state) to every client the previous run
/// recorded, through `callbacks` (bounded retries, off the request path).
/// Ends `grace` early when there is nobody to wait for.
void notify_previous_clients(NsmState& nsm, CallbackClient& callbacks, GracePeriod& grace);

}  // namespace nasd::server
