#include "kiln/model/rope.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "kiln/base/error.h"

namespace kiln::model {
namespace {

RopeConfig Config(RopeStyle style, int dims) {
  RopeConfig c;
  c.style = style;
  c.dimension_count = dims;
  c.freq_base = 10000.0;
  return c;
}

// Rotates a copy of `x` (one head of `head_size`) to `position`.
std::vector<float> Rotated(const RopeTable& rope, std::vector<float> x, int position) {
  std::vector<float> cos(rope.dimension_count() / 2), sin(rope.dimension_count() / 2);
  rope.Angles(position, cos.data(), sin.data());
  rope.Rotate(x.data(), 1, static_cast<int>(x.size()), cos.data(), sin.data());
  return x;
}

TEST(RopeTest, NormalStyleRotatesAdjacentPairsAndNeoxStyleHalves) {
  // Only the first (fastest) frequency turns by exactly `position` radians.
  const std::vector<float> x = {1, 2, 3, 4, 5, 6, 7, 8};
  RopeTable normal(Config(RopeStyle::kNormal, 8), {});
  RopeTable neox(Config(RopeStyle::kNeox, 8), {});
  const double c = std::cos(1.0), s = std::sin(1.0);
  std::vector<float> a = Rotated(normal, x, 1);
  EXPECT_NEAR(a[0], 1 * c - 2 * s, 1e-6);
  EXPECT_NEAR(a[1], 1 * s + 2 * c, 1e-6);
  std::vector<float> b = Rotated(neox, x, 1);
  EXPECT_NEAR(b[0], 1 * c - 5 * s, 1e-6);
  EXPECT_NEAR(b[4], 1 * s + 5 * c, 1e-6);
  // Pair i turns at base^(-2i/d): the slowest pair of 8 dims turns 10000^(-6/8) per position.
  const double slow = std::pow(10000.0, -6.0 / 8) * 3;
  std::vector<float> far = Rotated(normal, x, 3);
  EXPECT_NEAR(far[6], 7 * std::cos(slow) - 8 * std::sin(slow), 1e-6);
  std::vector<float> far_neox = Rotated(neox, x, 3);
  EXPECT_NEAR(far_neox[3], 4 * std::cos(slow) - 8 * std::sin(slow), 1e-6);
}

TEST(RopeTest, PositionZeroIsIdentityAndNormsArePreserved) {
  const std::vector<float> x = {0.5f, -1, 2, 0.25f, 3, -2, 1, 1};
  RopeTable rope(Config(RopeStyle::kNeox, 8), {});
  EXPECT_EQ(Rotated(rope, x, 0), x);
  std::vector<float> y = Rotated(rope, x, 1000);
  for (int i = 0; i < 4; ++i) {
    EXPECT_NEAR(std::hypot(y[i], y[i + 4]), std::hypot(x[i], x[i + 4]), 1e-5);
  }
}

TEST(RopeTest, PartialRotationLeavesTheTailAlone) {
  const std::vector<float> x = {1, 2, 3, 4, 5, 6, 7, 8};
  RopeTable rope(Config(RopeStyle::kNeox, 4), {});
  std::vector<float> y = Rotated(rope, x, 7);
  EXPECT_NE(y[0], x[0]);
  EXPECT_EQ(std::vector<float>(y.begin() + 4, y.end()), std::vector<float>(x.begin() + 4, x.end()));
}

TEST(RopeTest, LinearScalingAndFrequencyFactorsSlowRotation) {
  const std::vector<float> x = {1, 2, 3, 4, 5, 6, 7, 8};
  RopeTable plain(Config(RopeStyle::kNormal, 8), {});
  RopeConfig linear = Config(RopeStyle::kNormal, 8);
  linear.scaling = RopeScaling::kLinear;
  linear.factor = 4;
  std::vector<float> a = Rotated(RopeTable(linear, {}), x, 40);
  std::vector<float> b = Rotated(plain, x, 10);
  for (int i = 0; i < 8; ++i) EXPECT_NEAR(a[i], b[i], 1e-5);

  const std::vector<float> factors = {1, 2, 4, 8};
  RopeTable llama3(Config(RopeStyle::kNormal, 8), factors);
  std::vector<float> c = Rotated(llama3, x, 8);
  for (int i = 0; i < 4; ++i) {
    std::vector<float> ref = Rotated(plain, x, 8 / static_cast<int>(factors[i]));
    EXPECT_NEAR(c[2 * i], ref[2 * i], 1e-5) << i;
    EXPECT_NEAR(c[2 * i + 1], ref[2 * i + 1], 1e-5) << i;
  }
  EXPECT_THROW(RopeTable(Config(RopeStyle::kNormal, 8), std::vector<float>{1, 2}), Error);
}

TEST(RopeTest, YarnKeepsHighFrequenciesInterpolatesLowOnesAndScalesMagnitude) {
  RopeConfig yarn = Config(RopeStyle::kNeox, 64);
  yarn.scaling = RopeScaling::kYarn;
  yarn.factor = 4;
  yarn.original_context_length = 256;
  RopeTable scaled(yarn, {});
  RopeTable plain(Config(RopeStyle::kNeox, 64), {});
  std::vector<float> cs(32), ss(32), cp(32), sp(32);
  scaled.Angles(100, cs.data(), ss.data());
  plain.Angles(100, cp.data(), sp.data());
  const double magnitude = 1 + 0.1 * std::log(4.0);
  // The fastest pair is kept as it is (only its magnitude changes).
  EXPECT_NEAR(cs[0], cp[0] * magnitude, 1e-5);
  EXPECT_NEAR(ss[0], sp[0] * magnitude, 1e-5);
  // The slowest pair is interpolated: position 100 turns like 25 would.
  std::vector<float> cq(32), sq(32);
  plain.Angles(25, cq.data(), sq.data());
  EXPECT_NEAR(cs[31], cq[31] * magnitude, 1e-5);
  EXPECT_NEAR(ss[31], sq[31] * magnitude, 1e-5);

  // Factor 1 changes nothing.
  yarn.factor = 1;
  RopeTable same(yarn, {});
  same.Angles(100, cs.data(), ss.data());
  for (int i = 0; i < 32; ++i) EXPECT_NEAR(cs[i], cp[i], 1e-6);
}

}  // namespace
}  // namespace kiln::model
