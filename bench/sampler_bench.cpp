// Per-token cost of sampling on a Llama-3-sized vocabulary (128256 entries). One iteration is one
// token: Sample() (and, where named, the logprobs) over fresh logits.
#include <benchmark/benchmark.h>

#include <random>
#include <vector>

#include "kiln/engine/logprobs.h"
#include "kiln/engine/sampler.h"

namespace kiln::engine {
namespace {

constexpr int32_t kVocab = 128256;

// Logits shaped like a language model's: a broad mass of unlikely tokens (normal, sd 1.5) and
// 20 plausible ones far above them, so that a few tokens hold most of the probability. `flat`
// lifts them less, so the background holds most of it and top_p 0.95 keeps ~40k tokens: the
// worst case for nucleus sampling over the whole vocabulary. A few different vectors, so that
// branch predictors cannot learn one.
const std::vector<std::vector<float>>& Logits(bool flat = false) {
  auto make = [](float boost_low, float boost_high) {
    std::mt19937 rng(1);
    std::normal_distribution<float> background(0.0f, 1.5f);
    std::uniform_int_distribution<int32_t> token(0, kVocab - 1);
    std::uniform_real_distribution<float> boost(boost_low, boost_high);
    std::vector<std::vector<float>> out(4, std::vector<float>(kVocab));
    for (auto& v : out) {
      for (float& x : v) x = background(rng);
      for (int i = 0; i < 20; ++i) v[static_cast<size_t>(token(rng))] += boost(rng);
    }
    return out;
  };
  static const std::vector<std::vector<float>> peaked = make(12.0f, 18.0f);
  static const std::vector<std::vector<float>> flat_logits = make(6.0f, 12.0f);
  return flat ? flat_logits : peaked;
}

// A 2048-token prompt and a generated part that grows by one token per iteration (starting
// over every 8192 tokens), as in a real decode.
void RunSampler(benchmark::State& state, const SamplingParams& params, bool flat = false) {
  std::mt19937 rng(2);
  std::uniform_int_distribution<int32_t> token(0, kVocab - 1);
  std::vector<int32_t> prompt(2048);
  for (auto& t : prompt) t = token(rng);
  std::vector<int32_t> generated(8192);
  for (auto& t : generated) t = token(rng);

  Sampler sampler(params, kVocab, 42);
  const auto& logits = Logits(flat);
  size_t step = 0;
  for (auto _ : state) {
    const std::span<const int32_t> so_far(generated.data(), step % generated.size());
    benchmark::DoNotOptimize(sampler.Sample(logits[step % logits.size()], {prompt, so_far}));
    ++step;
  }
  state.SetItemsProcessed(state.iterations());
}

SamplingParams Greedy() {
  SamplingParams p;
  p.temperature = 0.0f;
  return p;
}

SamplingParams TopKTopP() {
  SamplingParams p;
  p.top_k = 40;
  p.top_p = 0.95f;
  p.temperature = 0.8f;
  return p;
}

SamplingParams WithPenalties(SamplingParams p) {
  p.repetition_penalty = 1.1f;
  p.presence_penalty = 0.5f;
  p.frequency_penalty = 0.5f;
  return p;
}

void BM_Greedy(benchmark::State& state) {
  RunSampler(state, Greedy());
}
void BM_TopK40TopP95Temp08(benchmark::State& state) {
  RunSampler(state, TopKTopP());
}
void BM_TopK40TopP95Temp08Penalties(benchmark::State& state) {
  RunSampler(state, WithPenalties(TopKTopP()));
}
void BM_GreedyPenalties(benchmark::State& state) {
  RunSampler(state, WithPenalties(Greedy()));
}

// Without top_k the whole vocabulary is in play: softmax over 128k and a partial sort for top_p.
void BM_FullVocabTemp1(benchmark::State& state) {
  RunSampler(state, SamplingParams{});
}
void BM_FullVocabTopP95(benchmark::State& state) {
  SamplingParams p;
  p.top_p = 0.95f;
  RunSampler(state, p);
}
void BM_FullVocabTopP95Flat(benchmark::State& state) {
  SamplingParams p;
  p.top_p = 0.95f;
  RunSampler(state, p, /*flat=*/true);
}
void BM_FullVocabMinP05(benchmark::State& state) {
  SamplingParams p;
  p.min_p = 0.05f;
  RunSampler(state, p);
}

void BM_Logprobs(benchmark::State& state) {
  LogprobCalculator calculator;
  TokenLogprobs out;
  const auto& logits = Logits();
  size_t step = 0;
  for (auto _ : state) {
    calculator.Compute(logits[step % logits.size()], 7, static_cast<int32_t>(state.range(0)), out);
    benchmark::DoNotOptimize(out.chosen.logprob);
    ++step;
  }
  state.SetItemsProcessed(state.iterations());
}

BENCHMARK(BM_Greedy)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_GreedyPenalties)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_TopK40TopP95Temp08)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_TopK40TopP95Temp08Penalties)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_FullVocabTemp1)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_FullVocabTopP95)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_FullVocabTopP95Flat)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_FullVocabMinP05)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Logprobs)->Arg(0)->Arg(20)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace kiln::engine
