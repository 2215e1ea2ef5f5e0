// The NFSv4 operation table; see op_table.h.  One row per operation nasd
// serves, and a name for every other operation number of RFC 8881 / 7862 /
// 8276 (NOTSUPP).
#include "server/nfs4/op_table.h"

#include <algorithm>

#include "server/nfs4/ops.h"

namespace nasd::server {

using nfs4::Nfsstat4;
using nfs4::Op;
using namespace nfs4ops;

namespace {

template <class A>
bool decode_as(xdr::XdrDecoder& in, Nfs4OpArgs& args) {
  return nfs4::decode(in, args.emplace<A>());
}

bool decode_none(xdr::XdrDecoder&, Nfs4OpArgs& args) {
  args.emplace<std::monostate>();
  return true;
}

bool decode_putfh(xdr::XdrDecoder& in, Nfs4OpArgs& args) {
  return nfs4::decode(in, args.emplace<Nfs4PutfhArgs>().wire);
}

bool decode_putroot(xdr::XdrDecoder&, Nfs4OpArgs& args) {
  args.emplace<Nfs4PutfhArgs>().root = true;
  return true;
}

// Variable reply sizes (besides Nfs4OpTable::kPerOpReply), bytes.
std::size_t extra_readlink(const Nfs4OpArgs&, std::uint32_t) { return nfs4::kPathMax; }
std::size_t extra_read(const Nfs4OpArgs& a, std::uint32_t max_read) {
  return std::min(std::get<nfs4::ReadArgs>(a).count, max_read);
}
std::size_t extra_readdir(const Nfs4OpArgs& a, std::uint32_t max_read) {
  return std::min(std::get<nfs4::ReaddirArgs>(a).maxcount, max_read);
}
std::size_t extra_test_stateid(const Nfs4OpArgs& a, std::uint32_t) {
  return std::get<nfs4::TestStateidArgs>(a).stateids.size() * 4;
}
std::size_t extra_read_plus(const Nfs4OpArgs& a, std::uint32_t max_read) {
  // Data up to count, plus the segments' headers (a hole: 20 bytes).
  return extra_read(a, max_read) + 24 * kReadPlusSegments;
}
std::size_t extra_getxattr(const Nfs4OpArgs&, std::uint32_t) { return nfs4::kXattrValueMax; }
std::size_t extra_listxattrs(const Nfs4OpArgs& a, std::uint32_t) {
  return std::min<std::size_t>(std::get<nfs4::ListxattrsArgs>(a).maxcount, nfs4::kXattrValueMax);
}

/// OPEN may run inline when it opens an existing file (no create) by name
/// or by filehandle (CLAIM_NULL, CLAIM_FH).
bool open_inline_if(const Nfs4OpArgs& a) {
  const auto& o = std::get<nfs4::OpenArgs>(a);
  return !o.create && (o.claim == 0 || o.claim == 4);
}

constexpr std::uint32_t kInlineRead = kNfs4Inline;
constexpr std::uint32_t kInlineReadAfter = kNfs4Inline | kNfs4AfterInlineState;

/// A row of an implemented operation served in minor versions
/// [minor_min, minor_max].
Nfs4OpDesc row(const char* name, std::uint32_t flags, std::uint8_t minor_min,
               std::uint8_t minor_max, bool (*decode)(xdr::XdrDecoder&, Nfs4OpArgs&),
               Nfs4RunFn run) {
  Nfs4OpDesc d;
  d.name = name;
  d.flags = flags;
  d.minor_min = minor_min;
  d.minor_max = minor_max;
  d.reply_bytes = Nfs4OpTable::kPerOpReply;
  d.decode = decode;
  d.run = run;
  return d;
}

/// Fills rows of a table under construction.
class Rows {
 public:
  explicit Rows(Nfs4OpTable& t) : t_(t) {}
  void set(Op op, const Nfs4OpDesc& d) { t_.rows[static_cast<std::uint32_t>(op)] = d; }
  /// An operation nasd does not serve (NOTSUPP), named for metrics.
  void name_only(Op op, const char* name) { t_.rows[static_cast<std::uint32_t>(op)].name = name; }

