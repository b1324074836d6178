// ApiMetrics: what the API layer reports on /metrics, per served model: requests, tokens,
// end-to-end latency and time-to-first-token histograms, and gauges copied from each engine's
// Stats() (queues, sequences, KV-cache blocks, prefix-cache hit rate) just before every scrape.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "kiln/engine/engine.h"
#include "kiln/server/metrics.h"

namespace kiln::server::api {

class ServedModel;

class ApiMetrics {
 public:
  // Registers the families on `registry` and a collect hook reading the models' engines; both
  // must outlive this object's use by the registry.
  ApiMetrics(MetricsRegistry& registry, const std::vector<ServedModel*>& models);

  void RequestStarted(std::string_view model, std::string_view endpoint);
  // A request answered (successfully or not) after `seconds`, having used `usage`.
  void RequestFinished(std::string_view model, std::string_view endpoint,
                       const engine::Usage& usage, double seconds);
  void FirstToken(std::string_view model, double seconds);

 private:
  CounterFamily& requests_;
  GaugeFamily& in_flight_;
  CounterFamily& prompt_tokens_;
  CounterFamily& cached_prompt_tokens_;
  CounterFamily& generation_tokens_;
  HistogramFamily& duration_;
  HistogramFamily& ttft_;
};

}  // namespace kiln::server::api
