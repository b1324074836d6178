#include "kiln/server/metrics.h"

#include <gtest/gtest.h>

#include <thread>

#include "kiln/base/error.h"

namespace kiln::server {
namespace {

TEST(MetricsTest, RendersCountersAndGaugesWithLabels) {
  MetricsRegistry registry;
  auto& requests = registry.AddCounter("kiln_requests_total", "Requests served.", {"code", "path"});
  requests.Labels({"200", "/v1/models"}).Inc();
  requests.Labels({"200", "/v1/models"}).Inc(2);
  requests.Labels({"404", "/x\"y\\z\n"}).Inc();
  auto& running = registry.AddGauge("kiln_running", "Running requests.\nSecond line \\ ok");
  running.Get().Set(3);
  running.Get().Dec(0.5);
  EXPECT_EQ(registry.Render(),
            "# HELP kiln_requests_total Requests served.\n"
            "# TYPE kiln_requests_total counter\n"
            "kiln_requests_total{code=\"200\",path=\"/v1/models\"} 3\n"
            "kiln_requests_total{code=\"404\",path=\"/x\\\"y\\\\z\\n\"} 1\n"
            "# HELP kiln_running Running requests.\\nSecond line \\\\ ok\n"
            "# TYPE kiln_running gauge\n"
            "kiln_running 2.5\n");
}

TEST(MetricsTest, RendersHistogramBucketsSumAndCount) {
  MetricsRegistry registry;
  auto& latency =
      registry.AddHistogram("kiln_latency_seconds", "Latency.", {0.1, 1, 2.5}, {"route"});
  auto& h = latency.Labels({"/a"});
  for (double v : {0.05, 0.1, 0.7, 3.0}) h.Observe(v);
  EXPECT_EQ(registry.Render(),
            "# HELP kiln_latency_seconds Latency.\n"
            "# TYPE kiln_latency_seconds histogram\n"
            "kiln_latency_seconds_bucket{route=\"/a\",le=\"0.1\"} 2\n"
            "kiln_latency_seconds_bucket{route=\"/a\",le=\"1\"} 3\n"
            "kiln_latency_seconds_bucket{route=\"/a\",le=\"2.5\"} 3\n"
            "kiln_latency_seconds_bucket{route=\"/a\",le=\"+Inf\"} 4\n"
            "kiln_latency_seconds_sum{route=\"/a\"} 3.85\n"
            "kiln_latency_seconds_count{route=\"/a\"} 4\n");
  MetricsRegistry plain;
  plain.AddHistogram("t", "T.", {1}).Get().Observe(2);
  EXPECT_EQ(plain.Render(),
            "# HELP t T.\n# TYPE t histogram\nt_bucket{le=\"1\"} 0\nt_bucket{le=\"+Inf\"} 1\n"
            "t_sum 2\nt_count 1\n");
}

TEST(MetricsTest, ReRegisteringReturnsTheSameFamilyAndClashesThrow) {
  MetricsRegistry registry;
  auto& a = registry.AddCounter("c_total", "C.", {"x"});
  EXPECT_EQ(&a, &registry.AddCounter("c_total", "C.", {"x"}));
  EXPECT_THROW(registry.AddGauge("c_total", "C."), kiln::Error);
  EXPECT_THROW(registry.AddCounter("c_total", "C.", {"y"}), kiln::Error);
  EXPECT_THROW(registry.AddCounter("bad-name", "B."), kiln::Error);
  EXPECT_THROW(registry.AddCounter("1abc", "B."), kiln::Error);
  EXPECT_THROW(registry.AddCounter("ok", "B.", {"__reserved"}), kiln::Error);
  EXPECT_THROW(registry.AddHistogram("h", "H.", {2, 1}), kiln::Error);
  EXPECT_THROW(registry.AddHistogram("h2", "H.", {1}, {"le"}), kiln::Error);
  EXPECT_THROW(a.Labels({"1", "2"}), kiln::Error);
  EXPECT_THROW(a.Labels({"1"}).Inc(-1), kiln::Error);
}

TEST(MetricsTest, ConcurrentUpdatesAreNotLost) {
  MetricsRegistry registry;
  auto& counter = registry.AddCounter("n_total", "N.", {"t"});
  auto& histogram = registry.AddHistogram("h", "H.", {0.5});
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10000; ++i) {
        counter.Labels({std::to_string(t % 2)}).Inc();
        histogram.Get().Observe(i % 2 == 0 ? 0.25 : 1.0);
        if (i % 1000 == 0) registry.Render();
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(counter.Labels({"0"}).Value() + counter.Labels({"1"}).Value(), 80000);
  auto snap = histogram.Get().Read();
  EXPECT_EQ(snap.count, 80000u);
  EXPECT_EQ(snap.cumulative[0], 40000u);
}

TEST(MetricsTest, CollectHooksRunBeforeRender) {
  MetricsRegistry registry;
  auto& gauge = registry.AddGauge("kv_blocks_free", "Free KV blocks.").Get();
  int calls = 0;
  registry.AddCollectHook([&] { gauge.Set(++calls * 10); });
  EXPECT_NE(registry.Render().find("kv_blocks_free 10\n"), std::string::npos);
  EXPECT_NE(registry.Render().find("kv_blocks_free 20\n"), std::string::npos);
}

}  // namespace
}  // namespace kiln::server
