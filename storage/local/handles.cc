// LocalBackend: exports, handles (make, resolve, cache) and the handle key.  See local_backend.h.
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

LocalBackend::LocalBackend(std::string state_dir)
    : codec_(std::make_unique<HandleCodec>(load_or_create_key(state_dir))) {}

LocalBackend::~LocalBackend() = default;

Status LocalBackend::add_export(std::uint32_t export_id, const std::string& path) {
  auto exp = std::make_unique<ExportRoot>();
  exp->id = export_id;
  // A real (not O_PATH) fd: open_by_handle_at refuses O_PATH mount fds.
  exp->fd.reset(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!exp->fd.valid()) {
    Status s = errno_status();
    spdlog::error("storage: export {} path {}: {}", export_id, path, std::strerror(errno));
    return s;
  }
  struct stat st {};
  if (!fd_stat(exp->fd.get(), &st)) return errno_status();
  exp->dev = st.st_dev;
  exp->ino = st.st_ino;
  FileHandle probe;
  if (Status s = make_handle(*exp, exp->fd.get(), "", &probe); s != Status::kOk) {
    spdlog::error("storage: export {} path {}: no persistent file handles ({})", export_id, path,
                  status_name(s));
    return s;
  }
  std::unique_lock lock(exports_mu_);
  if (exports_.count(export_id)) {
    spdlog::error("storage: export id {} registered twice ({})", export_id, path);
    return Status::kExist;
  }
  exports_.emplace(export_id, std::move(exp));
  return Status::kOk;
}

const LocalBackend::ExportRoot* LocalBackend::find_export(std::uint32_t id) {
  std::shared_lock lock(exports_mu_);
  auto it = exports_.find(id);
  return it == exports_.end() ? nullptr : it->second.get();
}

Status LocalBackend::make_handle(const ExportRoot& exp, int dirfd, const char* name,
                                 FileHandle* out) const {
  KernelHandle kh;
  kh.fh.handle_bytes = HandleCodec::kMaxKernelBytes;
  int mount_id = 0;
  int flags = name[0] == '\0' ? AT_EMPTY_PATH : 0;
  if (::name_to_handle_at(dirfd, name, &kh.fh, &mount_id, flags) != 0) {
    if (errno == EOVERFLOW) return Status::kNotSupp;  // handle too large for NFSv3
    return errno_status();
  }
  return codec_->encode(exp.id, kh.fh.handle_type, {kh.fh.f_handle, kh.fh.handle_bytes}, out);
}

Status LocalBackend::resolve(const FileHandle& fh, Resolved* out, Wait wait) {
  DecodedHandle d;
  if (Status s = codec_->decode(fh, &d); s != Status::kOk) return s;
  out->exp = find_export(d.export_id);
  if (!out->exp) return Status::kStale;
  if (auto cached = handle_cache_.find(fh.bytes())) {
    out->fd.share(std::move(cached));
    if (fd_stat(out->fd.get(), &out->st, &out->stamp) && out->st.st_dev == out->exp->dev) {
      if (out->st.st_nlink > 0) return Status::kOk;
      handle_cache_.erase(fh.bytes());  // removed since (the cache kept the inode alive)
      out->fd.reset();
      return Status::kStale;
    }
    handle_cache_.erase(fh.bytes());
    out->fd.reset();
  }
  // open_by_handle_at may read the inode from disk.
  if (wait == Wait::kNever) return Status::kWouldBlock;
  KernelHandle kh;
  kh.fh.handle_bytes = static_cast<unsigned>(d.kernel_bytes.size());
  kh.fh.handle_type = d.handle_type;
  std::memcpy(kh.fh.f_handle, d.kernel_bytes.data(), d.kernel_bytes.size());
  // As root: open_by_handle_at needs CAP_DAC_READ_SEARCH.
  out->fd.reset(::open_by_handle_at(out->exp->fd.get(), &kh.fh, O_PATH | O_NOFOLLOW | O_CLOEXEC));
  if (!out->fd.valid()) {
    if (errno == ESTALE || errno == ENOENT) return Status::kStale;
    return errno_status();
  }
  if (!fd_stat(out->fd.get(), &out->st, &out->stamp)) return errno_status();
  if (out->st.st_dev != out->exp->dev) return Status::kStale;
  // No links left: removed, only kept alive by someone's open descriptor.
  if (out->st.st_nlink == 0) return Status::kStale;
  handle_cache_.insert(fh.bytes(), out->fd.shared());
  return Status::kOk;
}

