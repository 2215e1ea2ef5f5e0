// Backend: the storage interface behind the persist stage.
//
// One Backend serves every export.  Exports are registered at start-up with a
// small integer id; every handle the backend issues names its export and is
// authenticated, so a forged or foreign handle is refused (kBadHandle /
// kStale) and no call reaches outside the export it names.  Handles stay valid
// across a restart of the process (same export id, same state dir).
//
// Calls are synchronous and thread-safe; the persist stage calls them from
// its worker threads.  Calls that act on behalf of a client take the
// Credentials (already squashed by the validate stage) and perform the
// filesystem work with them as the thread's fsuid/fsgid/groups, so the
// kernel's permission checks apply.  Results come back as Status values.
//
// Semantics follow NFSv3 (RFC 1813 §3.3.x, noted per call); "wcc" out-params
// receive the wcc_data of the changed directory/file, filled even on error
// where the object could be stat'ed.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "storage/types.h"

namespace nasd::storage {

/// setxattr_option4 (RFC 8276 §8.4.2): create or replace, or only one of them.
enum class XattrSetMode : std::uint32_t { kEither = 0, kCreate = 1, kReplace = 2 };

class Backend {
 public:
  virtual ~Backend() = default;

  /// Handle of the root of export `export_id` (MOUNT MNT, RFC 1813 appendix I).
  /// kStale when the id is unknown or the export directory is gone.
  virtual Status root_handle(std::uint32_t export_id, FileHandle* out) = 0;

  /// Which export a handle belongs to, after checking it is well formed and
  /// was issued by this server.  kBadHandle when malformed or forged.
  virtual Status export_of(const FileHandle& fh, std::uint32_t* export_id) = 0;

  /// GETATTR (§3.3.1).
  virtual Status getattr(const FileHandle& fh, Attr* out) = 0;

  /// SETATTR (§3.3.2).  `guard_ctime`, when set, must equal the current ctime
  /// or the call fails with kNotSync.  A size change truncates/extends.
  virtual Status setattr(const Credentials& cred, const FileHandle& fh, const SetAttr& attrs,
                         const std::optional<Time>& guard_ctime, WccData* wcc) = 0;

  /// LOOKUP (§3.3.3).  `name` is one path component; "." and ".." are
  /// allowed, ".." at the export root yields the root itself.  Names holding
  /// '/' or NUL -> kAccess (the Linux server's answer); > NAME_MAX ->
  /// kNameTooLong.  A symlink is returned as the link, never followed.
  virtual Status lookup(const Credentials& cred, const FileHandle& dir, std::string_view name,
                        FileHandle* out, Attr* obj_attr, std::optional<Attr>* dir_attr) = 0;

  /// ACCESS (§3.3.4).  `requested` and `*granted` are ACCESS3_* bit masks.
  virtual Status access(const Credentials& cred, const FileHandle& fh, std::uint32_t requested,
                        std::uint32_t* granted, std::optional<Attr>* attr) = 0;

  /// READLINK (§3.3.5).  kInval if the object is not a symlink.
  virtual Status readlink(const Credentials& cred, const FileHandle& fh, std::string* target,
                          std::optional<Attr>* attr) = 0;

  /// READ (§3.3.6) of up to dst.size() bytes at `offset` into `dst` (the
  /// reply buffer); `*count` bytes were read, `*eof` set at end of file.
  virtual Status read(const Credentials& cred, const FileHandle& fh, std::uint64_t offset,
                      std::span<std::uint8_t> dst, std::uint32_t* count, bool* eof,
                      std::optional<Attr>* attr) = 0;

  /// WRITE (§3.3.7).  kFileSync/kDataSync: data is on stable storage before
  /// return; kUnstable: it may stay in the page cache until COMMIT.
  /// `*committed` is how stable the data actually is.
  virtual Status write(const Credentials& cred, const FileHandle& fh, std::uint64_t offset,
                       std::span<const std::uint8_t> data, StableHow stable, std::uint32_t* count,
                       StableHow* committed, WccData* wcc) = 0;

  /// CREATE (§3.3.8) of a regular file.  kGuarded: kExist if present.
  /// kExclusive: `verf` is stored with the file (e.g. in atime/mtime or an
  /// xattr); a retried CREATE with the same verifier succeeds and returns the
  /// same file, another verifier gives kExist.
  virtual Status create(const Credentials& cred, const FileHandle& dir, std::string_view name,
                        CreateMode mode, const SetAttr& attrs, const Verifier& verf,
                        FileHandle* out, Attr* obj_attr, WccData* dir_wcc) = 0;

  /// MKDIR (§3.3.9).
  virtual Status mkdir(const Credentials& cred, const FileHandle& dir, std::string_view name,
                       const SetAttr& attrs, FileHandle* out, Attr* obj_attr,
                       WccData* dir_wcc) = 0;

