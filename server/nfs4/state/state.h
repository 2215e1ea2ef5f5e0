// Nfs4State: NFSv4.1 client, session and open state (RFC 8881 §2.4, §2.10,
// §9.1): EXCHANGE_ID client records, CREATE_SESSION sessions with a slot
// table and a per-slot reply cache (exactly-once semantics, §2.10.6),
// leases renewed by SEQUENCE and expired lazily, and open stateids with
// share reservations.  NFSv4.0 (RFC 7530; state_v40.cc): SETCLIENTID /
// SETCLIENTID_CONFIRM client records, RENEW, open-owners and lock-owners
// with their seqid and replay cache (OwnerSeqid), OPEN_CONFIRM; the 4.0
// stateid rules.
//
// Callbacks (4.0 callback address, 4.1 back channel) are kept and probed by
// Nfs4Callbacks (server/nfs4/callback.h), not here; no delegations are
// handed out.
//
// Memory is bounded: at most Config::max_clients client records,
// max_sessions_per_client sessions each, max_slots slots per session whose
// cached replies are at most max_cached_reply bytes each (larger replies are
// not cached: a retry of one gets NFS4ERR_RETRY_UNCACHED_REP), and
// max_opens_per_client open stateids per client.
//
// Thread-safe: one mutex guards everything (calls are short and never touch
// the disk).
#pragma once

#include <chrono>
#include <deque>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <unordered_map>
#include <vector>

#include "protocol/nfs4/nfs4.h"
#include "server/locking/lock_manager.h"
#include "server/nfs4/state/owner_seqid.h"
#include "storage/types.h"

namespace nasd::server {

class GracePeriod;
class Nfs4ClientRecords;

/// The principal a 4.0 client record belongs to (RFC 7530 §16.33.5): the
/// RPC credential's flavor and, for AUTH_SYS, its uid.  Records of the same
/// id from another principal are CLID_INUSE.
struct Nfs4Principal {
  std::uint32_t flavor = 0;  // rpc::AuthFlavor
  std::uint32_t uid = 0;     // AUTH_SYS only
  friend bool operator==(const Nfs4Principal&, const Nfs4Principal&) = default;
};

class Nfs4State {
 public:
  using Clock = std::chrono::steady_clock;

  struct Config {
    std::chrono::seconds lease{90};
    std::uint32_t max_slots = 64;               // fore-channel slots offered per session
    std::uint32_t max_ops = 64;                 // operations per COMPOUND
    std::uint32_t max_request = 1u << 20;       // ca_maxrequestsize, bytes
    std::uint32_t max_response = 1u << 20;      // ca_maxresponsesize, bytes
    std::uint32_t max_cached_reply = 8192;      // ca_maxresponsesize_cached cap, bytes
    std::size_t max_clients = 4096;
    std::size_t max_sessions_per_client = 16;
    std::size_t max_opens_per_client = 1u << 16;
    std::uint32_t boot = 0;                     // distinguishes this server instance's ids
  };

  /// `now` is the clock (tests inject one to expire leases).
  explicit Nfs4State(Config config, std::function<Clock::time_point()> now = Clock::now);

  const Config& config() const { return config_; }

