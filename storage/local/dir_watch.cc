#include "storage/local/dir_watch.h"

#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>
#include <string>

namespace nasd::storage {

namespace {
// Changes to an entry's inode or to the directory's names.  IN_ACCESS is
// left out: a read changes at most atime, and watching it would queue an
// event per read; callers bound how long they trust cached atimes.
constexpr std::uint32_t kMask = IN_MODIFY | IN_ATTRIB | IN_CREATE | IN_DELETE | IN_MOVED_FROM |
                                IN_MOVED_TO | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR;
}  // namespace

DirWatch::DirWatch() : fd_(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) {}

int DirWatch::add(int dirfd) {
  if (!fd_.valid()) return -1;
  const std::string path = "/proc/self/fd/" + std::to_string(dirfd);
  return ::inotify_add_watch(fd_.get(), path.c_str(), kMask);
}

void DirWatch::remove(int wd) {
  if (fd_.valid() && wd >= 0) ::inotify_rm_watch(fd_.get(), wd);
}

void DirWatch::drain(const std::function<void(int wd, bool gone)>& on_event,
                     const std::function<void()>& on_overflow) {
  if (!fd_.valid()) return;
  alignas(struct inotify_event) char buf[8192];
  for (;;) {
    const ssize_t n = ::read(fd_.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // EAGAIN: drained
    for (ssize_t pos = 0; pos + static_cast<ssize_t>(sizeof(struct inotify_event)) <= n;) {
      const auto* ev = reinterpret_cast<const struct inotify_event*>(buf + pos);
      pos += static_cast<ssize_t>(sizeof(struct inotify_event) + ev->len);
      if (ev->mask & IN_Q_OVERFLOW) {
        on_overflow();
      } else if (ev->wd >= 0) {
        on_event(ev->wd, (ev->mask & IN_IGNORED) != 0);
      }
    }
  }
}

}  // namespace nasd::storage
