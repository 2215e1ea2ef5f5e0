// NFSv4 file I/O: READ, WRITE, COMMIT (RFC 8881 §18.22, §18.32, §18.3).
// READ and WRITE accept the anonymous and bypass stateids (the I/O itself
// is stateless); the stateid is checked against the file's opens and
// locks by Nfs4State::check_stateid.
#include "server/nfs4/ops.h"

namespace nasd::server::nfs4ops {

using nfs4::Nfsstat4;
using storage::Status;

Nfsstat4 op_read(Nfs4Compound& c, const Nfs4DecodedOp& d, xdr::XdrEncoder& out) {
  const auto& a = std::get<nfs4::ReadArgs>(d.args);
  if (!c.current.set) return Nfsstat4::kNoFileHandle;
  if (c.current.pseudo) return Nfsstat4::kIsDir;
  nfs4::Stateid4 sid;
  if (Nfsstat4 st = c.stateid(a.stateid, true, &sid); st != Nfsstat4::kOk) return st;
  if (Nfsstat4 st = c.svc.state.check_stateid(sid, c.current.fh, false, c.minor);
      st != Nfsstat4::kOk) {
    return st;
  }
  const std::size_t eof_pos = out.position();
  out.u32(0);  // eof, patched
  std::uint32_t got = 0;
  bool eof = false;
  if (Nfsstat4 st =
          read_data(c, a.offset, std::min(a.count, c.svc.limits.max_read), out, &got, &eof);
      st != Nfsstat4::kOk) {
    return st;
  }
  out.patch_u32(eof_pos, eof ? 1 : 0);
  return Nfsstat4::kOk;
}

Nfsstat4 op_write(Nfs4Compound& c, const Nfs4DecodedOp& d, xdr::XdrEncoder& out) {
  const auto& a = std::get<nfs4::WriteArgs>(d.args);
  if (Nfsstat4 st = c.need_fh(); st != Nfsstat4::kOk) return st;
  nfs4::Stateid4 sid;
  c.stateid(a.stateid, false, &sid);
  if (Nfsstat4 st = c.svc.state.check_stateid(sid, c.current.fh, true, c.minor);
      st != Nfsstat4::kOk) {
    return st;
  }
  auto data = a.data.first(std::min<std::size_t>(a.data.size(), c.svc.limits.max_write));
  const auto stable = static_cast<storage::StableHow>(a.stable);
  // An async export writes UNSTABLE and answers what was asked (exports(5)).
  const auto how = c.current.options.sync ? stable : storage::StableHow::kUnstable;
  std::uint32_t count = 0;
  storage::StableHow committed{};
  storage::WccData wcc;
  Status s = c.svc.backend.write(c.current.cred, c.current.fh, a.offset, data, how, &count,
                                 &committed, &wcc);
  if (s != Status::kOk) return c.storage(s);
  if (!c.current.options.sync) committed = stable;
  c.ctx.data_bytes_written += count;
  out.u32(count);
  out.u32(static_cast<std::uint32_t>(committed));
  out.fixed_opaque(c.svc.writeverf);
  return Nfsstat4::kOk;
}

Nfsstat4 op_commit(Nfs4Compound& c, const Nfs4DecodedOp& d, xdr::XdrEncoder& out) {
  const auto& a = std::get<nfs4::CommitArgs>(d.args);
  if (Nfsstat4 st = c.need_fh(); st != Nfsstat4::kOk) return st;
  storage::WccData wcc;
  Status s = c.svc.backend.commit(c.current.cred, c.current.fh, a.offset, a.count, &wcc);
  if (s != Status::kOk) return c.storage(s);
  out.fixed_opaque(c.svc.writeverf);
  return Nfsstat4::kOk;
}

}  // namespace nasd::server::nfs4ops
