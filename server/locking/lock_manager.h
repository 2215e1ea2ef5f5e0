// LockManager: byte-range locks and share reservations per file, independent
// of the protocol that asks for them.  NLM v4 (server/nlm_program.*) uses it
// today; NFSv4 LOCK/LOCKT/LOCKU/OPEN share reservations are meant to use the
// same instance, so that a v3 and a v4 client conflict with each other.
//
// Interface contract (what a protocol front end maps onto):
//   * FileKey:   bytes naming the file; the NFS file handle (the same object
//                must give the same key from every protocol).
//   * LockOwner: (client, id) identifies a lock owner.  NLM: client =
//                LockClient::nlm(caller_name), id = svid.  NFSv4: client =
//                LockClient::nfs4(clientid), id = a number unique per
//                lock-owner of that client.
//                `opaque` (NLM's oh) is only reported back in conflicts.
//   * Ranges:    [start, end] inclusive, end = kToEof for "to end of file"
//                (NLM l_len 0, NFSv4 length all ones).  range() builds one.
//   * lock():    POSIX semantics: a lock replaces the owner's own locks on
//                the overlapped bytes (upgrade/downgrade), adjacent or
//                overlapping ranges of the same type merge; another owner's
//                overlapping lock conflicts when either is exclusive.
//                With `wait` a conflicting request is queued (kBlocked).
//   * unlock():  removes the owner's locks on the range, splitting ranges.
//                Queued waiters that no longer conflict are granted, in
//                FIFO order, and returned to the caller, which notifies
//                their clients (NLM GRANTED callback; NFSv4 has no callback,
//                it would simply not queue).
//   * free_client(): every lock, waiter and share of a client (NLM FREE_ALL,
//                SM_NOTIFY of a rebooted client, NFSv4 lease expiry).
// All methods are thread-safe (one mutex); none blocks on I/O.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <limits>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace nasd::server {

/// The client a lock belongs to: an NLM host by its caller_name, or an
/// NFSv4 client by its clientid.  A plain string is an NLM host.  Equality:
/// same kind and same name / id.
struct LockClient {
  enum class Kind : std::uint8_t { kNlm, kNfs4 };
  Kind kind = Kind::kNlm;
  std::string host;            // kNlm: caller_name
  std::uint64_t clientid = 0;  // kNfs4: clientid4

  LockClient() = default;
  LockClient(std::string nlm_host) : host(std::move(nlm_host)) {}  // NOLINT: implicit
  LockClient(const char* nlm_host) : host(nlm_host) {}             // NOLINT: implicit
  static LockClient nlm(std::string_view caller_name) { return LockClient(std::string(caller_name)); }
  static LockClient nfs4(std::uint64_t id) {
    LockClient c;
    c.kind = Kind::kNfs4;
    c.clientid = id;
    return c;
  }
  friend bool operator==(const LockClient&, const LockClient&) = default;
};

/// Who holds a lock.  Equality: same client and same id.
struct LockOwner {
  LockClient client;   // NLM caller_name / NFSv4 clientid
  std::uint64_t id = 0;  // NLM svid / NFSv4 lock-owner number
  std::string opaque;  // NLM oh (reported in conflicts, not compared)
  bool same(const LockOwner& o) const { return client == o.client && id == o.id; }
};

enum class LockType : std::uint8_t { kShared, kExclusive };

/// Last byte offset for "to end of file".
constexpr std::uint64_t kToEof = std::numeric_limits<std::uint64_t>::max();

/// One granted lock: [start, end] inclusive.
struct Lock {
  LockOwner owner;
  LockType type = LockType::kShared;
  std::uint64_t start = 0;
  std::uint64_t end = kToEof;
};

/// [offset, offset+length-1]; length 0 (or a range past 2^64) means to end
/// of file (NLM4 l_len semantics, XNFS chapter 10).
inline std::pair<std::uint64_t, std::uint64_t> lock_range(std::uint64_t offset,
                                                          std::uint64_t length) {
  if (length == 0 || length - 1 > kToEof - offset) return {offset, kToEof};
  return {offset, offset + length - 1};
}

/// A queued request that was granted by an unlock; the front end tells the
/// client.  `cookie` is what the front end passed to lock().
struct GrantedWaiter {
  std::string file;
  Lock lock;
  std::uint64_t cookie = 0;
};

