// Tests for server/admin/options.h: command line, load_exports and --check-config.
#include "server/admin/options.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>

namespace nasd::server {
namespace {

using boost::asio::ip::make_address;
using ::testing::HasSubstr;
using ::testing::Not;

OptionsResult parse(std::vector<std::string> args) {
  args.insert(args.begin(), "nasd");
  std::vector<const char*> argv;
  for (const auto& a : args) argv.push_back(a.c_str());
  return parse_options(static_cast<int>(argv.size()), argv.data());
}

Options parse_ok(std::vector<std::string> args) {
  auto r = parse(std::move(args));
  if (auto* o = std::get_if<ParseOutcome>(&r)) {
    ADD_FAILURE() << "unexpected outcome " << o->exit_code << ": " << o->message;
    return {};
  }
  return std::get<Options>(r);
}

ParseOutcome parse_outcome(std::vector<std::string> args) {
  auto r = parse(std::move(args));
  if (auto* o = std::get_if<ParseOutcome>(&r)) return *o;
  ADD_FAILURE() << "expected the parse to stop";
  return {};
}

/// A file under the test temp dir, removed when the object goes away.
class TempFile {
 public:
  explicit TempFile(const std::string& contents) {
    static int counter = 0;
    path_ = ::testing::TempDir() + "nasd_options_test_" + std::to_string(::getpid()) + "_" +
            std::to_string(counter++);
    std::ofstream(path_) << contents;
  }
  ~TempFile() { std::remove(path_.c_str()); }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// ---------------------------------------------------------------------------
// parse_options

TEST(ParseOptions, DefaultsWhenNoFlags) {
  const Options o = parse_ok({});
  EXPECT_FALSE(o.exports_file.has_value());
  EXPECT_TRUE(o.export_lines.empty());
  EXPECT_EQ(o.bind, make_address("0.0.0.0"));
  EXPECT_EQ(o.nfs_port, 2049);
  EXPECT_EQ(o.mount_port, 20048);
  EXPECT_FALSE(o.metrics.has_value());
  EXPECT_EQ(o.state_dir, "/var/lib/nasd");
  EXPECT_EQ(o.log_level, spdlog::level::info);
  EXPECT_EQ(o.threads_per_stage, 16u);
  EXPECT_EQ(o.parse_threads, 0u);
  EXPECT_EQ(o.validate_threads, 0u);
  EXPECT_EQ(o.max_record_size, 1048576u + 65536u);
  EXPECT_EQ(o.max_io_size, 1048576u);
  EXPECT_EQ(o.max_in_flight, 256u);
  EXPECT_FALSE(o.check_config);
}

TEST(ParseOptions, EveryFlagIsStored) {
  const Options o = parse_ok({"--exports", "/etc/nasd.exports", "--export", "/a *(rw)",
                              "--export", "/b 10.0.0.0/8", "--bind", "::1", "--nfs-port", "12049",
                              "--mount-port", "12048", "--metrics", "127.0.0.1:9464",
                              "--state-dir", "/tmp/st", "--log-level", "debug",
                              "--threads-per-stage", "4", "--max-record-size", "2200000",
                              "--max-io-size", "2097152", "--max-in-flight", "32",
                              "--check-config"});
  EXPECT_EQ(o.exports_file, "/etc/nasd.exports");
  EXPECT_EQ(o.export_lines, (std::vector<std::string>{"/a *(rw)", "/b 10.0.0.0/8"}));
  EXPECT_EQ(o.bind, make_address("::1"));
  EXPECT_EQ(o.nfs_port, 12049);
  EXPECT_EQ(o.mount_port, 12048);
  ASSERT_TRUE(o.metrics.has_value());
  EXPECT_EQ(o.metrics->address, make_address("127.0.0.1"));
  EXPECT_EQ(o.metrics->port, 9464);
  EXPECT_EQ(o.state_dir, "/tmp/st");
  EXPECT_EQ(o.log_level, spdlog::level::debug);
  EXPECT_EQ(o.threads_per_stage, 4u);
  EXPECT_EQ(o.max_record_size, 2200000u);
  EXPECT_EQ(o.max_io_size, 2097152u);
  EXPECT_EQ(o.max_in_flight, 32u);
  EXPECT_TRUE(o.check_config);
}

TEST(ParseOptions, EveryLogLevelName) {
  const std::pair<const char*, spdlog::level::level_enum> levels[] = {
      {"trace", spdlog::level::trace}, {"debug", spdlog::level::debug},
      {"info", spdlog::level::info},   {"warn", spdlog::level::warn},
      {"error", spdlog::level::err},   {"critical", spdlog::level::critical},
      {"off", spdlog::level::off}};
  for (const auto& [name, level] : levels) {
    EXPECT_EQ(parse_ok({"--log-level", name}).log_level, level) << name;
  }
}

TEST(ParseOptions, SizeSuffixesAreBinary) {
  const Options o = parse_ok({"--max-io-size", "64k", "--max-record-size", "2MiB"});
  EXPECT_EQ(o.max_io_size, 65536u);
  EXPECT_EQ(o.max_record_size, 2097152u);
}

TEST(ParseOptions, MetricsIPv6NeedsBrackets) {
  const Options o = parse_ok({"--metrics", "[::]:9464"});
  ASSERT_TRUE(o.metrics.has_value());
  EXPECT_EQ(o.metrics->address, make_address("::"));
  EXPECT_EQ(o.metrics->to_string(), "[::]:9464");
  EXPECT_NE(parse_outcome({"--metrics", ":::9464"}).exit_code, 0);
}

TEST(ParseOptions, ConnectionTimeoutsHaveDefaultsAndZeroTurnsThemOff) {
  const Options d = parse_ok({});
  EXPECT_EQ(d.idle_timeout_s, 360u);
  EXPECT_EQ(d.record_timeout_s, 30u);
  const Options set = parse_ok({"--idle-timeout", "5", "--record-timeout", "2"});
  EXPECT_EQ(set.idle_timeout_s, 5u);
  EXPECT_EQ(set.record_timeout_s, 2u);
  const Options off = parse_ok({"--idle-timeout", "0", "--record-timeout", "0"});
  EXPECT_EQ(off.idle_timeout_s, 0u);
  EXPECT_EQ(off.record_timeout_s, 0u);
  EXPECT_THAT(parse_outcome({"--idle-timeout", "-1"}).message, HasSubstr("--idle-timeout"));
  EXPECT_THAT(parse_outcome({"--record-timeout", "90000"}).message, HasSubstr("--record-timeout"));
}

TEST(ParseOptions, MaxConnectionOutputDefaultsToEightMebibytesTakesSuffixesAndZero) {
  EXPECT_EQ(parse_ok({}).max_connection_output, 8u << 20);
  EXPECT_EQ(parse_ok({"--max-connection-output", "4m"}).max_connection_output, 4u << 20);
  EXPECT_EQ(parse_ok({"--max-connection-output", "65536"}).max_connection_output, 65536u);
  EXPECT_EQ(parse_ok({"--max-connection-output", "0"}).max_connection_output, 0u);
  EXPECT_THAT(parse_outcome({"--max-connection-output", "lots"}).message,
              HasSubstr("--max-connection-output"));
}

TEST(ParseOptions, LargeRequestBudgetDefaultsToSixteenMebibytesAndTakesSuffixes) {
  EXPECT_EQ(parse_ok({}).large_request_budget, 16u << 20);
  EXPECT_EQ(parse_ok({"--large-request-budget", "64m"}).large_request_budget, 64u << 20);
  EXPECT_THAT(parse_outcome({"--large-request-budget", "lots"}).message,
              HasSubstr("--large-request-budget"));
}

TEST(ParseOptions, LargestRecordIsFourMebibyteIoWithHeaders) {
  // A 4 MiB WRITE fits; a record the request pool has no buffer for is refused
  // at start instead of hanging the connection that sends it.
  EXPECT_EQ(parse_ok({"--max-io-size", "4m", "--max-record-size", "4160k"}).max_record_size,
            (4u << 20) + (64u << 10));
  EXPECT_THAT(parse_outcome({"--max-record-size", "8m"}).message, HasSubstr("--max-record-size"));
}

TEST(ParseOptions, HelpExitsZeroWithUsage) {
  const ParseOutcome r = parse_outcome({"--help"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_THAT(r.message, HasSubstr("--exports"));
  EXPECT_THAT(r.message, HasSubstr("--max-io-size"));
  EXPECT_THAT(r.message, HasSubstr("--check-config"));
}

struct BadFlags {
  std::vector<std::string> args;
  const char* message_part;
};

class ParseOptionsErrors : public ::testing::TestWithParam<BadFlags> {};

TEST_P(ParseOptionsErrors, NonZeroExitWithMessage) {
  const ParseOutcome r = parse_outcome(GetParam().args);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_THAT(r.message, HasSubstr(GetParam().message_part));
}

INSTANTIATE_TEST_SUITE_P(
    BadCommandLines, ParseOptionsErrors,
    ::testing::Values(BadFlags{{"--nfs-port", "70000"}, "--nfs-port"},
                      BadFlags{{"--nfs-port", "abc"}, "--nfs-port"},
                      BadFlags{{"--mount-port", "0"}, "--mount-port"},
                      BadFlags{{"--mount-port", "-1"}, "--mount-port"},
                      BadFlags{{"--log-level", "verbose"}, "--log-level"},
                      BadFlags{{"--bind", "localhost"}, "--bind wants an IPv4 or IPv6 address"},
                      BadFlags{{"--metrics", "9464"}, "--metrics wants ADDR:PORT"},
                      BadFlags{{"--metrics", "0.0.0.0:0"}, "--metrics wants ADDR:PORT"},
                      BadFlags{{"--metrics", "host:9464"}, "--metrics wants ADDR:PORT"},
                      BadFlags{{"--threads-per-stage", "0"}, "--threads-per-stage"},
                      BadFlags{{"--threads-per-stage", "257"}, "--threads-per-stage"},
                      BadFlags{{"--max-record-size", "4096"}, "--max-record-size"},
                      BadFlags{{"--max-io-size", "1024"}, "--max-io-size"},
                      BadFlags{{"--max-io-size", "8m"}, "--max-io-size"},
                      BadFlags{{"--max-record-size", "65536"}, "too small for --max-io-size"},
                      BadFlags{{"--max-in-flight", "0"}, "--max-in-flight"},
                      BadFlags{{"--no-such-flag"}, "--no-such-flag"},
                      BadFlags{{"stray"}, "stray"}));

// ---------------------------------------------------------------------------
// load_exports

TEST(LoadExports, CombinesFileAndExportLinesInOrder) {
  TempFile f("# exports\n/srv/a *(rw)\n/srv/b 10.0.0.0/8\n");
  Options o = parse_ok({"--exports", f.path(), "--export", "/srv/c *(ro)"});
  auto r = load_exports(o);
  ASSERT_TRUE(std::holds_alternative<ExportTable>(r)) << std::get<ExportsError>(r).to_string();
  const auto& ex = std::get<ExportTable>(r).exports();
  ASSERT_EQ(ex.size(), 3u);
  EXPECT_EQ(ex[0].path, "/srv/a");
  EXPECT_EQ(ex[1].path, "/srv/b");
  EXPECT_EQ(ex[2].path, "/srv/c");
}

TEST(LoadExports, ExportLinesAloneSuffice) {
  Options o = parse_ok({"--export", "/x *(rw)", "--export", "/y *"});
  auto r = load_exports(o);
  ASSERT_TRUE(std::holds_alternative<ExportTable>(r));
  EXPECT_EQ(std::get<ExportTable>(r).exports().size(), 2u);
}

TEST(LoadExports, ExportLineErrorNamesItsIndex) {
  Options o = parse_ok({"--export", "/x *(rw)", "--export", "/y *(bogus)"});
  auto r = load_exports(o);
  ASSERT_TRUE(std::holds_alternative<ExportsError>(r));
  const auto& e = std::get<ExportsError>(r);
  EXPECT_EQ(e.source, "--export");
  EXPECT_EQ(e.line, 2u);
  EXPECT_THAT(e.reason, HasSubstr("'bogus'"));
}

TEST(LoadExports, DuplicateAcrossFileAndExportLine) {
  TempFile f("\n/srv/a *(rw)\n");
  Options o = parse_ok({"--exports", f.path(), "--export", "/srv/a/ *"});
  auto r = load_exports(o);
  ASSERT_TRUE(std::holds_alternative<ExportsError>(r));
  EXPECT_EQ(std::get<ExportsError>(r).to_string(),
            "--export:1: duplicate export path '/srv/a' (first at " + f.path() + ":2)");
}

TEST(LoadExports, UnreadableFileNamesPathAndReason) {
  Options o = parse_ok({"--exports", "/nonexistent/nasd/exports"});
  auto r = load_exports(o);
  ASSERT_TRUE(std::holds_alternative<ExportsError>(r));
  const auto& e = std::get<ExportsError>(r);
  EXPECT_EQ(e.source, "/nonexistent/nasd/exports");
  EXPECT_THAT(e.to_string(), HasSubstr("/nonexistent/nasd/exports"));
  EXPECT_THAT(e.reason, HasSubstr("No such file or directory"));
}

TEST(LoadExports, DirectoryAsFileIsAnError) {
  Options o = parse_ok({"--exports", ::testing::TempDir()});
  auto r = load_exports(o);
  ASSERT_TRUE(std::holds_alternative<ExportsError>(r));
  EXPECT_THAT(std::get<ExportsError>(r).reason, HasSubstr("cannot read exports file"));
}

TEST(LoadExports, NoExportsIsAnError) {
  auto r = load_exports(parse_ok({}));
  ASSERT_TRUE(std::holds_alternative<ExportsError>(r));
  EXPECT_THAT(std::get<ExportsError>(r).reason,
              HasSubstr("no exports: give --exports FILE or --export ..."));

  TempFile empty("# only comments\n");
  auto r2 = load_exports(parse_ok({"--exports", empty.path()}));
  ASSERT_TRUE(std::holds_alternative<ExportsError>(r2));
  EXPECT_THAT(std::get<ExportsError>(r2).reason, HasSubstr("no exports"));
}

TEST(LoadExports, MultiLineExportValueIsRejected) {
  auto r = load_exports(parse_ok({"--export", "/a *\n/b *"}));
  ASSERT_TRUE(std::holds_alternative<ExportsError>(r));
  EXPECT_THAT(std::get<ExportsError>(r).reason, HasSubstr("single line"));
}

// ---------------------------------------------------------------------------
// check_config

TEST(CheckConfig, PrintsEffectiveTableAndSettings) {
  const std::string dir = ::testing::TempDir();
  Options o = parse_ok({"--export", dir + " 10.0.0.0/8(rw)", "--metrics", "0.0.0.0:9464",
                        "--nfs-port", "3049", "--check-config"});
  std::ostringstream out, err;
  EXPECT_EQ(check_config(o, out, err), 0);
  EXPECT_EQ(err.str(), "");
  const std::string s = out.str();
  EXPECT_THAT(s, HasSubstr("# --nfs-port 3049\n"));
  EXPECT_THAT(s, HasSubstr("# --metrics 0.0.0.0:9464\n"));
  EXPECT_THAT(s, HasSubstr("# --log-level info\n"));
  EXPECT_THAT(s, HasSubstr("# --max-io-size 1048576 (1 MiB)\n"));
  EXPECT_THAT(s, HasSubstr("# --nfs4-domain (host)\n"));
  EXPECT_THAT(s, HasSubstr("10.0.0.0/8(rw,root_squash,anonuid=65534,anongid=65534,sync,secure"));

  // The output is itself a valid exports file describing the same table.
  auto again = parse_exports(s, "check-config output");
  ASSERT_TRUE(std::holds_alternative<ExportTable>(again))
      << std::get<ExportsError>(again).to_string();
  EXPECT_EQ(std::get<ExportTable>(again).exports().size(), 1u);
}

TEST(CheckConfig, Nfs4DomainIsShown) {
  const std::string dir = ::testing::TempDir();
  Options o = parse_ok({"--export", dir + " *", "--nfs4-domain", "example.org", "--check-config"});
  EXPECT_EQ(o.nfs4_domain, "example.org");
  std::ostringstream out, err;
  EXPECT_EQ(check_config(o, out, err), 0);
  EXPECT_THAT(out.str(), HasSubstr("# --nfs4-domain example.org\n"));
}

TEST(CheckConfig, ErrorGoesToErrWithExitOne) {
  TempFile f("/ok *\n/bad *(rw,nope)\n");
  Options o = parse_ok({"--exports", f.path()});
  std::ostringstream out, err;
  EXPECT_EQ(check_config(o, out, err), 1);
  EXPECT_EQ(err.str(), f.path() + ":2: unknown export option 'nope'\n");
  EXPECT_EQ(out.str(), "");
}

TEST(CheckConfig, WarnsAboutMissingExportDirectoryButSucceeds) {
  Options o = parse_ok({"--export", "/nonexistent/nasd/share *"});
  std::ostringstream out, err;
  EXPECT_EQ(check_config(o, out, err), 0);
  EXPECT_THAT(err.str(), HasSubstr("warning: export path '/nonexistent/nasd/share'"));
  EXPECT_THAT(out.str(), HasSubstr("/nonexistent/nasd/share *("));
}

TEST(CheckConfig, NoWarningForExistingDirectory) {
  Options o = parse_ok({"--export", ::testing::TempDir() + " *"});
  std::ostringstream out, err;
  EXPECT_EQ(check_config(o, out, err), 0);
  EXPECT_THAT(err.str(), Not(HasSubstr("warning")));
}

}  // namespace
}  // namespace nasd::server
