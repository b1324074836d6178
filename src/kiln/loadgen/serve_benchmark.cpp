#include "kiln/loadgen/serve_benchmark.h"

#include <fmt/format.h>

#include "kiln/base/error.h"

namespace kiln::loadgen {
namespace {

void Say(const ServeBenchCallbacks& cb, const std::string& message) {
  if (cb.on_message) cb.on_message(message);
}

}  // namespace

BenchReport RunServeBenchmark(const ServeBenchOptions& o, const ServeBenchCallbacks& cb) {
  std::vector<LoadLevel> levels;
  for (double rate : o.request_rates) levels.push_back({.open_loop = true, .request_rate = rate});
  if (levels.empty()) {
    for (int c : o.concurrency) levels.push_back({.concurrency = c});
  }
  if (levels.empty()) Fail("give --concurrency or --request-rate levels");

  std::vector<BenchPrompt> prompts;
  std::string tokenizer = "none";
  if (o.dataset == "synthetic") {
    SyntheticOptions synthetic = o.synthetic;
    if (synthetic.count <= 0) {
      synthetic.count = o.run.max_requests > 0
                            ? static_cast<int>(std::min<std::int64_t>(o.run.max_requests, 4096))
                            : 256;
    }
    TokenCounter counter;
    if (o.use_server_tokenizer) {
      counter = ServerTokenCounter(o.run);
      tokenizer = counter ? "server /tokenize" : "words (0.75 per token; no /tokenize)";
    } else {
      tokenizer = "words (0.75 per token)";
    }
    Say(cb,
        fmt::format("building {} synthetic prompts, lengths from {}", synthetic.count, tokenizer));
    prompts = MakeSyntheticPrompts(synthetic, counter);
  } else {
    prompts = LoadJsonlPrompts(o.dataset, o.synthetic.output_len);
    Say(cb, fmt::format("read {} prompts from {}", prompts.size(), o.dataset));
  }

  BenchReport report;
  report.settings = {
      {"url", fmt::format("http://{}:{}{}", o.run.url.host, o.run.url.port, o.run.url.prefix)},
      {"model", o.run.model},
      {"endpoint", o.run.chat ? "/v1/chat/completions" : "/v1/completions"},
      {"dataset", o.dataset},
      {"prompts", prompts.size()},
      {"prompt_lengths_from", tokenizer},
      {"input_len", o.synthetic.input_len},
      {"output_len", o.synthetic.output_len},
      {"range_ratio", o.synthetic.range_ratio},
      {"shared_prefix_len", o.synthetic.shared_prefix_len},
      {"seed", o.synthetic.seed},
      {"requests_per_level", o.run.max_requests},
      {"duration_s_per_level", o.run.duration_s},
      {"ignore_eos", o.run.ignore_eos},
      {"slo_ttft_ms", o.slo.ttft_ms ? nlohmann::json(*o.slo.ttft_ms) : nlohmann::json()},
      {"slo_tpot_ms", o.slo.tpot_ms ? nlohmann::json(*o.slo.tpot_ms) : nlohmann::json()}};
  for (const LoadLevel& level : levels) {
    if (cb.on_level_start) cb.on_level_start(level);
    LevelResult result = RunLevel(o.run, level, prompts, o.slo, cb.on_progress);
    if (cb.on_level_done) cb.on_level_done(result);
    report.levels.push_back(std::move(result));
  }
  return report;
}

std::string ProgressBar(std::size_t done, std::size_t total, int width) {
  if (total == 0) return fmt::format("{} done", done);
  const auto filled = static_cast<int>(width * std::min(done, total) / total);
  return fmt::format("[{}{}] {:>{}}/{}", std::string(filled, '#'), std::string(width - filled, '.'),
                     done, std::to_string(total).size(), total);
}

}  // namespace kiln::loadgen
