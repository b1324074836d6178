#include "kiln/engine/softmax_weights.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

namespace kiln::engine {
namespace {

TEST(ExpNonPositiveTest, RelativeErrorBelow2e7AcrossTheRange) {
  double worst = 0;
  for (double x = 0.0; x >= -87.0; x -= 0.000731) {
    const float xf = static_cast<float>(x);
    const double want = std::exp(static_cast<double>(xf));
    worst = std::max(worst, std::fabs(ExpNonPositive(xf) - want) / want);
  }
  EXPECT_LT(worst, 2e-7);
  EXPECT_EQ(ExpNonPositive(0.0f), 1.0f);
}

TEST(ExpNonPositiveTest, UnderflowMinusInfinityAndNaNGiveZero) {
  EXPECT_EQ(ExpNonPositive(-87.5f), 0.0f);
  EXPECT_EQ(ExpNonPositive(-1e30f), 0.0f);
  EXPECT_EQ(ExpNonPositive(-std::numeric_limits<float>::infinity()), 0.0f);
  EXPECT_EQ(ExpNonPositive(std::numeric_limits<float>::quiet_NaN()), 0.0f);
  EXPECT_GT(ExpNonPositive(-86.9f), 0.0f);
}

TEST(SoftmaxWeightsTest, WeightsAndTotalMatchDoublePrecision) {
  std::mt19937 rng(4);
  std::normal_distribution<float> normal(0.0f, 3.0f);
  for (size_t n : {1u, 63u, 64u, 65u, 1000u}) {
    std::vector<float> logits(n);
    for (float& l : logits) l = normal(rng);
    const float max = *std::max_element(logits.begin(), logits.end());
    SoftmaxWeights weights;
    const double total = weights.Compute(logits, max, 0.7f);
    double want_total = 0;
    for (size_t i = 0; i < n; ++i) {
      // The exp itself against the float argument it was given ...
      const float argument = (logits[i] - max) * (1.0f / 0.7f);
      const double want = std::exp(static_cast<double>(argument));
      ASSERT_NEAR(weights.weights()[i], want, 2e-7 * want) << "n=" << n << " i=" << i;
      want_total += std::exp((static_cast<double>(logits[i]) - max) / 0.7);
    }
    // ... and the total against float64 throughout (the float argument adds ~5e-7).
    EXPECT_NEAR(total, want_total, 1e-6 * want_total);
  }
}

// Pick inverts the cumulative distribution exactly at block boundaries and skips zero weights.
TEST(SoftmaxWeightsTest, PickInvertsTheCumulativeDistribution) {
  // 200 logits of 0 (weight 1 each) except two masked ones: token i covers [i, i+1) of the
  // cumulative weight, shifted past the masked tokens.
  std::vector<float> logits(200, 0.0f);
  logits[64] = -std::numeric_limits<float>::infinity();
  logits[199] = -std::numeric_limits<float>::infinity();
  SoftmaxWeights weights;
  ASSERT_EQ(weights.Compute(logits, 0.0f, 1.0f), 198.0);
  auto at = [&](double cumulative) { return weights.Pick(cumulative / 198.0); };
  EXPECT_EQ(at(0.0), 0u);
  EXPECT_EQ(at(0.5), 0u);
  EXPECT_EQ(at(63.5), 63u);
  EXPECT_EQ(at(64.0), 65u);  // 64 has no weight
  EXPECT_EQ(at(127.5), 128u);
  EXPECT_EQ(at(197.5), 198u);
  EXPECT_EQ(weights.Pick(std::nextafter(1.0, 0.0)), 198u);
}

}  // namespace
}  // namespace kiln::engine
