#include "kiln/server/api/api_metrics.h"

#include "kiln/server/api/served_model.h"

namespace kiln::server::api {
namespace {

std::vector<double> TtftBuckets() {
  return {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
}

// Engine::Stats() as gauges, one label per model.
void AddEngineGauges(MetricsRegistry& registry, const std::vector<ServedModel*>& models) {
  struct G {
    GaugeFamily* family;
    double (*read)(const engine::EngineStats&);
  };
  const std::vector<std::string> labels = {"model"};
  std::vector<G> gauges = {
      {&registry.AddGauge("kiln_engine_running_requests", "Requests with sequences decoding",
                          labels),
       [](const engine::EngineStats& s) { return double(s.running_requests); }},
      {&registry.AddGauge("kiln_engine_waiting_requests", "Requests queued for admission", labels),
       [](const engine::EngineStats& s) { return double(s.waiting_requests); }},
      {&registry.AddGauge("kiln_engine_running_sequences", "Sequences decoding (n counts n)",
                          labels),
       [](const engine::EngineStats& s) { return double(s.running_sequences); }},
      {&registry.AddGauge("kiln_kv_cache_blocks_total", "KV-cache blocks in the pool", labels),
       [](const engine::EngineStats& s) { return double(s.kv_blocks_total); }},
      {&registry.AddGauge("kiln_kv_cache_blocks_used", "KV-cache blocks held by running sequences",
                          labels),
       [](const engine::EngineStats& s) { return double(s.kv_blocks_used); }},
      {&registry.AddGauge("kiln_kv_cache_blocks_cached",
                          "Free KV-cache blocks holding reusable prefix-cache contents", labels),
       [](const engine::EngineStats& s) { return double(s.kv_blocks_cached); }},
      {&registry.AddGauge("kiln_kv_cache_blocks_free", "KV-cache blocks not held (cached included)",
                          labels),
       [](const engine::EngineStats& s) { return double(s.kv_blocks_free); }},
      {&registry.AddGauge("kiln_kv_cache_usage_ratio", "Share of KV-cache blocks held", labels),
       [](const engine::EngineStats& s) {
         return s.kv_blocks_total ? double(s.kv_blocks_used) / s.kv_blocks_total : 0.0;
       }},
      {&registry.AddGauge("kiln_prefix_cache_hit_rate",
                          "Share of submitted prompt tokens served from the prefix cache", labels),
       [](const engine::EngineStats& s) { return s.prefix_cache_hit_rate(); }},
      {&registry.AddGauge("kiln_engine_preemptions", "Sequences preempted since start", labels),
       [](const engine::EngineStats& s) { return double(s.preemptions); }},
      {&registry.AddGauge("kiln_engine_steps", "Scheduler steps since start", labels),
       [](const engine::EngineStats& s) { return double(s.steps); }},
      {&registry.AddGauge("kiln_engine_step_seconds_sum", "Time spent in scheduler steps", labels),
       [](const engine::EngineStats& s) { return s.step_seconds_sum; }},
  };
  registry.AddCollectHook([models, gauges] {
    for (ServedModel* model : models) {
      const engine::EngineStats stats = model->engine().Stats();
      for (const G& g : gauges) g.family->Labels({model->id()}).Set(g.read(stats));
    }
  });
}

}  // namespace

ApiMetrics::ApiMetrics(MetricsRegistry& registry, const std::vector<ServedModel*>& models)
    : requests_(registry.AddCounter("kiln_requests_total", "API requests received",
                                    {"model", "endpoint"})),
      in_flight_(registry.AddGauge("kiln_requests_in_flight", "API requests being answered",
                                   {"model", "endpoint"})),
      prompt_tokens_(registry.AddCounter("kiln_prompt_tokens_total",
                                         "Prompt tokens of answered "
                                         "requests",
                                         {"model"})),
      cached_prompt_tokens_(registry.AddCounter("kiln_cached_prompt_tokens_total",
                                                "Prompt tokens served from the prefix cache",
                                                {"model"})),
      generation_tokens_(
          registry.AddCounter("kiln_generation_tokens_total", "Tokens generated", {"model"})),
      duration_(registry.AddHistogram("kiln_request_duration_seconds",
                                      "Time from receiving an API request to its last byte",
                                      DefaultLatencyBuckets(), {"model", "endpoint"})),
      ttft_(registry.AddHistogram("kiln_time_to_first_token_seconds",
                                  "Time from submission to a request's first generated token",
                                  TtftBuckets(), {"model"})) {
  AddEngineGauges(registry, models);
  // Families show up on the first scrape with zero values, before any request.
  for (ServedModel* model : models) {
    prompt_tokens_.Labels({model->id()});
    generation_tokens_.Labels({model->id()});
    cached_prompt_tokens_.Labels({model->id()});
  }
}

void ApiMetrics::RequestStarted(std::string_view model, std::string_view endpoint) {
  const std::vector<std::string> labels = {std::string(model), std::string(endpoint)};
  requests_.Labels(labels).Inc();
  in_flight_.Labels(labels).Inc();
}

void ApiMetrics::RequestFinished(std::string_view model, std::string_view endpoint,
                                 const engine::Usage& usage, double seconds) {
  const std::string m(model);
  in_flight_.Labels({m, std::string(endpoint)}).Dec();
  duration_.Labels({m, std::string(endpoint)}).Observe(seconds);
  prompt_tokens_.Labels({m}).Inc(usage.prompt_tokens);
  cached_prompt_tokens_.Labels({m}).Inc(usage.cached_prompt_tokens);
  generation_tokens_.Labels({m}).Inc(usage.completion_tokens);
}

void ApiMetrics::FirstToken(std::string_view model, double seconds) {
  ttft_.Labels({std::string(model)}).Observe(seconds);
}

}  // namespace kiln::server::api
