// MOUNT version 3 (RFC 1813 appendix I) XDR codecs: dirpath arguments,
// mountstat3, the MNT reply with its auth_flavors list, the DUMP mount list
// and the EXPORT export list.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/rpc/xdr.h"
#include "storage/types.h"

namespace nasd::mount3 {

constexpr std::uint32_t kProgram = 100005;
constexpr std::uint32_t kVersion = 3;

/// Procedure numbers (appendix I §5.2).
enum class Proc : std::uint32_t {
  kNull = 0, kMnt = 1, kDump = 2, kUmnt = 3, kUmntAll = 4, kExport = 5,
};
constexpr std::uint32_t kProcCount = 6;

/// mountstat3 (appendix I §5.1).
enum class Mountstat3 : std::uint32_t {
  kOk = 0, kPerm = 1, kNoEnt = 2, kIo = 5, kAcces = 13, kNotDir = 20, kInval = 22,
  kNameTooLong = 63, kNotSupp = 10004, kServerFault = 10006,
};

constexpr std::size_t kMntPathLen = 1024;  // MNTPATHLEN: longest dirpath (bytes)
constexpr std::size_t kMntNameLen = 255;   // MNTNAMLEN: longest name (bytes)
constexpr std::size_t kFhSize3 = 64;       // FHSIZE3
constexpr std::uint32_t kAuthSys = 1;      // AUTH_SYS flavor number

/// MNT / UMNT argument: the dirpath (a view into the request).
struct DirpathArgs {
  std::string_view dirpath;
};

/// dirpath<MNTPATHLEN>.  False when truncated or longer than 1024 bytes.
bool decode(xdr::XdrDecoder& in, DirpathArgs& out);

/// mountres3 with MNT3_OK: fhandle3 and auth_flavors (§5.2.1).
void encode_mnt_ok(xdr::XdrEncoder& out, const storage::FileHandle& fh,
                   std::span<const std::uint32_t> auth_flavors);
/// mountres3 with an error status (void arm).
void encode_mnt_error(xdr::XdrEncoder& out, Mountstat3 status);

/// One mountbody (DUMP, §5.2.2).
struct MountEntry {
  std::string hostname;
  std::string directory;
  friend bool operator==(const MountEntry&, const MountEntry&) = default;
};
/// mountlist (optional-data linked list) of `entries`.
void encode_mountlist(xdr::XdrEncoder& out, std::span<const MountEntry> entries);
/// Encoded size (bytes) of mountlist for these entries.
std::size_t mountlist_size(std::span<const MountEntry> entries);
/// Decodes a mountlist (clients and tests); false on malformed input.
bool decode_mountlist(xdr::XdrDecoder& in, std::vector<MountEntry>& out);

/// One exportnode (EXPORT, §5.2.5): a directory and the client groups
/// (names/addresses) allowed to mount it.
struct ExportNode {
  std::string dir;
  std::vector<std::string> groups;
  friend bool operator==(const ExportNode&, const ExportNode&) = default;
};
/// exports (optional-data linked list) of `nodes`.
void encode_exports(xdr::XdrEncoder& out, std::span<const ExportNode> nodes);
/// Encoded size (bytes) of the exports list.
std::size_t exports_size(std::span<const ExportNode> nodes);
/// Decodes an exports list (clients and tests); false on malformed input.
bool decode_exports(xdr::XdrDecoder& in, std::vector<ExportNode>& out);

}  // namespace nasd::mount3
