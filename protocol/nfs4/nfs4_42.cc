// NFSv4.2 (RFC 7862) and xattr (RFC 8276) argument decoders, and the
// nfsstat4 names.  See nfs4.h.
#include "protocol/nfs4/nfs4.h"

namespace nasd::nfs4 {

using xdr::XdrDecoder;

bool decode(XdrDecoder& in, SeekArgs& a) {
  if (!decode_stateid(in, a.stateid)) return false;
  a.offset = in.u64();
  a.what = in.u32();
  return in.ok() && (a.what == kContentData || a.what == kContentHole);
}

bool decode(XdrDecoder& in, AllocateArgs& a) {
  if (!decode_stateid(in, a.stateid)) return false;
  a.offset = in.u64();
  a.length = in.u64();
  return in.ok();
}

bool decode(XdrDecoder& in, CopyArgs& a) {
  if (!decode_stateid(in, a.src_stateid) || !decode_stateid(in, a.dst_stateid)) return false;
  a.src_offset = in.u64();
  a.dst_offset = in.u64();
  a.count = in.u64();
  a.consecutive = in.boolean();
  a.synchronous = in.boolean();
  a.source_servers = in.u32();
  if (!in.ok() || a.source_servers > 16) return false;
  for (std::uint32_t i = 0; i < a.source_servers; ++i) {  // netloc4 (RFC 7862 §4.2)
    switch (in.u32()) {
      case 1: case 2: in.string(kOpaqueMax); break;                   // NL4_NAME, NL4_URL
      case 3: in.string(kOpaqueMax); in.string(kOpaqueMax); break;    // NL4_NETADDR
      default: return false;
    }
    if (!in.ok()) return false;
  }
  return true;
}

bool decode(XdrDecoder& in, CloneArgs& a) {
  if (!decode_stateid(in, a.src_stateid) || !decode_stateid(in, a.dst_stateid)) return false;
  a.src_offset = in.u64();
  a.dst_offset = in.u64();
  a.count = in.u64();
  return in.ok();
}

bool decode(XdrDecoder& in, GetxattrArgs& a) {
  a.name = in.string(kNameDecodeMax);
  return in.ok();
}

bool decode(XdrDecoder& in, SetxattrArgs& a) {
  a.option = in.u32();
  a.name = in.string(kNameDecodeMax);
  a.value = in.opaque(kXattrValueMax);
  return in.ok() && a.option <= 2;
}

bool decode(XdrDecoder& in, ListxattrsArgs& a) {
  a.cookie = in.u64();
  a.maxcount = in.u32();
  return in.ok();
}

const char* status_name(Nfsstat4 s) {
  switch (s) {
#define NASD_S(name, text) case Nfsstat4::name: return text;
    NASD_S(kOk, "OK") NASD_S(kPerm, "PERM") NASD_S(kNoEnt, "NOENT") NASD_S(kIo, "IO")
    NASD_S(kNxio, "NXIO") NASD_S(kAccess, "ACCESS") NASD_S(kExist, "EXIST")
    NASD_S(kXdev, "XDEV") NASD_S(kNotDir, "NOTDIR") NASD_S(kIsDir, "ISDIR")
    NASD_S(kInval, "INVAL") NASD_S(kFBig, "FBIG") NASD_S(kNoSpc, "NOSPC") NASD_S(kRoFs, "ROFS")
    NASD_S(kMLink, "MLINK") NASD_S(kNameTooLong, "NAMETOOLONG") NASD_S(kNotEmpty, "NOTEMPTY")
    NASD_S(kDQuot, "DQUOT") NASD_S(kStale, "STALE") NASD_S(kBadHandle, "BADHANDLE")
    NASD_S(kBadCookie, "BAD_COOKIE") NASD_S(kNotSupp, "NOTSUPP") NASD_S(kTooSmall, "TOOSMALL")
    NASD_S(kServerFault, "SERVERFAULT") NASD_S(kBadType, "BADTYPE") NASD_S(kDelay, "DELAY")
    NASD_S(kSame, "SAME") NASD_S(kDenied, "DENIED") NASD_S(kExpired, "EXPIRED")
    NASD_S(kLocked, "LOCKED") NASD_S(kGrace, "GRACE") NASD_S(kFhExpired, "FHEXPIRED")
    NASD_S(kShareDenied, "SHARE_DENIED") NASD_S(kWrongSec, "WRONGSEC")
    NASD_S(kClidInuse, "CLID_INUSE") NASD_S(kResource, "RESOURCE") NASD_S(kMoved, "MOVED")
    NASD_S(kNoFileHandle, "NOFILEHANDLE") NASD_S(kMinorVersMismatch, "MINOR_VERS_MISMATCH")
    NASD_S(kStaleClientid, "STALE_CLIENTID") NASD_S(kStaleStateid, "STALE_STATEID")
    NASD_S(kOldStateid, "OLD_STATEID") NASD_S(kBadStateid, "BAD_STATEID")
    NASD_S(kBadSeqid, "BAD_SEQID") NASD_S(kNotSame, "NOT_SAME") NASD_S(kLockRange, "LOCK_RANGE")
    NASD_S(kSymlink, "SYMLINK") NASD_S(kRestorefh, "RESTOREFH") NASD_S(kLeaseMoved, "LEASE_MOVED")
    NASD_S(kAttrNotSupp, "ATTRNOTSUPP") NASD_S(kNoGrace, "NO_GRACE")
    NASD_S(kReclaimBad, "RECLAIM_BAD") NASD_S(kReclaimConflict, "RECLAIM_CONFLICT")
    NASD_S(kBadXdr, "BADXDR") NASD_S(kLocksHeld, "LOCKS_HELD") NASD_S(kOpenMode, "OPENMODE")
    NASD_S(kBadOwner, "BADOWNER") NASD_S(kBadChar, "BADCHAR") NASD_S(kBadName, "BADNAME")
    NASD_S(kBadRange, "BAD_RANGE") NASD_S(kLockNotSupp, "LOCK_NOTSUPP")
    NASD_S(kOpIllegal, "OP_ILLEGAL") NASD_S(kDeadlock, "DEADLOCK") NASD_S(kFileOpen, "FILE_OPEN")
    NASD_S(kAdminRevoked, "ADMIN_REVOKED") NASD_S(kCbPathDown, "CB_PATH_DOWN")
    NASD_S(kBadIoMode, "BADIOMODE") NASD_S(kBadLayout, "BADLAYOUT")
    NASD_S(kBadSessionDigest, "BAD_SESSION_DIGEST") NASD_S(kBadSession, "BADSESSION")
    NASD_S(kBadSlot, "BADSLOT") NASD_S(kCompleteAlready, "COMPLETE_ALREADY")
    NASD_S(kConnNotBoundToSession, "CONN_NOT_BOUND_TO_SESSION")
    NASD_S(kDelegAlreadyWanted, "DELEG_ALREADY_WANTED") NASD_S(kBackChanBusy, "BACK_CHAN_BUSY")
    NASD_S(kLayoutTryLater, "LAYOUTTRYLATER") NASD_S(kLayoutUnavailable, "LAYOUTUNAVAILABLE")
    NASD_S(kNoMatchingLayout, "NOMATCHING_LAYOUT") NASD_S(kRecallConflict, "RECALLCONFLICT")
    NASD_S(kUnknownLayoutType, "UNKNOWN_LAYOUTTYPE") NASD_S(kSeqMisordered, "SEQ_MISORDERED")
    NASD_S(kSequencePos, "SEQUENCE_POS") NASD_S(kReqTooBig, "REQ_TOO_BIG")
    NASD_S(kRepTooBig, "REP_TOO_BIG") NASD_S(kRepTooBigToCache, "REP_TOO_BIG_TO_CACHE")
    NASD_S(kRetryUncachedRep, "RETRY_UNCACHED_REP") NASD_S(kUnsafeCompound, "UNSAFE_COMPOUND")
    NASD_S(kTooManyOps, "TOO_MANY_OPS") NASD_S(kOpNotInSession, "OP_NOT_IN_SESSION")
    NASD_S(kHashAlgUnsupp, "HASH_ALG_UNSUPP") NASD_S(kClientidBusy, "CLIENTID_BUSY")
    NASD_S(kPnfsIoHole, "PNFS_IO_HOLE") NASD_S(kSeqFalseRetry, "SEQ_FALSE_RETRY")
    NASD_S(kBadHighSlot, "BAD_HIGH_SLOT") NASD_S(kDeadSession, "DEADSESSION")
    NASD_S(kEncrAlgUnsupp, "ENCR_ALG_UNSUPP") NASD_S(kPnfsNoLayout, "PNFS_NO_LAYOUT")
    NASD_S(kNotOnlyOp, "NOT_ONLY_OP") NASD_S(kWrongCred, "WRONG_CRED")
    NASD_S(kWrongType, "WRONG_TYPE") NASD_S(kDirdelegUnavail, "DIRDELEG_UNAVAIL")
    NASD_S(kRejectDeleg, "REJECT_DELEG") NASD_S(kReturnconflict, "RETURNCONFLICT")
    NASD_S(kDelegRevoked, "DELEG_REVOKED") NASD_S(kPartnerNotSupp, "PARTNER_NOTSUPP")
    NASD_S(kPartnerNoAuth, "PARTNER_NO_AUTH") NASD_S(kUnionNotSupp, "UNION_NOTSUPP")
    NASD_S(kOffloadDenied, "OFFLOAD_DENIED") NASD_S(kWrongLfs, "WRONG_LFS")
    NASD_S(kBadLabel, "BADLABEL") NASD_S(kOffloadNoReqs, "OFFLOAD_NO_REQS")
    NASD_S(kNoXattr, "NOXATTR") NASD_S(kXattr2Big, "XATTR2BIG")
#undef NASD_S
  }
  return "UNKNOWN";
}

}  // namespace nasd::nfs4
