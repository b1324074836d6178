#include "kiln/loadgen/statistics.h"

#include <gtest/gtest.h>

namespace kiln::loadgen {
namespace {

TEST(Percentile, LinearInterpolationBetweenClosestRanks) {
  const std::vector<double> v = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
  EXPECT_DOUBLE_EQ(Percentile(v, 0), 1);
  EXPECT_DOUBLE_EQ(Percentile(v, 50), 5.5);   // rank 4.5
  EXPECT_DOUBLE_EQ(Percentile(v, 90), 9.1);   // rank 8.1, as numpy.percentile gives
  EXPECT_DOUBLE_EQ(Percentile(v, 99), 9.91);  // rank 8.91
  EXPECT_DOUBLE_EQ(Percentile(v, 100), 10);
  EXPECT_DOUBLE_EQ(Percentile(std::vector<double>{42}, 99), 42);
  EXPECT_DOUBLE_EQ(Percentile({}, 50), 0);
}

TEST(Describe, SortsAndSummarizes) {
  const Distribution d = Describe({30, 10, 20, 40});
  EXPECT_EQ(d.count, 4u);
  EXPECT_DOUBLE_EQ(d.mean, 25);
  EXPECT_DOUBLE_EQ(d.median, 25);
  EXPECT_DOUBLE_EQ(d.p90, 37);  // rank 2.7: 30 + 0.7 * 10
  EXPECT_DOUBLE_EQ(d.min, 10);
  EXPECT_DOUBLE_EQ(d.max, 40);
}

RequestRecord Ok(double ttft, double e2e, std::int64_t out, std::vector<double> itl = {}) {
  RequestRecord r;
  r.ok = true;
  r.ttft_s = ttft;
  r.e2e_s = e2e;
  r.output_tokens = out;
  r.prompt_tokens = 100;
  r.itl_s = std::move(itl);
  return r;
}

TEST(Summarize, ThroughputLatenciesErrorsAndGoodput) {
  std::vector<RequestRecord> records = {
      Ok(0.100, 1.100, 11, {0.1, 0.1}),  // TPOT 100 ms
      Ok(0.300, 0.800, 6, {0.2}),        // TPOT 100 ms
      Ok(0.050, 0.250, 21),              // TPOT 10 ms
  };
  RequestRecord failed;
  failed.error = "HTTP 500";
  records.push_back(failed);
  const LevelSummary s = Summarize(records, 2.0, Slo{.ttft_ms = 200, .tpot_ms = 50});
  EXPECT_EQ(s.completed, 3u);
  EXPECT_EQ(s.failed, 1u);
  EXPECT_EQ(s.input_tokens, 300);
  EXPECT_EQ(s.output_tokens, 38);
  EXPECT_DOUBLE_EQ(s.request_throughput, 1.5);
  EXPECT_DOUBLE_EQ(s.output_throughput, 19);
  EXPECT_DOUBLE_EQ(s.total_throughput, 169);
  EXPECT_NEAR(s.ttft_ms.mean, 150, 1e-9);
  EXPECT_NEAR(s.ttft_ms.median, 100, 1e-9);
  EXPECT_NEAR(s.tpot_ms.median, 100, 1e-9);
  EXPECT_NEAR(s.tpot_ms.min, 10, 1e-9);
  EXPECT_EQ(s.itl_ms.count, 3u);
  EXPECT_NEAR(s.itl_ms.max, 200, 1e-9);
  EXPECT_NEAR(s.e2e_ms.max, 1100, 1e-9);
  // Only the third meets both TTFT <= 200 ms and TPOT <= 50 ms.
  EXPECT_EQ(s.slo_met, 1u);
  EXPECT_DOUBLE_EQ(s.goodput, 0.5);
  // Without an SLO every completed request counts.
  EXPECT_EQ(Summarize(records, 2.0, {}).slo_met, 3u);
}

TEST(Summarize, SingleTokenOutputsHaveNoTpot) {
  const std::vector<RequestRecord> records = {Ok(0.1, 0.1, 1)};
  const LevelSummary s = Summarize(records, 1.0, {});
  EXPECT_EQ(s.tpot_ms.count, 0u);
  EXPECT_EQ(s.ttft_ms.count, 1u);
}

}  // namespace
}  // namespace kiln::loadgen
