// exports(5) parsing, client matching and credential squashing.
// See exports.h for the grammar.
#include "server/exports/exports.h"

#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>
#include <memory>
#include <sstream>

namespace nasd::server {
namespace {

namespace ip = boost::asio::ip;

// ---------------------------------------------------------------------------
// Addresses

/// IPv4-mapped IPv6 (::ffff:a.b.c.d) -> IPv4; everything else unchanged.
ip::address unmap(const ip::address& a) {
  if (a.is_v6() && a.to_v6().is_v4_mapped()) {
    return ip::make_address_v4(ip::v4_mapped, a.to_v6());
  }
  return a;
}

/// Network-order bytes of `a` (4 or 16 of them) in `out`; returns the count.
std::size_t address_bytes(const ip::address& a, std::array<unsigned char, 16>& out) {
  if (a.is_v4()) {
    auto b = a.to_v4().to_bytes();
    std::copy(b.begin(), b.end(), out.begin());
    return b.size();
  }
  auto b = a.to_v6().to_bytes();
  std::copy(b.begin(), b.end(), out.begin());
  return b.size();
}

/// True when the first `prefix` bits of `a` and `b` (same family) are equal.
bool same_prefix(const ip::address& a, const ip::address& b, unsigned prefix) {
  std::array<unsigned char, 16> x{}, y{};
  const std::size_t n = address_bytes(a, x);
  if (address_bytes(b, y) != n || prefix > n * 8) return false;
  const unsigned full = prefix / 8, rest = prefix % 8;
  if (!std::equal(x.begin(), x.begin() + full, y.begin())) return false;
  if (rest == 0) return true;
  const auto mask = static_cast<unsigned char>(0xFFu << (8 - rest));
  return (x[full] & mask) == (y[full] & mask);
}

/// `a` with every bit after the first `prefix` cleared.
ip::address mask_address(const ip::address& a, unsigned prefix) {
  std::array<unsigned char, 16> x{};
  const std::size_t n = address_bytes(a, x);
  for (std::size_t i = 0; i < n; ++i) {
    const unsigned bit = static_cast<unsigned>(i) * 8;
    if (bit >= prefix) {
      x[i] = 0;
    } else if (prefix - bit < 8) {
      x[i] &= static_cast<unsigned char>(0xFFu << (8 - (prefix - bit)));
    }
  }
  if (n == 4) return ip::address_v4(ip::address_v4::bytes_type{x[0], x[1], x[2], x[3]});
  ip::address_v6::bytes_type b{};
  std::copy(x.begin(), x.begin() + 16, b.begin());
  return ip::address_v6(b);
}

/// `peer` matches `want` (one address), IPv4-mapped forms treated as IPv4.
bool same_address(const ip::address& want, const ip::address& peer) {
  return unmap(want) == unmap(peer);
}

// ---------------------------------------------------------------------------
// Small parsing helpers

std::optional<std::uint32_t> parse_u32(std::string_view s) {
  if (s.empty() || s.size() > 10) return std::nullopt;
  std::uint32_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

std::string quote(std::string_view s) { return "'" + std::string(s) + "'"; }

/// A normalised path, or why the input is not acceptable.
struct NormalisedPath {
  std::string path;
  std::string error;  // non-empty on failure
};

/// Normalises an absolute path: collapses "//", drops "." components and a
/// trailing '/'.  Fails for empty or relative paths, NUL bytes and "..".
NormalisedPath normalise_path(std::string_view p, std::string_view what) {
  const std::string w(what);
  if (p.empty()) return {{}, "empty " + w};
  if (p.front() != '/') return {{}, w + " must be absolute: " + quote(p)};
  if (p.find('\0') != std::string_view::npos) return {{}, w + " contains a NUL byte"};
  std::string out;
  std::size_t i = 0;
  while (i < p.size()) {
    while (i < p.size() && p[i] == '/') ++i;
    std::size_t j = i;
    while (j < p.size() && p[j] != '/') ++j;
    std::string_view comp = p.substr(i, j - i);
    if (comp == "..") return {{}, w + " must not contain '..': " + quote(p)};
    if (!comp.empty() && comp != ".") {
      out += '/';
      out.append(comp);
    }
    i = j;
  }
  if (out.empty()) out = "/";
  return {out, {}};
}

/// 32-bit FNV-1a of `s`, never 0.
std::uint32_t path_id(std::string_view s) {
  std::uint32_t h = 2166136261u;
  for (unsigned char c : s) {
    h ^= c;
    h *= 16777619u;
  }
  return h == 0 ? 1 : h;
}

bool valid_host_name(std::string_view h) {
  if (h.empty() || h.size() > 253) return false;
  std::size_t i = 0;
  while (i <= h.size()) {
    std::size_t j = h.find('.', i);
    if (j == std::string_view::npos) j = h.size();
    std::string_view label = h.substr(i, j - i);
    if (label.empty() || label.size() > 63 || label.front() == '-') return false;
    for (char c : label) {
      const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                      (c >= '0' && c <= '9') || c == '-' || c == '_';
      if (!ok) return false;
    }
    i = j + 1;
  }
  return true;
}

struct AddrInfoDeleter {
  void operator()(addrinfo* a) const { freeaddrinfo(a); }
};

/// Resolves `name` to its addresses (IPv4-mapped ones unmapped), or an error reason.
std::variant<std::vector<ip::address>, std::string> resolve(const std::string& name) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* raw = nullptr;
  const int rc = getaddrinfo(name.c_str(), nullptr, &hints, &raw);
  std::unique_ptr<addrinfo, AddrInfoDeleter> list(raw);
  if (rc != 0) return "cannot resolve host " + quote(name) + ": " + gai_strerror(rc);
  std::vector<ip::address> out;
  for (const addrinfo* a = list.get(); a != nullptr; a = a->ai_next) {
    ip::address addr;
    if (a->ai_family == AF_INET && a->ai_addrlen >= sizeof(sockaddr_in)) {
      sockaddr_in sin{};
      std::memcpy(&sin, a->ai_addr, sizeof sin);
      ip::address_v4::bytes_type b{};
      std::memcpy(b.data(), &sin.sin_addr, b.size());
      addr = ip::address_v4(b);
    } else if (a->ai_family == AF_INET6 && a->ai_addrlen >= sizeof(sockaddr_in6)) {
      sockaddr_in6 sin6{};
      std::memcpy(&sin6, a->ai_addr, sizeof sin6);
      ip::address_v6::bytes_type b{};
      std::memcpy(b.data(), &sin6.sin6_addr, b.size());
      addr = unmap(ip::address_v6(b));
    } else {
      continue;
    }
    if (std::find(out.begin(), out.end(), addr) == out.end()) out.push_back(addr);
  }
  if (out.empty()) return "cannot resolve host " + quote(name) + ": no IPv4 or IPv6 address";
  return out;
}

// ---------------------------------------------------------------------------
// Scanner: splits text into logical lines of tokens.

struct Token {
  std::string text;   // quotes removed
  unsigned line = 0;  // 1-based line where the token starts
};

class Scanner {
 public:
  Scanner(std::string_view text, unsigned first_line) : s_(text), line_(first_line) {}