  /// Byte-range locks go to `locks`, the LockManager NLM uses too (RFC 8881
  /// §9, XNFS: one lock space).  `on_granted` receives the queued (NLM)
  /// waiters an NFSv4 unlock or state release grants; it may be called with
  /// this object's mutex held and must not call back into it.  Call before
  /// serving.  Without it, LOCK/LOCKT/LOCKU answer NFS4ERR_LOCK_NOTSUPP.
  void set_lock_manager(LockManager* locks,
                        std::function<void(std::vector<GrantedWaiter>)> on_granted);
  /// Grace period and reclaim (RFC 8881 §8.4.2, RFC 7530 §9.6): `grace` is
  /// the server's one grace period (this state calls grace->end() once, when
  /// every client owner in `records`' previous list has sent
  /// RECLAIM_COMPLETE, or at once when that list is empty); `records` keeps
  /// the client owners with state on disk.  Call before serving.  Without
  /// it there is no grace period and no reclaim (NFS4ERR_NO_GRACE).
  void set_recovery(GracePeriod* grace, Nfs4ClientRecords* records);
  /// Grace rule for an OPEN / LOCK of `clientid` (RFC 8881 §8.4.2.1, §18.16.3,
  /// §18.10.3): a reclaim is kOk only during grace, from a client whose owner
  /// the previous run recorded (else kReclaimBad) and that has not sent
  /// RECLAIM_COMPLETE (else kNoGrace; kNoGrace outside grace); a non-reclaim
  /// is kGrace during grace.  kStaleClientid for an unknown client.
  nfs4::Nfsstat4 check_grace(std::uint64_t clientid, bool reclaim);
  /// True while the grace period runs (SETATTR of size, LOCKT: kGrace).
  bool in_grace() const;
  /// Whether an OPEN by `clientid` now would write to the client records
  /// (its first open: the client's record; the first open after grace: the
  /// previous clients' records dropped).  False for an unknown client.
  bool open_writes_record(std::uint64_t clientid);

  // ------------------------------------------------ clients and sessions

  struct ExchangeIdResult {
    std::uint64_t clientid = 0;
    std::uint32_t sequenceid = 0;
    bool confirmed = false;
  };
  /// EXCHANGE_ID (RFC 8881 §18.35.5, the non-update cases and
  /// EXCHGID4_FLAG_UPD_CONFIRMED_REC_A).  kResource when max_clients
  /// records exist.
  nfs4::Nfsstat4 exchange_id(const nfs4::ExchangeIdArgs& a, ExchangeIdResult* r);

  struct CreateSessionResult {
    nfs4::SessionId sessionid{};
    std::uint32_t sequence = 0;
    std::uint32_t flags = 0;
    nfs4::ChannelAttrs fore, back;
  };
  /// CREATE_SESSION (§18.36): confirms the client, negotiates the channel
  /// attributes (fore channel: min of the client's and ours), kStaleClientid
  /// for an unknown client, kSeqMisordered for a wrong csa_sequence, the
  /// previous result for a retry of the last one.
  nfs4::Nfsstat4 create_session(const nfs4::CreateSessionArgs& a, CreateSessionResult* r);

  /// DESTROY_SESSION (§18.37).  kBadSession when unknown.
  nfs4::Nfsstat4 destroy_session(const nfs4::SessionId& id);
  /// DESTROY_CLIENTID (§18.50).  kClientidBusy while it has sessions.
  nfs4::Nfsstat4 destroy_clientid(std::uint64_t clientid);
  /// BIND_CONN_TO_SESSION (§18.34): kBadSession when unknown.
  nfs4::Nfsstat4 bind_conn(const nfs4::SessionId& id);
  /// True while the session / client record exists (Nfs4Callbacks prunes by it).
  bool has_session(const nfs4::SessionId& id) const;
  bool has_client(std::uint64_t clientid) const;
  /// RECLAIM_COMPLETE (§18.51): kCompleteAlready the second time.
  nfs4::Nfsstat4 reclaim_complete(std::uint64_t clientid);

  struct SequenceResult {
    std::uint64_t clientid = 0;
    std::uint32_t highest_slotid = 0;         // highest slot of the table
    std::uint32_t target_highest_slotid = 0;
    std::uint32_t status_flags = 0;
    std::uint32_t max_ops = 0;                // negotiated ca_maxoperations
    std::uint32_t max_cached = 0;             // negotiated ca_maxresponsesize_cached
    std::uint32_t max_request = 0;            // negotiated ca_maxrequestsize, bytes
    std::uint32_t max_response = 0;           // negotiated ca_maxresponsesize, bytes
    bool replay = false;                      // `cached` holds the reply to send again
    std::vector<std::uint8_t> cached;
  };
  /// SEQUENCE (§18.46.3) slot handling: a new request (seqid = slot's + 1)
  /// marks the slot busy and renews the lease; a retry of the last request
  /// returns its cached reply (replay), kRetryUncachedRep when it was not
  /// cached, kDelay while it is still executing; any other seqid is
  /// kSeqMisordered; kBadSlot beyond the table; kBadSession unknown session.
  nfs4::Nfsstat4 sequence(const nfs4::SequenceArgs& a, SequenceResult* r);
  /// What sequence() would answer, without changing anything: kOk (with the
  /// session's limits in `r`) only when it would start a new request on the
  /// slot; every other case (a retry, a busy slot, a misordered seqid, an
  /// unknown session) is kDelay here, for the caller to run sequence()
  /// later on a thread that may block.  For inline COMPOUNDs.
  nfs4::Nfsstat4 peek_sequence(const nfs4::SequenceArgs& a, SequenceResult* r);
  /// Ends the request started by a successful non-replay sequence(): stores
  /// `reply` (the whole COMPOUND reply body) when `cacheable` and it fits the
  /// cache limit, and frees the slot.
  void complete_slot(const nfs4::SessionId& id, std::uint32_t slotid,
                     std::span<const std::uint8_t> reply, bool cacheable = true);

