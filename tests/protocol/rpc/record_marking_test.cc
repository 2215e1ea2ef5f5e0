#include "protocol/rpc/record_marking.h"

#include <gtest/gtest.h>

namespace nasd::rpc {
namespace {

TEST(RecordMarking, SingleLastFragmentCompletesTheRecord) {
  RecordAssembler a(1000);
  ASSERT_EQ(a.on_header(make_fragment_header(100, true)), RecordAssembler::Step::kReadFragment);
  EXPECT_TRUE(a.first_fragment());
  EXPECT_EQ(a.fragment_length(), 100u);
  EXPECT_TRUE(a.on_fragment_done());
  EXPECT_EQ(a.record_length(), 100u);
}

TEST(RecordMarking, MultipleFragmentsAreReassembled) {
  RecordAssembler a(1000);
  ASSERT_EQ(a.on_header(make_fragment_header(300, false)), RecordAssembler::Step::kReadFragment);
  EXPECT_FALSE(a.on_fragment_done());
  ASSERT_EQ(a.on_header(make_fragment_header(0, false)), RecordAssembler::Step::kReadFragment);
  EXPECT_FALSE(a.first_fragment());
  EXPECT_EQ(a.received(), 300u);
  EXPECT_FALSE(a.on_fragment_done());
  ASSERT_EQ(a.on_header(make_fragment_header(200, true)), RecordAssembler::Step::kReadFragment);
  EXPECT_TRUE(a.on_fragment_done());
  EXPECT_EQ(a.record_length(), 500u);
  // The next record starts fresh.
  ASSERT_EQ(a.on_header(make_fragment_header(8, true)), RecordAssembler::Step::kReadFragment);
  EXPECT_TRUE(a.first_fragment());
  EXPECT_EQ(a.received(), 0u);
}

TEST(RecordMarking, RefusesAFragmentLargerThanTheMaximum) {
  RecordAssembler a(1000);
  EXPECT_EQ(a.on_header(make_fragment_header(1001, true)), RecordAssembler::Step::kRecordTooLarge);
  RecordAssembler b(1000);
  EXPECT_EQ(b.on_header(0x7fffffffu), RecordAssembler::Step::kRecordTooLarge);
}

TEST(RecordMarking, RefusesFragmentsThatTogetherExceedTheMaximum) {
  RecordAssembler a(1000);
  ASSERT_EQ(a.on_header(make_fragment_header(600, false)), RecordAssembler::Step::kReadFragment);
  a.on_fragment_done();
  EXPECT_EQ(a.on_header(make_fragment_header(401, true)), RecordAssembler::Step::kRecordTooLarge);
}

TEST(RecordMarking, RefusesEndlessZeroLengthFragments) {
  RecordAssembler a(1000, 16);
  for (int i = 0; i < 16; ++i) {
    ASSERT_EQ(a.on_header(make_fragment_header(0, false)), RecordAssembler::Step::kReadFragment);
    a.on_fragment_done();
  }
  EXPECT_EQ(a.on_header(make_fragment_header(0, false)), RecordAssembler::Step::kTooManyFragments);
}

TEST(RecordMarking, HeaderEncodesLastBitAndLength) {
  EXPECT_EQ(make_fragment_header(5, true), 0x80000005u);
  EXPECT_EQ(make_fragment_header(5, false), 5u);
}

}  // namespace
}  // namespace nasd::rpc
