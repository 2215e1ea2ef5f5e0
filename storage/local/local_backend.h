// LocalBackend: the Backend (storage/backend.h) over local directories.
//
// File handles (layout in storage/handle_codec.h) wrap the kernel's
// persistent handle from name_to_handle_at() plus the export id, under a
// SipHash-2-4 MAC keyed by a 16-byte secret kept in <state_dir>/handle.key
// (created 0600 from getrandom() on first start, reused afterwards; random per
// process when state_dir is empty).  Handles are therefore deterministic, stay
// valid across restarts, and cannot be forged.  A handle is opened with
// open_by_handle_at() relative to the export root fd (needs
// CAP_DAC_READ_SEARCH, so it runs as root) and the object must lie on the
// export root's filesystem (st_dev).
//
// Confinement: handles are only issued for objects reached from the export
// root by single-component lookups with openat2(RESOLVE_BENEATH |
// RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV) and
// O_PATH|O_NOFOLLOW, so a symlink is returned as the link itself and never
// followed; ".." at the export root yields the root.  Names with '/' or NUL
// are refused (kAccess), "" is kNoEnt, more than NAME_MAX bytes kNameTooLong.
//
// Credentials: every permission-relevant call runs inside a
// CredentialsGuard (storage/local/cred_guard.h), i.e. with the client's fsuid/fsgid/
// groups and without the filesystem capabilities.  Handles are resolved as
// root to O_PATH fds; the operation then runs under the guard, either as an
// *at() call relative to that fd (mkdirat, unlinkat, renameat, fchownat with
// AT_EMPTY_PATH, faccessat with AT_EACCESS, ...) or by reopening the object
// through /proc/self/fd/N, which makes the kernel check the requested access
// mode against the client's identity.  Like knfsd, the owner of a regular
// file may READ/WRITE/truncate it even without the mode bits (a client that
// created a 0444 file must still be able to write it); the reopen is then
// done as root.
//
// READDIR reads the directory with getdents64; an entry's cookie is its
// d_off (the filesystem's own stable position, e.g. ext4's name hash), so
// paging survives concurrent changes; the cookieverf is a keyed hash of the
// directory's (dev, ino).  The `fits` callback runs while the client's
// identity is in effect (it only sizes entries).  COMMIT runs as root: it
// changes no data.  Exports are only added, never removed, while serving.
//
// I/O: READ/WRITE/COMMIT go through UringIo (one io_uring per calling
// thread).  WRITE with kFileSync uses RWF_SYNC, kDataSync RWF_DSYNC.  The
// O_PATH descriptors of resolved handles are cached (HandleCache,
// kHandleCacheEntries, rules in storage/local/handle_cache.h); descriptors opened
// for I/O as the client are not: each call opens what it needs.
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <map>
#include <memory>
#include <shared_mutex>
#include <string>
#include <ctime>

#include "storage/backend.h"
#include "storage/local/directory_locks.h"
#include "storage/local/handle_cache.h"
#include "storage/handle_codec.h"
#include "storage/local/lookup_hints.h"
#include "storage/unique_fd.h"
#include "storage/local/uring_io.h"

namespace nasd::storage {

/// Backend over local directories (one per export), see file comment.
class LocalBackend : public Backend {
 public:
  /// Loads or creates the handle key in `state_dir` (created if missing;
  /// empty = random key per process).  Throws std::runtime_error when the key
  /// cannot be read or written (start-up only).
  explicit LocalBackend(std::string state_dir);
  ~LocalBackend() override;

  /// Registers directory `path` as export `export_id` (called at start-up).
  /// kNoEnt/kNotDir/kAccess when the path cannot be opened as a directory,
  /// kExist when the id is taken, kNotSupp when the filesystem has no
  /// persistent handles that fit NFSv3.  Failures are also logged.
  Status add_export(std::uint32_t export_id, const std::string& path);

