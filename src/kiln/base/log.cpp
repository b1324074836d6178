#include "kiln/base/log.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <mutex>

namespace kiln::log {
namespace {

// The level threshold is process-wide configuration, written once at startup.
std::atomic<Level> g_min_level{Level::kInfo};
std::mutex g_write_mutex;

std::string_view LevelName(Level level) {
  switch (level) {
    case Level::kDebug: return "debug";
    case Level::kInfo: return "info";
    case Level::kWarn: return "warn";
    case Level::kError: return "error";
  }
  return "info";
}

void AppendValue(std::string& out, std::string_view value) {
  bool needs_quotes = value.empty() || value.find_first_of(" \t\n\"=") != std::string_view::npos;
  if (!needs_quotes) {
    out.append(value);
    return;
  }
  out.push_back('"');
  for (char c : value) {
    if (c == '"' || c == '\\') out.push_back('\\');
    if (c == '\n') {
      out.append("\\n");
      continue;
    }
    out.push_back(c);
  }
  out.push_back('"');
}

}  // namespace

void SetMinLevel(Level level) { g_min_level.store(level); }
Level MinLevel() { return g_min_level.load(); }

void Write(Level level, std::string_view message, std::initializer_list<Field> fields) {
  if (level < g_min_level.load()) return;
  auto now = std::chrono::system_clock::now();
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  std::string line = fmt::format("ts={}.{:03d} level={} msg=", ms / 1000, static_cast<int>(ms % 1000),
                                 LevelName(level));
  AppendValue(line, message);
  for (const Field& f : fields) {
    line.push_back(' ');
    line.append(f.key);
    line.push_back('=');
    AppendValue(line, f.value);
  }
  line.push_back('\n');
  std::lock_guard lock(g_write_mutex);
  std::fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace kiln::log