  // ------------------------------------------------ open state

  /// OPEN (§18.16.3) share reservation for `owner` of `clientid` on `fh`:
  /// kShareDenied when it conflicts with another owner's access/deny; an
  /// existing open of the same owner is upgraded (union of modes, seqid+1).
  nfs4::Nfsstat4 open(std::uint64_t clientid, std::span<const std::uint8_t> owner,
                      const storage::FileHandle& fh, std::uint32_t access, std::uint32_t deny,
                      nfs4::Stateid4* out);
  /// Checks a stateid given to READ/WRITE/SETATTR on `fh`: the special
  /// anonymous / bypass stateids pass; an open stateid must belong to `fh`
  /// (kBadStateid), be current (kOldStateid when its seqid is older; seqid 0
  /// means "current", §8.2.2) and allow `write` access when asked
  /// (kOpenMode).  kStaleStateid for another server instance's ids.
  /// In minor version 0 (`minor` 0) seqid 0 is not special, and the stateid
  /// of an unconfirmed open is kBadStateid (RFC 7530 §9.1.4).
  nfs4::Nfsstat4 check_stateid(const nfs4::Stateid4& s, const storage::FileHandle& fh,
                               bool write, std::uint32_t minor = 1);
  /// CLOSE (§18.2): frees the open.
  /// `minor` as check_stateid(); in 4.0 the owner keeps the closed stateid
  /// for a replay of the CLOSE.
  nfs4::Nfsstat4 close(const nfs4::Stateid4& s, const storage::FileHandle& fh,
                       std::uint32_t minor = 1);
  /// OPEN_DOWNGRADE (§18.18): access/deny must be subsets (kInval).
  nfs4::Nfsstat4 open_downgrade(const nfs4::Stateid4& s, const storage::FileHandle& fh,
                                std::uint32_t access, std::uint32_t deny, nfs4::Stateid4* out,
                                std::uint32_t minor = 1);
  /// TEST_STATEID for one stateid of `clientid` (§18.48).
  nfs4::Nfsstat4 test_stateid(std::uint64_t clientid, const nfs4::Stateid4& s);
  /// FREE_STATEID (§18.38): kLocksHeld for a live open or a lock stateid
  /// whose lock-owner still holds locks on its file; a lock stateid without
  /// locks is freed.  kBadStateid unknown.
  nfs4::Nfsstat4 free_stateid(std::uint64_t clientid, const nfs4::Stateid4& s);

  // ------------------------------------------------ NFSv4.0 (state_v40.cc)