  /// Fills `out` with the tokens of the next non-empty logical line.  Returns
  /// false at the end of the text; on a lexical error sets `err_reason`/`err_line`.
  bool next(std::vector<Token>& out) {
    out.clear();
    while (pos_ < s_.size()) {
      const char c = s_[pos_];
      if (c == '\n') {
        ++pos_;
        ++line_;
        if (!out.empty()) return true;
      } else if (c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v') {
        ++pos_;
      } else if (continuation()) {
        skip_continuation();
      } else if (c == '#') {
        while (pos_ < s_.size() && s_[pos_] != '\n') ++pos_;
      } else if (!token(out)) {
        return false;
      }
    }
    return !out.empty();
  }

  bool failed() const { return failed_; }
  unsigned err_line() const { return err_line_; }
  const std::string& err_reason() const { return err_reason_; }

 private:
  static bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
  }
  /// A backslash immediately before the end of the line (or of the text).
  bool continuation() const {
    if (s_[pos_] != '\\') return false;
    std::size_t k = pos_ + 1;
    if (k < s_.size() && s_[k] == '\r') ++k;
    return k >= s_.size() || s_[k] == '\n';
  }
  void skip_continuation() {
    ++pos_;
    if (pos_ < s_.size() && s_[pos_] == '\r') ++pos_;
    if (pos_ < s_.size() && s_[pos_] == '\n') {
      ++pos_;
      ++line_;
    }
  }
  bool token(std::vector<Token>& out) {
    Token t{{}, line_};
    while (pos_ < s_.size() && !is_space(s_[pos_]) && !continuation()) {
      if (s_[pos_] == '"') {
        const std::size_t end = s_.find_first_of("\"\n", pos_ + 1);
        if (end == std::string_view::npos || s_[end] != '"') {
          failed_ = true;
          err_line_ = line_;
          err_reason_ = "unterminated double-quoted string";
          return false;
        }
        t.text.append(s_.substr(pos_ + 1, end - pos_ - 1));
        pos_ = end + 1;
      } else {
        t.text.push_back(s_[pos_++]);
      }
    }
    out.push_back(std::move(t));
    return true;
  }

