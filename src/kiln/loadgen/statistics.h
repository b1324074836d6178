// The figures of a serving benchmark: what one request measured (RequestRecord) and what a
// whole load level adds up to (LevelSummary: throughput, latency distributions, goodput).
// Percentiles interpolate linearly between closest ranks (NumPy's default): for sorted values
// x[0..n-1], the p-th percentile is x at rank r = p/100 * (n-1), interpolating between x[floor r]
// and x[ceil r]. The median is the 50th percentile. Empty inputs give zeros.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace kiln::loadgen {

struct RequestRecord {
  double start_s = 0;  // when it was sent, from the start of its level
  bool ok = false;
  int http_status = 0;
  std::string error;          // empty when ok
  double ttft_s = 0;          // first content chunk
  double e2e_s = 0;           // last byte of the stream
  std::vector<double> itl_s;  // between consecutive content chunks
  std::int64_t prompt_tokens = 0;
  std::int64_t output_tokens = 0;
  bool usage_reported = false;  // token counts from the server's usage, not counted chunks
  std::int64_t expected_output_tokens = 0;  // what max_tokens asked for

  // Time per output token after the first: (e2e - ttft) / (output_tokens - 1); 0 when < 2.
  double TpotSeconds() const;
};

struct Distribution {
  std::size_t count = 0;
  double mean = 0, median = 0, p90 = 0, p99 = 0, min = 0, max = 0;
};

double Percentile(std::span<const double> sorted, double p);
Distribution Describe(std::vector<double> values);

struct Slo {
  std::optional<double> ttft_ms;
  std::optional<double> tpot_ms;
};

struct LevelSummary {
  std::string mode;         // "closed" (fixed concurrency) or "open" (Poisson arrivals)
  int concurrency = 0;      // closed loop: the level; open loop: the cap (0 = none)
  double request_rate = 0;  // open loop: requests/s asked for
  double duration_s = 0;    // first send to last completion
  std::size_t completed = 0, failed = 0;
  std::int64_t input_tokens = 0, output_tokens = 0;
  double request_throughput = 0, output_throughput = 0, total_throughput = 0;  // per second
  Distribution ttft_ms, tpot_ms, itl_ms, e2e_ms;
  std::size_t slo_met = 0;  // completed requests meeting every SLO given
  double goodput = 0;       // slo_met per second
};

// Sums up the records of one level; only successful requests enter throughput and latencies.
LevelSummary Summarize(std::span<const RequestRecord> records, double duration_s, const Slo& slo);

}  // namespace kiln::loadgen