  struct SetclientidResult {
    std::uint64_t clientid = 0;
    nfs4::Verifier4 confirm{};
  };
  /// SETCLIENTID (RFC 7530 §16.33.5) for client `id` with `verifier` from
  /// `principal` (the RPC credential): a new client or a
  /// rebooted one (other verifier) gets a new unconfirmed clientid; the same
  /// verifier again is a callback update of the confirmed record (same
  /// clientid, new confirm verifier).  kClidInuse when a confirmed record of
  /// `id` with live state belongs to another principal; kResource when
  /// max_clients records exist.  The callback is kept by Nfs4Callbacks (server/nfs4/callback.h), not here.
  nfs4::Nfsstat4 setclientid(std::span<const std::uint8_t> id, const nfs4::Verifier4& verifier,
                             const Nfs4Principal& principal, SetclientidResult* r);
  /// SETCLIENTID_CONFIRM (RFC 7530 §16.34.5): confirms the unconfirmed
  /// record (dropping a previous confirmed record of the same id and its
  /// state: the client rebooted), applies a callback update, or accepts a
  /// retransmission (confirmed record with this confirm verifier).
  /// kClidInuse for another principal; kStaleClientid for an unknown
  /// clientid, another server instance's, or a wrong confirm verifier.
  nfs4::Nfsstat4 setclientid_confirm(std::uint64_t clientid, const nfs4::Verifier4& confirm,
                                     const Nfs4Principal& principal);
  /// RENEW (RFC 7530 §16.29): renews the lease of a confirmed 4.0 client.
  /// kExpired when its lease expired (and its state was dropped);
  /// kStaleClientid when unknown, unconfirmed or another instance's.
  nfs4::Nfsstat4 renew(std::uint64_t clientid);

  /// The owner of one NFSv4.0 seqid-bearing operation between
  /// begin_owner_op() and end_owner_op().
  struct OwnerOp {
    std::uint64_t clientid = 0;
    std::string owner;           // open_owner4.owner bytes
    bool replay = false;         // answer with status/body/fh, do not execute
    nfs4::Nfsstat4 status = nfs4::Nfsstat4::kOk;
    std::vector<std::uint8_t> body;
    std::optional<storage::FileHandle> fh;  // current filehandle after the op
  };
  /// Starts an OPEN of open-owner (`clientid`, `owner`) with `seqid`
  /// (RFC 7530 §9.1.7, §16.16.5): checks the clientid (kStaleClientid
  /// unknown / unconfirmed / other instance, kExpired after its lease
  /// expired) and renews its lease, then the seqid: kBadSeqid, a replay
  /// (r->replay), or new (kOk).  An OPEN by an unconfirmed open-owner that
  /// is not a replay starts it afresh (its unconfirmed opens are dropped).
  nfs4::Nfsstat4 begin_open_owner(std::uint64_t clientid, std::span<const std::uint8_t> owner,
                                  std::uint32_t seqid, OwnerOp* r);
  /// Starts CLOSE / OPEN_DOWNGRADE / OPEN_CONFIRM with open stateid `s`:
  /// finds its open-owner (also for the stateid of the owner's last CLOSE,
  /// so that CLOSE can be replayed), kStaleStateid / kBadStateid when there
  /// is none, renews the lease, then checks `seqid` as begin_open_owner().
  nfs4::Nfsstat4 begin_stateid_owner(const nfs4::Stateid4& s, std::uint32_t seqid, OwnerOp* r);
  /// Ends an operation started with kOk and no replay: records `status`,
  /// `body` and `fh` in the owner's replay cache and advances its seqid
  /// (OwnerSeqid::record()).
  void end_owner_op(const OwnerOp& op, std::uint32_t seqid, nfs4::Nfsstat4 status,
                    std::span<const std::uint8_t> body,
                    const std::optional<storage::FileHandle>& fh);
  /// After a 4.0 OPEN of `clientid`/`owner` returned `sid`: true when the
  /// open-owner is not confirmed yet (OPEN4_RESULT_CONFIRM; the open's
  /// stateid is unusable until OPEN_CONFIRM).  A reclaim (CLAIM_PREVIOUS,
  /// `reclaim`) confirms the owner instead and returns false: the owner was
  /// confirmed before the restart, and the Linux client's reclaim OPEN
  /// carries no GETFH, so it could not send OPEN_CONFIRM (knfsd does the
  /// same).
  bool open_needs_confirm(std::uint64_t clientid, std::span<const std::uint8_t> owner,
                          const nfs4::Stateid4& sid, bool reclaim = false);
  /// OPEN_CONFIRM (RFC 7530 §16.18.5): confirms the open-owner of `s` on
  /// `fh`; the stateid's seqid advances.  kBadStateid when unknown, for
  /// another file or already confirmed; kOldStateid / kStaleStateid per the
  /// 4.0 stateid rules.
  nfs4::Nfsstat4 open_confirm(const nfs4::Stateid4& s, const storage::FileHandle& fh,
                              nfs4::Stateid4* out);
  // ------------------------------------------------ byte-range locks

