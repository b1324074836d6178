#include "kiln/loadgen/report.h"

#include <fmt/format.h>

#include <fstream>

#include "kiln/base/error.h"

namespace kiln::loadgen {
namespace {

using nlohmann::json;

json DistributionJson(const Distribution& d) {
  return {{"count", d.count}, {"mean", d.mean}, {"median", d.median}, {"p90", d.p90},
          {"p99", d.p99},     {"min", d.min},   {"max", d.max}};
}

Distribution DistributionFrom(const json& j) {
  Distribution d;
  d.count = j.at("count").get<std::size_t>();
  d.mean = j.at("mean").get<double>();
  d.median = j.at("median").get<double>();
  d.p90 = j.at("p90").get<double>();
  d.p99 = j.at("p99").get<double>();
  d.min = j.at("min").get<double>();
  d.max = j.at("max").get<double>();
  return d;
}

json SummaryJson(const LevelSummary& s) {
  return {{"mode", s.mode},
          {"concurrency", s.concurrency},
          {"request_rate", s.request_rate},
          {"duration_s", s.duration_s},
          {"completed", s.completed},
          {"failed", s.failed},
          {"input_tokens", s.input_tokens},
          {"output_tokens", s.output_tokens},
          {"request_throughput", s.request_throughput},
          {"output_throughput", s.output_throughput},
          {"total_throughput", s.total_throughput},
          {"ttft_ms", DistributionJson(s.ttft_ms)},
          {"tpot_ms", DistributionJson(s.tpot_ms)},
          {"itl_ms", DistributionJson(s.itl_ms)},
          {"e2e_ms", DistributionJson(s.e2e_ms)},
          {"slo_met", s.slo_met},
          {"goodput", s.goodput}};
}

LevelSummary SummaryFrom(const json& j) {
  LevelSummary s;
  s.mode = j.at("mode").get<std::string>();
  s.concurrency = j.at("concurrency").get<int>();
  s.request_rate = j.at("request_rate").get<double>();
  s.duration_s = j.at("duration_s").get<double>();
  s.completed = j.at("completed").get<std::size_t>();
  s.failed = j.at("failed").get<std::size_t>();
  s.input_tokens = j.at("input_tokens").get<std::int64_t>();
  s.output_tokens = j.at("output_tokens").get<std::int64_t>();
  s.request_throughput = j.at("request_throughput").get<double>();
  s.output_throughput = j.at("output_throughput").get<double>();
  s.total_throughput = j.at("total_throughput").get<double>();
  s.ttft_ms = DistributionFrom(j.at("ttft_ms"));
  s.tpot_ms = DistributionFrom(j.at("tpot_ms"));
  s.itl_ms = DistributionFrom(j.at("itl_ms"));
  s.e2e_ms = DistributionFrom(j.at("e2e_ms"));
  s.slo_met = j.at("slo_met").get<std::size_t>();
  s.goodput = j.at("goodput").get<double>();
  return s;
}

json RecordJson(const RequestRecord& r) {
  return {{"start_s", r.start_s},
          {"ok", r.ok},
          {"http_status", r.http_status},
          {"error", r.error},
          {"ttft_s", r.ttft_s},
          {"e2e_s", r.e2e_s},
          {"tpot_s", r.TpotSeconds()},
          {"itl_s", r.itl_s},
          {"prompt_tokens", r.prompt_tokens},
          {"output_tokens", r.output_tokens},
          {"usage_reported", r.usage_reported},
          {"expected_output_tokens", r.expected_output_tokens}};
}

RequestRecord RecordFrom(const json& j) {
  RequestRecord r;
  r.start_s = j.at("start_s").get<double>();
  r.ok = j.at("ok").get<bool>();
  r.http_status = j.at("http_status").get<int>();
  r.error = j.at("error").get<std::string>();
  r.ttft_s = j.at("ttft_s").get<double>();
  r.e2e_s = j.at("e2e_s").get<double>();
  r.itl_s = j.at("itl_s").get<std::vector<double>>();
  r.prompt_tokens = j.at("prompt_tokens").get<std::int64_t>();
  r.output_tokens = j.at("output_tokens").get<std::int64_t>();
  r.usage_reported = j.at("usage_reported").get<bool>();
  r.expected_output_tokens = j.at("expected_output_tokens").get<std::int64_t>();
  return r;
}

constexpr const char* kFormat = "kiln-bench-serve/1";

}  // namespace

std::string LevelLabel(const LevelSummary& s) {
  if (s.mode == "open") return fmt::format("r={:g}/s", s.request_rate);
  return fmt::format("c={}", s.concurrency);
}

json ToJson(const BenchReport& report) {
  json levels = json::array();
  for (const LevelResult& level : report.levels) {
    json records = json::array();
    for (const RequestRecord& r : level.records) records.push_back(RecordJson(r));
    levels.push_back({{"summary", SummaryJson(level.summary)}, {"requests", std::move(records)}});
  }
  return {{"format", kFormat}, {"settings", report.settings}, {"levels", std::move(levels)}};
}

BenchReport ReportFromJson(const json& j) {
  if (!j.is_object() || j.value("format", "") != kFormat) {
    Fail("not a kiln bench serve report (expected \"format\": \"{}\")", kFormat);
  }
  BenchReport report;
  try {
    report.settings = j.at("settings");
    for (const json& level : j.at("levels")) {
      LevelResult result;
      result.summary = SummaryFrom(level.at("summary"));
      for (const json& r : level.at("requests")) result.records.push_back(RecordFrom(r));
      report.levels.push_back(std::move(result));
    }
  } catch (const json::exception& e) {
    Fail("malformed kiln bench report: {}", e.what());
  }
  return report;
}

void WriteReport(const BenchReport& report, const std::string& path) {
  std::ofstream out(path);
  out << ToJson(report).dump(1) << '\n';
  if (!out) Fail("cannot write report '{}'", path);
}

BenchReport ReadReport(const std::string& path) {
  std::ifstream in(path);
  if (!in) Fail("cannot open report '{}'", path);
  const json j = json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) Fail("report '{}' is not valid JSON", path);
  return ReportFromJson(j);
}

