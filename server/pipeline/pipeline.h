// Pipeline: the staged request path of nasd.
//
//   connection --(record)--> parse --> validate --> persist --> connection
//
//   parse:    RPC call header (RFC 5531 §9), credentials, program/version/
//             procedure dispatch, argument decoding.  Pure CPU work that
//             never waits: no buffer is taken here.
//   validate: takes the reply buffer (waits for one when the reply pool is
//             exhausted), answers RPC-level errors found by parse
//             (PROG_UNAVAIL, GARBAGE_ARGS, AUTH_ERROR, ...), runs
//             Program::validate (export access, squashing, handle checks)
//   persist:  Program::execute (the storage call), result encoding
// Each stage can have its own worker threads and bounded queue, or none:
//   * parse with 0 threads runs on the network thread that received the
//     record (the front end decodes the call; it never blocks there);
//   * validate with 0 threads runs on the persist stage's threads, just
//     before the call is executed.
// Every thread hand-off costs two context switches, which on a small machine
// dominate the cost of a cached GETATTR (docs/performance.md), so the
// default is parse and validate 0, persist N.  The PacketPool bounds the
// calls in flight whatever the threading.
//
// Inline calls: a call its program may answer without waiting
// (Program::may_run_inline: metadata reads, reads of cached data) is first
// tried right where it was parsed, without a hand-off: reply buffer taken
// without waiting, validate(), then Program::try_execute_inline().  When
// any of these would wait (no free reply buffer, the answer not in memory)
// the call goes on to the persist stage as usual.  Needs no validate stage
// (its threads would be skipped); off with PipelineConfig::inline_calls.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "pool/buffer_pool.h"
#include "server/pipeline/metrics.h"
#include "server/pipeline/packet.h"
#include "server/pipeline/program.h"
#include "server/pipeline/stage.h"

namespace nasd::server {

struct PipelineConfig {
  std::size_t parse_threads = 0;     // 0: parse on the network thread
  std::size_t validate_threads = 0;  // 0: validate on the persist threads
  std::size_t persist_threads = 2;   // at least 1
  std::size_t max_in_flight = 256;                 // packets
  std::size_t request_pool_bytes = 256u << 20;     // budget of the request pool
  std::size_t reply_pool_bytes = 256u << 20;       // budget of the reply pool
  /// Bytes of large request buffers (classes >= pool::BufferPool::kLargeFrom:
  /// bulk WRITE calls) held at once, handed out and cached; never less than
  /// the largest class, so every record can be taken.  Keeps the memory of a
  /// write burst the same at 64 and at 4,096 calls in flight.  Replies have
  /// no such budget: --max-connection-output bounds them per connection, and
  /// a persist thread must not wait on replies other clients do not read.
  std::size_t request_pool_large_bytes = 16u << 20;
  pool::PoolCacheLimits pool_cache;                // freed buffers each pool keeps per class
  std::chrono::milliseconds pool_trim_period{2000};  // cached buffers unused this long are released; 0: never
  bool inline_calls = true;  // try may_run_inline() calls where they are parsed (see above)
};

class Pipeline {
 public:
  /// Bytes of the RPC accepted-reply header plus the record mark, reserved
  /// in front of every reply body.
  static constexpr std::size_t kReplyHeaderBytes = 4 + 24 + 8;

  /// `programs` must outlive the pipeline.  Registers their metrics.  Several
  /// programs may share a number when they serve different versions (NFSv3
  /// and NFSv4 are both 100003); calls go by (number, version).
  Pipeline(const PipelineConfig& config, std::vector<Program*> programs, ServerMetrics& metrics);
  Pipeline(const Pipeline&) = delete;
  Pipeline& operator=(const Pipeline&) = delete;
  /// Stops the stages (in order) and joins their threads.
  ~Pipeline() { stop(); }

  /// Stops the stage workers; packets still queued are dropped (returned to
  /// their pool).  Call before destroying the io_context the connections
  /// run on, so no worker posts to it afterwards.  Idempotent.
  void stop();

  /// Hands a received record to the parse stage (or parses it on the calling
  /// thread when the stage has no threads; this never blocks).  `p->request`,
  /// `request_length`, `sink`, `ctx.peer`/`peer_port` and `received` must be set.
  void submit(PacketPtr p) {
    if (parse_) return parse_->push(std::move(p));
    parse(std::move(p));
  }

  /// Resubmits a call the sink deferred (ReplySink::defer_call) after
  /// charging its reply: the validate step takes its reply buffer and goes on.
  void resume_deferred(PacketPtr p) {
    p->reply_charged = true;
    to_validate(std::move(p));
  }

  PacketPool& packets() { return packets_; }
  pool::BufferPool& request_pool() { return request_pool_; }
  pool::BufferPool& reply_pool() { return reply_pool_; }
  ServerMetrics& metrics() { return metrics_; }

 private:
  struct ProgramEntry {
    Program* program;
    std::size_t metrics_slot;
  };

  void parse(PacketPtr p);
  /// Queues the parsed call for the validate stage (or the persist stage,
  /// which then validates first).
  void to_validate(PacketPtr p);
  void validate(PacketPtr p);
  void persist(PacketPtr p);
  /// Tries a parsed call on the calling thread without waiting; hands it to
  /// the persist stage when anything would wait.
  void run_inline(PacketPtr p);
  /// Charges and takes the reply buffer and encodes the accepted-reply
  /// header; answers the RPC error parse recorded instead.  Returns true
  /// when the call goes on.  False when the packet left: finished, deferred
  /// by its sink, or -- only with `may_wait` false, when no reply buffer is
  /// free -- handed to the persist stage (charged, not yet validated).
  bool start_reply(PacketPtr& p, bool may_wait = true);
  /// Writes the record mark, records metrics and gives the packet back to
  /// its connection.
  void finish(PacketPtr p);
  /// Answers with the RPC-level error `p->rpc_error`, taking a small reply
  /// buffer.
  void answer_rpc_error(PacketPtr p);
  /// Takes a reply buffer of `size` bytes, waiting for one to come back when
  /// the reply pool is exhausted.  Empty only when `size` exceeds the largest
  /// class.
  pool::PooledBuffer take_reply_buffer(std::size_t size);
  /// The program serving (number, version); nullptr when none does.
  const ProgramEntry* find_program(std::uint32_t number, std::uint32_t version) const;
  /// Lowest and highest version served for `number` (PROG_MISMATCH); false
  /// when no program has that number.
  bool version_range(std::uint32_t number, std::uint32_t* low, std::uint32_t* high) const;
  const ProgramEntry* entry_of(const Program* program) const;

  ServerMetrics& metrics_;
  const bool inline_calls_;
  std::atomic<std::uint64_t> inline_done_{0};        // answered where parsed
  std::atomic<std::uint64_t> inline_handed_off_{0};  // tried, then run by persist
  std::vector<ProgramEntry> programs_;
  PacketPool packets_;
  pool::BufferPool request_pool_;
  pool::BufferPool reply_pool_;
  pool::PoolTrimmer trimmer_;  // after the pools: stopped before they go
  // Declared last: destroyed first, so no worker runs while the rest goes.
  std::unique_ptr<Stage> persist_;
  std::unique_ptr<Stage> validate_;
  std::unique_ptr<Stage> parse_;
};

}  // namespace nasd::server
