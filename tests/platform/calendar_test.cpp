#include "kiln/platform/calendar.h"

#include <gtest/gtest.h>

#include "kiln/base/error.h"

namespace kiln::platform {
namespace {

TEST(Calendar, ParsesAndFormatsUtcTimes) {
  EXPECT_EQ(ParseUtcTime("1970-01-01"), 0);
  EXPECT_EQ(ParseUtcTime("2026-11-01"), 1'793'491'200'000);
  EXPECT_EQ(ParseUtcTime("2026-11-01T12:30:05Z"), 1'793'491'200'000 + 45'005'000);
  EXPECT_EQ(ParseUtcTime("2026-11-01T12:30:05"), ParseUtcTime("2026-11-01T12:30:05Z"));
  EXPECT_EQ(FormatUtcTime(1'793'491'200'000 + 45'005'000), "2026-11-01T12:30:05Z");
  EXPECT_EQ(FormatUtcDay(ParseUtcTime("2024-02-29T23:59:59Z")), "2024-02-29");
  EXPECT_EQ(FormatUtcMonth(ParseUtcTime("2024-02-29")), "2024-02");
  for (const char* bad : {"2026-02-30", "2026-13-01", "2026-11-1", "yesterday",
                          "2026-11-01T25:00:00", "2026-11-01 12:00:00", ""}) {
    EXPECT_THROW(ParseUtcTime(bad), Error) << bad;
  }
}

TEST(Calendar, DayAndMonthBoundaries) {
  const std::int64_t t = ParseUtcTime("2026-12-31T15:00:00Z");
  EXPECT_EQ(StartOfUtcDay(t), ParseUtcTime("2026-12-31"));
  EXPECT_EQ(StartOfUtcMonth(t), ParseUtcTime("2026-12-01"));
  EXPECT_EQ(StartOfNextUtcMonth(t), ParseUtcTime("2027-01-01"));
  EXPECT_EQ(StartOfNextUtcMonth(ParseUtcTime("2028-02-10")), ParseUtcTime("2028-03-01"));
}

TEST(Calendar, ParsesDurations) {
  EXPECT_EQ(ParseDuration("30d"), 30LL * 86'400'000);
  EXPECT_EQ(ParseDuration("12h"), 12LL * 3'600'000);
  EXPECT_EQ(ParseDuration("45m"), 45LL * 60'000);
  EXPECT_EQ(ParseDuration("90s"), 90'000);
  for (const char* bad : {"30", "d", "-5d", "0d", "3w", "5dd", ""}) {
    EXPECT_THROW(ParseDuration(bad), Error) << bad;
  }
}

}  // namespace
}  // namespace kiln::platform
