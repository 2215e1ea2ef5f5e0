// LocalBackend: READDIR / READDIRPLUS from the cached listings, cookie
// verifiers.  See local_backend.h.
#include "storage/local/local_backend.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <vector>

#include <spdlog/spdlog.h>

#include "storage/local/cred_guard.h"
#include "storage/local/local_util.h"

namespace nasd::storage {

using namespace local_detail;

namespace {

/// The READDIRPLUS attributes recorded for listing `snap` when they may be
/// served: the listing has them (generation read after find() drained the
/// directory's watch) and the caller may search directory `dirfd` (as a
/// fresh statx by name would need).  *gen: that generation; *now_ns:
/// CLOCK_MONOTONIC for their age.  Null otherwise.
EntryAttrCache* usable_records(const DirSnapshot* snap, int dirfd, std::uint64_t* gen,
                               std::int64_t* now_ns) {
  EntryAttrCache* recorded = snap ? snap->attrs.get() : nullptr;
  *gen = recorded ? recorded->generation() : 0;
  if (*gen == 0 ||
      ::faccessat(dirfd, "", X_OK, AT_EACCESS | AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) != 0) {
    return nullptr;
  }
  struct timespec mono {};
  ::clock_gettime(CLOCK_MONOTONIC, &mono);
  *now_ns = static_cast<std::int64_t>(mono.tv_sec) * 1000000000LL + mono.tv_nsec;
  return recorded;
}

}  // namespace

Verifier LocalBackend::cookieverf_for(const struct stat& dir_st) const {
  std::uint8_t msg[2 + sizeof(std::uint64_t) * 2] = {'c', 'v'};
  std::uint64_t dev = dir_st.st_dev, ino = dir_st.st_ino;
  std::memcpy(msg + 2, &dev, sizeof(dev));
  std::memcpy(msg + 2 + sizeof(dev), &ino, sizeof(ino));
  std::uint64_t m = codec_->mac({msg, sizeof(msg)});
  if (m == 0) m = 1;
  Verifier v{};
  for (int i = 0; i < 8; ++i) v[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(m >> (8 * i));
  return v;
}

Status LocalBackend::readdir(const Credentials& cred, const FileHandle& dir, std::uint64_t cookie,
                             const Verifier& cookieverf, bool plus,
                             const std::function<bool(const DirEntry&)>& fits,
                             std::vector<DirEntry>* entries, Verifier* verf_out, bool* eof,
                             std::optional<Attr>* dir_attr) {
  return readdir_as(cred, dir, cookie, cookieverf, plus, fits, entries, verf_out, eof, dir_attr,
                    Wait::kMay);
}

Status LocalBackend::try_readdir(const Credentials& cred, const FileHandle& dir,
                                 std::uint64_t cookie, const Verifier& cookieverf, bool plus,
                                 const std::function<bool(const DirEntry&)>& fits,
                                 std::vector<DirEntry>* entries, Verifier* verf_out, bool* eof,
                                 std::optional<Attr>* dir_attr) {
  return readdir_as(cred, dir, cookie, cookieverf, plus, fits, entries, verf_out, eof, dir_attr,
                    Wait::kNever);
}

Status LocalBackend::open_listing(const Credentials& cred, const Resolved& d,
                                  std::uint64_t cookie, bool plus, bool nowait,
                                  const struct timespec& before, Listing* out) {
  // The listing cached for this very directory state, or a fresh read.
  // Only READDIRPLUS reads records, so only it needs the watches drained.
  out->snap = dir_cache_.find(d.st.st_dev, d.st.st_ino, d.stamp, /*drain_watches=*/plus);
  out->start = out->snap ? out->snap->start_after(cookie) : -1;
  out->from_cache = out->start >= 0;
  if (out->from_cache) return Status::kOk;
  if (nowait) return Status::kWouldBlock;  // reading it could wait on disk
  out->snap.reset();
  if (Status s = open_for_io(cred, d, O_RDONLY | O_DIRECTORY, &out->rd); s != Status::kOk) {
    return s;
  }
  out->snap = read_listing(out->rd.get(), d, before, plus);
  out->start = out->snap ? out->snap->start_after(cookie) : -1;
  if (out->start < 0) {  // not cached, or a cookie it does not have: read on from the cookie
    out->snap.reset();
    if (::lseek(out->rd.get(), static_cast<off_t>(cookie), SEEK_SET) < 0) {
      return Status::kBadCookie;
    }
  }
  return Status::kOk;
}

Status LocalBackend::readdir_as(const Credentials& cred, const FileHandle& dir,
                                std::uint64_t cookie, const Verifier& cookieverf, bool plus,
                                const std::function<bool(const DirEntry&)>& fits,
                                std::vector<DirEntry>* entries, Verifier* verf_out, bool* eof,
                                std::optional<Attr>* dir_attr, Wait wait) {
  *eof = false;
  const bool nowait = wait == Wait::kNever;
  struct timespec before {};  // taken before the directory's stat (see read_listing)
  if (!nowait) ::clock_gettime(CLOCK_REALTIME, &before);
  Resolved d;
  if (Status s = resolve(dir, &d, wait); s != Status::kOk) return s;
  if (dir_attr) *dir_attr = to_attr(d.st);
  if (!S_ISDIR(d.st.st_mode)) return Status::kNotDir;
  const Verifier verf = cookieverf_for(d.st);
  const Verifier zero{};
  if (cookie != 0 && cookieverf != zero && cookieverf != verf) return Status::kBadCookie;
  if (cookie > static_cast<std::uint64_t>(INT64_MAX)) return Status::kBadCookie;
  *verf_out = verf;

  Listing listing;
  if (Status s = open_listing(cred, d, cookie, plus, nowait, before, &listing); s != Status::kOk) {
    return s;
  }
  const std::shared_ptr<const DirSnapshot>& snap = listing.snap;
  const std::ptrdiff_t start = listing.start;
  const bool from_cache = listing.from_cache;
  UniqueFd& rd = listing.rd;

  FileHandle root_fh;
  if (plus && d.is_root()) {
    if (Status s = make_handle(*d.exp, d.exp->fd.get(), "", &root_fh); s != Status::kOk) return s;
  }
  CredentialsGuard g(cred);  // per-entry statx/open/name_to_handle_at run as the client
  if (!g.ok()) return kNoIdentity;
  // A cached listing is only shown to a client that may read the directory
  // now (the fresh read checked it by opening as the client).
  if (from_cache &&
      ::faccessat(d.fd.get(), "", R_OK, AT_EACCESS | AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) != 0)
    return errno_status();
  const int dirfd = rd.valid() ? rd.get() : d.fd.get();
  // READDIRPLUS attributes recorded by earlier calls (entry_attr_cache.h).
  std::uint64_t recorded_gen = 0;
  std::int64_t now_ns = 0;
  EntryAttrCache* recorded =
      plus ? usable_records(snap.get(), d.fd.get(), &recorded_gen, &now_ns) : nullptr;
  const std::size_t first = entries->size();
  bool would_block = false;  // nowait: an entry needs a statx by name
  // Appends one entry (`idx`: its index in `snap`, -1 when read from the
  // directory); false when it does not fit.
  auto add = [&](const char* name, std::uint64_t ino, std::uint64_t off, std::ptrdiff_t idx) {
    DirEntry e;
    e.name = name;
    e.fileid = ino;
    e.cookie = off;
    const bool dotdot_at_root = d.is_root() && e.name == "..";
    if (dotdot_at_root) e.fileid = d.exp->ino;
    if (plus) {
      if (dotdot_at_root) {
        e.attr = to_attr(d.st);
        e.handle = root_fh;
      } else if (e.name == ".") {
        e.attr = to_attr(d.st);  // the directory itself, stat'ed by this call
        e.handle = dir;
      } else if (recorded && idx >= 0 &&
                 recorded->get(static_cast<std::size_t>(idx), recorded_gen,
                               now_ns - kEntryAttrMaxAgeNs, &e.attr.emplace(),
                               &e.handle.emplace())) {
        // served from the record
      } else if (nowait && e.name != "..") {
        // A statx by name may read the disk.  ".." may not: a directory's
        // parent is pinned in memory while the directory is.
        would_block = true;
        return false;
      } else {
        e.attr.reset();
        e.handle.reset();
        plus_entry(d, dirfd, ino, &e);
        // Only what the directory's watch reports changes of (dir_watch.h).
        if (recorded && idx >= 0 && e.attr && e.handle && e.attr->type != FileType::kDir &&
            e.attr->nlink <= 1)
          recorded->put(static_cast<std::size_t>(idx), recorded_gen, now_ns, *e.attr, *e.handle);
      }
    }
    if (!fits(e)) return false;
    entries->push_back(std::move(e));
    return true;
  };
  if (snap) {
    for (std::size_t i = static_cast<std::size_t>(start); i < snap->entries.size(); ++i) {
      const DirSnapshot::Entry& se = snap->entries[i];
      if (!add(se.name.c_str(), se.ino, se.off, static_cast<std::ptrdiff_t>(i))) {
        if (would_block) return Status::kWouldBlock;
        return entries->size() == first ? Status::kTooSmall : Status::kOk;
      }
    }
    *eof = true;
    return Status::kOk;
  }
  std::vector<std::uint8_t> buf(16384);
  for (;;) {
    long n = syscall(SYS_getdents64, rd.get(), buf.data(), buf.size());
    if (n < 0) return errno_status();
    if (n == 0) {
      *eof = true;
      return Status::kOk;
    }
    for (long pos = 0; pos < n;) {
      auto* de = reinterpret_cast<struct dirent64*>(buf.data() + pos);
      pos += de->d_reclen;
      if (!add(de->d_name, de->d_ino, static_cast<std::uint64_t>(de->d_off), -1))
        return entries->size() == first ? Status::kTooSmall : Status::kOk;
    }
  }
}

std::shared_ptr<const DirSnapshot> LocalBackend::read_listing(int fd, const Resolved& d,
                                                              const struct timespec& before,
                                                              bool with_attrs) {
  // Only a directory unchanged for longer than the timestamp granularity:
  // any change after our stat then gets a ctime different from d.stamp's.
  const std::int64_t ctime_ns = d.stamp.ctime_sec * 1000000000LL + d.stamp.ctime_nsec;
  const std::int64_t before_ns = static_cast<std::int64_t>(before.tv_sec) * 1000000000LL + before.tv_nsec;
  if (dir_cache_.max_listing() == 0 || ctime_ns >= before_ns - kDirQuietNs) return nullptr;
  const auto claim = dir_cache_.claim_build(d.st.st_dev, d.st.st_ino);
  if (!claim) return nullptr;  // another call is reading this listing right now
  auto snap = std::make_shared<DirSnapshot>();
  snap->stamp = d.stamp;
  std::vector<std::uint8_t> buf(65536);
  for (;;) {
    long n = syscall(SYS_getdents64, fd, buf.data(), buf.size());
    if (n < 0) return nullptr;
    if (n == 0) break;
    for (long pos = 0; pos < n;) {
      auto* de = reinterpret_cast<struct dirent64*>(buf.data() + pos);
      pos += de->d_reclen;
      const auto off = static_cast<std::uint64_t>(de->d_off);
      // Cookies must identify entries: strictly increasing, else not cached.
      if (!snap->entries.empty() && off <= snap->entries.back().off) return nullptr;
      if (snap->entries.size() >= dir_cache_.max_listing()) return nullptr;
      snap->entries.push_back(DirSnapshot::Entry{de->d_name, de->d_ino, off});
    }
  }
  dir_cache_.insert(d.st.st_dev, d.st.st_ino, snap, with_attrs ? d.fd.get() : -1);
  return snap;
}

void LocalBackend::plus_entry(const Resolved& d, int dirfd, std::uint64_t d_ino, DirEntry* e) {
  // Runs as the client.  An inode met before: one statx by name, and the
  // cached handle when the statx's stamp still matches.
  InodeStamp cached;
  FileHandle h;
  if (inode_handles_.peek(d.exp->dev, d_ino, &cached, &h)) {
    struct stat st {};
    InodeStamp stamp;
    if (!stat_x(dirfd, e->name.c_str(), AT_SYMLINK_NOFOLLOW, &st, &stamp)) return;
    if (st.st_dev != d.exp->dev) return;  // a mount point: no attributes, no handle
    if (st.st_ino == d_ino && stamp == cached) {
      e->attr = to_attr(st);
      e->handle = h;
      return;
    }
  }
  // Otherwise open it, so attributes and handle are of the same object.
  Resolved c;
  c.exp = d.exp;
  if (e->name == "..") {  // below the root (the root's ".." is answered by the caller)
    c.fd.reset(::openat(dirfd, "..", O_PATH | O_DIRECTORY | O_CLOEXEC));
  } else {
    c.fd.reset(open_beneath(dirfd, e->name.c_str(), O_PATH | O_NOFOLLOW));
  }
  if (!c.fd.valid() || !fd_stat(c.fd.get(), &c.st, &c.stamp) || c.st.st_dev != d.exp->dev) return;
  e->attr = to_attr(c.st);
  if (handle_of(c, &h) == Status::kOk) e->handle = h;
}

}  // namespace nasd::storage