  std::string_view s_;
  std::size_t pos_ = 0;
  unsigned line_;
  bool failed_ = false;
  unsigned err_line_ = 0;
  std::string err_reason_;
};

// ---------------------------------------------------------------------------
// Builder: turns logical lines into exports, checking duplicates across sources.

class Builder {
 public:
  std::optional<ExportsError> add(std::string_view text, std::string_view source,
                                  unsigned first_line) {
    Scanner sc(text, first_line);
    std::vector<Token> toks;
    while (sc.next(toks)) {
      if (auto reason = add_line(toks, source)) {
        return ExportsError{std::string(source), reason->first, reason->second};
      }
    }
    if (sc.failed()) return ExportsError{std::string(source), sc.err_line(), sc.err_reason()};
    return std::nullopt;
  }

  ExportTable finish() { return ExportTable(std::move(exports_)); }

 private:
  using Failure = std::pair<unsigned, std::string>;  // line, reason

  /// Export-level settings gathered from client option lists.
  struct ExportLevel {
    std::optional<std::uint32_t> fsid;
    std::optional<std::string> pseudo;
  };

  std::optional<Failure> add_line(const std::vector<Token>& toks, std::string_view source) {
    const Token& path_tok = toks.front();
    auto path = normalise_path(path_tok.text, "export path");
    if (!path.error.empty()) return Failure{path_tok.line, path.error};
    Export e;
    e.path = std::move(path.path);
    if (toks.size() == 1) {
      return Failure{path_tok.line, "no clients for export " + quote(e.path) +
                                        " (write e.g. '" + e.path + " *(ro)')"};
    }
    ExportLevel level;
    for (std::size_t i = 1; i < toks.size(); ++i) {
      auto client = parse_client(toks[i].text, level);
      if (auto* err = std::get_if<1>(&client)) return Failure{toks[i].line, *err};
      e.clients.push_back(std::move(std::get<0>(client)));
    }
    e.id = level.fsid ? *level.fsid : path_id(e.path);
    e.pseudo = level.pseudo ? *level.pseudo : e.path;

    const std::string here = std::string(source) + ":" + std::to_string(path_tok.line);
    for (std::size_t k = 0; k < exports_.size(); ++k) {
      const Export& o = exports_[k];
      if (o.path == e.path) {
        return Failure{path_tok.line,
                       "duplicate export path " + quote(e.path) + " (first at " + where_[k] + ")"};
      }
      if (o.id == e.id) {
        return Failure{path_tok.line, "export id " + std::to_string(e.id) + " of " +
                                          quote(e.path) + " is already used by " + quote(o.path) +
                                          " (" + where_[k] + "); give each a distinct fsid="};
      }
      if (o.pseudo == e.pseudo) {
        return Failure{path_tok.line, "duplicate pseudo path " + quote(e.pseudo) + " (" +
                                          quote(o.path) + " at " + where_[k] + ")"};
      }
    }
    exports_.push_back(std::move(e));
    where_.push_back(here);
    return std::nullopt;
  }