/// Result of lock().
enum class LockStatus : std::uint8_t {
  kGranted,   // held now
  kDenied,    // conflicts, not queued (conflict set)
  kBlocked,   // conflicts, queued; a later unlock grants it
  kNoLocks,   // the manager's bounds are reached
};

/// DOS share reservation (NLM SHARE, NFSv4 OPEN share_access/share_deny):
/// bit 1 read, bit 2 write.
struct Share {
  LockOwner owner;
  std::uint32_t access = 0;
  std::uint32_t deny = 0;
};

class LockManager {
 public:
  static constexpr std::size_t kMaxLocks = 1u << 20;     // all files together
  static constexpr std::size_t kMaxWaiters = 1u << 14;   // queued requests, all files

  using FileKey = std::string;

  /// Tries to lock [start, end] for `owner`.  kDenied/kBlocked set
  /// `*conflict` (when non-null) to a conflicting lock.  With `wait`, a
  /// conflicting request is queued with `cookie` (an identical request
  /// already queued is not queued twice).  When granted as a downgrade,
  /// queued requests it no longer blocks are granted into `*woken`.
  LockStatus lock(const FileKey& file, const LockOwner& owner, LockType type,
                  std::uint64_t start, std::uint64_t end, bool wait, std::uint64_t cookie,
                  Lock* conflict = nullptr, std::vector<GrantedWaiter>* woken = nullptr);

  /// The first lock of another owner that would conflict, if any (TEST).
  std::optional<Lock> test(const FileKey& file, const LockOwner& owner, LockType type,
                           std::uint64_t start, std::uint64_t end) const;

  /// Removes `owner`'s locks on [start, end] and its queued requests that
  /// overlap it, then grants waiters that no longer conflict (FIFO).
  /// Unlocking what is not held is not an error.
  std::vector<GrantedWaiter> unlock(const FileKey& file, const LockOwner& owner,
                                    std::uint64_t start, std::uint64_t end);

  /// Removes a queued request of `owner` for exactly [start, end] and type.
  /// Returns true when one was queued.
  bool cancel(const FileKey& file, const LockOwner& owner, LockType type, std::uint64_t start,
              std::uint64_t end);

  /// Drops every lock, waiter and share of `client`; returns the waiters of
  /// other clients this grants.
  std::vector<GrantedWaiter> free_client(const LockClient& client);

  /// Adds a share reservation; false when it conflicts with another owner's.
  /// The same owner adding again replaces its reservation.
  bool share(const FileKey& file, const Share& s);
  /// Removes `owner`'s share reservation on the file.
  void unshare(const FileKey& file, const LockOwner& owner);

  /// The granted locks on a file, by start offset (tests, debugging).
  std::vector<Lock> locks(const FileKey& file) const;
  /// Number of granted lock ranges / queued waiters (metrics).
  std::size_t lock_count() const;
  std::size_t waiter_count() const;
  /// True when `client` holds any lock or share.
  bool client_holds_locks(const LockClient& client) const;

 private:
  struct Waiter {
    Lock lock;
    std::uint64_t cookie;
  };
  struct FileState {
    std::vector<Lock> locks;
    std::deque<Waiter> waiters;
    std::vector<Share> shares;
    bool empty() const { return locks.empty() && waiters.empty() && shares.empty(); }
  };

  static const Lock* find_conflict(const FileState& f, const Lock& want);
  /// Removes owner's coverage of [start, end], splitting ranges.
  void carve(FileState& f, const LockOwner& owner, std::uint64_t start, std::uint64_t end);
  void insert_merged(FileState& f, Lock l);
  void grant_waiters(const FileKey& key, FileState& f, std::vector<GrantedWaiter>& out);

  mutable std::mutex mu_;
  std::unordered_map<FileKey, FileState> files_;  // guarded by mu_
  std::size_t lock_count_ = 0;                     // guarded by mu_
  std::size_t waiter_count_ = 0;                   // guarded by mu_
};

/// The LockManager file key of a file handle.  NLM (the NFSv3 handle) and
/// NFSv4 (the same storage handle for real files) name a file with the same
/// storage::Backend handle bytes, so both protocols' locks on one file meet
/// under one key.  (A file reached through two nested exports has two
/// handles and so two keys.)
inline std::string lock_file_key(std::span<const std::uint8_t> handle) {
  return std::string(reinterpret_cast<const char*>(handle.data()), handle.size());
}

}  // namespace nasd::server
