#include "table_output.h"

#include <fmt/format.h>

#include <algorithm>

namespace kiln::cli {

void PrintTable(const TextRow& header, const std::vector<TextRow>& rows) {
  std::vector<std::size_t> widths(header.size());
  for (std::size_t c = 0; c < header.size(); ++c) {
    widths[c] = header[c].size();
    for (const TextRow& row : rows) widths[c] = std::max(widths[c], row.at(c).size());
  }
  auto print = [&](const TextRow& row) {
    std::string line;
    for (std::size_t c = 0; c < row.size(); ++c) {
      if (c > 0) line += "  ";
      line += c + 1 == row.size() ? row[c] : fmt::format("{:<{}}", row[c], widths[c]);
    }
    fmt::print("{}\n", line);
  };
  print(header);
  for (const TextRow& row : rows) print(row);
}

namespace {
std::string CsvField(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}
}  // namespace

void PrintCsv(const TextRow& header, const std::vector<TextRow>& rows) {
  auto print = [](const TextRow& row) {
    std::string line;
    for (std::size_t c = 0; c < row.size(); ++c) line += (c > 0 ? "," : "") + CsvField(row[c]);
    fmt::print("{}\r\n", line);
  };
  print(header);
  for (const TextRow& row : rows) print(row);
}

}  // namespace kiln::cli