  Status root_handle(std::uint32_t export_id, FileHandle* out) override;
  Status export_of(const FileHandle& fh, std::uint32_t* export_id) override;
  Status getattr(const FileHandle& fh, Attr* out) override;
  Status setattr(const Credentials& cred, const FileHandle& fh, const SetAttr& attrs,
                 const std::optional<Time>& guard_ctime, WccData* wcc) override;
  Status lookup(const Credentials& cred, const FileHandle& dir, std::string_view name,
                FileHandle* out, Attr* obj_attr, std::optional<Attr>* dir_attr) override;
  Status access(const Credentials& cred, const FileHandle& fh, std::uint32_t requested,
                std::uint32_t* granted, std::optional<Attr>* attr) override;
  Status readlink(const Credentials& cred, const FileHandle& fh, std::string* target,
                  std::optional<Attr>* attr) override;
  Status read(const Credentials& cred, const FileHandle& fh, std::uint64_t offset,
              std::span<std::uint8_t> dst, std::uint32_t* count, bool* eof,
              std::optional<Attr>* attr) override;
  Status write(const Credentials& cred, const FileHandle& fh, std::uint64_t offset,
               std::span<const std::uint8_t> data, StableHow stable, std::uint32_t* count,
               StableHow* committed, WccData* wcc) override;
  Status create(const Credentials& cred, const FileHandle& dir, std::string_view name,
                CreateMode mode, const SetAttr& attrs, const Verifier& verf, FileHandle* out,
                Attr* obj_attr, WccData* dir_wcc) override;
  Status mkdir(const Credentials& cred, const FileHandle& dir, std::string_view name,
               const SetAttr& attrs, FileHandle* out, Attr* obj_attr, WccData* dir_wcc) override;
  Status symlink(const Credentials& cred, const FileHandle& dir, std::string_view name,
                 std::string_view target, const SetAttr& attrs, FileHandle* out, Attr* obj_attr,
                 WccData* dir_wcc) override;
  Status mknod(const Credentials& cred, const FileHandle& dir, std::string_view name,
               FileType type, const SetAttr& attrs, std::uint32_t rdev_major,
               std::uint32_t rdev_minor, FileHandle* out, Attr* obj_attr,
               WccData* dir_wcc) override;
  Status remove(const Credentials& cred, const FileHandle& dir, std::string_view name,
                WccData* dir_wcc) override;
  Status rmdir(const Credentials& cred, const FileHandle& dir, std::string_view name,
               WccData* dir_wcc) override;
  Status rename(const Credentials& cred, const FileHandle& from_dir, std::string_view from_name,
                const FileHandle& to_dir, std::string_view to_name, WccData* from_wcc,
                WccData* to_wcc) override;
  Status link(const Credentials& cred, const FileHandle& file, const FileHandle& dir,
              std::string_view name, std::optional<Attr>* file_attr, WccData* dir_wcc) override;
  Status readdir(const Credentials& cred, const FileHandle& dir, std::uint64_t cookie,
                 const Verifier& cookieverf, bool plus,
                 const std::function<bool(const DirEntry&)>& fits, std::vector<DirEntry>* entries,
                 Verifier* verf_out, bool* eof, std::optional<Attr>* dir_attr) override;
  Status fsstat(const FileHandle& fh, FsStat* out, std::optional<Attr>* attr) override;
  Status commit(const Credentials& cred, const FileHandle& fh, std::uint64_t offset,
                std::uint32_t count, WccData* wcc) override;

