// UringIo, see uring_io.h.
#include "storage/local/uring_io.h"

#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <spdlog/spdlog.h>

namespace nasd::storage {
namespace {
constexpr unsigned kRingEntries = 4;
constexpr int kMaxRetries = 100;  // transient EINTR/EAGAIN before giving up
}

UringIo::~UringIo() {
  for (auto& [id, r] : rings_) io_uring_queue_exit(&r->ring);
}

io_uring* UringIo::ring_for_thread() {
  if (disabled_.load(std::memory_order_relaxed)) return nullptr;
  std::lock_guard lock(mu_);
  auto& slot = rings_[std::this_thread::get_id()];
  if (slot) return &slot->ring;
  auto r = std::make_unique<Ring>();
  int rc = io_uring_queue_init(kRingEntries, &r->ring, 0);
  if (rc < 0) {
    rings_.erase(std::this_thread::get_id());
    if (!disabled_.exchange(true)) {
      spdlog::warn("storage: io_uring unavailable ({}), using pread/pwrite/fsync", std::strerror(-rc));
    }
    return nullptr;
  }
  slot = std::move(r);
  return &slot->ring;
}

int UringIo::submit_one(io_uring* ring) {
  int rc = io_uring_submit(ring);
  if (rc < 0) return rc;
  io_uring_cqe* cqe = nullptr;
  do {
    rc = io_uring_wait_cqe(ring, &cqe);
  } while (rc == -EINTR);
  if (rc < 0) return rc;
  int res = cqe->res;
  io_uring_cqe_seen(ring, cqe);
  return res;
}

long UringIo::read(int fd, std::uint64_t offset, std::span<std::uint8_t> dst) {
  io_uring* ring = ring_for_thread();
  std::size_t done = 0;
  int retries = 0;
  while (done < dst.size()) {
    long n;
    if (ring) {
      io_uring_sqe* sqe = io_uring_get_sqe(ring);
      if (!sqe) return -EAGAIN;
      io_uring_prep_read(sqe, fd, dst.data() + done, static_cast<unsigned>(dst.size() - done),
                         offset + done);
      n = submit_one(ring);
    } else {
      n = ::pread(fd, dst.data() + done, dst.size() - done, static_cast<off_t>(offset + done));
      if (n < 0) n = -errno;
    }
    if ((n == -EINTR || n == -EAGAIN) && ++retries < kMaxRetries) continue;
    if (n < 0) return done > 0 ? static_cast<long>(done) : n;
    if (n == 0) break;  // end of file
    done += static_cast<std::size_t>(n);
  }
  return static_cast<long>(done);
}

long UringIo::write(int fd, std::uint64_t offset, std::span<const std::uint8_t> src, int rw_flags) {
  io_uring* ring = ring_for_thread();
  std::size_t done = 0;
  int retries = 0;
  while (done < src.size()) {
    long n;
    if (ring) {
      io_uring_sqe* sqe = io_uring_get_sqe(ring);
      if (!sqe) return -EAGAIN;
      io_uring_prep_write(sqe, fd, src.data() + done, static_cast<unsigned>(src.size() - done),
                          offset + done);
      sqe->rw_flags = rw_flags;
      n = submit_one(ring);
    } else {
      iovec iov{const_cast<std::uint8_t*>(src.data() + done), src.size() - done};
      n = ::pwritev2(fd, &iov, 1, static_cast<off_t>(offset + done), rw_flags);
      if (n < 0) n = -errno;
    }
    if ((n == -EINTR || n == -EAGAIN) && ++retries < kMaxRetries) continue;
    if (n < 0) return done > 0 ? static_cast<long>(done) : n;
    if (n == 0) return -EIO;  // no progress: avoid spinning
    done += static_cast<std::size_t>(n);
  }
  return static_cast<long>(done);
}

int UringIo::fsync(int fd, bool datasync) {
  io_uring* ring = ring_for_thread();
  if (ring) {
    io_uring_sqe* sqe = io_uring_get_sqe(ring);
    if (!sqe) return -EAGAIN;
    io_uring_prep_fsync(sqe, fd, datasync ? IORING_FSYNC_DATASYNC : 0);
    return submit_one(ring);
  }
  int rc = datasync ? ::fdatasync(fd) : ::fsync(fd);
  return rc == 0 ? 0 : -errno;
}

}  // namespace nasd::storage
