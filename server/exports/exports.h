// Exports: the exports(5) grammar, client matching, and credential squashing.
//
// An exports file holds one export per line:
//     /srv/share   *(rw,no_root_squash)  10.0.0.0/8(ro)  host.example(rw,sync)
// '#' starts a comment, a trailing '\' continues a line, a path with spaces is
// double-quoted.  Options understood: rw/ro, root_squash/no_root_squash/
// all_squash, anonuid=N/anongid=N, sync/async, secure/insecure, fsid=N
// (stable export id), pseudo=/path (NFSv4 pseudo-fs location; default: the
// path), sec=sys or sec=sys:none (flavours allowed; default both: AUTH_SYS,
// and AUTH_NONE as the anonymous user); defaults follow exports(5): ro,
// root_squash, sync, secure.  Unknown
// options, malformed clients, relative or missing paths are errors with the
// line number and reason; nothing is half-applied.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <boost/asio/ip/address.hpp>

#include "storage/types.h"

namespace nasd::server {

/// Per-client export options (exports(5) "General Options" and "User ID Mapping").
struct ExportOptions {
  enum class Squash : std::uint8_t { kRoot, kNone, kAll };
  bool read_only = true;
  Squash squash = Squash::kRoot;
  std::uint32_t anonuid = 65534;
  std::uint32_t anongid = 65534;
  bool sync = true;
  bool secure = true;  // require a client source port < 1024
  /// AUTH_NONE calls are served as anonuid/anongid (the default, like knfsd
  /// without sec=); `sec=sys` alone refuses them (NFS3ERR_ACCES).
  bool auth_none = true;
  friend bool operator==(const ExportOptions&, const ExportOptions&) = default;
};

/// Which clients a ClientSpec matches: everyone, one address, an address
/// prefix (CIDR), or a host name resolved to addresses when the table loads.
struct ClientSpec {
  enum class Kind : std::uint8_t { kAny, kAddress, kCidr, kHostName };
  Kind kind = Kind::kAny;
  std::string text;  // as written, e.g. "10.0.0.0/8"
  boost::asio::ip::address address;  // kAddress / kCidr network
  unsigned prefix_length = 0;        // kCidr
  std::vector<boost::asio::ip::address> resolved;  // kHostName
  ExportOptions options;

  /// True when `peer` (IPv4, IPv6 or IPv4-mapped IPv6) is one of these clients.
  bool matches(const boost::asio::ip::address& peer) const;
};

/// One exported directory.
struct Export {
  std::uint32_t id = 0;       // stable: fsid= option, else derived from the path
  std::string path;           // absolute, normalised (no trailing '/')
  std::string pseudo;         // NFSv4 pseudo path; defaults to `path`
  std::vector<ClientSpec> clients;  // first match wins (exports(5) order)

  /// Options for `peer`, or nullopt when the export does not allow it.
  std::optional<ExportOptions> options_for(const boost::asio::ip::address& peer) const;
};

/// A parse failure: where and why.
struct ExportsError {
  std::string source;  // file name or "--export"
  unsigned line = 0;   // 1-based
  std::string reason;
  /// "source:line: reason" ("source: reason" when line is 0, i.e. the
  /// error concerns the source as a whole, e.g. an unreadable file).
  std::string to_string() const;
};

/// The loaded set of exports.
class ExportTable {
 public:
  ExportTable() = default;
  explicit ExportTable(std::vector<Export> exports) : exports_(std::move(exports)) {}

  const std::vector<Export>& exports() const { return exports_; }
  const Export* find_by_id(std::uint32_t id) const;
  /// Exact match of a normalised path (MOUNT MNT's dirpath, RFC 1813 appendix I).
  /// `path` is normalised first ("/a//b/" finds "/a/b"); relative paths or
  /// paths with ".." find nothing.
  const Export* find_by_path(std::string_view path) const;
  /// exports(5)-style text of the effective table (for --check-config).
  std::string to_string() const;

 private:
  std::vector<Export> exports_;
};

/// Parses exports(5) text.  `source` names it in errors.  Duplicate paths,
/// export ids or pseudo paths are errors.  Host names are resolved with
/// getaddrinfo(3); otherwise does not touch the filesystem or network.
std::variant<ExportTable, ExportsError> parse_exports(std::string_view text,
                                                      std::string_view source);

/// One piece of exports(5) text for the multi-source parse_exports():
/// its name in errors and the line number of its first line.
struct ExportsText {
  std::string_view text;
  std::string_view source;
  unsigned first_line = 1;
};

/// Parses several texts (e.g. an exports file plus --export lines) into one
/// table; duplicates are detected across all of them.  First error wins.
std::variant<ExportTable, ExportsError> parse_exports(std::span<const ExportsText> texts);

/// Applies the export's squash options to an AUTH_SYS identity (exports(5)
/// "User ID Mapping"): root_squash maps uid 0 / gid 0 to anonuid/anongid,
/// all_squash maps everyone; supplementary groups are kept except squashed ones
/// (gid 0 under root_squash, all under all_squash).  At most
/// Credentials::kMaxGroups groups are kept (the AUTH_SYS limit, RFC 5531
/// appendix A); extra ones are dropped.
storage::Credentials squash(const ExportOptions& opts, std::uint32_t uid, std::uint32_t gid,
                            std::span<const std::uint32_t> groups);

}  // namespace nasd::server