  static std::variant<ClientSpec, std::string> parse_client(const std::string& tok,
                                                            ExportLevel& level) {
    ClientSpec c;
    c.text = tok;
    std::string host = tok;
    std::string opts;
    const auto open = tok.find('(');
    if (open == std::string::npos) {
      if (tok.find(')') != std::string::npos) return "unexpected ')' in client " + quote(tok);
    } else {
      const auto close = tok.find(')', open);
      if (close == std::string::npos) return "missing ')' in client " + quote(tok);
      if (close + 1 != tok.size()) return "unexpected text after ')' in client " + quote(tok);
      opts = tok.substr(open + 1, close - open - 1);
      if (opts.find('(') != std::string::npos) return "unexpected '(' in client " + quote(tok);
      host = tok.substr(0, open);
    }
    c.text = host.empty() ? "*" : host;
    if (auto err = parse_host(host, c)) return *err;
    if (auto err = parse_options(opts, c.options, level)) return *err;
    return c;
  }

  static std::optional<std::string> parse_host(const std::string& host, ClientSpec& c) {
    if (host.empty() || host == "*") {
      c.kind = ClientSpec::Kind::kAny;
      return std::nullopt;
    }
    if (host.front() == '@') return "netgroups are not supported: " + quote(host);
    if (host.find_first_of("*?[") != std::string::npos) {
      return "wildcard host names are not supported: " + quote(host);
    }
    boost::system::error_code ec;
    const auto slash = host.find('/');
    if (slash != std::string::npos) {
      const std::string addr_text = host.substr(0, slash);
      const std::string len_text = host.substr(slash + 1);
      const ip::address net = ip::make_address(addr_text, ec);
      if (ec) return "bad network address in " + quote(host);
      const unsigned max_len = net.is_v4() ? 32 : 128;
      unsigned len = 0;
      if (auto n = parse_u32(len_text); n && len_text.size() <= 3) {
        if (*n > max_len) {
          return "bad prefix length /" + len_text + " in " + quote(host) + " (" +
                 (net.is_v4() ? "IPv4" : "IPv6") + " allows 0.." + std::to_string(max_len) + ")";
        }
        len = *n;
      } else if (net.is_v4() && len_text.find('.') != std::string::npos) {
        const ip::address mask = ip::make_address(len_text, ec);
        if (ec || !mask.is_v4()) return "bad netmask in " + quote(host);
        const std::uint32_t m = mask.to_v4().to_uint();
        const std::uint32_t inv = ~m;
        if ((inv & (inv + 1)) != 0) return "netmask is not contiguous in " + quote(host);
        len = static_cast<unsigned>(__builtin_popcount(m));
      } else {
        return "bad prefix length /" + len_text + " in " + quote(host);
      }
      c.kind = ClientSpec::Kind::kCidr;
      c.prefix_length = len;
      c.address = mask_address(net, len);
      return std::nullopt;
    }
    const ip::address a = ip::make_address(host, ec);
    if (!ec) {
      c.kind = ClientSpec::Kind::kAddress;
      c.address = unmap(a);
      return std::nullopt;
    }
    if (!valid_host_name(host)) return "invalid client " + quote(host);
    auto r = resolve(host);
    if (auto* err = std::get_if<1>(&r)) return *err;
    c.kind = ClientSpec::Kind::kHostName;
    c.resolved = std::move(std::get<0>(r));
    return std::nullopt;
  }