  /// SYMLINK (§3.3.10).  The target is stored verbatim (it is resolved by the
  /// client, never by the server).
  virtual Status symlink(const Credentials& cred, const FileHandle& dir, std::string_view name,
                         std::string_view target, const SetAttr& attrs, FileHandle* out,
                         Attr* obj_attr, WccData* dir_wcc) = 0;

  /// MKNOD (§3.3.11) of kChr/kBlk (with rdev), kSock or kFifo; others kBadType.
  virtual Status mknod(const Credentials& cred, const FileHandle& dir, std::string_view name,
                       FileType type, const SetAttr& attrs, std::uint32_t rdev_major,
                       std::uint32_t rdev_minor, FileHandle* out, Attr* obj_attr,
                       WccData* dir_wcc) = 0;

  /// REMOVE (§3.3.12) of a non-directory.
  virtual Status remove(const Credentials& cred, const FileHandle& dir, std::string_view name,
                        WccData* dir_wcc) = 0;

  /// RMDIR (§3.3.13).  kNotEmpty when the directory has entries.
  virtual Status rmdir(const Credentials& cred, const FileHandle& dir, std::string_view name,
                       WccData* dir_wcc) = 0;

  /// RENAME (§3.3.14).  Both directories must be in the same export (kXdev).
  virtual Status rename(const Credentials& cred, const FileHandle& from_dir,
                        std::string_view from_name, const FileHandle& to_dir,
                        std::string_view to_name, WccData* from_wcc, WccData* to_wcc) = 0;

  /// LINK (§3.3.15).  Same export required (kXdev).
  virtual Status link(const Credentials& cred, const FileHandle& file, const FileHandle& dir,
                      std::string_view name, std::optional<Attr>* file_attr,
                      WccData* dir_wcc) = 0;

  /// READDIR / READDIRPLUS (§3.3.16, §3.3.17).  Starts after `cookie` (0 =
  /// start); `cookieverf` must be the one this call returned earlier for the
  /// directory, or all zero with cookie 0 (else kBadCookie).  Appends entries
  /// ("." and ".." included) while `fits(entry)` returns true; `plus` fills
  /// attr and handle of each entry.  `*eof` when the directory is exhausted.
  virtual Status readdir(const Credentials& cred, const FileHandle& dir, std::uint64_t cookie,
                         const Verifier& cookieverf, bool plus,
                         const std::function<bool(const DirEntry&)>& fits,
                         std::vector<DirEntry>* entries, Verifier* verf_out, bool* eof,
                         std::optional<Attr>* dir_attr) = 0;

  /// FSSTAT (§3.3.18).
  virtual Status fsstat(const FileHandle& fh, FsStat* out, std::optional<Attr>* attr) = 0;

  /// COMMIT (§3.3.21): makes the file's data and metadata durable (fsync).
  virtual Status commit(const Credentials& cred, const FileHandle& fh, std::uint64_t offset,
                        std::uint32_t count, WccData* wcc) = 0;
  // ------------------------------------------------------------------
  // Non-blocking attempts, for a network thread that must never wait
  // (inline execution, docs/architecture.md "Inline calls").  Each is the
  // call of the same name above, with the same results, except that when the
  // answer is not already in memory -- the handle's descriptor not in the
  // handle cache, the name not in the kernel's dentry cache, the data not in
  // the page cache -- it returns kWouldBlock without having changed anything
  // (its out-parameters are then unspecified), and the caller runs the ordinary call on a
  // thread that may block.  The default answers kWouldBlock always.

  /// GETATTR that never waits on disk; kWouldBlock as described above.
  virtual Status try_getattr(const FileHandle& fh, Attr* out) {
    (void)fh, (void)out;
    return Status::kWouldBlock;
  }
  /// LOOKUP that never waits on disk; kWouldBlock as described above.
  virtual Status try_lookup(const Credentials& cred, const FileHandle& dir, std::string_view name,
                            FileHandle* out, Attr* obj_attr, std::optional<Attr>* dir_attr) {
    (void)cred, (void)dir, (void)name, (void)out, (void)obj_attr, (void)dir_attr;
    return Status::kWouldBlock;
  }
  /// try_lookup for a caller that will only hand out the handle and the
  /// attributes, with no call on the object following (an NFSv4 LOOKUP
  /// followed by nothing but GETFH / GETATTR): the backend need not open the
  /// object or keep it ready for later calls.  Default: try_lookup.
  virtual Status try_lookup_for_attrs(const Credentials& cred, const FileHandle& dir,
                                      std::string_view name, FileHandle* out, Attr* obj_attr,
                                      std::optional<Attr>* dir_attr) {
    return try_lookup(cred, dir, name, out, obj_attr, dir_attr);
  }
  /// ACCESS that never waits on disk; kWouldBlock as described above.
  virtual Status try_access(const Credentials& cred, const FileHandle& fh, std::uint32_t requested,
                            std::uint32_t* granted, std::optional<Attr>* attr) {
    (void)cred, (void)fh, (void)requested, (void)granted, (void)attr;
    return Status::kWouldBlock;
  }
  /// READ that never waits on disk (RWF_NOWAIT): kWouldBlock unless all the
  /// bytes asked for (up to end of file) are in the page cache.
  virtual Status try_read(const Credentials& cred, const FileHandle& fh, std::uint64_t offset,
                          std::span<std::uint8_t> dst, std::uint32_t* count, bool* eof,
                          std::optional<Attr>* attr) {
    (void)cred, (void)fh, (void)offset, (void)dst, (void)count, (void)eof, (void)attr;
    return Status::kWouldBlock;
  }

