#include "server/pipeline/stage.h"

namespace nasd::server {

Stage::Stage(std::string name, std::size_t threads, std::size_t capacity, Fn fn)
    : name_(std::move(name)), capacity_(capacity), fn_(std::move(fn)) {
  for (std::size_t i = 0; i < threads; ++i) workers_.emplace_back([this] { work(); });
}

Stage::~Stage() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  not_empty_.notify_all();
  not_full_.notify_all();
  workers_.clear();  // joins
  std::lock_guard lock(mu_);
  queue_.clear();
}

void Stage::push(PacketPtr p) {
  std::unique_lock lock(mu_);
  not_full_.wait(lock, [&] { return stopping_ || queue_.size() < capacity_; });
  if (stopping_) return;  // dropped: returns to its pool
  queue_.push_back(std::move(p));
  lock.unlock();
  not_empty_.notify_one();
}

std::size_t Stage::depth() const {
  std::lock_guard lock(mu_);
  return queue_.size();
}

void Stage::work() {
  for (;;) {
    std::unique_lock lock(mu_);
    not_empty_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
    if (stopping_) return;
    PacketPtr p = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    not_full_.notify_one();
    fn_(std::move(p));
  }
}

}  // namespace nasd::server