  /// LOCK (RFC 8881 §18.10, RFC 7530 §16.10) on `fh` for `session_clientid`
  /// (4.1: the SEQUENCE's client; 0 for 4.0, where the open's client is
  /// used).  A new lock-owner (open_to_lock_owner4) gets a lock stateid
  /// (seqid 1) for the (lock-owner, file) pair derived from the open
  /// stateid; an existing one (exist_lock_owner4) is bumped (seqid+1) on
  /// every grant.  Blocking types (READW/WRITEW) are never queued: NFSv4
  /// has no grant callback, the client polls.  Errors: kInval for length 0
  /// or a range past 2^64, kOpenMode for a write lock on an open without
  /// write access, kDenied with `*denied` set to a conflicting lock (of an
  /// NFSv4 or an NLM owner), the stateid errors of check_stateid(),
  /// check_grace()'s, kResource past the per-client bound.
  /// Minor version 0 (`session_clientid` 0): the open_seqid of a new
  /// lock-owner goes through the open-owner's begin/end_owner_op() and the
  /// lock_seqid of an existing one through begin/end_lock_owner_op() (both
  /// driven by Nfs4Program::run_op_v40); here open_to_lock_owner4 for a
  /// (lock-owner, file) that already has a lock stateid is kBadSeqid, and
  /// for a lock-owner known from another file its lock_seqid must be the
  /// owner's next one (kBadSeqid) (RFC 7530 §16.10.5).
  nfs4::Nfsstat4 lock(std::uint64_t session_clientid, const nfs4::LockArgs& a,
                      const storage::FileHandle& fh, nfs4::Stateid4* out,
                      nfs4::LockDenied* denied);
  /// LOCKT (§18.11): kDenied with `*denied` when another owner's lock
  /// conflicts, kGrace during grace, kInval for a bad range.  `clientid`
  /// is the session's (4.1) or a.owner.clientid (4.0).
  nfs4::Nfsstat4 lockt(std::uint64_t clientid, const nfs4::LocktArgs& a,
                       const storage::FileHandle& fh, nfs4::LockDenied* denied);
  /// LOCKU (§18.12): releases the lock-owner's locks on the range (waiters
  /// of NLM it unblocks go to on_granted), seqid+1 into `*out`.  `minor`
  /// selects the stateid rules (another instance's stateid: kStaleStateid
  /// in 4.0, kBadStateid in 4.1+).
  nfs4::Nfsstat4 locku(const nfs4::LockuArgs& a, const storage::FileHandle& fh,
                       nfs4::Stateid4* out, std::uint32_t minor = 1);
  /// Starts a 4.0 LOCK with exist_lock_owner4 or a LOCKU of the lock-owner
  /// of lock stateid `s` (RFC 7530 §9.1.7, §16.10.5, §16.12.5): finds the
  /// lock-owner by `s.other` alone (a retransmission carries the stateid
  /// the first request bumped), kStaleStateid for another instance's,
  /// kExpired for an expired client's, kBadStateid when unknown; renews the
  /// lease, then checks `seqid` against the lock-owner's: kBadSeqid, a
  /// replay (r->replay with the cached status and body), or new (kOk; the
  /// owner is busy, kDelay for a second request meanwhile, until
  /// end_lock_owner_op()).
  nfs4::Nfsstat4 begin_lock_owner(const nfs4::Stateid4& s, std::uint32_t seqid, OwnerOp* r);
  /// Ends a lock-owner operation started by begin_lock_owner() (or the
  /// LOCK of a new lock-owner, r.owner = the lock_owner4 bytes, `seqid` its
  /// lock_seqid): records `status` and `body` in the lock-owner's replay
  /// cache and advances its seqid (OwnerSeqid::record()).  Nothing when the
  /// lock-owner is gone (a refused LOCK of a new one).
  void end_lock_owner_op(const OwnerOp& op, std::uint32_t seqid, nfs4::Nfsstat4 status,
                         std::span<const std::uint8_t> body);
  /// RELEASE_LOCKOWNER (RFC 7530 §16.37, minor version 0 only): frees the
  /// lock-owner's stateids; kLocksHeld while it holds locks; kOk for an
  /// unknown owner; kStaleClientid for an unknown client.
  nfs4::Nfsstat4 release_lockowner(const nfs4::LockOwner4& owner);
  /// Lock stateids alive (tests, metrics).
  std::size_t lock_stateid_count() const;

