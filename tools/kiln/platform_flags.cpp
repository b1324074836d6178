#include "platform_flags.h"

#include "kiln/platform/calendar.h"
#include "model_path.h"

namespace kiln::cli {

std::unique_ptr<platform::Store> DatabaseFlag::Open() const {
  return platform::Store::Open(url.empty() ? "sqlite:" + DataDirectory() + "/kiln.db" : url);
}

void AddDatabaseFlag(CLI::App& command, DatabaseFlag& flag) {
  command
      .add_option("--db", flag.url,
                  "Database: postgresql://USER@HOST/DB or sqlite:PATH (default: kiln.db in the "
                  "data directory, $KILN_DATA_DIR or ~/.local/share/kiln)")
      ->envname("KILN_DB");
}

void AddFormatFlag(CLI::App& command, std::string& format, std::vector<std::string> choices) {
  format = choices.front();
  command.add_option("--format", format, "Output format")->check(CLI::IsMember(std::move(choices)));
}

std::vector<std::string> SplitList(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= text.size() && !text.empty()) {
    std::size_t end = text.find(',', start);
    if (end == std::string::npos) end = text.size();
    if (end > start) out.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

std::string JoinList(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ",") + item;
  return out;
}

std::string FormatTime(std::int64_t unix_ms) {
  return unix_ms == 0 ? "" : platform::FormatUtcTime(unix_ms);
}

}  // namespace kiln::cli