  /// READDIR / READDIRPLUS that never waits on disk: served only from the
  /// directory's cached listing (and, with `plus`, only from its recorded
  /// entry attributes, "." and ".." excepted); kWouldBlock when the listing
  /// or the cookie is not cached, or an entry has no current record.
  /// `entries` may then hold entries appended before the miss: the caller
  /// discards them.
  virtual Status try_readdir(const Credentials& cred, const FileHandle& dir, std::uint64_t cookie,
                             const Verifier& cookieverf, bool plus,
                             const std::function<bool(const DirEntry&)>& fits,
                             std::vector<DirEntry>* entries, Verifier* verf_out, bool* eof,
                             std::optional<Attr>* dir_attr) {
    (void)cred, (void)dir, (void)cookie, (void)cookieverf, (void)plus, (void)fits, (void)entries,
        (void)verf_out, (void)eof, (void)dir_attr;
    return Status::kWouldBlock;
  }

  // ------------------------------------------------------------------
  // NFSv4.2 (RFC 7862) and extended attributes (RFC 8276).  The I/O calls
  // act on regular files only (directories kIsDir, others kInval) and open
  // the file as the client, like read()/write().

  /// SEEK (RFC 7862 §15.11): the next data (`data` true) or hole position at
  /// or after `offset`.  kNxio when `offset` is at or past end of file or no
  /// data follows it; `*eof` when the result is the end of the file.
  virtual Status seek(const Credentials& cred, const FileHandle& fh, std::uint64_t offset,
                      bool data, std::uint64_t* result, bool* eof) = 0;

  /// ALLOCATE (§15.1): reserves `length` bytes at `offset` (the file may
  /// grow).  kNotSupp when the filesystem cannot preallocate.
  virtual Status allocate(const Credentials& cred, const FileHandle& fh, std::uint64_t offset,
                          std::uint64_t length, WccData* wcc) = 0;

  /// DEALLOCATE (§15.4): punches a hole (reads return zeros; the size stays).
  /// kNotSupp when the filesystem cannot.
  virtual Status deallocate(const Credentials& cred, const FileHandle& fh, std::uint64_t offset,
                            std::uint64_t length, WccData* wcc) = 0;

  /// COPY (§15.2), intra-server: copies up to `count` bytes (0 = to the end
  /// of the source) from `src` at `src_offset` to `dst` at `dst_offset`;
  /// `*copied` may be short (the caller bounds one call).  kInval when the
  /// source range lies beyond the source's end of file; kXdev across exports.
  virtual Status copy(const Credentials& cred, const FileHandle& src, std::uint64_t src_offset,
                      const FileHandle& dst, std::uint64_t dst_offset, std::uint64_t count,
                      std::uint64_t* copied, WccData* dst_wcc) = 0;

  /// CLONE (§15.13): shares the source range's blocks with the destination
  /// (`count` 0 = to the end of the source).  kNotSupp when the filesystem
  /// cannot reflink; kInval for ranges it refuses (alignment).
  virtual Status clone(const Credentials& cred, const FileHandle& src, std::uint64_t src_offset,
                       const FileHandle& dst, std::uint64_t dst_offset, std::uint64_t count,
                       WccData* dst_wcc) = 0;

  /// GETXATTR (RFC 8276 §8.4.1) of the user-namespace attribute `name`
  /// (without the "user." prefix).  kNoEnt when it does not exist, kNotSupp
  /// when the filesystem has no user xattrs.
  virtual Status getxattr(const Credentials& cred, const FileHandle& fh, std::string_view name,
                          std::vector<std::uint8_t>* value) = 0;

  /// SETXATTR (§8.4.2).  kExist with kCreate when present, kNoEnt with
  /// kReplace when absent, kFBig when the value is too large.
  virtual Status setxattr(const Credentials& cred, const FileHandle& fh, std::string_view name,
                          std::span<const std::uint8_t> value, XattrSetMode mode,
                          WccData* wcc) = 0;

  /// LISTXATTRS (§8.4.3): the user-namespace names (without "user."), in
  /// the filesystem's order.
  virtual Status listxattrs(const Credentials& cred, const FileHandle& fh,
                            std::vector<std::string>* names) = 0;

  /// REMOVEXATTR (§8.4.4).  kNoEnt when absent.
  virtual Status removexattr(const Credentials& cred, const FileHandle& fh,
                             std::string_view name, WccData* wcc) = 0;
};

}  // namespace nasd::storage