  static std::optional<std::string> parse_options(const std::string& opts, ExportOptions& o,
                                                  ExportLevel& level) {
    bool root_squash = true, all_squash = false;
    std::size_t i = 0;
    while (!opts.empty() && i <= opts.size()) {
      std::size_t j = opts.find(',', i);
      if (j == std::string::npos) j = opts.size();
      const std::string item = opts.substr(i, j - i);
      i = j + 1;
      if (item.empty()) return std::string("empty option in list '(") + opts + ")'";
      const auto eq = item.find('=');
      const std::string name = item.substr(0, eq);
      const bool has_value = eq != std::string::npos;
      const std::string value = has_value ? item.substr(eq + 1) : std::string();

      static constexpr std::string_view kFlags[] = {
          "rw", "ro", "root_squash", "no_root_squash", "all_squash", "no_all_squash",
          "sync", "async", "secure", "insecure",
          // Accepted and ignored (knfsd options without meaning here):
          "subtree_check", "no_subtree_check", "wdelay", "no_wdelay", "hide", "nohide",
          "crossmnt"};
      static constexpr std::string_view kValued[] = {"anonuid", "anongid", "fsid", "pseudo",
                                                     "sec"};
      const bool is_flag = std::find(std::begin(kFlags), std::end(kFlags), name) != std::end(kFlags);
      const bool is_valued =
          std::find(std::begin(kValued), std::end(kValued), name) != std::end(kValued);
      if (!is_flag && !is_valued) return "unknown export option " + quote(item);
      if (is_flag && has_value) return "option " + quote(name) + " takes no value";
      if (is_valued && (!has_value || value.empty())) {
        return "option " + quote(name) + " needs a value (" + name + "=...)";
      }

      if (name == "rw") o.read_only = false;
      else if (name == "ro") o.read_only = true;
      else if (name == "root_squash") root_squash = true;
      else if (name == "no_root_squash") root_squash = false;
      else if (name == "all_squash") all_squash = true;
      else if (name == "no_all_squash") all_squash = false;
      else if (name == "sync") o.sync = true;
      else if (name == "async") o.sync = false;
      else if (name == "secure") o.secure = true;
      else if (name == "insecure") o.secure = false;
      else if (name == "anonuid" || name == "anongid") {
        auto n = parse_u32(value);
        if (!n) return "bad " + name + " " + quote(value) + " (want a number 0..4294967295)";
        (name == "anonuid" ? o.anonuid : o.anongid) = *n;
      } else if (name == "fsid") {
        auto n = parse_u32(value);
        if (!n) return "bad fsid " + quote(value) + " (only numeric fsid= is supported)";
        if (level.fsid && *level.fsid != *n) {
          return "conflicting fsid=" + std::to_string(*level.fsid) + " and fsid=" + value;
        }
        level.fsid = *n;
      } else if (name == "pseudo") {
        auto p = normalise_path(value, "pseudo path");
        if (!p.error.empty()) return p.error;
        if (level.pseudo && *level.pseudo != p.path) {
          return "conflicting pseudo=" + *level.pseudo + " and pseudo=" + p.path;
        }
        level.pseudo = p.path;
      } else if (name == "sec") {
        // A colon-separated flavour list (exports(5)); only sys and none exist here.
        bool sys = false, none = false;
        std::size_t k = 0;
        while (k <= value.size()) {
          std::size_t c = value.find(':', k);
          if (c == std::string::npos) c = value.size();
          const std::string flavour = value.substr(k, c - k);
          k = c + 1;
          if (flavour == "sys") sys = true;
          else if (flavour == "none") none = true;
          else return "unsupported security flavour " + quote(flavour) + " (sec=sys or sec=sys:none)";
        }
        if (!sys) return "sec=" + value + " must include sys (sec=sys or sec=sys:none)";
        o.auth_none = none;
      }
      // Others: accepted and ignored.
    }
    o.squash = all_squash    ? ExportOptions::Squash::kAll
               : root_squash ? ExportOptions::Squash::kRoot
                             : ExportOptions::Squash::kNone;
    return std::nullopt;
  }

  std::vector<Export> exports_;
  std::vector<std::string> where_;  // "source:line" of each export
};

/// Path as exports(5) text: double-quoted when it holds anything unusual.
std::string format_path(const std::string& p) {
  const bool plain = std::all_of(p.begin(), p.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           std::string_view("/._-+:@~%").find(c) != std::string_view::npos;
  });
  return plain ? p : "\"" + p + "\"";
}

std::string format_client(const ClientSpec& c) {
  switch (c.kind) {
    case ClientSpec::Kind::kAny:
      return "*";
    case ClientSpec::Kind::kAddress:
      return c.address.to_string();
    case ClientSpec::Kind::kCidr:
      return c.address.to_string() + "/" + std::to_string(c.prefix_length);
    case ClientSpec::Kind::kHostName:
      return c.text;
  }
  return c.text;
}

}  // namespace

