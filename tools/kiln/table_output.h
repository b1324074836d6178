// Printing rows for people (aligned columns) and for programs (CSV, RFC 4180 quoting).
#pragma once

#include <string>
#include <vector>

namespace kiln::cli {

using TextRow = std::vector<std::string>;

void PrintTable(const TextRow& header, const std::vector<TextRow>& rows);
void PrintCsv(const TextRow& header, const std::vector<TextRow>& rows);

}  // namespace kiln::cli
