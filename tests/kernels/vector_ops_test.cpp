#include "kiln/kernels/vector_ops.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "kiln/kernels/fp16.h"

namespace kiln::kernels {
namespace {

std::vector<float> Random(std::size_t n, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0.0f, 1.0f);
  std::vector<float> v(n);
  for (float& x : v) x = d(rng);
  return v;
}

// Lengths around every vector width and unroll factor, so tails are exercised.
const std::size_t kLengths[] = {1, 3, 7, 8, 15, 16, 17, 31, 32, 33, 63, 64, 65, 128, 257};

TEST(VectorOpsTest, DotMatchesScalar) {
  for (std::size_t n : kLengths) {
    auto a = Random(n, 1), b = Random(n, 2);
    double ref = 0;
    for (std::size_t i = 0; i < n; ++i) ref += static_cast<double>(a[i]) * b[i];
    EXPECT_NEAR(Dot(a.data(), b.data(), n), ref, 1e-4 * std::sqrt(n)) << n;
  }
}

TEST(VectorOpsTest, RmsNormMatchesScalarAndWorksInPlace) {
  for (std::size_t n : kLengths) {
    auto x = Random(n, 3), w = Random(n, 4);
    double ss = 0;
    for (float v : x) ss += static_cast<double>(v) * v;
    const double inv = 1.0 / std::sqrt(ss / n + 1e-5);
    std::vector<float> out(n);
    RmsNorm(x.data(), w.data(), n, 1e-5f, out.data());
    for (std::size_t i = 0; i < n; ++i) EXPECT_NEAR(out[i], x[i] * inv * w[i], 1e-5) << n;
    RmsNorm(x.data(), w.data(), n, 1e-5f, x.data());
    EXPECT_EQ(x, out);
  }
}

TEST(VectorOpsTest, ElementwiseOps) {
  for (std::size_t n : kLengths) {
    auto x = Random(n, 5), y = Random(n, 6);
    auto sum = y;
    AddTo(x.data(), sum.data(), n);
    auto scaled = x;
    Scale(0.5f, scaled.data(), n);
    std::vector<float> glu(n);
    SwiGlu(x.data(), y.data(), n, glu.data());
    for (std::size_t i = 0; i < n; ++i) {
      EXPECT_FLOAT_EQ(sum[i], x[i] + y[i]);
      EXPECT_FLOAT_EQ(scaled[i], x[i] * 0.5f);
      const double silu = x[i] / (1.0 + std::exp(-static_cast<double>(x[i])));
      EXPECT_NEAR(glu[i], silu * y[i], 1e-5 * (1 + std::abs(silu * y[i])));
    }
  }
}

TEST(VectorOpsTest, ConvertToF16RoundsLikeScalar) {
  auto x = Random(1000, 7);
  x[0] = 65520.0f;  // rounds to infinity
  x[1] = 1e-8f;     // subnormal range
  std::vector<std::uint16_t> h(x.size());
  ConvertToF16(x.data(), x.size(), h.data());
  for (std::size_t i = 0; i < x.size(); ++i) EXPECT_EQ(h[i], F32ToF16(x[i])) << x[i];
}

TEST(VectorOpsTest, RowDotsAndAccumulateRowsOverStridedF32AndF16Rows) {
  const std::size_t dim = 40, stride = 100, rows = 5;
  auto q = Random(dim, 8), w = Random(rows, 9);
  auto data = Random(stride * rows, 10);
  std::vector<std::uint16_t> half(data.size());
  for (std::size_t i = 0; i < data.size(); ++i) half[i] = F32ToF16(data[i]);
  for (bool use_half : {false, true}) {
    RowsView view{use_half ? static_cast<const void*>(half.data()) : data.data(),
                  use_half ? gguf::TensorType::kF16 : gguf::TensorType::kF32, stride};
    auto at = [&](std::size_t r, std::size_t i) {
      return use_half ? F16ToF32(half[r * stride + i]) : data[r * stride + i];
    };
    std::vector<float> dots(rows);
    RowDots(q.data(), view.From(1), rows - 1, dim, dots.data());
    std::vector<float> acc(dim, 1.0f);
    AccumulateRows(w.data(), view, rows, dim, acc.data());
    for (std::size_t r = 0; r + 1 < rows; ++r) {
      double ref = 0;
      for (std::size_t i = 0; i < dim; ++i) ref += q[i] * at(r + 1, i);
      EXPECT_NEAR(dots[r], ref, 1e-4);
    }
    for (std::size_t i = 0; i < dim; ++i) {
      double ref = 1.0;
      for (std::size_t r = 0; r < rows; ++r) ref += w[r] * at(r, i);
      EXPECT_NEAR(acc[i], ref, 1e-4);
    }
  }
}

}  // namespace
}  // namespace kiln::kernels
