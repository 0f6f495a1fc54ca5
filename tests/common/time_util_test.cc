#include "csms/common/time_util.h"

#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <string>

namespace csms {
namespace {

using namespace std::chrono;
using namespace std::chrono_literals;

// A UTC instant built from its parts, at microsecond precision.
TimePoint Utc(int y, unsigned mo, unsigned d, int h = 0, int mi = 0, int s = 0, int us = 0) {
  return time_point_cast<microseconds>(sys_days{year{y} / month{mo} / day{d}}) + hours{h} +
         minutes{mi} + seconds{s} + microseconds{us};
}

TEST(ParseRfc3339Test, UtcWithZ) {
  auto t = ParseRfc3339("2026-11-24T09:15:00Z");
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(*t, Utc(2026, 11, 24, 9, 15, 0));
}

TEST(ParseRfc3339Test, KnownEpochValue) {
  auto t = ParseRfc3339("2026-01-01T00:00:00Z");
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->time_since_epoch(), microseconds{1767225600LL * 1000000});
}

TEST(ParseRfc3339Test, LowercaseZAndT) {
  auto t = ParseRfc3339("2026-11-24t09:15:00z");
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(*t, Utc(2026, 11, 24, 9, 15, 0));
}

TEST(ParseRfc3339Test, PositiveOffsetIsConvertedToUtc) {
  auto t = ParseRfc3339("2026-11-24T18:15:00+09:00");
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(*t, Utc(2026, 11, 24, 9, 15, 0));
}

TEST(ParseRfc3339Test, NegativeOffsetIsConvertedToUtc) {
  auto t = ParseRfc3339("2026-11-24T04:15:00-05:00");
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(*t, Utc(2026, 11, 24, 9, 15, 0));
}

TEST(ParseRfc3339Test, OffsetWithMinutes) {
  auto t = ParseRfc3339("2026-11-24T14:45:00+05:30");
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(*t, Utc(2026, 11, 24, 9, 15, 0));
}

TEST(ParseRfc3339Test, OffsetCrossesDayBoundary) {
  auto t = ParseRfc3339("2026-01-01T03:00:00+09:00");
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(*t, Utc(2025, 12, 31, 18, 0, 0));
}

TEST(ParseRfc3339Test, ZeroOffsetEqualsZ) {
  EXPECT_EQ(ParseRfc3339("2026-11-24T09:15:00+00:00"), ParseRfc3339("2026-11-24T09:15:00Z"));
}

TEST(ParseRfc3339Test, MillisecondFraction) {
  auto t = ParseRfc3339("2026-11-24T09:15:00.123Z");
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(*t, Utc(2026, 11, 24, 9, 15, 0, 123000));
}

TEST(ParseRfc3339Test, OneDigitFraction) {
  auto t = ParseRfc3339("2026-11-24T09:15:00.5Z");
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(*t, Utc(2026, 11, 24, 9, 15, 0, 500000));
}

TEST(ParseRfc3339Test, NanosecondFractionTruncatedToMicros) {
  auto t = ParseRfc3339("2026-11-24T09:15:00.123456789Z");
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(*t, Utc(2026, 11, 24, 9, 15, 0, 123456));
}

TEST(ParseRfc3339Test, FractionWithOffset) {
  auto t = ParseRfc3339("2026-11-24T18:15:00.250+09:00");
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(*t, Utc(2026, 11, 24, 9, 15, 0, 250000));
}

TEST(ParseRfc3339Test, MissingZoneIsReadAsUtc) {
  auto t = ParseRfc3339("2026-11-24T09:15:00");
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(*t, Utc(2026, 11, 24, 9, 15, 0));
}

TEST(ParseRfc3339Test, LeapDayIn2028IsValid) {
  auto t = ParseRfc3339("2028-02-29T00:00:00Z");
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(*t, Utc(2028, 2, 29));
}

TEST(ParseRfc3339Test, InvalidCalendarDatesAreRefused) {
  EXPECT_EQ(ParseRfc3339("2026-02-30T00:00:00Z"), std::nullopt);
  EXPECT_EQ(ParseRfc3339("2026-02-29T00:00:00Z"), std::nullopt);  // 2026 is not a leap year
  EXPECT_EQ(ParseRfc3339("2026-04-31T00:00:00Z"), std::nullopt);
  EXPECT_EQ(ParseRfc3339("2026-13-01T00:00:00Z"), std::nullopt);
  EXPECT_EQ(ParseRfc3339("2026-00-10T00:00:00Z"), std::nullopt);
  EXPECT_EQ(ParseRfc3339("2026-01-00T00:00:00Z"), std::nullopt);
  EXPECT_EQ(ParseRfc3339("2026-01-32T00:00:00Z"), std::nullopt);
}

TEST(ParseRfc3339Test, InvalidTimesAreRefused) {
  EXPECT_EQ(ParseRfc3339("2026-11-24T24:00:00Z"), std::nullopt);
  EXPECT_EQ(ParseRfc3339("2026-11-24T09:60:00Z"), std::nullopt);
  EXPECT_EQ(ParseRfc3339("2026-11-24T09:15:61Z"), std::nullopt);
}

TEST(ParseRfc3339Test, GarbageIsRefused) {
  EXPECT_EQ(ParseRfc3339(""), std::nullopt);
  EXPECT_EQ(ParseRfc3339("yesterday"), std::nullopt);
  EXPECT_EQ(ParseRfc3339("2026-11-24"), std::nullopt);
  EXPECT_EQ(ParseRfc3339("2026-11-24T09:15"), std::nullopt);
  EXPECT_EQ(ParseRfc3339("26-11-24T09:15:00Z"), std::nullopt);
  EXPECT_EQ(ParseRfc3339("2026/11/24T09:15:00Z"), std::nullopt);
  EXPECT_EQ(ParseRfc3339("2026-11-24X09:15:00Z"), std::nullopt);
  EXPECT_EQ(ParseRfc3339("2026-11-24T09:15:00ZZ"), std::nullopt);
  EXPECT_EQ(ParseRfc3339("2026-11-24T09:15:00Z trailing"), std::nullopt);
  EXPECT_EQ(ParseRfc3339("2026-11-24T09:15:00.Z"), std::nullopt);
  EXPECT_EQ(ParseRfc3339("2026-11-24T09:15:00+9"), std::nullopt);
  EXPECT_EQ(ParseRfc3339("2026-11-24T09:15:00 UTC"), std::nullopt);
  EXPECT_EQ(ParseRfc3339("1764000000"), std::nullopt);
}

// Regression: RFC 3339 offsets are hours 00-23 and minutes 00-59.
TEST(ParseRfc3339Test, OutOfRangeOffsetIsRefused) {
  EXPECT_EQ(ParseRfc3339("2026-11-24T09:15:00+25:00"), std::nullopt);
  EXPECT_EQ(ParseRfc3339("2026-11-24T09:15:00+09:75"), std::nullopt);
  EXPECT_EQ(ParseRfc3339("2026-11-24T09:15:00-99:99"), std::nullopt);
}

TEST(FormatRfc3339Test, SecondsWithZ) {
  EXPECT_EQ(FormatRfc3339(Utc(2026, 11, 24, 9, 15, 0)), "2026-11-24T09:15:00Z");
}

TEST(FormatRfc3339Test, FractionIsDroppedWithoutMillis) {
  EXPECT_EQ(FormatRfc3339(Utc(2026, 11, 24, 9, 15, 0, 999999)), "2026-11-24T09:15:00Z");
}

TEST(FormatRfc3339Test, MillisAreTruncatedNotRounded) {
  EXPECT_EQ(FormatRfc3339(Utc(2026, 11, 24, 9, 15, 0, 123999), /*millis=*/true),
            "2026-11-24T09:15:00.123Z");
  EXPECT_EQ(FormatRfc3339(Utc(2026, 11, 24, 9, 15, 0), /*millis=*/true),
            "2026-11-24T09:15:00.000Z");
  EXPECT_EQ(FormatRfc3339(Utc(2026, 11, 24, 9, 15, 0, 7000), /*millis=*/true),
            "2026-11-24T09:15:00.007Z");
}

TEST(FormatRfc3339Test, SystemClockOverload) {
  SystemClock::time_point t = sys_days{2026y / 1 / 1} + 1s;
  EXPECT_EQ(FormatRfc3339(t), "2026-01-01T00:00:01Z");
}

TEST(FormatRfc3339Test, BeforeEpoch) {
  EXPECT_EQ(FormatRfc3339(Utc(1969, 12, 31, 23, 59, 59, 500000), true), "1969-12-31T23:59:59.500Z");
}

TEST(FormatRfc3339Test, RoundTripsThroughParse) {
  TimePoint t = Utc(2026, 3, 5, 7, 8, 9, 321000);
  EXPECT_EQ(ParseRfc3339(FormatRfc3339(t, true)), t);
  EXPECT_EQ(ParseRfc3339(FormatRfc3339(t)), Utc(2026, 3, 5, 7, 8, 9));
}

TEST(ProtoTimestampTest, ToProtoSplitsSecondsAndNanos) {
  auto ts = ToProto(Utc(2026, 1, 1, 0, 0, 0, 123456));
  EXPECT_EQ(ts.seconds(), 1767225600);
  EXPECT_EQ(ts.nanos(), 123456000);
}

TEST(ProtoTimestampTest, NegativeTimeHasNonNegativeNanos) {
  TimePoint t{microseconds{-1}};
  auto ts = ToProto(t);
  EXPECT_EQ(ts.seconds(), -1);
  EXPECT_EQ(ts.nanos(), 999999000);
  EXPECT_EQ(FromProto(ts), t);
}

TEST(ProtoTimestampTest, RoundTrip) {
  TimePoint t = Utc(2026, 11, 24, 9, 15, 0, 654321);
  EXPECT_EQ(FromProto(ToProto(t)), t);
}

TEST(ProtoTimestampTest, FromProtoDropsSubMicroseconds) {
  google::protobuf::Timestamp ts;
  ts.set_seconds(1767225600);
  ts.set_nanos(1999);
  EXPECT_EQ(FromProto(ts), Utc(2026, 1, 1, 0, 0, 0, 1));
}

TEST(RealClockTest, IsCloseToSystemClock) {
  RealClock clock;
  auto before = time_point_cast<microseconds>(SystemClock::now());
  TimePoint now = clock.Now();
  auto after = time_point_cast<microseconds>(SystemClock::now());
  EXPECT_LE(before, now);
  EXPECT_LE(now, after);
}

}  // namespace
}  // namespace csms
