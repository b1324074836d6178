// A serving benchmark's report: the run's settings and, per load level, its summary and every
// request's raw figures. Written and read as JSON; printed as a terminal table, row by row as
// levels finish; and two reports side by side with ratios (--compare).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "kiln/loadgen/runner.h"

namespace kiln::loadgen {

struct BenchReport {
  nlohmann::json settings = nlohmann::json::object();  // url, model, dataset, lengths, seed, ...
  std::vector<LevelResult> levels;
};

nlohmann::json ToJson(const BenchReport& report);
// kiln::Error for a document that is not a Kiln bench report.
BenchReport ReportFromJson(const nlohmann::json& json);
void WriteReport(const BenchReport& report, const std::string& path);
BenchReport ReadReport(const std::string& path);

// The table's header lines, and one row per level (so a run can print rows as they finish).
std::string TableHeader();
std::string TableRow(const LevelSummary& summary);
std::string FormatTable(const BenchReport& report);

// Both reports' levels side by side (matched by mode and concurrency or rate), B / A ratios.
std::string FormatComparison(const BenchReport& a, const std::string& a_name, const BenchReport& b,
                             const std::string& b_name);

// "c=16" for a closed-loop level, "r=2.5/s" for an open-loop one.
std::string LevelLabel(const LevelSummary& summary);

}  // namespace kiln::loadgen