  // Non-blocking attempts (Backend::try_*): kWouldBlock when the handle's
  // descriptor is not in the handle cache, the name is not in the dentry
  // cache (openat2 RESOLVE_CACHED; a name resolved so moments before is
  // looked up again by statx alone, lookup_hints.h), the data is not in the page cache
  // (preadv2 RWF_NOWAIT, also when only part of it is), or a READDIR's
  // listing or an entry's recorded READDIRPLUS attributes are not cached.
  Status try_getattr(const FileHandle& fh, Attr* out) override;
  Status try_lookup(const Credentials& cred, const FileHandle& dir, std::string_view name,
                    FileHandle* out, Attr* obj_attr, std::optional<Attr>* dir_attr) override;
  Status try_access(const Credentials& cred, const FileHandle& fh, std::uint32_t requested,
                    std::uint32_t* granted, std::optional<Attr>* attr) override;
  Status try_read(const Credentials& cred, const FileHandle& fh, std::uint64_t offset,
                  std::span<std::uint8_t> dst, std::uint32_t* count, bool* eof,
                  std::optional<Attr>* attr) override;
  Status try_readdir(const Credentials& cred, const FileHandle& dir, std::uint64_t cookie,
                     const Verifier& cookieverf, bool plus,
                     const std::function<bool(const DirEntry&)>& fits,
                     std::vector<DirEntry>* entries, Verifier* verf_out, bool* eof,
                     std::optional<Attr>* dir_attr) override;
  /// The lookup from the dentry cache without opening the object, when
  /// LookupHints says the name was resolved a moment ago (one statx).
  Status try_lookup_for_attrs(const Credentials& cred, const FileHandle& dir,
                              std::string_view name, FileHandle* out, Attr* obj_attr,
                              std::optional<Attr>* dir_attr) override;

  // NFSv4.2 / xattrs (storage/local/ops42.cc)
  Status seek(const Credentials& cred, const FileHandle& fh, std::uint64_t offset, bool data,
              std::uint64_t* result, bool* eof) override;
  Status allocate(const Credentials& cred, const FileHandle& fh, std::uint64_t offset,
                  std::uint64_t length, WccData* wcc) override;
  Status deallocate(const Credentials& cred, const FileHandle& fh, std::uint64_t offset,
                    std::uint64_t length, WccData* wcc) override;
  Status copy(const Credentials& cred, const FileHandle& src, std::uint64_t src_offset,
              const FileHandle& dst, std::uint64_t dst_offset, std::uint64_t count,
              std::uint64_t* copied, WccData* dst_wcc) override;
  Status clone(const Credentials& cred, const FileHandle& src, std::uint64_t src_offset,
               const FileHandle& dst, std::uint64_t dst_offset, std::uint64_t count,
               WccData* dst_wcc) override;
  Status getxattr(const Credentials& cred, const FileHandle& fh, std::string_view name,
                  std::vector<std::uint8_t>* value) override;
  Status setxattr(const Credentials& cred, const FileHandle& fh, std::string_view name,
                  std::span<const std::uint8_t> value, XattrSetMode mode, WccData* wcc) override;
  Status listxattrs(const Credentials& cred, const FileHandle& fh,
                    std::vector<std::string>* names) override;
  Status removexattr(const Credentials& cred, const FileHandle& fh, std::string_view name,
                     WccData* wcc) override;

  /// The cookieverf READDIR issues for a directory (dev, ino): a keyed hash,
  /// never all zero.  Exposed for tests.
  Verifier cookieverf_for(const struct stat& dir_st) const;
  /// fattr3 of a stat result (shared by local_backend.cc and local_backend_42.cc).
  static Attr attr_of(const struct stat& st);

