// UniqueFd: RAII owner of one file descriptor.
#pragma once

#include <unistd.h>

#include <memory>
#include <utility>

namespace nasd::storage {

/// Owns a file descriptor and closes it on destruction (or on reset).
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept {
    if (this != &o) reset(std::exchange(o.fd_, -1));
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { reset(); }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  /// Closes the current descriptor (if any) and takes ownership of `fd`.
  void reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

/// A descriptor either owned here or shared (with a cache): it stays open
/// while any holder lives.  Reads like UniqueFd (get, valid, reset).
class SharedFd {
 public:
  int get() const { return owned_.valid() ? owned_.get() : shared_ ? shared_->get() : -1; }
  bool valid() const { return get() >= 0; }
  /// Drops what is held and takes ownership of `fd`.
  void reset(int fd = -1) {
    shared_.reset();
    owned_.reset(fd);
  }
  /// Drops what is held and shares `fd`.
  void share(std::shared_ptr<const UniqueFd> fd) {
    owned_.reset();
    shared_ = std::move(fd);
  }
  /// Turns an owned descriptor into a shared one and returns it (null when
  /// nothing is held).
  std::shared_ptr<const UniqueFd> shared() {
    if (owned_.valid()) shared_ = std::make_shared<const UniqueFd>(std::move(owned_));
    return shared_;
  }

 private:
  UniqueFd owned_;
  std::shared_ptr<const UniqueFd> shared_;
};

}  // namespace nasd::storage
