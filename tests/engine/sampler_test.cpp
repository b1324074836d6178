#include "kiln/engine/sampler.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <set>
#include <vector>

#include "kiln/base/error.h"

namespace kiln::engine {
namespace {

std::vector<float> RandomLogits(size_t n, std::mt19937& rng, float scale = 3.0f) {
  std::normal_distribution<float> normal(0.0f, scale);
  std::vector<float> v(n);
  for (float& x : v) x = normal(rng);
  return v;
}

int32_t ReferenceArgMax(const std::vector<float>& v) {
  return static_cast<int32_t>(std::max_element(v.begin(), v.end()) - v.begin());
}

std::vector<double> Softmax(const std::vector<float>& logits, double temperature) {
  const double max = *std::max_element(logits.begin(), logits.end());
  std::vector<double> p;
  double total = 0;
  for (float l : logits) total += std::exp((l - max) / temperature);
  for (float l : logits) p.push_back(std::exp((l - max) / temperature) / total);
  return p;
}

std::vector<int> Histogram(Sampler& sampler, const std::vector<float>& logits, int draws) {
  std::vector<int> counts(logits.size(), 0);
  for (int i = 0; i < draws; ++i) ++counts[static_cast<size_t>(sampler.Sample(logits))];
  return counts;
}

double ChiSquare(const std::vector<int>& observed, const std::vector<double>& expected_p) {
  double total = 0;
  for (int o : observed) total += o;
  double chi2 = 0;
  for (size_t i = 0; i < observed.size(); ++i) {
    const double e = expected_p[i] * total;
    if (e == 0) {
      if (observed[i] != 0) return std::numeric_limits<double>::infinity();
      continue;
    }
    chi2 += (observed[i] - e) * (observed[i] - e) / e;
  }
  return chi2;
}

SamplingParams Params(float temperature) {
  SamplingParams p;
  p.temperature = temperature;
  return p;
}

TEST(SamplerTest, GreedyIsArgMaxWithLowestIdOnTies) {
  std::mt19937 rng(1);
  for (size_t n : {2u, 100u, 32000u}) {
    Sampler sampler(Params(0.0f), static_cast<int32_t>(n), 1);
    for (int trial = 0; trial < 20; ++trial) {
      const std::vector<float> logits = RandomLogits(n, rng);
      ASSERT_EQ(sampler.Sample(logits), ReferenceArgMax(logits));
    }
  }
  Sampler sampler(Params(0.0f), 4, 1);
  EXPECT_EQ(sampler.Sample(std::vector<float>{1, 5, 2, 5}), 1);
}

TEST(SamplerTest, TopK1IsGreedyAtAnyTemperature) {
  std::mt19937 rng(2);
  SamplingParams params = Params(2.0f);
  params.top_k = 1;
  Sampler sampler(params, 1000, 99);
  for (int trial = 0; trial < 200; ++trial) {
    const std::vector<float> logits = RandomLogits(1000, rng, 0.1f);  // nearly flat
    ASSERT_EQ(sampler.Sample(logits), ReferenceArgMax(logits));
  }
}

TEST(SamplerTest, TinyTemperatureApproachesGreedy) {
  std::mt19937 rng(3);
  for (float t : {1e-3f, 1e-6f, 1e-30f}) {
    Sampler sampler(Params(t), 500, 7);
    for (int trial = 0; trial < 100; ++trial) {
      std::vector<float> logits = RandomLogits(500, rng);
      logits[static_cast<size_t>(ReferenceArgMax(logits))] += 0.5f;  // a clear winner
      ASSERT_EQ(sampler.Sample(logits), ReferenceArgMax(logits)) << "T=" << t;
    }
  }
}

TEST(SamplerTest, DrawsFollowTheTemperedSoftmax) {
  const std::vector<float> logits = {1.0f, 0.2f, -0.5f, 2.0f, 0.0f, 1.5f, -1.0f, 0.7f};
  const int kDraws = 100000;
  Sampler sampler(Params(0.7f), 8, 1234);
  const std::vector<int> counts = Histogram(sampler, logits, kDraws);
  // 7 degrees of freedom: P(chi2 > 24.3) = 0.001.
  EXPECT_LT(ChiSquare(counts, Softmax(logits, 0.7)), 24.3);
  // The test has teeth: the same counts are far from the temperature-1 distribution.
  EXPECT_GT(ChiSquare(counts, Softmax(logits, 1.0)), 1000.0);
}

TEST(SamplerTest, DrawsFollowTheSoftmaxOverAWiderVocabulary) {
  // 300 tokens span several 64-token blocks of the weighted draw.
  std::mt19937 rng(12);
  const std::vector<float> logits = RandomLogits(300, rng, 1.0f);
  Sampler sampler(Params(1.0f), 300, 99);
  const std::vector<int> counts = Histogram(sampler, logits, 60000);
  // 299 degrees of freedom: mean 299, standard deviation 24.5; 420 is five deviations out.
  EXPECT_LT(ChiSquare(counts, Softmax(logits, 1.0)), 420.0);
  EXPECT_GT(ChiSquare(counts, Softmax(logits, 1.2)), 1000.0);  // a 20% temperature error shows
}

TEST(SamplerTest, TopKRenormalisesOverTheKBest) {
  const std::vector<float> logits = {1.0f, 0.2f, -0.5f, 2.0f, 0.0f, 1.5f, -1.0f, 0.7f};
  SamplingParams params = Params(1.3f);
  params.top_k = 3;  // tokens 3, 5, 0
  Sampler sampler(params, 8, 77);
  const std::vector<int> counts = Histogram(sampler, logits, 60000);
  std::vector<double> expected(8, 0.0);
  const std::vector<double> top3 = Softmax({logits[3], logits[5], logits[0]}, 1.3);
  expected[3] = top3[0];
  expected[5] = top3[1];
  expected[0] = top3[2];
  EXPECT_LT(ChiSquare(counts, expected), 13.8);  // 2 df, P = 0.001
}

TEST(SamplerTest, TopPSamplesOnlyTheNucleusInProportion) {
  // Probabilities 0.5, 0.25, 0.125, 0.125: top_p 0.7 keeps {0, 1}, drawn 2:1.
  const std::vector<float> logits = {std::log(0.5f), std::log(0.25f), std::log(0.125f),
                                     std::log(0.125f)};
  SamplingParams params = Params(1.0f);
  params.top_p = 0.7f;
  Sampler sampler(params, 4, 5);
  const std::vector<int> counts = Histogram(sampler, logits, 30000);
  EXPECT_LT(ChiSquare(counts, {2.0 / 3, 1.0 / 3, 0, 0}), 10.8);  // 1 df, P = 0.001
}

// A flat vocabulary puts the nucleus far beyond the best 64 tokens, so the sampler cuts the whole
// vocabulary in place instead of listing candidates.
TEST(SamplerTest, TopPOverAFlatVocabularySamplesExactlyTheNucleus) {
  std::mt19937 rng(13);
  const std::vector<float> logits = RandomLogits(3000, rng, 0.5f);
  std::vector<int32_t> order(logits.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int32_t>(i);
  std::sort(order.begin(), order.end(), [&](int32_t a, int32_t b) {
    return logits[static_cast<size_t>(a)] > logits[static_cast<size_t>(b)];
  });
  const std::vector<double> p = Softmax(logits, 1.0);
  std::vector<double> nucleus(logits.size(), 0.0);
  double mass = 0;
  size_t size = 0;
  while (mass < 0.3) {
    const auto id = static_cast<size_t>(order[size++]);
    nucleus[id] = p[id];
    mass += p[id];
  }
  ASSERT_GT(size, 200u);
  for (double& x : nucleus) x /= mass;

  SamplingParams params = Params(1.0f);
  params.top_p = 0.3f;
  Sampler sampler(params, 3000, 21);
  const std::vector<int> counts = Histogram(sampler, logits, 30000);
  int outside = 0;
  for (size_t i = 0; i < counts.size(); ++i) outside += nucleus[i] == 0 ? counts[i] : 0;
  EXPECT_EQ(outside, 0);
  // size - 1 degrees of freedom; five standard deviations above the mean.
  const double df = static_cast<double>(size - 1);
  EXPECT_LT(ChiSquare(counts, nucleus), df + 5 * std::sqrt(2 * df));

  // min_p after the cut narrows it further: only tokens within log(0.9) of the best remain.
  params.min_p = 0.9f;
  Sampler narrower(params, 3000, 21);
  const float best = logits[static_cast<size_t>(order[0])];
  for (int i = 0; i < 2000; ++i) {
    const int32_t id = narrower.Sample(logits);
    ASSERT_GE(logits[static_cast<size_t>(id)], best + std::log(0.9f));
  }
}

TEST(SamplerTest, MinPAndTypicalRestrictTheSupport) {
  const std::vector<float> logits = {std::log(0.4f), std::log(0.15f), std::log(0.15f),
                                     std::log(0.15f), std::log(0.15f)};
  SamplingParams min_p = Params(1.0f);
  min_p.min_p = 0.5f;  // 0.15 < 0.2: only token 0
  Sampler a(min_p, 5, 5);
  const std::vector<int> only_best = Histogram(a, logits, 2000);
  EXPECT_EQ(only_best[0], 2000);

  SamplingParams typical = Params(1.0f);
  typical.typical_p = 0.5f;  // the four 0.15 tokens, never token 0
  Sampler b(typical, 5, 5);
  const std::vector<int> counts = Histogram(b, logits, 20000);
  EXPECT_EQ(counts[0], 0);
  EXPECT_LT(ChiSquare(counts, {0, 0.25, 0.25, 0.25, 0.25}), 16.3);  // 3 df, P = 0.001
}

TEST(SamplerTest, TruncationsComposeInOrder) {
  // top_k 6 -> top_p 0.8 -> min_p 0.4 over a vocabulary of 300: every draw must lie in the set a
  // direct computation gives, and every member of that set must show up.
  std::mt19937 rng(9);
  std::vector<float> logits = RandomLogits(300, rng, 0.5f);
  for (float& l : logits) l = std::min(l - 3.0f, 0.2f);
  const std::vector<int32_t> best = {17, 250, 3, 99, 160, 41};
  const std::vector<float> best_logits = {2.0f, 1.8f, 1.5f, 1.0f, 0.9f, 0.3f};
  for (size_t i = 0; i < best.size(); ++i) logits[static_cast<size_t>(best[i])] = best_logits[i];
  // p over the six: .302 .247 .183 .111 .101 .055; the nucleus is the first four (.844), and
  // min_p 0.4 then drops the fourth (.111 / .302 = 0.37).
  const std::vector<double> p = Softmax(best_logits, 1.0);
  std::set<int32_t> expected;
  double cumulative = 0;
  for (size_t i = 0; i < best.size() && cumulative < 0.8; ++i) {
    cumulative += p[i];
    if (p[i] >= 0.4 * p[0]) expected.insert(best[i]);
  }
  ASSERT_EQ(expected, (std::set<int32_t>{17, 250, 3}));

  SamplingParams params = Params(0.9f);
  params.top_k = 6;
  params.top_p = 0.8f;
  params.min_p = 0.4f;
  Sampler sampler(params, 300, 11);
  std::set<int32_t> seen;
  for (int i = 0; i < 5000; ++i) seen.insert(sampler.Sample(logits));
  EXPECT_EQ(seen, expected);
}

TEST(SamplerTest, SameSeedSameTokensDifferentSeedDifferentTokens) {
  std::mt19937 rng(4);
  std::vector<std::vector<float>> steps;
  for (int i = 0; i < 100; ++i) steps.push_back(RandomLogits(256, rng, 1.0f));
  SamplingParams params = Params(1.0f);
  params.top_k = 50;
  params.top_p = 0.9f;
  auto run = [&](uint64_t seed) {
    Sampler sampler(params, 256, seed);
    std::vector<int32_t> out;
    for (const auto& logits : steps) out.push_back(sampler.Sample(logits));
    return out;
  };
  EXPECT_EQ(run(42), run(42));
  EXPECT_NE(run(42), run(43));
  EXPECT_NE(run(0), run(1));
}

TEST(SamplerTest, ASequenceIgnoresWhatElseIsInTheBatch) {
  std::mt19937 rng(8);
  std::vector<std::vector<float>> steps;
  for (int i = 0; i < 50; ++i) steps.push_back(RandomLogits(128, rng, 1.0f));
  const SamplingParams params = Params(0.8f);

  Sampler alone(params, 128, 2024);
  std::vector<int32_t> expected;
  for (const auto& logits : steps) expected.push_back(alone.Sample(logits));

  // The same request batched with two others that sample in between, with other logits.
  Sampler mine(params, 128, 2024);
  Sampler other1(params, 128, 2024);
  Sampler other2(Params(1.5f), 128, 1);
  std::vector<int32_t> got;
  for (size_t i = 0; i < steps.size(); ++i) {
    other1.Sample(steps[(i + 7) % steps.size()]);
    got.push_back(mine.Sample(steps[i]));
    other2.Sample(steps[(i + 3) % steps.size()]);
    other2.Sample(steps[(i + 5) % steps.size()]);
  }
  EXPECT_EQ(got, expected);
}

TEST(SamplerTest, LogitBiasBansAndForcesTokens) {
  const std::vector<float> logits = {0.0f, 0.5f, 8.0f, 0.2f, -0.3f};
  SamplingParams ban = Params(1.0f);
  ban.logit_bias = {{2, -100.0f}};
  Sampler sampler(ban, 5, 3);
  const std::vector<int> counts = Histogram(sampler, logits, 5000);
  EXPECT_EQ(counts[2], 0);
  EXPECT_GT(counts[1], 0);

  ban.temperature = 0.0f;
  Sampler greedy(ban, 5, 3);
  EXPECT_EQ(greedy.Sample(logits), 1);

  SamplingParams force = Params(1.0f);
  force.logit_bias = {{4, 100.0f}};
  Sampler forced(force, 5, 3);
  EXPECT_EQ(Histogram(forced, logits, 1000)[4], 1000);
}

TEST(SamplerTest, PenaltiesSteerGreedyDecoding) {
  const std::vector<float> logits = {3.0f, 2.5f, 1.0f};
  SamplingParams params = Params(0.0f);
  params.repetition_penalty = 1.3f;  // 3 / 1.3 = 2.31 < 2.5
  Sampler sampler(params, 3, 0);
  const std::vector<int32_t> prompt = {0};
  EXPECT_EQ(sampler.Sample(logits, {prompt, {}}), 1);

  SamplingParams frequency = Params(0.0f);
  frequency.frequency_penalty = 0.3f;
  Sampler f(frequency, 3, 0);
  std::vector<int32_t> generated;
  std::vector<int32_t> picks;
  for (int i = 0; i < 4; ++i) {
    generated.push_back(f.Sample(logits, {{}, generated}));
    picks.push_back(generated.back());
  }
  // 0 (3.0), 0 (2.7 > 2.5), 1 (2.4 < 2.5), 0 (2.4 vs 2.2).
  EXPECT_EQ(picks, (std::vector<int32_t>{0, 0, 1, 0}));
}

TEST(SamplerTest, RejectsBadInput) {
  EXPECT_THROW(Sampler(Params(3.0f), 10, 0), Error);
  Sampler sampler(Params(1.0f), 4, 0);
  EXPECT_THROW(sampler.Sample(std::vector<float>{1, 2, 3}), Error);
  const float inf = std::numeric_limits<float>::infinity();
  EXPECT_THROW(sampler.Sample(std::vector<float>{-inf, -inf, -inf, -inf}), Error);
  EXPECT_THROW(sampler.Sample(std::vector<float>(4, std::nanf(""))), Error);
  Sampler greedy(Params(0.0f), 4, 0);
  EXPECT_THROW(greedy.Sample(std::vector<float>{-inf, -inf, -inf, -inf}), Error);
  // A NaN among finite logits is never chosen.
  EXPECT_EQ(greedy.Sample(std::vector<float>{std::nanf(""), 1, 2, 0}), 2);
}

TEST(SamplerTest, Seeds) {
  SamplingParams params;
  params.seed = 17;
  EXPECT_EQ(ResolveSeed(params), 17u);
  params.seed.reset();
  EXPECT_NE(ResolveSeed(params), ResolveSeed(params));  // fails with probability 2^-64
  EXPECT_EQ(SequenceSeed(17, 0), 17u);
  std::set<uint64_t> seeds;
  for (uint32_t i = 0; i < 100; ++i) seeds.insert(SequenceSeed(17, i));
  EXPECT_EQ(seeds.size(), 100u);
  Sampler sampler(Params(1.0f), 4, 17);
  EXPECT_EQ(sampler.seed(), 17u);
  sampler.Sample(std::vector<float>{1, 2, 3, 4});
  EXPECT_EQ(sampler.steps(), 1u);
}

}  // namespace
}  // namespace kiln::engine