void LocalBackend::forget_child(const ExportRoot& exp, int dirfd, std::string_view name) {
  if (handle_cache_.capacity() == 0 || handle_cache_.size() == 0) return;
  FileHandle h;
  if (make_handle(exp, dirfd, std::string(name).c_str(), &h) == Status::kOk) {
    handle_cache_.erase(h.bytes());
  }
}

Status LocalBackend::resolve_dir(const FileHandle& fh, Resolved* out) {
  if (Status s = resolve(fh, out); s != Status::kOk) return s;
  return S_ISDIR(out->st.st_mode) ? Status::kOk : Status::kNotDir;
}

Status LocalBackend::open_child(const Resolved& dir, const std::string& name, Resolved* out,
                                Wait wait) {
  out->exp = dir.exp;
  if (name == ".." && dir.is_root()) {
    out->fd.reset(::openat(dir.fd.get(), ".", O_PATH | O_DIRECTORY | O_CLOEXEC));
  } else if (name == "..") {
    // RESOLVE_BENEATH refuses "..", and the parent of a directory inside the
    // export (other than the root) is inside the export too.
    out->fd.reset(::openat(dir.fd.get(), "..", O_PATH | O_DIRECTORY | O_CLOEXEC));
  } else {
    out->fd.reset(open_beneath(dir.fd.get(), name.c_str(), O_PATH | O_NOFOLLOW,
                               wait == Wait::kNever ? RESOLVE_CACHED : 0));
  }
  if (!out->fd.valid()) {
    // RESOLVE_CACHED: the walk would have needed the disk.
    if (wait == Wait::kNever && errno == EAGAIN) return Status::kWouldBlock;
    return errno_status();
  }
  if (!fd_stat(out->fd.get(), &out->st, &out->stamp)) return errno_status();
  if (out->st.st_dev != dir.exp->dev) return Status::kXdev;
  return Status::kOk;
}

Status LocalBackend::handle_of(const Resolved& obj, FileHandle* out) {
  if (inode_handles_.find(obj.st.st_dev, obj.st.st_ino, obj.stamp, out)) return Status::kOk;
  if (Status s = make_handle(*obj.exp, obj.fd.get(), "", out); s != Status::kOk) return s;
  // The stamp and the handle both come from the open descriptor: same inode.
  inode_handles_.insert(obj.st.st_dev, obj.st.st_ino, obj.stamp, *out);
  return Status::kOk;
}

Status LocalBackend::finish_new(const Credentials& cred, Resolved& dir, const std::string& name,
                                FileHandle* out, Attr* obj_attr, Resolved* child) {
  {
    CredentialsGuard g(cred);
    if (!g.ok()) return kNoIdentity;
    if (Status s = open_child(dir, name, child); s != Status::kOk) return s;
  }
  if (Status s = handle_of(*child, out); s != Status::kOk) return s;
  if (obj_attr) *obj_attr = to_attr(child->st);
  return Status::kOk;
}

Attr LocalBackend::attr_of(const struct stat& st) { return to_attr(st); }

Status LocalBackend::root_handle(std::uint32_t export_id, FileHandle* out) {
  const ExportRoot* exp = find_export(export_id);
  if (!exp) return Status::kStale;
  struct stat st {};
  if (!fd_stat(exp->fd.get(), &st) || st.st_nlink == 0) return Status::kStale;
  return make_handle(*exp, exp->fd.get(), "", out);
}

Status LocalBackend::export_of(const FileHandle& fh, std::uint32_t* export_id) {
  DecodedHandle d;
  if (Status s = codec_->decode(fh, &d); s != Status::kOk) return s;
  if (!find_export(d.export_id)) return Status::kStale;
  *export_id = d.export_id;
  return Status::kOk;
}

bool LocalBackend::cached_fd(const FileHandle& fh, Resolved* out) {
  DecodedHandle d;
  if (codec_->decode(fh, &d) != Status::kOk) return false;
  out->exp = find_export(d.export_id);
  if (!out->exp) return false;
  auto cached = handle_cache_.find(fh.bytes());
  if (!cached) return false;
  out->fd.share(std::move(cached));
  return true;
}

}  // namespace nasd::storage
