#include "kiln/platform/calendar.h"

#include <fmt/format.h>

#include <chrono>
#include <cstdio>

#include "kiln/base/error.h"

namespace kiln::platform {
namespace {

using Days = std::chrono::sys_days;

std::int64_t FloorDiv(std::int64_t a, std::int64_t b) {
  return a / b - ((a % b != 0) && ((a < 0) != (b < 0)));
}

std::chrono::year_month_day CivilDay(std::int64_t unix_ms) {
  return std::chrono::year_month_day{Days{std::chrono::days{FloorDiv(unix_ms, kMillisPerDay)}}};
}

std::int64_t ToMillis(std::chrono::year_month_day day) {
  return static_cast<std::int64_t>(Days{day}.time_since_epoch().count()) * kMillisPerDay;
}

}  // namespace

std::int64_t StartOfUtcDay(std::int64_t unix_ms) {
  return FloorDiv(unix_ms, kMillisPerDay) * kMillisPerDay;
}

std::int64_t StartOfUtcMonth(std::int64_t unix_ms) {
  const auto day = CivilDay(unix_ms);
  return ToMillis(day.year() / day.month() / std::chrono::day{1});
}

std::int64_t StartOfNextUtcMonth(std::int64_t unix_ms) {
  const auto day = CivilDay(unix_ms);
  const auto next = std::chrono::year_month{day.year(), day.month()} + std::chrono::months{1};
  return ToMillis(next / std::chrono::day{1});
}

std::string FormatUtcDay(std::int64_t unix_ms) {
  const auto d = CivilDay(unix_ms);
  return fmt::format("{:04}-{:02}-{:02}", static_cast<int>(d.year()),
                     static_cast<unsigned>(d.month()), static_cast<unsigned>(d.day()));
}

std::string FormatUtcMonth(std::int64_t unix_ms) {
  return FormatUtcDay(unix_ms).substr(0, 7);
}

std::string FormatUtcTime(std::int64_t unix_ms) {
  const std::int64_t in_day = unix_ms - StartOfUtcDay(unix_ms);
  const std::int64_t seconds = in_day / 1000;
  return fmt::format("{}T{:02}:{:02}:{:02}Z", FormatUtcDay(unix_ms), seconds / 3600,
                     seconds / 60 % 60, seconds % 60);
}

std::int64_t ParseUtcTime(const std::string& text) {
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0, used = 0;
  const int n = std::sscanf(text.c_str(), "%4d-%2d-%2d%n", &year, &month, &day, &used);
  bool ok = n == 3 && used == 10;
  if (ok && text.size() > 10) {
    int more = 0;
    ok = std::sscanf(text.c_str() + 10, "T%2d:%2d:%2d%n", &hour, &minute, &second, &more) == 3 &&
         (10 + more == static_cast<int>(text.size()) ||
          (10 + more + 1 == static_cast<int>(text.size()) && text.back() == 'Z')) &&
         hour < 24 && minute < 60 && second < 60;
  }
  const std::chrono::year_month_day date{std::chrono::year{year},
                                         std::chrono::month{static_cast<unsigned>(month)},
                                         std::chrono::day{static_cast<unsigned>(day)}};
  if (!ok || !date.ok()) {
    Fail("'{}' is not a UTC date: write 2026-11-01 or 2026-11-01T12:30:00Z", text);
  }
  return ToMillis(date) + ((hour * 60 + minute) * 60 + second) * 1000LL;
}

std::int64_t ParseDuration(const std::string& text) {
  long long amount = 0;
  char unit = 0;
  int used = 0;
  if (std::sscanf(text.c_str(), "%lld%c%n", &amount, &unit, &used) != 2 ||
      used != static_cast<int>(text.size()) || amount <= 0) {
    Fail("'{}' is not a duration: write e.g. 30d, 12h, 45m or 90s", text);
  }
  switch (unit) {
    case 'd':
      return amount * kMillisPerDay;
    case 'h':
      return amount * 3'600'000LL;
    case 'm':
      return amount * 60'000LL;
    case 's':
      return amount * 1000LL;
    default:
      Fail("'{}' has an unknown unit '{}': use d, h, m or s", text, unit);
  }
}

}  // namespace kiln::platform