 private:
  Nfs4OpTable& t_;
};

/// Filehandles and attributes (ops_fh.cc).
void add_fh_ops(Rows& r) {
  auto putfh = row("PUTFH", kInlineRead | kNfs4ValidateFh, 0, 2, decode_putfh, op_putfh);
  r.set(Op::kPutfh, putfh);
  r.set(Op::kPutrootfh, row("PUTROOTFH", kInlineRead | kNfs4ValidateFh, 0, 2, decode_putroot,
                            op_putfh));
  r.set(Op::kPutpubfh, row("PUTPUBFH", kInlineRead | kNfs4ValidateFh, 0, 2, decode_putroot,
                           op_putfh));
  r.set(Op::kGetfh, row("GETFH", kInlineReadAfter | kNfs4Describes, 0, 2, decode_none, op_getfh));
  r.set(Op::kSavefh, row("SAVEFH", kInlineRead, 0, 2, decode_none, op_savefh));
  r.set(Op::kRestorefh, row("RESTOREFH", kInlineRead, 0, 2, decode_none, op_restorefh));
  r.set(Op::kLookup, row("LOOKUP", kInlineRead, 0, 2, decode_as<nfs4::NameArgs>, op_lookup));
  r.set(Op::kLookupp, row("LOOKUPP", 0, 0, 2, decode_none, op_lookupp));
  r.set(Op::kGetattr, row("GETATTR", kInlineReadAfter | kNfs4Describes, 0, 2,
                          decode_as<nfs4::GetattrArgs>, op_getattr));
  r.set(Op::kAccess, row("ACCESS", kInlineReadAfter, 0, 2, decode_as<nfs4::AccessArgs>,
                         op_access));
  r.set(Op::kSecinfo, row("SECINFO", 0, 0, 2, decode_as<nfs4::NameArgs>, op_secinfo));
  r.set(Op::kSecinfoNoName, row("SECINFO_NO_NAME", 0, 1, 2, decode_as<nfs4::SecinfoNoNameArgs>,
                                op_secinfo_no_name));
}

/// Names and directories (ops_namespace.cc).
void add_namespace_ops(Rows& r) {
  auto setattr = row("SETATTR", kNfs4Modifies | kNfs4ErrorBody, 0, 2,
                     decode_as<nfs4::SetattrArgs>, op_setattr);
  r.set(Op::kSetattr, setattr);
  r.set(Op::kCreate, row("CREATE", kNfs4Modifies, 0, 2, decode_as<nfs4::CreateArgs>, op_create));
  r.set(Op::kRemove, row("REMOVE", kNfs4Modifies, 0, 2, decode_as<nfs4::NameArgs>, op_remove));
  r.set(Op::kRename, row("RENAME", kNfs4Modifies, 0, 2, decode_as<nfs4::RenameArgs>, op_rename));
  r.set(Op::kLink, row("LINK", kNfs4Modifies, 0, 2, decode_as<nfs4::NameArgs>, op_link));
  auto readlink = row("READLINK", 0, 0, 2, decode_none, op_readlink);
  readlink.reply_extra = extra_readlink;
  r.set(Op::kReadlink, readlink);
  auto readdir = row("READDIR", kInlineRead, 0, 2, decode_as<nfs4::ReaddirArgs>, op_readdir);
  readdir.reply_extra = extra_readdir;
  r.set(Op::kReaddir, readdir);
}

/// I/O (ops_io.cc).
void add_io_ops(Rows& r) {
  auto read = row("READ", kInlineRead, 0, 2, decode_as<nfs4::ReadArgs>, op_read);
  read.reply_extra = extra_read;
  r.set(Op::kRead, read);
  r.set(Op::kWrite, row("WRITE", kNfs4Modifies, 0, 2, decode_as<nfs4::WriteArgs>, op_write));
  r.set(Op::kCommit, row("COMMIT", kNfs4Modifies, 0, 2, decode_as<nfs4::CommitArgs>, op_commit));
}

/// Opens (ops_open.cc).
void add_open_ops(Rows& r) {
  auto open = row("OPEN", kNfs4Inline | kNfs4InlineState | kNfs4OwnerSeqid, 0, 2,
                  decode_as<nfs4::OpenArgs>, op_open);
  open.inline_if = open_inline_if;
  open.inline_prepare = open_is_in_memory;
  r.set(Op::kOpen, open);
  r.set(Op::kOpenDowngrade, row("OPEN_DOWNGRADE", kNfs4OwnerSeqid, 0, 2,
                                decode_as<nfs4::OpenDowngradeArgs>, op_open_downgrade));
  r.set(Op::kClose, row("CLOSE", kNfs4Inline | kNfs4InlineState | kNfs4OwnerSeqid, 0, 2,
                        decode_as<nfs4::CloseArgs>, op_close));
}

/// Locks (ops_lock.cc).
void add_lock_ops(Rows& r) {
  auto lock = row("LOCK", kNfs4OwnerSeqid, 0, 2, decode_as<nfs4::LockArgs>, op_lock);
  lock.body_on_error = Nfsstat4::kDenied;
  r.set(Op::kLock, lock);
  auto lockt = row("LOCKT", 0, 0, 2, decode_as<nfs4::LocktArgs>, op_lockt);
  lockt.body_on_error = Nfsstat4::kDenied;
  r.set(Op::kLockt, lockt);
  r.set(Op::kLocku, row("LOCKU", kNfs4OwnerSeqid, 0, 2, decode_as<nfs4::LockuArgs>, op_locku));
  r.set(Op::kReleaseLockowner, row("RELEASE_LOCKOWNER", 0, 0, 0,
                                   decode_as<nfs4::ReleaseLockownerArgs>, op_release_lockowner));
}

/// 4.0 clients (ops_v40.cc); RFC 8881 §18 makes them NOTSUPP in 4.1+.
void add_v40_ops(Rows& r) {
  auto setclientid = row("SETCLIENTID", 0, 0, 0, decode_as<nfs4::SetclientidArgs>,
                         op_setclientid);
  setclientid.body_on_error = Nfsstat4::kClidInuse;
  r.set(Op::kSetclientid, setclientid);
  r.set(Op::kSetclientidConfirm, row("SETCLIENTID_CONFIRM", 0, 0, 0,
                                     decode_as<nfs4::SetclientidConfirmArgs>,
                                     op_setclientid_confirm));
  r.set(Op::kRenew, row("RENEW", 0, 0, 0, decode_as<nfs4::ClientidArgs>, op_renew));
  r.set(Op::kOpenConfirm, row("OPEN_CONFIRM", kNfs4OwnerSeqid, 0, 0,
                              decode_as<nfs4::OpenConfirmArgs>, op_open_confirm));
}

/// 4.1 sessions and clients (ops_session.cc).
void add_session_ops(Rows& r) {
  r.set(Op::kSequence, row("SEQUENCE", kNfs4Sequence, 1, 2, decode_as<nfs4::SequenceArgs>,
                           op_sequence));
  r.set(Op::kExchangeId, row("EXCHANGE_ID", kNfs4Sessionless | kNfs4SoleOp, 1, 2,
                             decode_as<nfs4::ExchangeIdArgs>, op_exchange_id));
  r.set(Op::kCreateSession, row("CREATE_SESSION", kNfs4Sessionless | kNfs4SoleOp, 1, 2,
                                decode_as<nfs4::CreateSessionArgs>, op_create_session));
  r.set(Op::kDestroySession, row("DESTROY_SESSION", kNfs4Sessionless, 1, 2,
                                 decode_as<nfs4::SessionArgs>, op_destroy_session));
  r.set(Op::kDestroyClientid, row("DESTROY_CLIENTID", kNfs4Sessionless, 1, 2,
                                  decode_as<nfs4::ClientidArgs>, op_destroy_clientid));
  r.set(Op::kBindConnToSession, row("BIND_CONN_TO_SESSION", kNfs4Sessionless | kNfs4SoleOp, 1, 2,
                                    decode_as<nfs4::BindConnArgs>, op_bind_conn_to_session));
  r.set(Op::kBackchannelCtl, row("BACKCHANNEL_CTL", kNfs4NeedsCallbacks, 1, 2,
                                 decode_as<nfs4::BackchannelCtlArgs>, op_backchannel_ctl));
  r.set(Op::kReclaimComplete, row("RECLAIM_COMPLETE", 0, 1, 2,
                                  decode_as<nfs4::ReclaimCompleteArgs>, op_reclaim_complete));
  auto test_stateid = row("TEST_STATEID", 0, 1, 2, decode_as<nfs4::TestStateidArgs>,
                          op_test_stateid);
  test_stateid.reply_extra = extra_test_stateid;
  r.set(Op::kTestStateid, test_stateid);
  r.set(Op::kFreeStateid, row("FREE_STATEID", 0, 1, 2, decode_as<nfs4::StateidArgs>,
                              op_free_stateid));
}

/// 4.2 (ops_42.cc).
void add_42_ops(Rows& r) {
  r.set(Op::kSeek, row("SEEK", 0, 2, 2, decode_as<nfs4::SeekArgs>, op_seek));
  r.set(Op::kAllocate, row("ALLOCATE", kNfs4Modifies, 2, 2, decode_as<nfs4::AllocateArgs>,
                           op_allocate));
  r.set(Op::kDeallocate, row("DEALLOCATE", kNfs4Modifies, 2, 2, decode_as<nfs4::AllocateArgs>,
                             op_deallocate));
  r.set(Op::kCopy, row("COPY", kNfs4Modifies, 2, 2, decode_as<nfs4::CopyArgs>, op_copy));
  r.set(Op::kClone, row("CLONE", kNfs4Modifies, 2, 2, decode_as<nfs4::CloneArgs>, op_clone));
  auto read_plus = row("READ_PLUS", 0, 2, 2, decode_as<nfs4::ReadPlusArgs>, op_read_plus);
  read_plus.reply_extra = extra_read_plus;
  r.set(Op::kReadPlus, read_plus);
}

/// Extended attributes (ops_xattr.cc).
void add_xattr_ops(Rows& r) {
  auto getxattr = row("GETXATTR", 0, 2, 2, decode_as<nfs4::GetxattrArgs>, op_getxattr);
  getxattr.reply_extra = extra_getxattr;
  r.set(Op::kGetxattr, getxattr);
  r.set(Op::kSetxattr, row("SETXATTR", kNfs4Modifies, 2, 2, decode_as<nfs4::SetxattrArgs>,
                           op_setxattr));
  auto listxattrs = row("LISTXATTRS", 0, 2, 2, decode_as<nfs4::ListxattrsArgs>, op_listxattrs);
  listxattrs.reply_extra = extra_listxattrs;
  r.set(Op::kListxattrs, listxattrs);
  r.set(Op::kRemovexattr, row("REMOVEXATTR", kNfs4Modifies, 2, 2, decode_as<nfs4::GetxattrArgs>,
                              op_removexattr));
}

/// Operation numbers nasd does not serve: NOTSUPP (named for metrics).
void add_unserved(Rows& r) {
  r.name_only(Op::kDelegpurge, "DELEGPURGE");
  r.name_only(Op::kDelegreturn, "DELEGRETURN");
  r.name_only(Op::kNverify, "NVERIFY");
  r.name_only(Op::kOpenattr, "OPENATTR");
  r.name_only(Op::kVerify, "VERIFY");
  r.name_only(Op::kGetDirDelegation, "GET_DIR_DELEGATION");
  r.name_only(Op::kGetdeviceinfo, "GETDEVICEINFO");
  r.name_only(Op::kGetdevicelist, "GETDEVICELIST");
  r.name_only(Op::kLayoutcommit, "LAYOUTCOMMIT");
  r.name_only(Op::kLayoutget, "LAYOUTGET");
  r.name_only(Op::kLayoutreturn, "LAYOUTRETURN");
  r.name_only(Op::kSetSsv, "SET_SSV");
  r.name_only(Op::kWantDelegation, "WANT_DELEGATION");
  r.name_only(Op::kCopyNotify, "COPY_NOTIFY");
  r.name_only(Op::kIoAdvise, "IO_ADVISE");
  r.name_only(Op::kLayouterror, "LAYOUTERROR");
  r.name_only(Op::kLayoutstats, "LAYOUTSTATS");
  r.name_only(Op::kOffloadCancel, "OFFLOAD_CANCEL");
  r.name_only(Op::kOffloadStatus, "OFFLOAD_STATUS");
  r.name_only(Op::kWriteSame, "WRITE_SAME");
}

Nfs4OpTable build() {
  Nfs4OpTable t;
  Rows r(t);
  for (auto add : {add_fh_ops, add_namespace_ops, add_io_ops, add_open_ops, add_lock_ops,
                   add_v40_ops, add_session_ops, add_42_ops, add_xattr_ops, add_unserved}) {
    add(r);
  }
  return t;
}

}  // namespace

const Nfs4OpDesc* Nfs4OpTable::find(std::uint32_t op, std::uint32_t minor,
                                    Nfsstat4* status) const {
  // nfs_opnum4 of RFC 7530 ends at OP_RELEASE_LOCKOWNER (39): 40..58 are not
  // operations of minor version 0 (ILLEGAL, not NOTSUPP); likewise 59..75
  // in 4.1.
  if (op < 3 || op > nfs4::last_op(minor) || op >= kRows) {
    *status = Nfsstat4::kOpIllegal;
    return nullptr;
  }
  const Nfs4OpDesc& d = rows[op];
  if (!d.decode || minor < d.minor_min || minor > d.minor_max) {
    *status = Nfsstat4::kNotSupp;
    return nullptr;
  }
  *status = Nfsstat4::kOk;
  return &d;
}

const char* Nfs4OpTable::name(std::uint32_t op) const {
  if (op < kRows && rows[op].name) return rows[op].name;
  return "ILLEGAL";
}

const Nfs4OpTable& nfs4_op_table() {
  static const Nfs4OpTable table = build();
  return table;
}

}  // namespace nasd::server
