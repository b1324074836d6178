// UTC calendar arithmetic for budgets and usage reports: day and month boundaries, date text
// ("2026-11-01") and durations ("30d") as users type them.
#pragma once

#include <cstdint>
#include <string>

namespace kiln::platform {

inline constexpr std::int64_t kMillisPerDay = 86'400'000;

std::int64_t StartOfUtcDay(std::int64_t unix_ms);
std::int64_t StartOfUtcMonth(std::int64_t unix_ms);
std::int64_t StartOfNextUtcMonth(std::int64_t unix_ms);

std::string FormatUtcDay(std::int64_t unix_ms);    // "2026-11-01"
std::string FormatUtcMonth(std::int64_t unix_ms);  // "2026-11"
std::string FormatUtcTime(std::int64_t unix_ms);   // "2026-11-01T12:30:00Z"

// "2026-11-01" or "2026-11-01T12:30:00[Z]" (UTC) to Unix ms; throws kiln::Error otherwise.
std::int64_t ParseUtcTime(const std::string& text);
// "30d", "12h", "45m", "90s" to milliseconds; throws kiln::Error otherwise.
std::int64_t ParseDuration(const std::string& text);

}  // namespace kiln::platform