  /// Removes clients whose lease has expired (with their sessions and
  /// opens).  Called by the operations above; public for tests.
  void expire();

  std::size_t client_count() const;
  std::size_t open_count() const;

 private:
  struct Slot {
    std::uint32_t seqid = 0;
    bool busy = false;
    bool cached = false;
    std::vector<std::uint8_t> reply;
  };
  struct Session {
    nfs4::SessionId id{};
    std::uint64_t clientid = 0;
    std::vector<Slot> slots;
    std::uint32_t max_ops = 0;
    std::uint32_t max_cached = 0;
    std::uint32_t max_request = 0, max_response = 0;
  };
  struct Client {
    std::uint64_t clientid = 0;
    std::string ownerid;
    nfs4::Verifier4 verifier{};
    bool confirmed = false;
    bool reclaim_complete = false;
    std::uint32_t cs_sequence = 1;  // next expected csa_sequence
    std::optional<CreateSessionResult> last_session;
    Clock::time_point renewed;
    std::vector<nfs4::SessionId> sessions;
    std::size_t opens = 0;
    std::size_t lock_states = 0;
    int busy_slots = 0;
    // NFSv4.0 (SETCLIENTID) records.  ownerid is kV40Prefix + the id, so a
    // 4.0 and a 4.1 client with the same id string stay apart.
    bool v40 = false;
    Nfs4Principal principal;
    nfs4::Verifier4 confirm{};
    std::optional<nfs4::Verifier4> update_confirm;  // pending callback update
    std::size_t owners = 0;                         // open-owners in owners_
    bool recorded = false;  // on disk in the client records
  };
  using Other = std::array<std::uint8_t, 12>;
  struct OpenState {
    std::uint64_t clientid = 0;
    std::string owner;
    std::string fh;  // handle bytes
    std::uint32_t seqid = 1;
    std::uint32_t access = 0, deny = 0;
    bool confirmed = true;  // 4.0: false until OPEN_CONFIRM
  };
  /// A 4.0 open-owner: seqid, replay cache and confirmation.
  struct OpenOwner {
    OwnerSeqid seqid;
    bool confirmed = false;
    bool busy = false;                       // between begin and end_owner_op
    std::optional<storage::FileHandle> fh;   // current fh after the cached op
    std::optional<std::array<std::uint8_t, 12>> closed;  // last CLOSEd stateid
  };
  using OwnerKey = std::pair<std::uint64_t, std::string>;
  /// A lock stateid: one per (lock-owner, file) (RFC 8881 §8.2.4).
  struct LockState {
    std::uint64_t clientid = 0;
    std::string owner;      // lock_owner4.owner bytes
    std::string fh;         // handle bytes = LockManager file key
    Other open{};           // the open stateid it was derived from
    std::uint32_t seqid = 1;
    std::uint64_t owner_id = 0;  // LockOwner::id in the LockManager
  };
  struct OtherHash {
    std::size_t operator()(const Other& o) const;
  };
  struct SessionHash {
    std::size_t operator()(const nfs4::SessionId& s) const;
  };

