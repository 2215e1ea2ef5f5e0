// Stage: one step of the request pipeline — a bounded queue of packets and
// its own pool of worker threads that run the stage's function on each.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "server/pipeline/packet.h"

namespace nasd::server {

/// A queue of at most `capacity` packets served by `threads` workers.  The
/// packet pool bounds the packets in flight, so with capacity >= that bound a
/// push never waits; push() still blocks rather than grow past the bound.
class Stage {
 public:
  using Fn = std::function<void(PacketPtr)>;

  Stage(std::string name, std::size_t threads, std::size_t capacity, Fn fn);
  Stage(const Stage&) = delete;
  Stage& operator=(const Stage&) = delete;
  /// Stops the workers; queued packets are dropped (returned to their pool).
  ~Stage();

  /// Enqueues a packet; blocks while the queue is full.
  void push(PacketPtr p);
  /// Packets waiting in the queue (for the queue-depth gauge).
  std::size_t depth() const;
  const std::string& name() const { return name_; }

 private:
  void work();

  const std::string name_;
  const std::size_t capacity_;
  const Fn fn_;
  mutable std::mutex mu_;
  std::condition_variable not_empty_, not_full_;
  std::deque<PacketPtr> queue_;
  bool stopping_ = false;
  std::vector<std::jthread> workers_;
};

}  // namespace nasd::server
