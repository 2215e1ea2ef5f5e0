// Pipeline: the staged request path of nasd.
//
//   connection --(record)--> parse --> validate --> persist --> connection
//
//   parse:    RPC call header (RFC 5531 §9), credentials, program/version/
//             procedure dispatch, argument decoding; takes the reply buffer
//   validate: Program::validate (export access, squashing, handle checks)
//   persist:  Program::execute (the storage call), result encoding
// RPC-level errors (PROG_UNAVAIL, GARBAGE_ARGS, AUTH_ERROR, ...) are answered
// from the parse stage and skip the others.  Each stage has its own worker
// threads and a bounded queue; the PacketPool bounds the calls in flight.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "pool/buffer_pool.h"
#include "server/metrics.h"
#include "server/packet.h"
#include "server/program.h"
#include "server/stage.h"

namespace nasd::server {

struct PipelineConfig {
  std::size_t threads_per_stage = 2;
  std::size_t max_in_flight = 256;                 // packets
  std::size_t request_pool_bytes = 256u << 20;     // budget of the request pool
  std::size_t reply_pool_bytes = 256u << 20;       // budget of the reply pool
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

  /// Hands a received record to the parse stage.  `p->request`,
  /// `request_length`, `sink`, `ctx.peer`/`peer_port` and `received` must be set.
  void submit(PacketPtr p) { parse_->push(std::move(p)); }
  /// Resubmits a call the sink deferred (ReplySink::defer_call) after
  /// charging its reply: the parse stage takes its reply buffer and goes on.
  void resume_deferred(PacketPtr p) {
    p->deferred = true;
    parse_->push(std::move(p));
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
  /// Takes the reply buffer of a decoded call (`p->reply_size`), writes the
  /// accepted-reply header and passes it to the validate stage.
  void start_reply(PacketPtr p);
  void validate(PacketPtr p);
  void persist(PacketPtr p);
  /// Writes the record mark, records metrics and gives the packet back to
  /// its connection.
  void finish(PacketPtr p);
  /// Answers with an RPC-level error taking a small reply buffer.
  template <class Encode>
  void answer_rpc_error(PacketPtr p, RpcError counted, Encode encode);
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
  std::vector<ProgramEntry> programs_;
  PacketPool packets_;
  pool::BufferPool request_pool_;
  pool::BufferPool reply_pool_;
  // Declared last: destroyed first, so no worker runs while the rest goes.
  std::unique_ptr<Stage> persist_;
  std::unique_ptr<Stage> validate_;
  std::unique_ptr<Stage> parse_;
};

}  // namespace nasd::server
