// DirWatch: inotify(7) watches on directories, read on demand.
//
// A watch on a directory reports changes to the inodes of its entries when
// they are made through a name in that directory: writes and truncation
// (IN_MODIFY), chmod / chown / utimes / link-count changes (IN_ATTRIB), and
// names added, removed or renamed.  The kernel queues the event before the
// changing system call returns, so a caller that drains the queue and then
// reads what it cached has seen every change completed before the drain.
// What inotify does not report, and callers must not cache on its word:
//  - changes to a subdirectory's own attributes made inside it (a create
//    in the subdirectory moves its mtime, reported to the subdirectory's
//    watchers only);
//  - changes through another hard link in another directory;
//  - changes through a descriptor whose dentry the kernel holds
//    disconnected (opened by handle after the inode left the caches), and
//    mtime moved by writes through a shared mmap.
// The queue is bounded (fs.inotify.max_queued_events); when it overflows
// the kernel drops events and reports IN_Q_OVERFLOW, which callers must
// treat as "everything changed".  One inotify instance, non-blocking; not
// thread-safe (the owner serializes add, remove and drain).
#pragma once

#include <functional>

#include "storage/unique_fd.h"

namespace nasd::storage {

class DirWatch {
 public:
  /// Opens the inotify instance; valid() is false when the kernel refuses
  /// (no inotify, instance limit reached): add() then fails.
  DirWatch();
  bool valid() const { return fd_.valid(); }

  /// Starts watching the directory open as `dirfd` (any descriptor of it,
  /// O_PATH included).  Returns the watch descriptor (the same one for the
  /// same directory), or -1 when the kernel refuses (e.g. ENOSPC: the
  /// fs.inotify.max_user_watches limit).
  int add(int dirfd);
  /// Stops watch `wd` (the kernel then queues IN_IGNORED for it).
  void remove(int wd);

  /// Reads every queued event without waiting.  Calls `on_event(wd,
  /// gone)` once per event, `gone` true when the kernel removed the watch
  /// (IN_IGNORED: the directory was deleted, its filesystem unmounted, or
  /// remove() was called); calls `on_overflow()` when events were lost.
  void drain(const std::function<void(int wd, bool gone)>& on_event,
             const std::function<void()>& on_overflow);

 private:
  UniqueFd fd_;
};

}  // namespace nasd::storage
