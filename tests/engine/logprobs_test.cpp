#include "kiln/engine/logprobs.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "kiln/base/error.h"

namespace kiln::engine {
namespace {

// Float64 throughout, the textbook formula.
std::vector<double> ReferenceLogSoftmax(const std::vector<float>& logits) {
  double max = -std::numeric_limits<double>::infinity();
  for (float l : logits) max = std::max(max, static_cast<double>(l));
  double total = 0;
  for (float l : logits) total += std::exp(static_cast<double>(l) - max);
  std::vector<double> out;
  for (float l : logits) out.push_back(static_cast<double>(l) - max - std::log(total));
  return out;
}

TEST(LogprobsTest, MatchesFloat64ReferenceEvenForHugeLogits) {
  std::mt19937 rng(21);
  std::normal_distribution<float> normal(0.0f, 4.0f);
  LogprobCalculator calculator;
  TokenLogprobs out;
  for (float offset : {0.0f, 1000.0f, -5000.0f, 30000.0f}) {  // exp(30000) overflows naively
    std::vector<float> logits(50000);
    for (float& l : logits) l = offset + normal(rng);
    const std::vector<double> reference = ReferenceLogSoftmax(logits);
    for (int32_t chosen : {0, 123, 49999}) {
      calculator.Compute(logits, chosen, 5, out);
      EXPECT_EQ(out.chosen.token, chosen);
      // The float result itself carries a relative rounding error of 6e-8.
      const double want = reference[static_cast<size_t>(chosen)];
      EXPECT_NEAR(out.chosen.logprob, want, 1e-6 * std::max(1.0, std::fabs(want)))
          << "offset " << offset;
    }
    // The probabilities sum to one.
    double sum = 0;
    const double log_total = calculator.LogSumExp(logits);
    for (float l : logits) sum += std::exp(static_cast<double>(l) - log_total);
    EXPECT_NEAR(sum, 1.0, 1e-6);
  }
}

TEST(LogprobsTest, TopAlternativesAreTheMostLikelyInOrder) {
  std::mt19937 rng(22);
  std::uniform_int_distribution<int> level(0, 30);
  std::vector<float> logits(2000);
  for (float& l : logits) l = static_cast<float>(level(rng)) * 0.5f;  // many ties
  const std::vector<double> reference = ReferenceLogSoftmax(logits);
  std::vector<int32_t> order(logits.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int32_t>(i);
  std::stable_sort(order.begin(), order.end(), [&](int32_t a, int32_t b) {
    return logits[static_cast<size_t>(a)] > logits[static_cast<size_t>(b)];
  });

  LogprobCalculator calculator;
  TokenLogprobs out;
  calculator.Compute(logits, 7, 20, out);
  ASSERT_EQ(out.top.size(), 20u);
  for (size_t i = 0; i < 20; ++i) {
    EXPECT_EQ(out.top[i].token, order[i]) << i;
    EXPECT_NEAR(out.top[i].logprob, reference[static_cast<size_t>(order[i])], 1e-6);
  }
  calculator.Compute(logits, 7, 0, out);
  EXPECT_TRUE(out.top.empty());
}

TEST(LogprobsTest, MaskedTokensHaveMinusInfinity) {
  const float inf = std::numeric_limits<float>::infinity();
  const std::vector<float> logits = {-inf, 0.0f, 0.0f, -inf};
  LogprobCalculator calculator;
  TokenLogprobs out;
  calculator.Compute(logits, 0, 2, out);
  EXPECT_EQ(out.chosen.logprob, -inf);
  ASSERT_EQ(out.top.size(), 2u);
  EXPECT_EQ(out.top[0].token, 1);
  EXPECT_NEAR(out.top[0].logprob, std::log(0.5), 1e-7);
}

TEST(LogprobsTest, RejectsBadInput) {
  const float inf = std::numeric_limits<float>::infinity();
  LogprobCalculator calculator;
  TokenLogprobs out;
  EXPECT_THROW(calculator.Compute(std::vector<float>{1, 2}, 2, 0, out), Error);
  EXPECT_THROW(calculator.Compute(std::vector<float>{1, 2}, -1, 0, out), Error);
  EXPECT_THROW(calculator.Compute(std::vector<float>{-inf, -inf}, 0, 0, out), Error);
  EXPECT_THROW(calculator.Compute(std::vector<float>{1, inf}, 0, 0, out), Error);
}

}  // namespace
}  // namespace kiln::engine