std::string TableHeader() {
  return fmt::format(
             "{:>9} {:>5} {:>4} {:>8} {:>9} {:>9} | {:>8} {:>8} {:>8} | {:>7} {:>7} | {:>7} {:>7} "
             "| "
             "{:>8} {:>8} | {:>8}\n",
             "level", "ok", "err", "req/s", "out tok/s", "tot tok/s", "TTFT avg", "p50", "p99",
             "TPOT avg", "p99", "ITL p50", "p99", "E2E avg", "p99", "goodput") +
         std::string(150, '-') + "\n";
}

std::string TableRow(const LevelSummary& s) {
  return fmt::format(
      "{:>9} {:>5} {:>4} {:>8.2f} {:>9.1f} {:>9.1f} | {:>8.1f} {:>8.1f} {:>8.1f} | {:>8.2f} "
      "{:>7.2f} | {:>7.2f} {:>7.2f} | {:>8.1f} {:>8.1f} | {:>8.2f}\n",
      LevelLabel(s), s.completed, s.failed, s.request_throughput, s.output_throughput,
      s.total_throughput, s.ttft_ms.mean, s.ttft_ms.median, s.ttft_ms.p99, s.tpot_ms.mean,
      s.tpot_ms.p99, s.itl_ms.median, s.itl_ms.p99, s.e2e_ms.mean, s.e2e_ms.p99, s.goodput);
}

std::string FormatTable(const BenchReport& report) {
  std::string out = TableHeader();
  for (const LevelResult& level : report.levels) out += TableRow(level.summary);
  out += "(latencies in ms; goodput = requests/s meeting the SLO)\n";
  return out;
}

std::string FormatComparison(const BenchReport& a, const std::string& a_name, const BenchReport& b,
                             const std::string& b_name) {
  struct Metric {
    const char* name;
    double (*get)(const LevelSummary&);
  };
  static constexpr Metric kMetrics[] = {
      {"requests/s", [](const LevelSummary& s) { return s.request_throughput; }},
      {"output tok/s", [](const LevelSummary& s) { return s.output_throughput; }},
      {"total tok/s", [](const LevelSummary& s) { return s.total_throughput; }},
      {"TTFT mean ms", [](const LevelSummary& s) { return s.ttft_ms.mean; }},
      {"TTFT p99 ms", [](const LevelSummary& s) { return s.ttft_ms.p99; }},
      {"TPOT mean ms", [](const LevelSummary& s) { return s.tpot_ms.mean; }},
      {"TPOT p99 ms", [](const LevelSummary& s) { return s.tpot_ms.p99; }},
      {"ITL p50 ms", [](const LevelSummary& s) { return s.itl_ms.median; }},
      {"E2E mean ms", [](const LevelSummary& s) { return s.e2e_ms.mean; }},
      {"E2E p99 ms", [](const LevelSummary& s) { return s.e2e_ms.p99; }},
      {"goodput req/s", [](const LevelSummary& s) { return s.goodput; }},
      {"failed", [](const LevelSummary& s) { return static_cast<double>(s.failed); }},
  };
  std::string out = fmt::format("A = {}\nB = {}\n", a_name, b_name);
  for (const LevelResult& la : a.levels) {
    const LevelSummary& sa = la.summary;
    const LevelSummary* sb = nullptr;
    for (const LevelResult& lb : b.levels) {
      if (LevelLabel(lb.summary) == LevelLabel(sa)) sb = &lb.summary;
    }
    out += fmt::format("\n{}\n{:<15} {:>12} {:>12} {:>8}\n", LevelLabel(sa), "metric", "A", "B",
                       "B/A");
    for (const Metric& m : kMetrics) {
      const double va = m.get(sa);
      if (sb == nullptr) {
        out += fmt::format("{:<15} {:>12.2f} {:>12} {:>8}\n", m.name, va, "-", "-");
        continue;
      }
      const double vb = m.get(*sb);
      const std::string ratio = va != 0 ? fmt::format("{:.2f}x", vb / va) : "-";
      out += fmt::format("{:<15} {:>12.2f} {:>12.2f} {:>8}\n", m.name, va, vb, ratio);
    }
  }
  for (const LevelResult& lb : b.levels) {
    bool matched = false;
    for (const LevelResult& la : a.levels) {
      matched = matched || LevelLabel(la.summary) == LevelLabel(lb.summary);
    }
    if (!matched) out += fmt::format("\n{}: only in B\n", LevelLabel(lb.summary));
  }
  return out;
}

}  // namespace kiln::loadgen