// ---------------------------------------------------------------------------

bool ClientSpec::matches(const ip::address& peer) const {
  switch (kind) {
    case Kind::kAny:
      return true;
    case Kind::kAddress:
      return same_address(address, peer);
    case Kind::kCidr: {
      ip::address p = unmap(peer);
      if (address.is_v6() && p.is_v4()) p = ip::make_address_v6(ip::v4_mapped, p.to_v4());
      return same_prefix(address, p, prefix_length);
    }
    case Kind::kHostName:
      return std::any_of(resolved.begin(), resolved.end(),
                         [&](const ip::address& a) { return same_address(a, peer); });
  }
  return false;
}

std::optional<ExportOptions> Export::options_for(const ip::address& peer) const {
  for (const ClientSpec& c : clients) {
    if (c.matches(peer)) return c.options;
  }
  return std::nullopt;
}

std::string ExportsError::to_string() const {
  if (line == 0) return source + ": " + reason;
  return source + ":" + std::to_string(line) + ": " + reason;
}

const Export* ExportTable::find_by_id(std::uint32_t id) const {
  for (const Export& e : exports_) {
    if (e.id == id) return &e;
  }
  return nullptr;
}

const Export* ExportTable::find_by_path(std::string_view path) const {
  const auto norm = normalise_path(path, "path");
  if (!norm.error.empty()) return nullptr;
  const std::string& p = norm.path;
  for (const Export& e : exports_) {
    if (e.path == p) return &e;
  }
  return nullptr;
}

std::string ExportTable::to_string() const {
  std::ostringstream out;
  for (const Export& e : exports_) {
    for (const ClientSpec& c : e.clients) {
      if (c.kind != ClientSpec::Kind::kHostName) continue;
      out << "# " << c.text << " =";
      for (const auto& a : c.resolved) out << ' ' << a.to_string();
      out << '\n';
    }
    out << format_path(e.path);
    for (const ClientSpec& c : e.clients) {
      const ExportOptions& o = c.options;
      out << ' ' << format_client(c) << '(' << (o.read_only ? "ro" : "rw") << ','
          << (o.squash == ExportOptions::Squash::kAll    ? "all_squash"
              : o.squash == ExportOptions::Squash::kRoot ? "root_squash"
                                                         : "no_root_squash")
          << ",anonuid=" << o.anonuid << ",anongid=" << o.anongid << ','
          << (o.sync ? "sync" : "async") << ',' << (o.secure ? "secure" : "insecure")
          << ",sec=" << (o.auth_none ? "sys:none" : "sys") << ",fsid=" << e.id << ",pseudo=" << format_path(e.pseudo) << ')';
    }
    out << '\n';
  }
  return out.str();
}

std::variant<ExportTable, ExportsError> parse_exports(std::span<const ExportsText> texts) {
  Builder b;
  for (const ExportsText& t : texts) {
    if (auto err = b.add(t.text, t.source, t.first_line)) return *err;
  }
  return b.finish();
}

std::variant<ExportTable, ExportsError> parse_exports(std::string_view text,
                                                      std::string_view source) {
  const ExportsText t{text, source, 1};
  return parse_exports(std::span<const ExportsText>(&t, 1));
}

storage::Credentials squash(const ExportOptions& opts, std::uint32_t uid, std::uint32_t gid,
                            std::span<const std::uint32_t> groups) {
  storage::Credentials c;
  c.uid = uid;
  c.gid = gid;
  using Squash = ExportOptions::Squash;
  if (opts.squash == Squash::kAll) {
    c.uid = opts.anonuid;
    c.gid = opts.anongid;
    c.ngroups = 0;
    return c;
  }
  const bool root = opts.squash == Squash::kRoot;
  if (root && uid == 0) c.uid = opts.anonuid;
  if (root && gid == 0) c.gid = opts.anongid;
  for (std::uint32_t g : groups) {
    if (c.ngroups == storage::Credentials::kMaxGroups) break;
    if (root && g == 0) continue;
    c.groups[c.ngroups++] = g;
  }
  return c;
}

}  // namespace nasd::server
