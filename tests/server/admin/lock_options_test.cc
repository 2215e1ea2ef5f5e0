// --portmapper / --portmapper-port / --grace-period, and NsmState on disk.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include <unistd.h>

#include "server/locking/nsm_state.h"
#include "server/admin/options.h"

namespace nasd::server {
namespace {

OptionsResult parse(std::vector<std::string> args) {
  args.insert(args.begin(), "nasd");
  std::vector<const char*> argv;
  for (const auto& a : args) argv.push_back(a.c_str());
  return parse_options(static_cast<int>(argv.size()), argv.data());
}

TEST(LockOptions, DefaultsAreAutoPortmapperOn111AndNinetySecondsOfGrace) {
  auto r = parse({});
  ASSERT_TRUE(std::holds_alternative<Options>(r));
  const auto& o = std::get<Options>(r);
  EXPECT_EQ(PortmapperMode::kAuto, o.portmapper);
  EXPECT_EQ(111, o.portmapper_port);
  EXPECT_EQ(90u, o.grace_period);
}

TEST(LockOptions, FlagsAreParsed) {
  auto r = parse({"--portmapper", "embedded", "--portmapper-port", "1111", "--grace-period", "5"});
  ASSERT_TRUE(std::holds_alternative<Options>(r));
  const auto& o = std::get<Options>(r);
  EXPECT_EQ(PortmapperMode::kEmbedded, o.portmapper);
  EXPECT_EQ(1111, o.portmapper_port);
  EXPECT_EQ(5u, o.grace_period);
  EXPECT_EQ(PortmapperMode::kOff, std::get<Options>(parse({"--portmapper", "off"})).portmapper);
  EXPECT_EQ(PortmapperMode::kSystem, std::get<Options>(parse({"--portmapper", "system"})).portmapper);
}

TEST(LockOptions, UnknownPortmapperModeIsRejected) {
  auto r = parse({"--portmapper", "maybe"});
  ASSERT_TRUE(std::holds_alternative<ParseOutcome>(r));
  EXPECT_NE(0, std::get<ParseOutcome>(r).exit_code);
  EXPECT_TRUE(std::holds_alternative<ParseOutcome>(parse({"--grace-period", "-1"})));
}

class NsmStateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("nasd-nsm-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
};

TEST_F(NsmStateTest, StateIsOddAndAdvancesAtEachStart) {
  std::int32_t first = NsmState(dir_).state();
  EXPECT_EQ(1, first);
  EXPECT_EQ(3, NsmState(dir_).state());
  std::ofstream(dir_ / "nsm" / "state") << "6\n";  // an even (down) state on disk
  EXPECT_EQ(7, NsmState(dir_).state());
}

TEST_F(NsmStateTest, MonitoredClientsAreRecalledByTheNextStartUntilForgotten) {
  {
    NsmState s(dir_);
    s.monitor({"client-a", boost::asio::ip::make_address("10.0.0.7")});
    s.monitor({"client-b", boost::asio::ip::make_address("10.0.0.8")});
    s.unmonitor("client-b");
    EXPECT_TRUE(s.previous_clients().empty());
  }
  {
    NsmState s(dir_);
    ASSERT_EQ(1u, s.previous_clients().size());
    EXPECT_EQ("client-a", s.previous_clients()[0].name);
    EXPECT_EQ("10.0.0.7", s.previous_clients()[0].address.to_string());
    s.forget_previous("client-a");
  }
  EXPECT_TRUE(NsmState(dir_).previous_clients().empty());
}

TEST_F(NsmStateTest, ForgetKeepsAClientThatLockedAgainInThisRun) {
  { NsmState(dir_).monitor({"c", boost::asio::ip::make_address("10.0.0.7")}); }
  {
    NsmState s(dir_);
    s.monitor({"c", boost::asio::ip::make_address("10.0.0.7")});  // reclaimed
    s.forget_previous("c");
  }
  EXPECT_EQ(1u, NsmState(dir_).previous_clients().size());
}

TEST(GracePeriodTest, ZeroLengthIsNeverActiveAndEndStopsIt) {
  EXPECT_FALSE(GracePeriod(std::chrono::seconds(0)).active());
  GracePeriod g(std::chrono::seconds(3600));
  EXPECT_TRUE(g.active());
  g.end();
  EXPECT_FALSE(g.active());
}

}  // namespace
}  // namespace nasd::server
