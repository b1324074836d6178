#include "kiln/loadgen/report.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>

#include "kiln/base/error.h"
#include "kiln/loadgen/html_report.h"
#include "kiln/loadgen/serve_benchmark.h"

namespace kiln::loadgen {
namespace {

// A report of two closed-loop levels whose figures scale with the level (a seeded pattern).
BenchReport MakeReport(double scale) {
  BenchReport report;
  report.settings = {{"model", "demo <model>"}, {"url", "http://127.0.0.1:1"}, {"seed", 3}};
  for (int c : {1, 4}) {
    LevelResult level;
    for (int i = 0; i < 10 * c; ++i) {
      RequestRecord r;
      r.ok = i % 7 != 6;
      r.error = r.ok ? "" : "HTTP 503: busy";
      r.http_status = r.ok ? 200 : 503;
      r.start_s = 0.01 * i;
      r.ttft_s = scale * (0.02 + 0.001 * i * c);
      r.e2e_s = r.ttft_s + scale * 0.01 * 15;
      r.itl_s = std::vector<double>(15, scale * 0.01);
      r.prompt_tokens = 50 + i;
      r.output_tokens = 16;
      r.usage_reported = true;
      r.expected_output_tokens = 16;
      level.records.push_back(r);
    }
    level.summary = Summarize(level.records, scale * 0.5 * c, Slo{.ttft_ms = 40});
    level.summary.mode = "closed";
    level.summary.concurrency = c;
    report.levels.push_back(std::move(level));
  }
  return report;
}

TEST(Report, JsonRoundTripKeepsEveryFigure) {
  const BenchReport a = MakeReport(1.0);
  const auto path = std::filesystem::temp_directory_path() / "kiln_loadgen_report.json";
  WriteReport(a, path.string());
  const BenchReport b = ReadReport(path.string());
  std::filesystem::remove(path);
  EXPECT_EQ(ToJson(a), ToJson(b));
  ASSERT_EQ(b.levels.size(), 2u);
  EXPECT_EQ(b.levels[1].records.size(), 40u);
  EXPECT_EQ(b.levels[1].records[6].error, "HTTP 503: busy");
  EXPECT_EQ(b.levels[1].summary.failed, a.levels[1].summary.failed);
  EXPECT_DOUBLE_EQ(b.levels[0].summary.ttft_ms.p99, a.levels[0].summary.ttft_ms.p99);
  EXPECT_EQ(b.settings["model"], "demo <model>");
}

TEST(Report, RejectsOtherDocuments) {
  EXPECT_THROW(ReportFromJson(nlohmann::json{{"levels", 1}}), Error);
  nlohmann::json j = ToJson(MakeReport(1.0));
  j["levels"][0]["summary"].erase("ttft_ms");
  EXPECT_THROW(ReportFromJson(j), Error);
}

TEST(Report, TableHasARowPerLevelWithItsFigures) {
  const BenchReport r = MakeReport(1.0);
  const std::string table = FormatTable(r);
  EXPECT_NE(table.find("c=1"), std::string::npos);
  EXPECT_NE(table.find("c=4"), std::string::npos);
  EXPECT_NE(table.find(fmt::format("{:.2f}", r.levels[1].summary.request_throughput)),
            std::string::npos)
      << table;
}

TEST(Report, ComparisonShowsRatios) {
  const BenchReport a = MakeReport(1.0);
  const BenchReport b = MakeReport(2.0);  // everything twice as slow
  const std::string out = FormatComparison(a, "a.json", b, "b.json");
  EXPECT_NE(out.find("A = a.json"), std::string::npos);
  // Throughput halves, latencies double; failures are equal.
  EXPECT_NE(out.find(fmt::format("{:<15} {:>12.2f} {:>12.2f} {:>8}", "requests/s",
                                 a.levels[0].summary.request_throughput,
                                 b.levels[0].summary.request_throughput, "0.50x")),
            std::string::npos)
      << out;
  EXPECT_NE(out.find(fmt::format("{:<15} {:>12.2f} {:>12.2f} {:>8}", "TTFT p99 ms",
                                 a.levels[1].summary.ttft_ms.p99, b.levels[1].summary.ttft_ms.p99,
                                 "2.00x")),
            std::string::npos)
      << out;
  BenchReport c = MakeReport(1.0);
  c.levels.pop_back();
  EXPECT_NE(FormatComparison(c, "c", a, "a").find("c=4: only in B"), std::string::npos);
}

TEST(HtmlReport, SelfContainedWithDataDependentCharts) {
  const BenchReport r = MakeReport(1.0);
  const std::string html = RenderHtmlReport(r);
  EXPECT_EQ(html.find("http://127.0.0.1:1\""), std::string::npos);  // no links out
  EXPECT_EQ(html.find("src="), std::string::npos);
  EXPECT_EQ(html.find("href="), std::string::npos);
  EXPECT_NE(html.find("demo &lt;model&gt;"), std::string::npos);
  EXPECT_NE(html.find(fmt::format("data-value=\"{:.6g}\"", r.levels[1].summary.output_throughput)),
            std::string::npos);
  EXPECT_NE(html.find(fmt::format("data-value=\"{:.6g}\"", r.levels[0].summary.ttft_ms.p99)),
            std::string::npos);
}

TEST(ProgressBar, FillsInProportion) {
  EXPECT_EQ(ProgressBar(0, 4, 8), "[........] 0/4");
  EXPECT_EQ(ProgressBar(2, 4, 8), "[####....] 2/4");
  EXPECT_EQ(ProgressBar(4, 4, 8), "[########] 4/4");
  EXPECT_EQ(ProgressBar(7, 0, 8), "7 done");
}

std::string RunShell(const std::string& command) {
  std::string out;
  FILE* p = popen(command.c_str(), "r");
  if (p == nullptr) return out;
  char buf[4096];
  while (std::size_t n = fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  pclose(p);
  return out;
}

// Loads the report in headless Chromium and reads back what its charts drew: the page's own
// script writes "<chart id>:<marks>:<marks with a non-empty box>:<width>x<height>" per chart.
TEST(HtmlReport, ChartsRenderInHeadlessChromium) {
  if (RunShell("command -v chromium").empty()) {
    GTEST_SKIP() << "chromium is not installed (scripts/install-deps.sh installs it)";
  }
  const BenchReport r = MakeReport(1.0);
  const auto dir = std::filesystem::temp_directory_path() / "kiln_loadgen_html";
  std::filesystem::create_directories(dir);
  const auto path = dir / "report.html";
  WriteHtmlReport(r, path.string());
  const std::string dom = RunShell(
      "timeout 120 chromium --headless --no-sandbox --disable-gpu --disable-dev-shm-usage "
      "--user-data-dir=" +
      (dir / "profile").string() + " --virtual-time-budget=2000 --dump-dom file://" +
      path.string() + " 2>/dev/null");
  std::filesystem::remove_all(dir);
  std::smatch m;
  ASSERT_TRUE(std::regex_search(dom, m, std::regex("data-rendered=\"([^\"]*)\"")))
      << "the page's render check did not run; DOM starts: " << dom.substr(0, 400);
  const std::string rendered = m[1];
  // Line charts: one mark per level and series; the histograms: 20 bins each. Each chart is
  // laid out at 560x300 plus its 1px border.
  for (const char* expected : {"throughput:4:4:562x302", "requests:2:2:562x302", "ttft:6:6:562x302",
                               "tpot:6:6:562x302", "ttft-hist-0:20:", "ttft-hist-1:20:"}) {
    EXPECT_NE(rendered.find(expected), std::string::npos) << expected << " in " << rendered;
  }
  // The histogram bars' heights come from the data: the non-empty bins have a box.
  std::smatch h;
  ASSERT_TRUE(std::regex_search(rendered, h, std::regex("ttft-hist-1:20:(\\d+):")));
  EXPECT_GT(std::stoi(h[1]), 1);
  EXPECT_LT(std::stoi(h[1]), 20);
  // The DOM Chromium built holds the data-dependent SVG marks.
  EXPECT_NE(dom.find(fmt::format("data-value=\"{:.6g}\"", r.levels[1].summary.total_throughput)),
            std::string::npos);
}

}  // namespace
}  // namespace kiln::loadgen