 private:
  static constexpr std::size_t kHandleCacheEntries = 1024;  // open O_PATH descriptors at most
  static constexpr std::size_t kInodeHandleEntries = 65536;  // inode -> handle, ~150 B each
  static constexpr std::size_t kLookupHintSlots = 32768;  // 24 B each (lookup_hints.h)
  /// How long a name resolved from the dentry cache is looked up again by
  /// statx alone (lookup_hints.h).
  static constexpr std::int64_t kLookupHintTtlNs = 5'000'000'000;
  // cached dirents, ~60 B each, + ~200 B each for READDIRPLUS attributes
  static constexpr std::size_t kDirCacheEntries = 131072;
  /// A directory is listed into dir_cache_ only when its ctime is older than
  /// this (well above the kernel's coarse timestamp tick).
  static constexpr std::int64_t kDirQuietNs = 200'000'000;
  /// Longest time a READDIRPLUS entry's recorded attributes are served
  /// (entry_attr_cache.h): the bound on staleness for the changes inotify
  /// does not report (atime moved by reads, shared-mmap writes, writes
  /// through a disconnected dentry).  Shorter than the Linux client's own
  /// shortest attribute cache time (acregmin, 3 s).
  static constexpr std::int64_t kEntryAttrMaxAgeNs = 1'000'000'000;
  struct ExportRoot {
    std::uint32_t id = 0;
    UniqueFd fd;  // O_RDONLY|O_DIRECTORY (mount_fd for open_by_handle_at)
    dev_t dev = 0;
    ino_t ino = 0;
  };
  /// An object opened from a handle: its O_PATH fd, stat and export.
  struct Resolved {
    const ExportRoot* exp = nullptr;
    SharedFd fd;  // O_PATH; shared with handle_cache_ when it came from there
    struct stat st {};
    InodeStamp stamp;  // of the same statx as `st`
    bool is_root() const { return st.st_dev == exp->dev && st.st_ino == exp->ino; }
  };

  /// Whether a call may wait on disk (kMay) or must answer kWouldBlock
  /// instead (kNever: the Backend::try_* calls).
  enum class Wait : std::uint8_t { kMay, kNever };