  void expire_locked(Clock::time_point now);
  void drop_client_locked(std::uint64_t clientid);
  Client* client_locked(std::uint64_t clientid);
  /// A new SequenceResult with `s`'s slot table and negotiated limits.
  static void session_limits(const Session& s, SequenceResult* r);
  nfs4::Nfsstat4 find_open_locked(const nfs4::Stateid4& s, OpenState** out);
  // 4.0 (state_v40.cc)
  nfs4::Nfsstat4 find_open_v40_locked(const nfs4::Stateid4& s, OpenState** out,
                                      bool unconfirmed_ok = false);
  nfs4::Nfsstat4 client_v40_locked(std::uint64_t clientid, Client** out);
  nfs4::Nfsstat4 renew_v40_locked(std::uint64_t clientid, Client** out);  // + expiry sweep
  nfs4::Nfsstat4 begin_owner_locked(const OwnerKey& key, std::uint32_t seqid, OwnerOp* r);
  void drop_owners_locked(std::uint64_t clientid);
  void note_expired_locked(const Client& c);
  void note_closed_locked(const OpenState& o, const Other& other);
  nfs4::Nfsstat4 find_lock_locked(const nfs4::Stateid4& s, LockState** out,
                                  std::uint32_t minor = 1);
  Other new_other_locked(std::uint64_t clientid);
  /// Status for a stateid of this instance that names no state: kExpired
  /// when it belonged to a 4.0 client whose lease expired, else kBadStateid.
  nfs4::Nfsstat4 unknown_stateid_locked(const Other& other) const;
  /// Status for a stateid of another server instance: kStaleStateid in
  /// 4.0, kBadStateid in 4.1+ (RFC 8881 §15.1.5: STALE_STATEID is moot in
  /// 4.1, where SEQUENCE detects a restarted server; §8.2.2).
  static nfs4::Nfsstat4 stale_stateid(std::uint32_t minor);
  LockOwner lock_owner_of(const LockState& l) const;
  bool holds_locks_locked(const LockState& l) const;
  void erase_lock_state_locked(const Other& other);
  nfs4::Nfsstat4 check_grace_locked(const Client& c, bool reclaim);
  void record_client_locked(Client& c);
  void maybe_end_grace_locked();
  void fill_denied(const Lock& conflict, nfs4::LockDenied* denied) const;

  const Config config_;
  const std::function<Clock::time_point()> now_;
  mutable std::mutex mu_;
  std::uint32_t next_client_ = 1;
  std::uint32_t next_session_ = 1;
  std::uint64_t next_open_ = 1;
  Clock::time_point last_sweep_{};
  std::map<std::uint64_t, Client> clients_;
  std::unordered_map<nfs4::SessionId, Session, SessionHash> sessions_;
  std::unordered_map<Other, OpenState, OtherHash> opens_;
  std::unordered_multimap<std::string, Other> opens_by_fh_;
  // 4.0 state
  std::map<OwnerKey, OpenOwner> owners_;
  std::map<Other, OwnerKey> closed_;          // last CLOSEd stateid -> owner
  std::set<std::uint64_t> expired_;           // 4.0 clientids whose lease expired
  std::deque<std::uint64_t> expired_order_;   // oldest first, at most kExpiredMax
  std::uint64_t next_confirm_ = 1;
  static constexpr std::size_t kExpiredMax = 4096;
  static constexpr const char* kV40Prefix = "nfs4.0:";

  LockManager* locks_ = nullptr;
  std::function<void(std::vector<GrantedWaiter>)> on_granted_;
  GracePeriod* grace_ = nullptr;
  Nfs4ClientRecords* records_ = nullptr;
  bool grace_released_ = false;   // grace_->end() called
  bool stale_forgotten_ = false;  // records_->forget_stale() called after grace
  std::set<std::string> reclaimed_;  // previous client owners that sent RECLAIM_COMPLETE
  std::uint64_t next_lock_owner_ = 1;
  std::unordered_map<Other, LockState, OtherHash> lock_states_;
  // (clientid, lock-owner bytes, fh) -> lock stateid
  std::map<std::tuple<std::uint64_t, std::string, std::string>, Other> lock_index_;
  /// A lock-owner: its LockOwner id in the LockManager and, in 4.0, its
  /// seqid and replay cache (RFC 7530 §9.1.7).
  struct LockOwnerRec {
    explicit LockOwnerRec(std::uint64_t i) : id(i) {}
    std::uint64_t id;
    OwnerSeqid seqid;
    bool busy = false;  // between begin_lock_owner() and end_lock_owner_op()
  };
  // (clientid, lock-owner bytes) -> lock-owner
  std::map<std::pair<std::uint64_t, std::string>, LockOwnerRec> lock_owner_ids_;
};

}  // namespace nasd::server
