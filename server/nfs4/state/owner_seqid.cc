// NFSv4.0 state-owner seqid and replay cache.  See owner_seqid.h.
#include "server/nfs4/state/owner_seqid.h"

namespace nasd::server {

using nfs4::Nfsstat4;

OwnerSeqid::Check OwnerSeqid::check(std::uint32_t seqid) const {
  if (!started_) return Check::kNew;
  if (seqid == last_) return Check::kReplay;
  if (seqid == static_cast<std::uint32_t>(last_ + 1)) return Check::kNew;
  return Check::kBad;
}

bool OwnerSeqid::bumps_seqid(Nfsstat4 status) {
  switch (status) {
    case Nfsstat4::kStaleClientid: case Nfsstat4::kStaleStateid: case Nfsstat4::kBadStateid:
    case Nfsstat4::kBadSeqid: case Nfsstat4::kBadXdr: case Nfsstat4::kResource:
    case Nfsstat4::kNoFileHandle: case Nfsstat4::kMoved:
      return false;
    default:
      return true;
  }
}

void OwnerSeqid::record(std::uint32_t seqid, Nfsstat4 status,
                        std::span<const std::uint8_t> body) {
  if (!bumps_seqid(status)) return;
  started_ = true;
  last_ = seqid;
  status_ = status;
  if (body.size() <= kMaxReply) {
    body_.assign(body.begin(), body.end());
  } else {
    body_.clear();
  }
}

}  // namespace nasd::server
