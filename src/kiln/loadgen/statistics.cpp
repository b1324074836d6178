#include "kiln/loadgen/statistics.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace kiln::loadgen {

double RequestRecord::TpotSeconds() const {
  if (output_tokens < 2) return 0;
  return (e2e_s - ttft_s) / static_cast<double>(output_tokens - 1);
}

double Percentile(std::span<const double> sorted, double p) {
  if (sorted.empty()) return 0;
  const double rank = std::clamp(p, 0.0, 100.0) / 100.0 * static_cast<double>(sorted.size() - 1);
  const auto lo = static_cast<std::size_t>(std::floor(rank));
  const auto hi = static_cast<std::size_t>(std::ceil(rank));
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - static_cast<double>(lo));
}

Distribution Describe(std::vector<double> values) {
  Distribution d;
  if (values.empty()) return d;
  std::sort(values.begin(), values.end());
  d.count = values.size();
  d.mean = std::accumulate(values.begin(), values.end(), 0.0) / static_cast<double>(d.count);
  d.median = Percentile(values, 50);
  d.p90 = Percentile(values, 90);
  d.p99 = Percentile(values, 99);
  d.min = values.front();
  d.max = values.back();
  return d;
}

LevelSummary Summarize(std::span<const RequestRecord> records, double duration_s, const Slo& slo) {
  LevelSummary s;
  s.duration_s = duration_s;
  std::vector<double> ttft, tpot, itl, e2e;
  for (const RequestRecord& r : records) {
    if (!r.ok) {
      ++s.failed;
      continue;
    }
    ++s.completed;
    s.input_tokens += r.prompt_tokens;
    s.output_tokens += r.output_tokens;
    ttft.push_back(r.ttft_s * 1e3);
    e2e.push_back(r.e2e_s * 1e3);
    if (r.output_tokens >= 2) tpot.push_back(r.TpotSeconds() * 1e3);
    for (double x : r.itl_s) itl.push_back(x * 1e3);
    const bool ttft_ok = !slo.ttft_ms || r.ttft_s * 1e3 <= *slo.ttft_ms;
    const bool tpot_ok = !slo.tpot_ms || r.TpotSeconds() * 1e3 <= *slo.tpot_ms;
    if (ttft_ok && tpot_ok) ++s.slo_met;
  }
  s.ttft_ms = Describe(std::move(ttft));
  s.tpot_ms = Describe(std::move(tpot));
  s.itl_ms = Describe(std::move(itl));
  s.e2e_ms = Describe(std::move(e2e));
  if (duration_s > 0) {
    s.request_throughput = static_cast<double>(s.completed) / duration_s;
    s.output_throughput = static_cast<double>(s.output_tokens) / duration_s;
    s.total_throughput = static_cast<double>(s.input_tokens + s.output_tokens) / duration_s;
    s.goodput = static_cast<double>(s.slo_met) / duration_s;
  }
  return s;
}

}  // namespace kiln::loadgen
