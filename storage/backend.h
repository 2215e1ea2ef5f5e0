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
};

}  // namespace nasd::storage
