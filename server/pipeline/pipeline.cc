#include "server/pipeline/pipeline.h"

#include <algorithm>
#include <condition_variable>
#include <mutex>

#include "protocol/rpc/record_marking.h"

namespace nasd::server {

Pipeline::Pipeline(const PipelineConfig& config, std::vector<Program*> programs,
                   ServerMetrics& metrics)
    : metrics_(metrics),
      inline_calls_(config.inline_calls && config.validate_threads == 0),
      packets_(config.max_in_flight),
      request_pool_(config.request_pool_bytes, config.pool_cache,
                    std::max(config.request_pool_large_bytes, pool::BufferPool::kMaxBufferSize)),
      reply_pool_(config.reply_pool_bytes, config.pool_cache),
      trimmer_({&request_pool_, &reply_pool_}, config.pool_trim_period) {
  for (Program* p : programs) programs_.push_back({p, metrics_.add_program(*p)});
  const std::size_t cap = config.max_in_flight;
  const bool own_validate = config.validate_threads > 0;
  persist_ = std::make_unique<Stage>(
      "persist", std::max<std::size_t>(config.persist_threads, 1), cap,
      [this, own_validate](PacketPtr p) {
        if (own_validate || p->validated) return persist(std::move(p));
        validate(std::move(p));  // validate runs here, then persist
      });
  if (own_validate) {
    validate_ = std::make_unique<Stage>("validate", config.validate_threads, cap,
                                        [this](PacketPtr p) { validate(std::move(p)); });
  }
  if (config.parse_threads > 0) {
    parse_ = std::make_unique<Stage>("parse", config.parse_threads, cap,
                                     [this](PacketPtr p) { parse(std::move(p)); });
  }
  for (const Stage* s : {parse_.get(), validate_.get(), persist_.get()}) {
    if (!s) continue;
    metrics_.add_gauge("nasd_stage_queue_depth", "Packets waiting in a pipeline stage's queue",
                       {{"stage", s->name()}}, [s] { return static_cast<double>(s->depth()); });
  }
  for (auto [result, n] : {std::pair{"answered", &inline_done_}, std::pair{"handed_off", &inline_handed_off_}}) {
    auto* c = n;
    metrics_.add_counter("nasd_inline_calls_total",
                         "Calls tried on the thread that parsed them: answered there, or handed to "
                         "the persist stage because the answer was not in memory",
                         {{"result", result}},
                         [c] { return static_cast<double>(c->load(std::memory_order_relaxed)); });
  }
  metrics_.add_gauge("nasd_packets_in_flight", "Packets taken from the packet pool", {},
                     [this] { return static_cast<double>(packets_.in_use()); });
  metrics_.add_gauge("nasd_packets_high_water", "Most packets in flight at once", {},
                     [this] { return static_cast<double>(packets_.high_water()); });
  for (auto [name, pool] : {std::pair{"request", &request_pool_}, std::pair{"reply", &reply_pool_}}) {
    auto* p = pool;
    std::map<std::string, std::string> l = {{"pool", name}};
    metrics_.add_gauge("nasd_pool_in_use_bytes", "Bytes of pooled buffers handed out", l,
                       [p] { return static_cast<double>(p->stats().in_use_bytes); });
    metrics_.add_gauge("nasd_pool_in_use_buffers", "Pooled buffers handed out", l,
                       [p] { return static_cast<double>(p->stats().in_use_buffers); });
    metrics_.add_gauge("nasd_pool_cached_bytes", "Bytes of freed buffers kept for reuse", l,
                       [p] { return static_cast<double>(p->stats().cached_bytes); });
    metrics_.add_gauge("nasd_pool_high_water_bytes", "Most bytes handed out at once", l,
                       [p] { return static_cast<double>(p->stats().high_water_bytes); });
    metrics_.add_counter("nasd_pool_allocations_total", "Buffers allocated fresh (not reused)", l,
                       [p] { return static_cast<double>(p->stats().allocations); });
    metrics_.add_counter("nasd_pool_failures_total", "Takes refused because the budget was exhausted", l,
                       [p] { return static_cast<double>(p->stats().failures); });
    metrics_.add_gauge("nasd_pool_capacity_bytes", "Byte budget of the pool", l,
                       [p] { return static_cast<double>(p->capacity_bytes()); });
  }
}

void Pipeline::stop() {
  parse_.reset();
  validate_.reset();
  persist_.reset();
}

const Pipeline::ProgramEntry* Pipeline::find_program(std::uint32_t number,
                                                     std::uint32_t version) const {
  for (const auto& e : programs_) {
    if (e.program->number() == number && version >= e.program->low_version() &&
        version <= e.program->high_version()) {
      return &e;
    }
  }
  return nullptr;
}

bool Pipeline::version_range(std::uint32_t number, std::uint32_t* low,
                             std::uint32_t* high) const {
  bool found = false;
  for (const auto& e : programs_) {
    if (e.program->number() != number) continue;
    *low = found ? std::min(*low, e.program->low_version()) : e.program->low_version();
    *high = found ? std::max(*high, e.program->high_version()) : e.program->high_version();
    found = true;
  }
  return found;
}

const Pipeline::ProgramEntry* Pipeline::entry_of(const Program* program) const {
  for (const auto& e : programs_) {
    if (e.program == program) return &e;
  }
  return nullptr;
}

pool::PooledBuffer Pipeline::take_reply_buffer(std::size_t size) {
  if (!reply_pool_.can_ever_take(size)) return {};  // waiting would hang
  for (;;) {
    if (auto b = reply_pool_.try_take(size)) return b;
    // Replies in flight come back once written; wait for one.
    auto state = std::make_shared<std::pair<std::mutex, std::condition_variable>>();
    auto released = std::make_shared<bool>(false);
    reply_pool_.notify_on_release([state, released] {
      std::lock_guard lock(state->first);
      *released = true;
      state->second.notify_one();
    });
    std::unique_lock lock(state->first);
    state->second.wait(lock, [&] { return *released; });
  }
}

void Pipeline::answer_rpc_error(PacketPtr p) {
  using Kind = RpcReject::Kind;
  const RpcReject r = p->rpc_error;
  const std::uint32_t xid = p->ctx.header.xid;
  switch (r.kind) {
    case Kind::kRpcMismatch: metrics_.error(RpcError::kRpcMismatch).Increment(); break;
    case Kind::kBadCred: case Kind::kTooWeak: metrics_.error(RpcError::kAuthError).Increment(); break;
    case Kind::kProgUnavail: metrics_.error(RpcError::kProgUnavail).Increment(); break;
    case Kind::kProgMismatch: metrics_.error(RpcError::kProgMismatch).Increment(); break;
    case Kind::kProcUnavail: metrics_.error(RpcError::kProcUnavail).Increment(); break;
    case Kind::kGarbageArgs: metrics_.error(RpcError::kGarbageArgs).Increment(); break;
    case Kind::kSystemErr: case Kind::kNone: metrics_.error(RpcError::kSystemErr).Increment(); break;
  }
  p->args.reset();
  p->program = nullptr;
  p->reply = take_reply_buffer(256);
  p->out.emplace(p->reply.span().subspan(rpc::kRecordMarkBytes));
  auto& out = *p->out;
  switch (r.kind) {
    case Kind::kRpcMismatch: rpc::encode_rpc_mismatch(out, xid); break;
    case Kind::kBadCred: rpc::encode_auth_error(out, xid, rpc::AuthStat::kBadCred); break;
    case Kind::kTooWeak: rpc::encode_auth_error(out, xid, rpc::AuthStat::kTooWeak); break;
    case Kind::kProgUnavail: rpc::encode_accepted(out, xid, rpc::AcceptStat::kProgUnavail); break;
    case Kind::kProgMismatch:
      rpc::encode_accepted(out, xid, rpc::AcceptStat::kProgMismatch, r.low, r.high);
      break;
    case Kind::kProcUnavail: rpc::encode_accepted(out, xid, rpc::AcceptStat::kProcUnavail); break;
    case Kind::kGarbageArgs: rpc::encode_accepted(out, xid, rpc::AcceptStat::kGarbageArgs); break;
    case Kind::kSystemErr: case Kind::kNone:
      rpc::encode_accepted(out, xid, rpc::AcceptStat::kSystemErr);
      break;
  }
  finish(std::move(p));
}

void Pipeline::parse(PacketPtr p) {
  using Kind = RpcReject::Kind;
  xdr::XdrDecoder in(p->request.span().first(p->request_length));
  auto& h = p->ctx.header;
  auto reject = [&](Kind kind) {
    p->rpc_error.kind = kind;
    to_validate(std::move(p));
  };
  switch (rpc::decode_call(in, h)) {
    case rpc::HeaderResult::kOk:
      break;
    case rpc::HeaderResult::kNotCall:
    case rpc::HeaderResult::kGarbage:
      metrics_.error(RpcError::kGarbageRecord).Increment();
      finish(std::move(p));  // no reply: nothing identifies the caller
      return;
    case rpc::HeaderResult::kRpcMismatch: return reject(Kind::kRpcMismatch);
    case rpc::HeaderResult::kBadCred: return reject(Kind::kBadCred);
    case rpc::HeaderResult::kTooWeak: return reject(Kind::kTooWeak);
  }
  const ProgramEntry* entry = find_program(h.prog, h.vers);
  if (!entry) {
    if (!version_range(h.prog, &p->rpc_error.low, &p->rpc_error.high)) {
      return reject(Kind::kProgUnavail);
    }
    return reject(Kind::kProgMismatch);
  }
  Program& prog = *entry->program;
  if (h.proc >= prog.procedure_count()) return reject(Kind::kProcUnavail);
  switch (prog.decode(p->ctx, in, p->args)) {
    case DecodeResult::kOk:
      break;
    case DecodeResult::kProcUnavail: return reject(Kind::kProcUnavail);
    case DecodeResult::kGarbageArgs: return reject(Kind::kGarbageArgs);
  }
  p->program = &prog;
  if (inline_calls_ && prog.may_run_inline(p->ctx, p->args)) return run_inline(std::move(p));
  to_validate(std::move(p));
}

void Pipeline::run_inline(PacketPtr p) {
  if (!start_reply(p, /*may_wait=*/false)) return;
  if (!p->program->validate(p->ctx, p->args, *p->out)) {
    p->answered_early = true;
    inline_done_.fetch_add(1, std::memory_order_relaxed);
    finish(std::move(p));
    return;
  }
  p->validated = true;
  const std::size_t mark = p->out->position();
  if (auto status = p->program->try_execute_inline(p->ctx, p->args, *p->out)) {
    p->status = *status;
    inline_done_.fetch_add(1, std::memory_order_relaxed);
    finish(std::move(p));
    return;
  }
  p->out->rewind(mark);
  inline_handed_off_.fetch_add(1, std::memory_order_relaxed);
  persist_->push(std::move(p));
}

void Pipeline::to_validate(PacketPtr p) {
  if (validate_) return validate_->push(std::move(p));
  persist_->push(std::move(p));  // its worker validates first
}

bool Pipeline::start_reply(PacketPtr& p, bool may_wait) {
  if (p->rpc_error.kind != RpcReject::Kind::kNone) {
    answer_rpc_error(std::move(p));
    return false;
  }
  if (!p->reply_charged) {
    p->reply_size = kReplyHeaderBytes + p->program->max_reply_size(p->ctx, p->args);
    if (!p->sink->try_charge_reply(*p, pool::BufferPool::class_bytes(p->reply_size))) {
      // The connection's output budget is full (a client not reading its
      // replies): it keeps the call and resubmits it once replies drain.
      auto sink = p->sink;
      sink->defer_call(std::move(p));
      return false;
    }
    p->reply_charged = true;
  }
  if (!may_wait) {
    p->reply = reply_pool_.try_take(p->reply_size);
    if (!p->reply) {
      inline_handed_off_.fetch_add(1, std::memory_order_relaxed);
      persist_->push(std::move(p));  // its worker validates first, and may wait
      return false;
    }
  } else {
    p->reply = take_reply_buffer(p->reply_size);
  }
  if (!p->reply) {
    p->rpc_error.kind = RpcReject::Kind::kSystemErr;
    answer_rpc_error(std::move(p));
    return false;
  }
  p->out.emplace(p->reply.span().subspan(rpc::kRecordMarkBytes));
  rpc::encode_accepted(*p->out, p->ctx.header.xid, rpc::AcceptStat::kSuccess);
  return true;
}

void Pipeline::validate(PacketPtr p) {
  if (!start_reply(p)) return;
  if (!p->program->validate(p->ctx, p->args, *p->out)) {
    p->answered_early = true;
    finish(std::move(p));
    return;
  }
  if (validate_) return persist_->push(std::move(p));
  persist(std::move(p));
}

void Pipeline::persist(PacketPtr p) {
  p->status = p->program->execute(p->ctx, p->args, *p->out);
  finish(std::move(p));
}

void Pipeline::finish(PacketPtr p) {
  if (p->program) {
    const ProgramEntry* entry = entry_of(p->program);
    auto& pm = metrics_.procedure(entry->metrics_slot, p->ctx.header.proc);
    pm.requests->Increment();
    pm.duration->Observe(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - p->received).count());
    metrics_.reply(entry->metrics_slot, p->status).Increment();
    metrics_.read_bytes().Increment(p->ctx.data_bytes_read);
    metrics_.write_bytes().Increment(p->ctx.data_bytes_written);
    if (p->ctx.has_export) {
      if (ExportMetrics* em = metrics_.export_metrics(p->ctx.export_id)) {
        em->requests->Increment();
        em->read_bytes->Increment(p->ctx.data_bytes_read);
        em->write_bytes->Increment(p->ctx.data_bytes_written);
      }
    }
  }
  if (p->out && !p->out->ok()) {
    // The reply did not fit the buffer taken for it: a sizing bug, never a
    // client error.  Answer SYSTEM_ERR rather than a truncated reply.
    metrics_.error(RpcError::kSystemErr).Increment();
    p->out.emplace(p->reply.span().subspan(rpc::kRecordMarkBytes));
    rpc::encode_accepted(*p->out, p->ctx.header.xid, rpc::AcceptStat::kSystemErr);
  }
  // Arguments may point into the request buffer: drop them first.
  p->args.reset();
  p->request.release();
  if (p->out) {
    const std::size_t len = p->out->position();
    const std::uint32_t mark = rpc::make_fragment_header(static_cast<std::uint32_t>(len), true);
    xdr::XdrEncoder(p->reply.span()).u32(mark);
  }
  auto sink = p->sink;
  sink->send_reply(std::move(p));
}

}  // namespace nasd::server
