#include "kiln/kernels/vector_ops.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "kiln/kernels/dequantize.h"
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

TEST(VectorOpsTest, SplitForInt8GivesAnExactGridPartAndASmallRemainder) {
  for (std::size_t block : {32u, 256u, 20u}) {
    auto x = Random(block * 3, 14);
    for (std::size_t i = 0; i < block; ++i) x[i] = 0;  // an all-zero block
    x[block + 3] = 40.0f;                              // a block dominated by one value
    std::vector<float> hi(x.size()), lo(x.size());
    SplitForInt8(x.data(), x.size(), block, hi.data(), lo.data());
    for (std::size_t b = 0; b < x.size(); b += block) {
      float amax = 0;
      for (std::size_t i = b; i < b + block; ++i) amax = std::max(amax, std::abs(x[i]));
      const float step = amax / 127;
      for (std::size_t i = b; i < b + block; ++i) {
        if (amax == 0) {
          EXPECT_EQ(hi[i], 0.0f);
          EXPECT_EQ(lo[i], 0.0f);
          continue;
        }
        const float level = hi[i] / step;
        EXPECT_NEAR(level, std::round(level), 1e-4) << i;
        EXPECT_LE(std::abs(level), 127.0001f) << i;
        EXPECT_LE(std::abs(lo[i]), step * 0.5001f) << i;
        EXPECT_NEAR(hi[i] + lo[i], x[i], 1e-6f * std::abs(x[i])) << i;
      }
    }
  }
}

TEST(VectorOpsTest, Q8_0RowsRoundTripAndComputeLikeTheirDequantizedValues) {
  const std::size_t dim = 64, stride = 96, rows = 4;
  auto data = Random(stride * rows, 11);
  data[5] = 0;  // a block may also hold exact zeros
  std::vector<std::uint8_t> q8(gguf::RowBytes(gguf::TensorType::kQ8_0, data.size()));
  ConvertRow(data.data(), data.size(), gguf::TensorType::kQ8_0, q8.data());
  std::vector<float> back(data.size());
  DequantizeRow(gguf::TensorType::kQ8_0, q8.data(), back.data(),
                static_cast<std::int64_t>(back.size()));
  for (std::size_t b = 0; b < data.size() / 32; ++b) {
    float amax = 0;
    for (std::size_t i = 0; i < 32; ++i) amax = std::max(amax, std::abs(data[b * 32 + i]));
    for (std::size_t i = 0; i < 32; ++i) {
      EXPECT_NEAR(back[b * 32 + i], data[b * 32 + i], amax / 127 * 0.6f) << b << " " << i;
    }
  }
  auto q = Random(dim, 12), w = Random(rows, 13);
  RowsView view{q8.data(), gguf::TensorType::kQ8_0, stride};
  std::vector<float> dots(rows);
  RowDots(q.data(), view, rows, dim, dots.data());
  std::vector<float> acc(dim, 0.5f);
  AccumulateRows(w.data(), view.From(1), rows - 1, dim, acc.data());
  for (std::size_t r = 0; r < rows; ++r) {
    double ref = 0;
    for (std::size_t i = 0; i < dim; ++i) ref += q[i] * back[r * stride + i];
    EXPECT_NEAR(dots[r], ref, 1e-4);
  }
  for (std::size_t i = 0; i < dim; ++i) {
    double ref = 0.5;
    for (std::size_t r = 1; r < rows; ++r) ref += w[r - 1] * back[r * stride + i];
    EXPECT_NEAR(acc[i], ref, 1e-4);
  }
  EXPECT_FALSE(IsRowType(gguf::TensorType::kQ4_0));
}

}  // namespace
}  // namespace kiln::kernels
