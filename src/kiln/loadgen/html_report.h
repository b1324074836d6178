// The self-contained HTML page of a serving benchmark report: inline CSS and SVG charts drawn
// here (throughput vs. load, TTFT and TPOT percentiles vs. load, TTFT distribution per level),
// the summary table, and the settings. It loads nothing from the network.
#pragma once

#include <string>

#include "kiln/loadgen/report.h"

namespace kiln::loadgen {

std::string RenderHtmlReport(const BenchReport& report);
void WriteHtmlReport(const BenchReport& report, const std::string& path);

}  // namespace kiln::loadgen
