// NFS version 4 (RFC 7530 for 4.0, RFC 8881 for 4.1, RFC 7862 for 4.2) XDR
// codecs: the COMPOUND header, the argument decoders of the operations the
// server implements, the fattr4 bitmap and attribute encoding, and the
// fattr4 decoding SETATTR / CREATE / OPEN need.
//
// COMPOUND decoding is lazy: decode_compound_header() reads the tag, minor
// version and operation count and leaves the decoder at the first operation;
// the program then reads one operation at a time (the op number, then the
// per-operation decode()).  Execution stops at the first failing operation
// (RFC 8881 §16.2.3), so an operation the server does
// not implement never needs its arguments parsed: it answers NFS4ERR_NOTSUPP
// (or NFS4ERR_OP_ILLEGAL for an unknown number) and nothing after it is read.
// Decoders never copy: names, opaque data and WRITE data are views into the
// request buffer.  A decoder returns false when its arguments are truncated
// or malformed; the program answers NFS4ERR_BADXDR for that operation.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/rpc/xdr.h"
#include "storage/types.h"

namespace nasd::nfs4 {

constexpr std::uint32_t kProgram = 100003;
constexpr std::uint32_t kVersion = 4;
/// RPC procedures of version 4 (RFC 8881 §16).
constexpr std::uint32_t kProcNull = 0, kProcCompound = 1;
constexpr std::uint32_t kProcCount = 2;

/// Limits of this implementation.
constexpr std::size_t kFhMax = 128;           // NFS4_FHSIZE
constexpr std::size_t kTagMax = 1024;          // longest COMPOUND tag decoded, bytes
constexpr std::size_t kNameMax = 255;          // longest component4 accepted, bytes
constexpr std::size_t kNameDecodeMax = 1024;   // longer names: BADXDR
constexpr std::size_t kPathMax = 4096;         // longest linktext4
constexpr std::size_t kOpaqueMax = 1024;       // NFS4_OPAQUE_LIMIT (owners, ids)
constexpr std::size_t kBitmapWordsMax = 8;     // bitmap4 words decoded
constexpr std::uint32_t kMaxMinorVersion = 2;

/// nfs_opnum4 (RFC 8881 §16.2, RFC 7862 §15, RFC 8276 §8).
enum class Op : std::uint32_t {
  kAccess = 3, kClose = 4, kCommit = 5, kCreate = 6, kDelegpurge = 7, kDelegreturn = 8,
  kGetattr = 9, kGetfh = 10, kLink = 11, kLock = 12, kLockt = 13, kLocku = 14, kLookup = 15,
  kLookupp = 16, kNverify = 17, kOpen = 18, kOpenattr = 19, kOpenConfirm = 20,
  kOpenDowngrade = 21, kPutfh = 22, kPutpubfh = 23, kPutrootfh = 24, kRead = 25,
  kReaddir = 26, kReadlink = 27, kRemove = 28, kRename = 29, kRenew = 30, kRestorefh = 31,
  kSavefh = 32, kSecinfo = 33, kSetattr = 34, kSetclientid = 35, kSetclientidConfirm = 36,
  kVerify = 37, kWrite = 38, kReleaseLockowner = 39,
  // 4.1
  kBackchannelCtl = 40, kBindConnToSession = 41, kExchangeId = 42, kCreateSession = 43,
  kDestroySession = 44, kFreeStateid = 45, kGetDirDelegation = 46, kGetdeviceinfo = 47,
  kGetdevicelist = 48, kLayoutcommit = 49, kLayoutget = 50, kLayoutreturn = 51,
  kSecinfoNoName = 52, kSequence = 53, kSetSsv = 54, kTestStateid = 55, kWantDelegation = 56,
  kDestroyClientid = 57, kReclaimComplete = 58,
  // 4.2
  kAllocate = 59, kCopy = 60, kCopyNotify = 61, kDeallocate = 62, kIoAdvise = 63,
  kLayouterror = 64, kLayoutstats = 65, kOffloadCancel = 66, kOffloadStatus = 67,
  kReadPlus = 68, kSeek = 69, kWriteSame = 70, kClone = 71, kGetxattr = 72, kSetxattr = 73,
  kListxattrs = 74, kRemovexattr = 75,
  kIllegal = 10044,
};

/// Lowest and highest operation number of minor version `minor` (0..2); ops
/// outside [3, last] are OP_ILLEGAL in that minor version.
constexpr std::uint32_t last_op(std::uint32_t minor) {
  return minor == 0 ? 39 : minor == 1 ? 58 : 75;
}

/// nfsstat4 (RFC 8881 §15.1), the values this server sends.
enum class Nfsstat4 : std::uint32_t {
  kOk = 0, kPerm = 1, kNoEnt = 2, kIo = 5, kNxio = 6, kAccess = 13, kExist = 17, kXdev = 18,
  kNotDir = 20, kIsDir = 21, kInval = 22, kFBig = 27, kNoSpc = 28, kRoFs = 30, kMLink = 31,
  kNameTooLong = 63, kNotEmpty = 66, kDQuot = 69, kStale = 70, kBadHandle = 10001,
  kBadCookie = 10003, kNotSupp = 10004, kTooSmall = 10005, kServerFault = 10006,
  kBadType = 10007, kDelay = 10008, kSame = 10009, kDenied = 10010, kExpired = 10011,
  kLocked = 10012, kGrace = 10013, kFhExpired = 10014, kShareDenied = 10015,
  kWrongSec = 10016, kClidInuse = 10017, kResource = 10018, kMoved = 10019, kNoFileHandle = 10020,
  kMinorVersMismatch = 10021, kStaleClientid = 10022, kStaleStateid = 10023,
  kOldStateid = 10024, kBadStateid = 10025, kBadSeqid = 10026, kNotSame = 10027,
  kLockRange = 10028, kSymlink = 10029, kRestorefh = 10030, kLeaseMoved = 10031,
  kAttrNotSupp = 10032, kNoGrace = 10033, kReclaimBad = 10034, kReclaimConflict = 10035,
  kBadXdr = 10036, kLocksHeld = 10037, kOpenMode = 10038, kBadOwner = 10039,
  kBadChar = 10040, kBadName = 10041, kBadRange = 10042, kLockNotSupp = 10043,
  kOpIllegal = 10044, kDeadlock = 10045, kFileOpen = 10046, kAdminRevoked = 10047,
  kCbPathDown = 10048,
  // 4.1
  kBadIoMode = 10049, kBadLayout = 10050, kBadSessionDigest = 10051, kBadSession = 10052,
  kBadSlot = 10053, kCompleteAlready = 10054, kConnNotBoundToSession = 10055,
  kDelegAlreadyWanted = 10056, kBackChanBusy = 10057, kLayoutTryLater = 10058,
  kLayoutUnavailable = 10059, kNoMatchingLayout = 10060, kRecallConflict = 10061,
  kUnknownLayoutType = 10062, kSeqMisordered = 10063, kSequencePos = 10064,
  kReqTooBig = 10065, kRepTooBig = 10066, kRepTooBigToCache = 10067,
  kRetryUncachedRep = 10068, kUnsafeCompound = 10069, kTooManyOps = 10070,
  kOpNotInSession = 10071, kHashAlgUnsupp = 10072, kClientidBusy = 10074,
  kPnfsIoHole = 10075, kSeqFalseRetry = 10076, kBadHighSlot = 10077, kDeadSession = 10078,
  kEncrAlgUnsupp = 10079, kPnfsNoLayout = 10080, kNotOnlyOp = 10081, kWrongCred = 10082,
  kWrongType = 10083, kDirdelegUnavail = 10084, kRejectDeleg = 10085, kReturnconflict = 10086,
  kDelegRevoked = 10087,
  // 4.2 (RFC 7862 §11.1), xattrs (RFC 8276 §8.5)
  kPartnerNotSupp = 10088, kPartnerNoAuth = 10089, kUnionNotSupp = 10090,
  kOffloadDenied = 10091, kWrongLfs = 10092, kBadLabel = 10093, kOffloadNoReqs = 10094,
  kNoXattr = 10095, kXattr2Big = 10096,
};

/// Status name for logs and metric labels without the NFS4ERR_ prefix
/// ("OK", "NOENT", "BADXDR"); "UNKNOWN" for values not listed above.
const char* status_name(Nfsstat4 s);

// ---------------------------------------------------------------- attributes

/// fattr4 attribute numbers (RFC 8881 §5.8), those this server knows.
enum Attr4 : std::uint32_t {
  kSupportedAttrs = 0, kType = 1, kFhExpireType = 2, kChange = 3, kSize = 4,
  kLinkSupport = 5, kSymlinkSupport = 6, kNamedAttr = 7, kFsid = 8, kUniqueHandles = 9,
  kLeaseTime = 10, kRdattrError = 11, kAcl = 12, kAclSupport = 13, kArchive = 14,
  kCanSetTime = 15, kCaseInsensitive = 16, kCasePreserving = 17, kChownRestricted = 18,
  kFilehandle = 19, kFileid = 20, kFilesAvail = 21, kFilesFree = 22, kFilesTotal = 23,
  kFsLocations = 24, kHidden = 25, kHomogeneous = 26, kMaxfilesize = 27, kMaxlink = 28,
  kMaxname = 29, kMaxread = 30, kMaxwrite = 31, kMimetype = 32, kMode = 33, kNoTrunc = 34,
  kNumlinks = 35, kOwner = 36, kOwnerGroup = 37, kRawdev = 41, kSpaceAvail = 42,
  kSpaceFree = 43, kSpaceTotal = 44, kSpaceUsed = 45, kSystem = 46, kTimeAccess = 47,
  kTimeAccessSet = 48, kTimeBackup = 49, kTimeCreate = 50, kTimeDelta = 51,
  kTimeMetadata = 52, kTimeModify = 53, kTimeModifySet = 54, kMountedOnFileid = 55,
  kFsLayoutType = 62, kSuppattrExclcreat = 75,
  kXattrSupport = 82,  // RFC 8276 §8.2 (minor version 2)
};

/// bitmap4 (RFC 8881 §3.3.7) of up to 3 words (attributes 0..95).
struct Bitmap4 {
  std::array<std::uint32_t, 3> w{};
  bool test(std::uint32_t bit) const { return bit < 96 && (w[bit / 32] >> (bit % 32)) & 1; }
  void set(std::uint32_t bit) {
    if (bit < 96) w[bit / 32] |= 1u << (bit % 32);
  }
  void clear(std::uint32_t bit) {
    if (bit < 96) w[bit / 32] &= ~(1u << (bit % 32));
  }
  bool empty() const { return w[0] == 0 && w[1] == 0 && w[2] == 0; }
  Bitmap4 operator&(const Bitmap4& o) const {
    Bitmap4 r;
    for (int i = 0; i < 3; ++i) r.w[i] = w[i] & o.w[i];
    return r;
  }
  friend bool operator==(const Bitmap4&, const Bitmap4&) = default;
};

/// Decodes a bitmap4.  Bits beyond the third word are dropped; `*beyond` is
/// set when one was set (a SETATTR answers ATTRNOTSUPP).  False when
/// malformed or longer than kBitmapWordsMax words.
bool decode_bitmap(xdr::XdrDecoder& in, Bitmap4& out, bool* beyond = nullptr);
/// Encodes a bitmap4 with trailing zero words dropped.
void encode_bitmap(xdr::XdrEncoder& out, const Bitmap4& b);

/// Attributes this server supports in minor version `minor` (supported_attrs).
Bitmap4 supported_attrs(std::uint32_t minor);
/// Attributes a client may set with SETATTR / createattrs.
Bitmap4 settable_attrs();
/// Attributes accepted with EXCLUSIVE4_1 creation (suppattr_exclcreat).
Bitmap4 exclcreat_attrs();
/// True when one of the file-system space / file count attributes is in `b`.
bool needs_fsstat(const Bitmap4& b);

/// Everything the attribute encoder can report for one object.
struct AttrValues {
  storage::Attr attr;
  std::span<const std::uint8_t> fh;   // filehandle attribute, wire bytes
  std::uint64_t fsid_major = 0, fsid_minor = 0;
  std::uint64_t mounted_on_fileid = 0;
  std::optional<storage::FsStat> fsstat;  // required when needs_fsstat(request)
  std::uint32_t lease_time = 90;          // seconds
  std::uint64_t max_read = 1 << 20, max_write = 1 << 20;
  std::uint32_t minor = 1;
  std::uint32_t rdattr_error = 0;         // nfsstat4 for the rdattr_error attribute
  bool xattr_support = true;              // xattr_support attribute (RFC 8276 §8.2)
};

/// The change attribute derived from ctime: seconds << 32 | nanoseconds
/// (RFC 8881 §5.8.1.4: must change whenever the object changes).
constexpr std::uint64_t change_from(const storage::Time& t) {
  return (std::uint64_t{t.seconds} << 32) | t.nseconds;
}

/// Encodes fattr4 (bitmap of the attributes returned + attrlist4) with the
/// requested attributes this server supports.  Returns false when `out`
/// overflowed.
bool encode_fattr(xdr::XdrEncoder& out, const Bitmap4& request, const AttrValues& v);

/// A decoded settable fattr4 (SETATTR, CREATE, OPEN createattrs).
struct SetAttrs {
  storage::SetAttr set;  // mode, size, times; uid / gid once the owners are mapped
  Bitmap4 present;       // the bitmap as sent
  /// owner / owner_group as sent (views into the request), for the server
  /// to map to set.uid / set.gid (server/nfs4/idmap.h).
  std::optional<std::string_view> owner_name, group_name;
};

/// Decodes fattr4 for setting.  Returns kOk, kBadXdr (malformed),
/// kAttrNotSupp (an attribute this server cannot set or does not know),
/// kInval (a read-only attribute).  owner / owner_group are left as strings
/// (the id mapping needs the server's configuration).
Nfsstat4 decode_settable(xdr::XdrDecoder& in, SetAttrs& out);

/// Encodes an owner / owner_group as the numeric id string (what Linux
/// clients expect for AUTH_SYS; RFC 8881 §5.9).
void encode_id(xdr::XdrEncoder& out, std::uint32_t id);

// ---------------------------------------------------------------- COMPOUND

/// COMPOUND4args header (RFC 8881 §16.2.1); the operations follow it.
struct CompoundHeader {
  std::string_view tag;
  std::uint32_t minorversion = 0;
  std::uint32_t numops = 0;
};

/// Reads tag, minorversion and the op count; false when malformed.
bool decode_compound_header(xdr::XdrDecoder& in, CompoundHeader& out);

/// stateid4 (RFC 8881 §3.3.12).
struct Stateid4 {
  std::uint32_t seqid = 0;
  std::array<std::uint8_t, 12> other{};
  friend bool operator==(const Stateid4&, const Stateid4&) = default;
  bool is_anonymous() const { return seqid == 0 && other == std::array<std::uint8_t, 12>{}; }
  bool is_bypass() const {
    std::array<std::uint8_t, 12> ones;
    ones.fill(0xff);
    return seqid == 0xffffffffu && other == ones;
  }
  /// The current-stateid special value (seqid 1, other zero; RFC 8881 §16.2.3.1.2).
  bool is_current() const { return seqid == 1 && other == std::array<std::uint8_t, 12>{}; }
};
bool decode_stateid(xdr::XdrDecoder& in, Stateid4& s);
void encode_stateid(xdr::XdrEncoder& out, const Stateid4& s);

using SessionId = std::array<std::uint8_t, 16>;
using Verifier4 = std::array<std::uint8_t, 8>;

// Argument structures, one per implemented operation, named after the RFC.
struct PutfhArgs { std::span<const std::uint8_t> fh; };
struct NameArgs { std::string_view name; };   // LOOKUP, REMOVE, LINK, SECINFO
struct GetattrArgs { Bitmap4 request; };
struct AccessArgs { std::uint32_t access = 0; };
struct SetattrArgs { Stateid4 stateid; SetAttrs attrs; Nfsstat4 attr_status = Nfsstat4::kOk; };
struct ReadArgs { Stateid4 stateid; std::uint64_t offset = 0; std::uint32_t count = 0; };
struct WriteArgs {
  Stateid4 stateid;
  std::uint64_t offset = 0;
  std::uint32_t stable = 0;  // stable_how4: UNSTABLE4 0, DATA_SYNC4 1, FILE_SYNC4 2
  std::span<const std::uint8_t> data;
};
struct CommitArgs { std::uint64_t offset = 0; std::uint32_t count = 0; };
struct CreateArgs {
  storage::FileType type = storage::FileType::kDir;  // NF4DIR/LNK/BLK/CHR/SOCK/FIFO
  std::string_view linkdata;
  std::uint32_t major = 0, minor = 0;
  std::string_view name;
  SetAttrs attrs;
  Nfsstat4 attr_status = Nfsstat4::kOk;
  bool bad_type = false;  // NF4REG or an unknown type: NFS4ERR_BADTYPE
};
struct RenameArgs { std::string_view oldname, newname; };
struct ReaddirArgs {
  std::uint64_t cookie = 0;
  storage::Verifier cookieverf{};
  std::uint32_t dircount = 0, maxcount = 0;
  Bitmap4 request;
};
/// OPEN4args (RFC 8881 §18.16).
struct OpenArgs {
  std::uint32_t seqid = 0;
  std::uint32_t share_access = 0;   // low 2 bits; want flags removed
  std::uint32_t share_deny = 0;
  std::uint64_t clientid = 0;
  std::span<const std::uint8_t> owner;
  bool create = false;
  std::uint32_t createmode = 0;  // UNCHECKED4 0, GUARDED4 1, EXCLUSIVE4 2, EXCLUSIVE4_1 3
  SetAttrs attrs;
  Nfsstat4 attr_status = Nfsstat4::kOk;
  Verifier4 verifier{};
  std::uint32_t claim = 0;  // CLAIM_NULL 0, CLAIM_PREVIOUS 1, CLAIM_DELEGATE_CUR 2,
                            // CLAIM_DELEGATE_PREV 3, CLAIM_FH 4, CLAIM_DELEG_CUR_FH 5,
                            // CLAIM_DELEG_PREV_FH 6 (RFC 8881 §18.16.1)
  std::string_view name;    // CLAIM_NULL / DELEGATE_CUR / DELEGATE_PREV
  Stateid4 deleg_stateid;   // CLAIM_DELEGATE_CUR / CLAIM_DELEG_CUR_FH
  std::uint32_t delegate_type = 0;  // CLAIM_PREVIOUS
};
constexpr std::uint32_t kShareAccessRead = 1, kShareAccessWrite = 2, kShareAccessBoth = 3;
struct CloseArgs { std::uint32_t seqid = 0; Stateid4 stateid; };
struct OpenDowngradeArgs {
  Stateid4 stateid;
  std::uint32_t seqid = 0, share_access = 0, share_deny = 0;
};
struct StateidArgs { Stateid4 stateid; };   // FREE_STATEID
struct TestStateidArgs { std::vector<Stateid4> stateids; };
struct SecinfoNoNameArgs { std::uint32_t style = 0; };

/// channel_attrs4 (RFC 8881 §18.36).
struct ChannelAttrs {
  std::uint32_t headerpadsize = 0, maxrequestsize = 0, maxresponsesize = 0,
                maxresponsesize_cached = 0, maxoperations = 0, maxrequests = 0;
  std::optional<std::uint32_t> rdma_ird;
};
void encode_channel_attrs(xdr::XdrEncoder& out, const ChannelAttrs& c);

struct ExchangeIdArgs {
  Verifier4 verifier{};
  std::span<const std::uint8_t> ownerid;
  std::uint32_t flags = 0;
  std::uint32_t state_protect = 0;  // SP4_NONE 0, SP4_MACH_CRED 1, SP4_SSV 2
};
/// The back-channel credential of callback_sec_parms4 (RFC 8881 §18.36.1)
/// nasd can use: AUTH_NONE or AUTH_SYS (RPCSEC_GSS entries are skipped).
struct CallbackSec {
  std::uint32_t flavor = 0;  // AUTH_NONE 0, AUTH_SYS 1
  std::uint32_t stamp = 0, uid = 0, gid = 0;
  std::string machinename;
  std::vector<std::uint32_t> gids;
};
/// Decodes callback_sec_parms4<>: `sec` gets the first AUTH_NONE / AUTH_SYS
/// entry (nullopt when the list has entries but none of those); an empty
/// list means AUTH_NONE.
bool decode_callback_sec(xdr::XdrDecoder& in, std::optional<CallbackSec>& sec);

/// CREATE_SESSION4args flags (RFC 8881 §18.36.1).
constexpr std::uint32_t kCreateSessionPersist = 0x1, kCreateSessionConnBackChan = 0x2;
struct CreateSessionArgs {
  std::uint64_t clientid = 0;
  std::uint32_t sequence = 0, flags = 0;
  ChannelAttrs fore, back;
  std::uint32_t cb_program = 0;
  std::optional<CallbackSec> sec;
};
/// BACKCHANNEL_CTL4args (RFC 8881 §18.33.1).
struct BackchannelCtlArgs {
  std::uint32_t cb_program = 0;
  std::optional<CallbackSec> sec;
};
/// channel_dir_from_client4 / channel_dir_from_server4 (RFC 8881 §18.34.1).
constexpr std::uint32_t kCdfc4Fore = 1, kCdfc4Back = 2, kCdfc4ForeOrBoth = 3,
                        kCdfc4BackOrBoth = 7;
constexpr std::uint32_t kCdfs4Fore = 1, kCdfs4Back = 2, kCdfs4Both = 3;
/// sr_status_flags bits of SEQUENCE (RFC 8881 §18.46.3).
constexpr std::uint32_t kSeq4StatusCbPathDown = 0x1, kSeq4StatusCbPathDownSession = 0x200;
struct SequenceArgs {
  SessionId sessionid{};
  std::uint32_t sequenceid = 0, slotid = 0, highest_slotid = 0;
  bool cachethis = false;
};
struct SessionArgs { SessionId sessionid{}; };  // DESTROY_SESSION
struct ClientidArgs { std::uint64_t clientid = 0; };  // DESTROY_CLIENTID
struct ReclaimCompleteArgs { bool one_fs = false; };
struct BindConnArgs { SessionId sessionid{}; std::uint32_t dir = 0; bool rdma = false; };

/// nfs_lock_type4 (RFC 8881 §18.10): READW/WRITEW are the blocking variants.
constexpr std::uint32_t kReadLt = 1, kWriteLt = 2, kReadwLt = 3, kWritewLt = 4;
/// lock_owner4: the client id and the client's opaque owner name.
struct LockOwner4 {
  std::uint64_t clientid = 0;
  std::span<const std::uint8_t> owner;
};
/// LOCK4args (RFC 8881 §18.10.1, RFC 7530 §16.10.1) with locker4 flattened:
/// new_lock_owner selects open_to_lock_owner4 (open_seqid, open_stateid,
/// lock_seqid, lock_owner) or exist_lock_owner4 (lock_stateid, lock_seqid).
struct LockArgs {
  std::uint32_t locktype = 0;
  bool reclaim = false;
  std::uint64_t offset = 0, length = 0;
  bool new_lock_owner = false;
  std::uint32_t open_seqid = 0;
  Stateid4 open_stateid;   // new_lock_owner
  Stateid4 lock_stateid;   // !new_lock_owner
  std::uint32_t lock_seqid = 0;
  LockOwner4 lock_owner;   // new_lock_owner
};
/// LOCKT4args (§18.11.1).
struct LocktArgs {
  std::uint32_t locktype = 0;
  std::uint64_t offset = 0, length = 0;
  LockOwner4 owner;
};
/// LOCKU4args (§18.12.1).
struct LockuArgs {
  std::uint32_t locktype = 0, seqid = 0;
  Stateid4 lock_stateid;
  std::uint64_t offset = 0, length = 0;
};
/// RELEASE_LOCKOWNER4args (RFC 7530 §16.37.1; 4.0 only).
struct ReleaseLockownerArgs { LockOwner4 owner; };
/// LOCK4denied (§18.10.2): the conflicting lock.
struct LockDenied {
  std::uint64_t offset = 0, length = 0;
  std::uint32_t locktype = 0;
  std::uint64_t clientid = 0;
  std::vector<std::uint8_t> owner;
};
void encode_lock_denied(xdr::XdrEncoder& out, const LockDenied& d);

bool decode(xdr::XdrDecoder& in, PutfhArgs& a);
bool decode(xdr::XdrDecoder& in, NameArgs& a);
bool decode(xdr::XdrDecoder& in, GetattrArgs& a);
bool decode(xdr::XdrDecoder& in, AccessArgs& a);
bool decode(xdr::XdrDecoder& in, SetattrArgs& a);
bool decode(xdr::XdrDecoder& in, ReadArgs& a);
bool decode(xdr::XdrDecoder& in, WriteArgs& a);
bool decode(xdr::XdrDecoder& in, CommitArgs& a);
bool decode(xdr::XdrDecoder& in, CreateArgs& a);
bool decode(xdr::XdrDecoder& in, RenameArgs& a);
bool decode(xdr::XdrDecoder& in, ReaddirArgs& a);
bool decode(xdr::XdrDecoder& in, OpenArgs& a);
bool decode(xdr::XdrDecoder& in, CloseArgs& a);
bool decode(xdr::XdrDecoder& in, OpenDowngradeArgs& a);
bool decode(xdr::XdrDecoder& in, StateidArgs& a);
/// At most `max` stateids (longer lists: false).
bool decode(xdr::XdrDecoder& in, TestStateidArgs& a, std::size_t max = 1024);
bool decode(xdr::XdrDecoder& in, SecinfoNoNameArgs& a);
bool decode(xdr::XdrDecoder& in, ExchangeIdArgs& a);
bool decode(xdr::XdrDecoder& in, CreateSessionArgs& a);
bool decode(xdr::XdrDecoder& in, SequenceArgs& a);
bool decode(xdr::XdrDecoder& in, SessionArgs& a);
bool decode(xdr::XdrDecoder& in, ClientidArgs& a);
bool decode(xdr::XdrDecoder& in, ReclaimCompleteArgs& a);
bool decode(xdr::XdrDecoder& in, BindConnArgs& a);
bool decode(xdr::XdrDecoder& in, BackchannelCtlArgs& a);
bool decode(xdr::XdrDecoder& in, LockArgs& a);
bool decode(xdr::XdrDecoder& in, LocktArgs& a);
bool decode(xdr::XdrDecoder& in, LockuArgs& a);
bool decode(xdr::XdrDecoder& in, ReleaseLockownerArgs& a);

// ---------------------------------------------------------------- 4.2 ops
// Arguments of the RFC 7862 operations and of the RFC 8276 xattr operations
// (decoders in protocol/nfs4/nfs4_42.cc).

/// data_content4 (RFC 7862 §15.11.1).
constexpr std::uint32_t kContentData = 0, kContentHole = 1;
/// ACCESS4_XAREAD / XAWRITE / XALIST (RFC 8276 §8.4.5).
constexpr std::uint32_t kAccessXaRead = 0x40, kAccessXaWrite = 0x80, kAccessXaList = 0x100;
/// Longest xattr value accepted (XATTR_SIZE_MAX on Linux), bytes.
constexpr std::size_t kXattrValueMax = 65536;

struct SeekArgs { Stateid4 stateid; std::uint64_t offset = 0; std::uint32_t what = 0; };
/// ALLOCATE4args / DEALLOCATE4args (§15.1, §15.4).
struct AllocateArgs { Stateid4 stateid; std::uint64_t offset = 0, length = 0; };
/// COPY4args (§15.2).  Only whether a source server was named is kept.
struct CopyArgs {
  Stateid4 src_stateid, dst_stateid;
  std::uint64_t src_offset = 0, dst_offset = 0, count = 0;
  bool consecutive = false, synchronous = false;
  std::uint32_t source_servers = 0;  // ca_source_server entries (inter-server COPY)
};
/// CLONE4args (§15.13).
struct CloneArgs {
  Stateid4 src_stateid, dst_stateid;
  std::uint64_t src_offset = 0, dst_offset = 0, count = 0;
};
/// READ_PLUS4args (§15.10) has READ4args' layout.
using ReadPlusArgs = ReadArgs;
struct GetxattrArgs { std::string_view name; };  // also REMOVEXATTR4args
struct SetxattrArgs {
  std::uint32_t option = 0;  // setxattr_option4: EITHER 0, CREATE 1, REPLACE 2
  std::string_view name;
  std::span<const std::uint8_t> value;
};
struct ListxattrsArgs { std::uint64_t cookie = 0; std::uint32_t maxcount = 0; };

bool decode(xdr::XdrDecoder& in, SeekArgs& a);     // false also for an unknown sa_what
bool decode(xdr::XdrDecoder& in, AllocateArgs& a);
/// Reads the netloc4 list (at most 16 entries) without keeping it.
bool decode(xdr::XdrDecoder& in, CopyArgs& a);
bool decode(xdr::XdrDecoder& in, CloneArgs& a);
bool decode(xdr::XdrDecoder& in, GetxattrArgs& a);
/// False for an unknown option or a value longer than kXattrValueMax.
bool decode(xdr::XdrDecoder& in, SetxattrArgs& a);
bool decode(xdr::XdrDecoder& in, ListxattrsArgs& a);

/// change_info4 (RFC 8881 §3.3.9) from a directory's wcc data.
void encode_change_info(xdr::XdrEncoder& out, const storage::WccData& wcc);

}  // namespace nasd::nfs4
