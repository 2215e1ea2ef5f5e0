// OwnerSeqid: the NFSv4.0 sequencing of one state-owner (an open-owner or a
// lock-owner), RFC 7530 §9.1.7 and §9.1.8.
//
// In NFSv4.0 every operation that changes a state-owner's state carries the
// owner's seqid: OPEN, OPEN_CONFIRM, OPEN_DOWNGRADE and CLOSE for an
// open-owner; LOCK (and LOCKU) for a lock-owner.  The server keeps, per
// owner, the seqid of the last such operation and its reply, so that
//   - a request carrying the last seqid + 1 is new: it runs, then record()
//     keeps its reply and (unless its status is one of the §9.1.7
//     exceptions) advances the seqid;
//   - a request carrying the last seqid is a retransmission: the server
//     answers it with the cached reply and does not run it again (§9.1.8);
//   - any other seqid is NFS4ERR_BAD_SEQID (and does not advance it).
// A brand-new owner (no request recorded yet) accepts whatever seqid the
// client starts with (§9.1.7, OPEN of a new open-owner / LOCK with
// open_to_lock_owner4).
//
// Seqids are 32-bit and wrap from 0xffffffff to 0 (RFC 7530 §9.1.3 makes no
// exception for owner seqids).
//
// Usage by an operation handler (the caller holds whatever lock protects the
// owner record; this class is not synchronised):
//
//   switch (owner.check(args.seqid)) {
//     case OwnerSeqid::Check::kBad:    return NFS4ERR_BAD_SEQID;
//     case OwnerSeqid::Check::kReplay: send owner.reply_status() +
//                                      owner.reply_body(); do not execute;
//     case OwnerSeqid::Check::kNew:    execute, then
//                                      owner.record(args.seqid, status, body);
//   }
//
// `body` is the operation's result as encoded after the status (nothing for
// an error, except where the result union carries data for one, e.g.
// LOCK4denied); it is copied.  A body longer than kMaxReply is not kept: a
// retransmission then gets the cached status with an empty body.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "protocol/nfs4/nfs4.h"

namespace nasd::server {

class OwnerSeqid {
 public:
  /// Largest cached reply body, bytes.  OPEN's result (stateid, change_info,
  /// rflags, attrset, delegation NONE) and LOCK4denied with a 1 KiB owner
  /// fit; a longer body is dropped from the cache (status kept).
  static constexpr std::size_t kMaxReply = 2048;

  /// What check() found out about a request's seqid.
  enum class Check {
    kNew,     // last + 1, or the first request of a new owner: execute it
    kReplay,  // the last seqid again: answer with the cached reply
    kBad,     // anything else: NFS4ERR_BAD_SEQID
  };

  /// Classifies `seqid` against the owner's last seqid (RFC 7530 §9.1.7).
  Check check(std::uint32_t seqid) const;

  /// Records the outcome of the request with `seqid` that check() found
  /// kNew: keeps `status` and `body` for replays and makes `seqid` the
  /// owner's last seqid, unless `status` is one of the errors after which
  /// the client does not advance its seqid (bumps_seqid() false): then
  /// nothing changes and the client may send the same seqid again as a new
  /// request.
  void record(std::uint32_t seqid, nfs4::Nfsstat4 status, std::span<const std::uint8_t> body);

  /// True when a request ending with `status` consumes its seqid.  False for
  /// NFS4ERR_STALE_CLIENTID, STALE_STATEID, BAD_STATEID, BAD_SEQID, BADXDR,
  /// RESOURCE, NOFILEHANDLE and MOVED (RFC 7530 §9.1.7).
  static bool bumps_seqid(nfs4::Nfsstat4 status);

  /// True once a request was recorded (the owner is no longer brand new).
  bool started() const { return started_; }
  /// The last recorded seqid (meaningful when started()).
  std::uint32_t last_seqid() const { return last_; }
  /// The cached reply of the last recorded request.
  nfs4::Nfsstat4 reply_status() const { return status_; }
  std::span<const std::uint8_t> reply_body() const { return body_; }

 private:
  bool started_ = false;
  std::uint32_t last_ = 0;
  nfs4::Nfsstat4 status_ = nfs4::Nfsstat4::kOk;
  std::vector<std::uint8_t> body_;
};

}  // namespace nasd::server
