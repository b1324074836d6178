// Sampling allocates nothing per token once its buffers have grown: counted by replacing the
// global operator new in this test binary (its own executable, so no other test is affected).
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <random>
#include <vector>

#include "kiln/engine/logprobs.h"
#include "kiln/engine/sampler.h"

namespace {
std::atomic<long> allocations{0};
}  // namespace

void* operator new(std::size_t size) {
  allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
// Both replaced, so that sanitizers see matching malloc/free. GCC cannot tell that this new and
// this delete belong together.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}

namespace kiln::engine {
namespace {

constexpr int32_t kVocab = 5000;

struct Config {
  const char* name;
  SamplingParams params;
};

std::vector<Config> Configs() {
  std::vector<Config> configs;
  auto add = [&](const char* name, auto change) {
    SamplingParams p;
    change(p);
    configs.push_back({name, p});
  };
  add("greedy", [](SamplingParams& p) { p.temperature = 0.0f; });
  add("full vocabulary", [](SamplingParams&) {});
  add("top_k top_p", [](SamplingParams& p) {
    p.top_k = 40;
    p.top_p = 0.9f;
    p.temperature = 0.8f;
  });
  add("flat top_p", [](SamplingParams& p) { p.top_p = 0.9f; });
  add("top_p min_p", [](SamplingParams& p) {
    p.top_p = 0.9f;
    p.min_p = 0.5f;
  });
  add("typical", [](SamplingParams& p) { p.typical_p = 0.8f; });
  add("penalties and bias", [](SamplingParams& p) {
    p.repetition_penalty = 1.2f;
    p.repetition_penalty_window = 64;
    p.presence_penalty = 0.5f;
    p.frequency_penalty = 0.3f;
    p.logit_bias = {{3, -100.0f}, {7, 2.0f}};
  });
  return configs;
}

TEST(SamplerAllocationTest, SteadyStateSamplingAllocatesNothing) {
  std::mt19937 rng(1);
  std::normal_distribution<float> normal(0.0f, 1.0f);  // flat: nuclei of thousands of tokens
  std::vector<std::vector<float>> logits(8, std::vector<float>(kVocab));
  for (auto& v : logits) {
    for (float& x : v) x = normal(rng);
  }
  std::vector<int32_t> prompt(300);
  for (auto& t : prompt) t = static_cast<int32_t>(rng() % 50);
  std::vector<int32_t> generated;
  generated.reserve(4000);
  for (const Config& config : Configs()) {
    Sampler sampler(config.params, kVocab, 7);
    generated.clear();
    auto step = [&](size_t i) {
      const int32_t token = sampler.Sample(logits[i % logits.size()], {prompt, generated});
      generated.push_back(token % 50);  // keep the set of distinct tokens bounded
    };
    for (size_t i = 0; i < 500; ++i) step(i);  // buffers reach their working size
    const long before = allocations.load();
    for (size_t i = 500; i < 700; ++i) step(i);
    EXPECT_EQ(allocations.load() - before, 0) << config.name;
  }
}

TEST(SamplerAllocationTest, LogprobsAllocateNothingOnceWarm) {
  std::mt19937 rng(2);
  std::normal_distribution<float> normal(0.0f, 2.0f);
  std::vector<float> logits(kVocab);
  for (float& x : logits) x = normal(rng);
  LogprobCalculator calculator;
  TokenLogprobs out;
  calculator.Compute(logits, 1, 20, out);
  const long before = allocations.load();
  for (int32_t i = 0; i < 100; ++i) calculator.Compute(logits, i, 20, out);
  EXPECT_EQ(allocations.load() - before, 0);
}

}  // namespace
}  // namespace kiln::engine