  /// The object a handle names: from the handle cache, else (kMay only)
  /// open_by_handle_at.  kStale when gone, kWouldBlock when not cached and
  /// `wait` is kNever.
  Status resolve(const FileHandle& fh, Resolved* out, Wait wait = Wait::kMay);
  Status resolve_dir(const FileHandle& fh, Resolved* out);
  const ExportRoot* find_export(std::uint32_t id);
  /// Handle for `name` relative to `dirfd` ("" = dirfd itself), not following symlinks.
  Status make_handle(const ExportRoot& exp, int dirfd, const char* name, FileHandle* out) const;
  /// Handle of `obj` (its fd, st and stamp from one open): from inode_handles_
  /// when the stamp matches, else built with name_to_handle_at and cached.
  Status handle_of(const Resolved& obj, FileHandle* out);
  /// READDIRPLUS attributes and handle of entry `e` (inode `d_ino` from
  /// getdents) in directory `d` read through `dirfd`; left empty when the
  /// entry cannot be stat'ed (removed meanwhile, no search permission, a
  /// mount point).  Runs under the caller's CredentialsGuard.
  void plus_entry(const Resolved& d, int dirfd, std::uint64_t d_ino, DirEntry* e);
  /// Reads all of directory `d` through `fd` (from offset 0) and caches the
  /// listing, `with_attrs` with room for its entries' READDIRPLUS
  /// attributes; null (fd position undefined) when the directory changed
  /// less than kDirQuietNs before `before`, is too large, or its cookies do
  /// not increase strictly.
  std::shared_ptr<const DirSnapshot> read_listing(int fd, const Resolved& d,
                                                  const struct timespec& before, bool with_attrs);
  /// Where a READDIR reads its entries from: `snap` from entry `start`
  /// (the cached listing of this very directory state when `from_cache`,
  /// else one just read through `rd`), or, `snap` null, the directory
  /// itself through `rd` positioned at the cookie.
  struct Listing {
    std::shared_ptr<const DirSnapshot> snap;
    std::ptrdiff_t start = -1;
    bool from_cache = false;
    UniqueFd rd;
  };
  /// Finds or reads the Listing of directory `d` for a READDIR from
  /// `cookie` (`plus`: READDIRPLUS; `before`: taken before d was stat'ed).
  /// kWouldBlock when `nowait` and it is not cached; kBadCookie when the
  /// directory cannot be read on from `cookie`.
  Status open_listing(const Credentials& cred, const Resolved& d, std::uint64_t cookie, bool plus,
                      bool nowait, const struct timespec& before, Listing* out);
  /// Opens child `name` of `dir` as O_PATH under the guard already held by
  /// the caller.  With kNever the walk must be served from the dentry cache
  /// (RESOLVE_CACHED), else kWouldBlock.
  Status open_child(const Resolved& dir, const std::string& name, Resolved* out,
                    Wait wait = Wait::kMay);
  // The calls behind getattr/lookup/access/read and their try_* forms.
  Status getattr_as(const FileHandle& fh, Attr* out, Wait wait);
  /// The descriptor the handle cache holds for `fh` (and its export), with
  /// no fstat: false when not cached.  `out->st` is left empty.
  bool cached_fd(const FileHandle& fh, Resolved* out);
  /// The inline lookup of a name LookupHints noted in `dir` (open as `d`):
  /// one statx as `cred`, the handle from inode_handles_ matching it; with
  /// `then_calls`, only when handle_cache_ keeps the object's descriptor.
  /// kWouldBlock whenever it cannot answer that way (the caller goes on
  /// with the full lookup).
  Status lookup_hinted(const Credentials& cred, const FileHandle& dir, const Resolved& d,
                       const std::string& name, bool then_calls, FileHandle* out, Attr* obj_attr);
  /// `then_calls`: calls on the object will follow, so an inline (kNever)
  /// lookup answers only when the handle cache keeps its descriptor.
  Status lookup_as(const Credentials& cred, const FileHandle& dir, std::string_view name,
                   FileHandle* out, Attr* obj_attr, std::optional<Attr>* dir_attr, Wait wait,
                   bool then_calls = true);
  Status access_as(const Credentials& cred, const FileHandle& fh, std::uint32_t requested,
                   std::uint32_t* granted, std::optional<Attr>* attr, Wait wait);
  Status read_as(const Credentials& cred, const FileHandle& fh, std::uint64_t offset,
                 std::span<std::uint8_t> dst, std::uint32_t* count, bool* eof,
                 std::optional<Attr>* attr, Wait wait);
  Status readdir_as(const Credentials& cred, const FileHandle& dir, std::uint64_t cookie,
                    const Verifier& cookieverf, bool plus,
                    const std::function<bool(const DirEntry&)>& fits,
                    std::vector<DirEntry>* entries, Verifier* verf_out, bool* eof,
                    std::optional<Attr>* dir_attr, Wait wait);
  /// Finishes a create-type call: looks up `name`, fills handle and attrs.
  Status finish_new(const Credentials& cred, Resolved& dir, const std::string& name,
                    FileHandle* out, Attr* obj_attr, Resolved* child);
  /// Opens `obj` for I/O with `flags` as the client (owner override as root).
  Status open_for_io(const Credentials& cred, const Resolved& obj, int flags, UniqueFd* out);
  /// Resolves a regular file and opens it for I/O as the client (kIsDir for
  /// directories, kInval for other types); fills wcc->before when given.
  Status open_regular(const Credentials& cred, const FileHandle& fh, int flags, Resolved* r,
                      UniqueFd* io, WccData* wcc);
  /// Resolves a regular file or directory for an xattr call (others kNotSupp).
  Status resolve_xattr_target(const FileHandle& fh, Resolved* r);
  /// Applies sattr3 fields to `obj` as the client (mode, uid/gid, size, times).
  Status apply_attrs(const Credentials& cred, Resolved& obj, const SetAttr& a, bool with_size);

  /// Erases the cache entry of `name` in `dirfd` (before it is removed or
  /// replaced), so its inode is not kept alive by the cache.
  void forget_child(const ExportRoot& exp, int dirfd, std::string_view name);

  std::unique_ptr<HandleCodec> codec_;
  HandleCache handle_cache_{kHandleCacheEntries};
  InodeHandleCache inode_handles_{kInodeHandleEntries};
  LookupHints lookup_hints_{kLookupHintSlots, kLookupHintTtlNs};
  DirectoryLocks dir_locks_;  // around name changes in a directory (directory_locks.h)
  DirEntryCache dir_cache_{kDirCacheEntries};
  std::shared_mutex exports_mu_;
  std::map<std::uint32_t, std::unique_ptr<ExportRoot>> exports_;
  UringIo io_;
};

}  // namespace nasd::storage
