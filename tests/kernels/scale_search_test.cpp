#include "kiln/kernels/scale_search.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

namespace kiln::kernels::detail {
namespace {

TEST(ScaleSearchTest, NearestIntRoundsHalfToEvenAndSaturates) {
  EXPECT_EQ(NearestInt(0.49f), 0);
  EXPECT_EQ(NearestInt(0.5f), 0);
  EXPECT_EQ(NearestInt(1.5f), 2);
  EXPECT_EQ(NearestInt(-2.5f), -2);
  EXPECT_EQ(NearestInt(-2.6f), -3);
  EXPECT_EQ(NearestInt(31.4f), 31);
  EXPECT_EQ(NearestInt(1e30f), 4194303);
  EXPECT_EQ(NearestInt(-1e30f), -4194303);
  EXPECT_EQ(NearestInt(std::nanf("")), -4194303);
}

// Values lying exactly on an affine grid are recovered exactly.
TEST(ScaleSearchTest, AffineFitRecoversAGrid) {
  std::mt19937 rng(1);
  std::vector<float> x(32), w(32, 1.0f);
  std::vector<int> want(32);
  for (int i = 0; i < 32; ++i) {
    want[i] = i < 16 ? i : static_cast<int>(rng() % 16);  // every level used
    x[i] = 0.25f * static_cast<float>(want[i]) - 1.5f;
  }
  std::uint8_t L[32];
  AffineFit fit = FitAffine(32, 15, x.data(), w.data(), L, -1.0f, 0.1f, 20, false);
  EXPECT_NEAR(fit.scale, 0.25f, 1e-5f);
  EXPECT_NEAR(fit.min, 1.5f, 1e-5f);
  for (int i = 0; i < 32; ++i) EXPECT_EQ(L[i], want[i]) << i;
}

double WeightedError(const std::vector<float>& x, const std::vector<float>& w,
                     const std::uint8_t* L, float scale, float min) {
  double e = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    double d = scale * L[i] - min - x[i];
    e += w[i] * d * d;
  }
  return e;
}

// The search never does worse than spreading [min, max] evenly over the levels, and on Gaussian
// groups it does better by about 12% in weighted squared error.
TEST(ScaleSearchTest, AffineSearchBeatsTheMinMaxGrid) {
  std::mt19937 rng(2);
  std::normal_distribution<float> dist;
  double searched = 0, naive = 0;
  for (int trial = 0; trial < 200; ++trial) {
    std::vector<float> x(32), w(32);
    for (float& v : x) v = dist(rng);
    for (int i = 0; i < 32; ++i) w[i] = 0.5f + std::fabs(x[i]);
    std::uint8_t L[32], L0[32];
    AffineFit fit = FitAffine(32, 15, x.data(), w.data(), L, -1.0f, 0.1f, 20, false);
    AffineFit grid = FitAffine(32, 15, x.data(), w.data(), L0, -1.0f, 0.1f, 0, false);
    double e = WeightedError(x, w, L, fit.scale, fit.min);
    double e0 = WeightedError(x, w, L0, grid.scale, grid.min);
    ASSERT_LE(e, e0 * (1 + 1e-5)) << trial;
    searched += e;
    naive += e0;
  }
  EXPECT_LT(searched, 0.92 * naive);
}

// The format can only subtract a minimum. Values far from zero would be fitted best with an
// added offset; the search must fall back to fits that do not need one.
TEST(ScaleSearchTest, AffineFitNeverAddsAnOffset) {
  std::vector<float> x(32), w(32, 1.0f);
  for (int i = 0; i < 32; ++i) x[i] = 10.0f + 0.1f * static_cast<float>(i);
  std::uint8_t L[32];
  AffineFit fit = FitAffine(32, 15, x.data(), w.data(), L, -1.0f, 0.1f, 20, false);
  EXPECT_GE(fit.min, 0.0f);
  EXPECT_GT(fit.scale, 0.0f);
  for (int i = 0; i < 32; ++i) EXPECT_NEAR(fit.scale * L[i] - fit.min, x[i], 0.5f) << i;
}

TEST(ScaleSearchTest, SymmetricFitsRecoverAGrid) {
  std::vector<float> x(16);
  for (int i = 0; i < 16; ++i) x[i] = 0.5f * static_cast<float>(i - 8);  // levels -8..7
  x[3] = -16.0f;  // the largest magnitude lands on the bottom level
  std::uint8_t L[16];
  float scale = FitSymmetric(16, 32, x.data(), L);
  for (int i = 0; i < 16; ++i) EXPECT_NEAR(scale * (L[i] - 32), x[i], 1e-5f) << i;

  std::vector<float> y = {-3, -2, -1, 0, 1, 2, 3, -4, 0, 0, 1, 1, 2, 2, 3, 3};
  for (float& v : y) v *= 0.75f;
  scale = FitSymmetricRefined(16, 4, y.data(), L);
  for (int i = 0; i < 16; ++i) EXPECT_NEAR(scale * (L[i] - 4), y[i], 1e-5f) << i;
}

TEST(ScaleSearchTest, ZeroGroupsGiveZeroScale) {
  std::vector<float> x(16, 0.0f);
  std::uint8_t L[16];
  EXPECT_EQ(FitSymmetric(16, 32, x.data(), L), 0.0f);
  EXPECT_EQ(FitSymmetricRefined(16, 4, x.data(), L), 0.0f);
  std::vector<float> w(16, 1.0f);
  AffineFit fit = FitAffine(16, 3, x.data(), w.data(), L, -0.5f, 0.1f, 15, true);
  EXPECT_EQ(fit.scale, 0.0f);
  EXPECT_EQ(fit.min, 0.0f);
}

}  // namespace
}  // namespace kiln::kernels::detail
