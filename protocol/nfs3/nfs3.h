// NFS version 3 (RFC 1813) XDR codecs: argument structs and decoders for
// every procedure (§3.3.0-§3.3.21), result structs and encoders, and the
// decoders of the shared result types (fattr3, post_op_attr, wcc_data, ...)
// that tests and clients need.
//
// Decoders never copy: names, paths and WRITE data are views into the
// request buffer and live as long as it does.  A decoder returns false when
// the input is truncated or malformed (the pipeline answers GARBAGE_ARGS).
// Semantic limits (name length, empty handle) are left to the program so it
// can answer with the proper NFS3ERR_* status.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "protocol/rpc/xdr.h"
#include "storage/types.h"

namespace nasd::nfs3 {

constexpr std::uint32_t kProgram = 100003;
constexpr std::uint32_t kVersion = 3;

/// Procedure numbers (RFC 1813 §3.3).
enum class Proc : std::uint32_t {
  kNull = 0, kGetattr = 1, kSetattr = 2, kLookup = 3, kAccess = 4, kReadlink = 5, kRead = 6,
  kWrite = 7, kCreate = 8, kMkdir = 9, kSymlink = 10, kMknod = 11, kRemove = 12, kRmdir = 13,
  kRename = 14, kLink = 15, kReaddir = 16, kReaddirplus = 17, kFsstat = 18, kFsinfo = 19,
  kPathconf = 20, kCommit = 21,
};
constexpr std::uint32_t kProcCount = 22;

/// nfsstat3 (RFC 1813 §2.6).
enum class Nfsstat3 : std::uint32_t {
  kOk = 0, kPerm = 1, kNoEnt = 2, kIo = 5, kNxio = 6, kAcces = 13, kExist = 17, kXdev = 18,
  kNoDev = 19, kNotDir = 20, kIsDir = 21, kInval = 22, kFBig = 27, kNoSpc = 28, kRoFs = 30,
  kMLink = 31, kNameTooLong = 63, kNotEmpty = 66, kDQuot = 69, kStale = 70, kRemote = 71,
  kBadHandle = 10001, kNotSync = 10002, kBadCookie = 10003, kNotSupp = 10004,
  kTooSmall = 10005, kServerFault = 10006, kBadType = 10007, kJukebox = 10008,
};

/// Protocol limits.
constexpr std::size_t kFhSize = 64;          // NFS3_FHSIZE (§2.4)
constexpr std::size_t kNameMax = 255;        // longest filename3 the server accepts (bytes)
constexpr std::size_t kNameDecodeMax = 1024; // longest filename3 decoded (longer: GARBAGE_ARGS)
constexpr std::size_t kPathMax = 4096;       // longest nfspath3 decoded (bytes)

/// ACCESS3_* bits (§3.3.4): the Backend's (storage/types.h).
using storage::kAccessDelete, storage::kAccessExecute, storage::kAccessExtend,
    storage::kAccessLookup, storage::kAccessModify, storage::kAccessRead;
/// FSINFO properties (§3.3.19).
constexpr std::uint32_t kFsfLink = 0x01, kFsfSymlink = 0x02, kFsfHomogeneous = 0x08,
                        kFsfCanSetTime = 0x10;

/// Encoded sizes (bytes) of fixed-size items.
constexpr std::size_t kFattr3Size = 84;
constexpr std::size_t kPostOpAttrMax = 4 + kFattr3Size;
constexpr std::size_t kWccAttrSize = 24;
constexpr std::size_t kWccDataMax = 4 + kWccAttrSize + kPostOpAttrMax;

// ---------------------------------------------------------------- arguments

/// diropargs3 (§3.3.3): a directory handle and one name (a view).
struct DirOpArgs {
  storage::FileHandle dir;
  std::string_view name;
};

/// Args of GETATTR, READLINK, FSSTAT, FSINFO, PATHCONF: one handle.
struct HandleArgs {
  storage::FileHandle object;
};
using GetattrArgs = HandleArgs;
using ReadlinkArgs = HandleArgs;
using FsstatArgs = HandleArgs;
using FsinfoArgs = HandleArgs;
using PathconfArgs = HandleArgs;

/// SETATTR3args (§3.3.2).
struct SetattrArgs {
  storage::FileHandle object;
  storage::SetAttr new_attributes;
  std::optional<storage::Time> guard;  // sattrguard3: ctime that must match
};

/// LOOKUP3args (§3.3.3).
using LookupArgs = DirOpArgs;

/// ACCESS3args (§3.3.4).
struct AccessArgs {
  storage::FileHandle object;
  std::uint32_t access = 0;  // ACCESS3_* mask
};

/// READ3args (§3.3.6).  count in bytes.
struct ReadArgs {
  storage::FileHandle file;
  std::uint64_t offset = 0;
  std::uint32_t count = 0;
};

/// WRITE3args (§3.3.7).  `data` views the request buffer.
struct WriteArgs {
  storage::FileHandle file;
  std::uint64_t offset = 0;
  std::uint32_t count = 0;
  storage::StableHow stable = storage::StableHow::kUnstable;
  std::span<const std::uint8_t> data;
};

/// CREATE3args (§3.3.8).  obj_attributes for UNCHECKED/GUARDED, verf for
/// EXCLUSIVE.
struct CreateArgs {
  DirOpArgs where;
  storage::CreateMode mode = storage::CreateMode::kUnchecked;
  storage::SetAttr obj_attributes;
  storage::Verifier verf{};
};

/// MKDIR3args (§3.3.9).
struct MkdirArgs {
  DirOpArgs where;
  storage::SetAttr attributes;
};

/// SYMLINK3args (§3.3.10).
struct SymlinkArgs {
  DirOpArgs where;
  storage::SetAttr symlink_attributes;
  std::string_view symlink_data;
};

/// MKNOD3args (§3.3.11).  attributes/spec only for the arms that carry them.
struct MknodArgs {
  DirOpArgs where;
  storage::FileType type = storage::FileType::kReg;
  storage::SetAttr attributes;
  std::uint32_t spec_major = 0, spec_minor = 0;
};

/// REMOVE3args / RMDIR3args (§3.3.12, §3.3.13).
struct RemoveArgs {
  DirOpArgs object;
};
using RmdirArgs = RemoveArgs;

/// RENAME3args (§3.3.14).
struct RenameArgs {
  DirOpArgs from;
  DirOpArgs to;
};

/// LINK3args (§3.3.15).
struct LinkArgs {
  storage::FileHandle file;
  DirOpArgs link;
};

/// READDIR3args (§3.3.16).  count: bytes of the whole READDIR3resok.
struct ReaddirArgs {
  storage::FileHandle dir;
  std::uint64_t cookie = 0;
  storage::Verifier cookieverf{};
  std::uint32_t count = 0;
};

/// READDIRPLUS3args (§3.3.17).  dircount: bytes of directory information
/// (entry3 parts); maxcount: bytes of the whole READDIRPLUS3resok.
struct ReaddirplusArgs {
  storage::FileHandle dir;
  std::uint64_t cookie = 0;
  storage::Verifier cookieverf{};
  std::uint32_t dircount = 0;
  std::uint32_t maxcount = 0;
};

/// COMMIT3args (§3.3.21).
struct CommitArgs {
  storage::FileHandle file;
  std::uint64_t offset = 0;
  std::uint32_t count = 0;
};

/// nfs_fh3: opaque<64>.  An empty handle decodes (the program answers
/// NFS3ERR_BADHANDLE); a length over 64 fails.
bool decode_fh(xdr::XdrDecoder& in, storage::FileHandle& fh);
/// sattr3 (§2.6).  False on a bad time_how.
bool decode_sattr3(xdr::XdrDecoder& in, storage::SetAttr& out);

bool decode(xdr::XdrDecoder& in, HandleArgs& out);
bool decode(xdr::XdrDecoder& in, SetattrArgs& out);
bool decode(xdr::XdrDecoder& in, DirOpArgs& out);
bool decode(xdr::XdrDecoder& in, AccessArgs& out);
bool decode(xdr::XdrDecoder& in, ReadArgs& out);
bool decode(xdr::XdrDecoder& in, WriteArgs& out);
bool decode(xdr::XdrDecoder& in, CreateArgs& out);
bool decode(xdr::XdrDecoder& in, MkdirArgs& out);
bool decode(xdr::XdrDecoder& in, SymlinkArgs& out);
bool decode(xdr::XdrDecoder& in, MknodArgs& out);
bool decode(xdr::XdrDecoder& in, RemoveArgs& out);
bool decode(xdr::XdrDecoder& in, RenameArgs& out);
bool decode(xdr::XdrDecoder& in, LinkArgs& out);
bool decode(xdr::XdrDecoder& in, ReaddirArgs& out);
bool decode(xdr::XdrDecoder& in, ReaddirplusArgs& out);
bool decode(xdr::XdrDecoder& in, CommitArgs& out);

// ------------------------------------------------------------ shared types

/// nfs_fh3.
void encode_fh(xdr::XdrEncoder& out, const storage::FileHandle& fh);
/// fattr3 (§2.6), 84 bytes.
void encode_fattr3(xdr::XdrEncoder& out, const storage::Attr& a);
/// post_op_attr (§2.6): 4 or 88 bytes.
void encode_post_op_attr(xdr::XdrEncoder& out, const std::optional<storage::Attr>& a);
/// pre_op_attr (§2.6): 4 or 28 bytes.
void encode_pre_op_attr(xdr::XdrEncoder& out, const std::optional<storage::WccAttr>& a);
/// wcc_data (§2.6).
void encode_wcc_data(xdr::XdrEncoder& out, const storage::WccData& w);
/// post_op_fh3 (§2.6).
void encode_post_op_fh3(xdr::XdrEncoder& out, const std::optional<storage::FileHandle>& fh);

/// Decoders of the shared result types (for clients and tests); false on
/// malformed input.
bool decode_fattr3(xdr::XdrDecoder& in, storage::Attr& a);
bool decode_post_op_attr(xdr::XdrDecoder& in, std::optional<storage::Attr>& a);
bool decode_pre_op_attr(xdr::XdrDecoder& in, std::optional<storage::WccAttr>& a);
bool decode_wcc_data(xdr::XdrDecoder& in, storage::WccData& w);
bool decode_post_op_fh3(xdr::XdrDecoder& in, std::optional<storage::FileHandle>& fh);

// ----------------------------------------------------------------- results
//
// Each result encoder writes the status and then the arm RFC 1813 specifies
// for it: the resok fields when status is NFS3_OK, else the resfail fields
// (which hold the same wcc_data / post_op_attr so clients keep caches sane).

/// GETATTR3res (§3.3.1).
struct GetattrRes {
  Nfsstat3 status = Nfsstat3::kOk;
  storage::Attr obj_attributes;  // resok only
};
/// SETATTR3res (§3.3.2).
struct SetattrRes {
  Nfsstat3 status = Nfsstat3::kOk;
  storage::WccData obj_wcc;
};
/// LOOKUP3res (§3.3.3).
struct LookupRes {
  Nfsstat3 status = Nfsstat3::kOk;
  storage::FileHandle object;                    // resok only
  std::optional<storage::Attr> obj_attributes;   // resok only
  std::optional<storage::Attr> dir_attributes;
};
/// ACCESS3res (§3.3.4).
struct AccessRes {
  Nfsstat3 status = Nfsstat3::kOk;
  std::optional<storage::Attr> obj_attributes;
  std::uint32_t access = 0;  // resok only
};
/// READLINK3res (§3.3.5).
struct ReadlinkRes {
  Nfsstat3 status = Nfsstat3::kOk;
  std::optional<storage::Attr> symlink_attributes;
  std::string_view data;  // resok only
};
/// READ3res (§3.3.6), for callers that already hold the data (the server
/// uses ReadResWriter to read straight into the reply).
struct ReadRes {
  Nfsstat3 status = Nfsstat3::kOk;
  std::optional<storage::Attr> file_attributes;
  bool eof = false;                      // resok only
  std::span<const std::uint8_t> data;    // resok only; count = data.size()
};
/// WRITE3res (§3.3.7).
struct WriteRes {
  Nfsstat3 status = Nfsstat3::kOk;
  storage::WccData file_wcc;
  std::uint32_t count = 0;                                       // resok only
  storage::StableHow committed = storage::StableHow::kFileSync;  // resok only
  storage::Verifier verf{};                                      // resok only
};
/// CREATE3res / MKDIR3res / SYMLINK3res / MKNOD3res (§3.3.8-§3.3.11).
struct CreateRes {
  Nfsstat3 status = Nfsstat3::kOk;
  std::optional<storage::FileHandle> obj;       // resok only
  std::optional<storage::Attr> obj_attributes;  // resok only
  storage::WccData dir_wcc;
};
/// REMOVE3res / RMDIR3res (§3.3.12, §3.3.13).
struct RemoveRes {
  Nfsstat3 status = Nfsstat3::kOk;
  storage::WccData dir_wcc;
};
/// RENAME3res (§3.3.14).
struct RenameRes {
  Nfsstat3 status = Nfsstat3::kOk;
  storage::WccData fromdir_wcc;
  storage::WccData todir_wcc;
};
/// LINK3res (§3.3.15).
struct LinkRes {
  Nfsstat3 status = Nfsstat3::kOk;
  std::optional<storage::Attr> file_attributes;
  storage::WccData linkdir_wcc;
};
/// READDIR3res / READDIRPLUS3res (§3.3.16, §3.3.17).  With `plus`, each
/// entry is an entryplus3 (name_attributes, name_handle from the DirEntry).
struct ReaddirRes {
  Nfsstat3 status = Nfsstat3::kOk;
  bool plus = false;
  std::optional<storage::Attr> dir_attributes;
  storage::Verifier cookieverf{};                      // resok only
  std::span<const storage::DirEntry> entries;          // resok only
  bool eof = false;                                    // resok only
};
/// FSSTAT3res (§3.3.18).  invarsec in seconds.
struct FsstatRes {
  Nfsstat3 status = Nfsstat3::kOk;
  std::optional<storage::Attr> obj_attributes;
  storage::FsStat stat;          // resok only
  std::uint32_t invarsec = 0;    // resok only
};
/// FSINFO3res (§3.3.19).  Sizes in bytes.
struct FsinfoRes {
  Nfsstat3 status = Nfsstat3::kOk;
  std::optional<storage::Attr> obj_attributes;
  std::uint32_t rtmax = 0, rtpref = 0, rtmult = 0;
  std::uint32_t wtmax = 0, wtpref = 0, wtmult = 0;
  std::uint32_t dtpref = 0;
  std::uint64_t maxfilesize = 0;
  storage::Time time_delta;
  std::uint32_t properties = 0;
};
/// PATHCONF3res (§3.3.20).
struct PathconfRes {
  Nfsstat3 status = Nfsstat3::kOk;
  std::optional<storage::Attr> obj_attributes;
  std::uint32_t linkmax = 0, name_max = 0;
  bool no_trunc = true, chown_restricted = true, case_insensitive = false,
       case_preserving = true;
};
/// COMMIT3res (§3.3.21).
struct CommitRes {
  Nfsstat3 status = Nfsstat3::kOk;
  storage::WccData file_wcc;
  storage::Verifier verf{};  // resok only
};

void encode(xdr::XdrEncoder& out, const GetattrRes& r);
void encode(xdr::XdrEncoder& out, const SetattrRes& r);
void encode(xdr::XdrEncoder& out, const LookupRes& r);
void encode(xdr::XdrEncoder& out, const AccessRes& r);
void encode(xdr::XdrEncoder& out, const ReadlinkRes& r);
void encode(xdr::XdrEncoder& out, const ReadRes& r);
void encode(xdr::XdrEncoder& out, const WriteRes& r);
void encode(xdr::XdrEncoder& out, const CreateRes& r);
void encode(xdr::XdrEncoder& out, const RemoveRes& r);
void encode(xdr::XdrEncoder& out, const RenameRes& r);
void encode(xdr::XdrEncoder& out, const LinkRes& r);
void encode(xdr::XdrEncoder& out, const ReaddirRes& r);
void encode(xdr::XdrEncoder& out, const FsstatRes& r);
void encode(xdr::XdrEncoder& out, const FsinfoRes& r);
void encode(xdr::XdrEncoder& out, const PathconfRes& r);
void encode(xdr::XdrEncoder& out, const CommitRes& r);

/// Encoded size (bytes) of one entry3 of a READDIR reply, including its
/// "value follows" word: 4 + 8 fileid + 4 + padded(name) + 8 cookie.
constexpr std::size_t entry3_size(std::size_t name_len) { return 24 + xdr::padded(name_len); }
/// Encoded size (bytes) of one entryplus3: entry3 plus post_op_attr and
/// post_op_fh3.  A missing attr/handle is counted at its largest size, so the
/// result is an upper bound when the backend fills them after the check.
std::size_t entryplus3_size(const storage::DirEntry& e);
/// Bytes of READDIR(PLUS)3res around the entries: status, dir_attributes
/// (largest), cookieverf, list end word, eof.
constexpr std::size_t kReaddirOverhead = 4 + kPostOpAttrMax + 8 + 4 + 4;

/// Zero-copy READ3res encoding: begin() reserves room for the largest header
/// and `max_count` data bytes and returns the data area, which the caller
/// fills (e.g. storage::Backend::read into the reply buffer); finish_ok() or
/// finish_error() then writes the real header and moves the data only when
/// no attributes are returned (header 84 bytes shorter).
class ReadResWriter {
 public:
  /// Largest header: status, post_op_attr, count, eof, data length.
  static constexpr std::size_t kHeadMax = 4 + kPostOpAttrMax + 4 + 4 + 4;

  explicit ReadResWriter(xdr::XdrEncoder& out) : out_(out) {}
  /// Data area of `max_count` bytes; empty (and out.ok() false) on overflow.
  std::span<std::uint8_t> begin(std::uint32_t max_count);
  /// Writes READ3resok with the first `count` (<= max_count) data bytes.
  void finish_ok(const std::optional<storage::Attr>& attr, std::uint32_t count, bool eof);
  /// Writes READ3resfail, dropping the reserved area.
  void finish_error(Nfsstat3 status, const std::optional<storage::Attr>& attr);

 private:
  xdr::XdrEncoder& out_;
  std::size_t start_ = 0;
  std::span<std::uint8_t> region_;
  std::uint32_t max_count_ = 0;
};

}  // namespace nasd::nfs3
