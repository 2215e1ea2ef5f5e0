// libFuzzer target: every MOUNT v3 and NFSv3 argument decoder (RFC 1813
// §3.3 and appendix I), plus the result decoders of protocol/nfs3/nfs3.h and
// protocol/nfs3/mount3.h.  The first input byte picks the decoder, the rest is
// its XDR.
//
// Checks: no crash or UB; the decoder never consumes more than the input;
// every view a decoder returns (names, paths, WRITE data) lies inside the
// input and stays within the RFC limits (handles <= 64 bytes, names <= 1024,
// paths <= 4096; WRITE data length == its opaque length).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <string_view>
#include <vector>

#include "protocol/nfs3/mount3.h"
#include "protocol/nfs3/nfs3.h"

namespace {

using nasd::xdr::XdrDecoder;
namespace nfs3 = nasd::nfs3;
namespace mount3 = nasd::mount3;

struct Input {
  const std::uint8_t* begin;
  const std::uint8_t* end;
};

[[noreturn]] void invariant_failed(const char* what) {
  std::fprintf(stderr, "invariant failed: %s\n", what);
  std::abort();
}

/// Fails unless [p, p+n) lies inside the input; reads every byte (ASan).
void check_view(const Input& input, const void* p, std::size_t n, std::size_t max) {
  if (n == 0) return;
  const auto* b = static_cast<const std::uint8_t*>(p);
  if (b < input.begin || b + n > input.end) invariant_failed("view outside the input");
  if (n > max) invariant_failed("view longer than its limit");
  volatile std::uint8_t sink = 0;
  for (std::size_t i = 0; i < n; ++i) sink = sink ^ b[i];
}
void check_name(const Input& in, std::string_view s) {
  check_view(in, s.data(), s.size(), nfs3::kNameDecodeMax);
}
void check_fh(const nasd::storage::FileHandle& fh) {
  if (fh.size > nasd::storage::FileHandle::kMaxSize) invariant_failed("handle over 64 bytes");
}
void check_dirop(const Input& in, const nfs3::DirOpArgs& d) {
  check_fh(d.dir);
  check_name(in, d.name);
}

template <class Args, class Check>
void run(XdrDecoder& dec, const Input& in, Check check) {
  Args a;
  if (nfs3::decode(dec, a) && dec.ok()) check(in, a);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::span<const std::uint8_t> body(data + 1, size - 1);
  const Input in{body.data(), body.data() + body.size()};
  XdrDecoder dec(body);
  auto none = [](const Input&, const auto&) {};
  switch (data[0] % 24) {
    case 0: run<nfs3::HandleArgs>(dec, in, [](const Input&, auto& a) { check_fh(a.object); }); break;
    case 1: run<nfs3::SetattrArgs>(dec, in, [](const Input&, auto& a) { check_fh(a.object); }); break;
    case 2: run<nfs3::DirOpArgs>(dec, in, check_dirop); break;
    case 3: run<nfs3::AccessArgs>(dec, in, none); break;
    case 4: run<nfs3::ReadArgs>(dec, in, none); break;
    case 5:
      run<nfs3::WriteArgs>(dec, in, [](const Input& i, const nfs3::WriteArgs& a) {
        check_fh(a.file);
        check_view(i, a.data.data(), a.data.size(), i.end - i.begin);
      });
      break;
    case 6: run<nfs3::CreateArgs>(dec, in, [](const Input& i, auto& a) { check_dirop(i, a.where); }); break;
    case 7: run<nfs3::MkdirArgs>(dec, in, [](const Input& i, auto& a) { check_dirop(i, a.where); }); break;
    case 8:
      run<nfs3::SymlinkArgs>(dec, in, [](const Input& i, const nfs3::SymlinkArgs& a) {
        check_dirop(i, a.where);
        check_view(i, a.symlink_data.data(), a.symlink_data.size(), nfs3::kPathMax);
      });
      break;
    case 9: run<nfs3::MknodArgs>(dec, in, [](const Input& i, auto& a) { check_dirop(i, a.where); }); break;
    case 10: run<nfs3::RemoveArgs>(dec, in, [](const Input& i, auto& a) { check_dirop(i, a.object); }); break;
    case 11:
      run<nfs3::RenameArgs>(dec, in, [](const Input& i, const nfs3::RenameArgs& a) {
        check_dirop(i, a.from);
        check_dirop(i, a.to);
      });
      break;
    case 12:
      run<nfs3::LinkArgs>(dec, in, [](const Input& i, const nfs3::LinkArgs& a) {
        check_fh(a.file);
        check_dirop(i, a.link);
      });
      break;
    case 13: run<nfs3::ReaddirArgs>(dec, in, none); break;
    case 14: run<nfs3::ReaddirplusArgs>(dec, in, none); break;
    case 15: run<nfs3::CommitArgs>(dec, in, none); break;
    case 16: {
      mount3::DirpathArgs a;
      if (mount3::decode(dec, a)) check_view(in, a.dirpath.data(), a.dirpath.size(), mount3::kMntPathLen);
      break;
    }
    case 17: {
      nasd::storage::Attr a;
      nfs3::decode_fattr3(dec, a);
      break;
    }
    case 18: {
      nasd::storage::WccData w;
      nfs3::decode_wcc_data(dec, w);
      break;
    }
    case 19: {
      std::optional<nasd::storage::FileHandle> fh;
      if (nfs3::decode_post_op_fh3(dec, fh) && fh) check_fh(*fh);
      break;
    }
    case 20: {
      std::vector<mount3::MountEntry> list;
      mount3::decode_mountlist(dec, list);
      break;
    }
    case 21: {
      std::vector<mount3::ExportNode> list;
      mount3::decode_exports(dec, list);
      break;
    }
    case 22: {
      nasd::storage::FileHandle fh;
      if (nfs3::decode_fh(dec, fh)) check_fh(fh);
      break;
    }
    case 23: {
      nasd::storage::SetAttr s;
      nfs3::decode_sattr3(dec, s);
      break;
    }
  }
  if (dec.position() > body.size()) invariant_failed("decoder consumed more than the input");
  return 0;
}
