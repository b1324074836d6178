#include "kiln/kernels/matmul.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "hwy/targets.h"
#include "kiln/base/error.h"
#include "kiln/kernels/blocks.h"
#include "kiln/kernels/dequantize.h"
#include "kiln/kernels/fp16.h"

namespace kiln::gguf {
// Test names and failure messages show "Q4_K" rather than a number.
void PrintTo(TensorType type, std::ostream* os) {
  *os << NameOf(type);
}
}  // namespace kiln::gguf

namespace kiln::kernels {
namespace {

using gguf::TensorType;

// Offsets of the f16 scale fields ({d, second} with second = m or dmin, or -1) in each block.
struct ScaleFields {
  int d;
  int second;
};

ScaleFields ScaleFieldsOf(TensorType type) {
  switch (type) {
    case TensorType::kQ4_0:
      return {offsetof(BlockQ4_0, d), -1};
    case TensorType::kQ4_1:
      return {offsetof(BlockQ4_1, d), offsetof(BlockQ4_1, m)};
    case TensorType::kQ5_0:
      return {offsetof(BlockQ5_0, d), -1};
    case TensorType::kQ5_1:
      return {offsetof(BlockQ5_1, d), offsetof(BlockQ5_1, m)};
    case TensorType::kQ8_0:
      return {offsetof(BlockQ8_0, d), -1};
    case TensorType::kQ2_K:
      return {offsetof(BlockQ2_K, d), offsetof(BlockQ2_K, dmin)};
    case TensorType::kQ3_K:
      return {offsetof(BlockQ3_K, d), -1};
    case TensorType::kQ4_K:
      return {offsetof(BlockQ4_K, d), offsetof(BlockQ4_K, dmin)};
    case TensorType::kQ5_K:
      return {offsetof(BlockQ5_K, d), offsetof(BlockQ5_K, dmin)};
    case TensorType::kQ6_K:
      return {offsetof(BlockQ6_K, d), -1};
    default:
      return {-1, -1};
  }
}

void PutHalf(std::uint8_t* at, float value) {
  const std::uint16_t h = F32ToF16(value);
  std::memcpy(at, &h, sizeof h);
}

// `rows` rows of `cols` weights, `row_bytes` apart. Quantized types get uniformly random bytes
// (every nibble, sign and high-bit pattern occurs) with finite random scales written over the
// scale fields; float types get values in [-1, 1].
std::vector<std::uint8_t> RandomWeights(TensorType type, std::int64_t rows, std::int64_t cols,
                                        std::size_t row_bytes, std::mt19937& rng) {
  std::vector<std::uint8_t> data(static_cast<std::size_t>(rows) * row_bytes + 64);
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_real_distribution<float> unit(-1.0f, 1.0f);
  for (auto& b : data) b = static_cast<std::uint8_t>(byte(rng));
  const gguf::TensorTypeTraits traits = gguf::TraitsOf(type);
  for (std::int64_t r = 0; r < rows; ++r) {
    std::uint8_t* row = data.data() + static_cast<std::size_t>(r) * row_bytes;
    for (std::int64_t i = 0; i < cols; ++i) {
      const float v = unit(rng);
      if (type == TensorType::kF32) std::memcpy(row + 4 * i, &v, 4);
      if (type == TensorType::kF16) PutHalf(row + 2 * i, v);
      if (type == TensorType::kBF16) {
        const std::uint16_t h = F32ToBf16(v);
        std::memcpy(row + 2 * i, &h, 2);
      }
    }
    const ScaleFields fields = ScaleFieldsOf(type);
    if (fields.d < 0) continue;
    for (std::int64_t b = 0; b < cols / traits.block_elements; ++b) {
      std::uint8_t* block = row + b * traits.block_bytes;
      PutHalf(block + fields.d, 0.02f * unit(rng));
      if (fields.second >= 0) PutHalf(block + fields.second, 0.1f * unit(rng));
    }
  }
  return data;
}

// Activations: normal values with one outlier block and one all-zero block, so that scales
// of very different sizes and the zero scale are exercised.
std::vector<float> RandomActivations(std::int64_t n_tokens, std::int64_t cols, std::mt19937& rng) {
  std::vector<float> x(static_cast<std::size_t>(n_tokens * cols));
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (float& v : x) v = normal(rng);
  for (std::int64_t t = 0; t < n_tokens; ++t) {
    float* row = x.data() + t * cols;
    if (cols >= 64) {
      for (std::int64_t i = 0; i < 32; ++i) row[i] *= 40.0f;
      for (std::int64_t i = cols - 32; i < cols; ++i) row[i] = 0.0f;
    }
  }
  return x;
}

struct Reference {
  std::vector<double> tight;  // dot with the activations as MatMul multiplies them
  std::vector<double> tight_tolerance;
  std::vector<double> exact;  // dot with the F32 activations
  std::vector<double> exact_tolerance;
};

// Decodes every row with the reference DequantizeRow and takes double-precision dots. The tight
// tolerance covers float rounding inside the kernels; the exact one adds the activation rounding
// bound: |x - x'| <= d / 2 for each element with its block's scale d = max|x| / 127.
Reference ComputeReference(const WeightMatrix& w, const std::vector<float>& x,
                           std::int64_t n_tokens) {
  const std::int64_t cols = w.cols;
  const std::int64_t block = ActivationBlockSize(w.type);
  std::vector<float> xq(x.size());
  std::vector<float> step(x.size(), 0.0f);  // max rounding error of each activation
  for (std::int64_t t = 0; t < n_tokens; ++t) {
    ActivationsAsMultiplied(w.type, x.data() + t * cols, cols, xq.data() + t * cols);
    if (block == 1) continue;
    for (std::int64_t b = 0; b < cols / block; ++b) {
      float amax = 0.0f;
      for (std::int64_t i = b * block; i < (b + 1) * block; ++i) {
        amax = std::max(amax, std::fabs(x[static_cast<std::size_t>(t * cols + i)]));
      }
      for (std::int64_t i = b * block; i < (b + 1) * block; ++i) {
        step[static_cast<std::size_t>(t * cols + i)] = amax / 127.0f / 2.0f;
      }
    }
  }
  Reference ref;
  const auto n = static_cast<std::size_t>(n_tokens * w.rows);
  ref.tight.resize(n);
  ref.tight_tolerance.resize(n);
  ref.exact.resize(n);
  ref.exact_tolerance.resize(n);
  std::vector<float> row(static_cast<std::size_t>(cols));
  for (std::int64_t r = 0; r < w.rows; ++r) {
    DequantizeRow(w.type, static_cast<const std::uint8_t*>(w.data) + r * w.row_bytes, row.data(),
                  cols);
    for (std::int64_t t = 0; t < n_tokens; ++t) {
      double tight = 0, tight_magnitude = 0, exact = 0, rounding = 0;
      for (std::int64_t i = 0; i < cols; ++i) {
        const auto at = static_cast<std::size_t>(t * cols + i);
        const double wi = row[static_cast<std::size_t>(i)];
        tight += wi * xq[at];
        tight_magnitude += std::fabs(wi * xq[at]);
        exact += wi * x[at];
        rounding += std::fabs(wi) * step[at];
      }
      const auto out = static_cast<std::size_t>(t * w.rows + r);
      ref.tight[out] = tight;
      ref.tight_tolerance[out] = 2e-5 * tight_magnitude + 1e-6;
      ref.exact[out] = exact;
      ref.exact_tolerance[out] = rounding * 1.0001 + ref.tight_tolerance[out];
    }
  }
  return ref;
}

// Runs MatMul for every target this machine supports (AVX3_DL, AVX3, AVX2, SSE4, scalar, ...).
template <typename Body>
void ForEachTarget(const Body& body) {
  for (std::int64_t target : hwy::SupportedAndGeneratedTargets()) {
    hwy::SetSupportedTargetsForTest(target);
    SCOPED_TRACE(std::string("target ") + hwy::TargetName(target));
    body();
  }
  hwy::SetSupportedTargetsForTest(0);
}

void CheckMatMul(TensorType type, std::int64_t rows, std::int64_t cols, std::int64_t n_tokens,
                 int threads, std::size_t row_padding = 0) {
  SCOPED_TRACE(testing::Message() << gguf::NameOf(type) << " rows=" << rows << " cols=" << cols
                                  << " tokens=" << n_tokens << " threads=" << threads);
  std::mt19937 rng(static_cast<std::uint32_t>(rows * 7919 + cols * 31 + n_tokens));
  WeightMatrix w = DenseWeights(type, nullptr, rows, cols);
  w.row_bytes += row_padding;
  const std::vector<std::uint8_t> data = RandomWeights(type, rows, cols, w.row_bytes, rng);
  w.data = data.data();
  const std::vector<float> x = RandomActivations(n_tokens, cols, rng);
  const Reference ref = ComputeReference(w, x, n_tokens);

  ThreadPool pool(threads);
  MatMulScratch scratch;
  ForEachTarget([&] {
    std::vector<float> y(static_cast<std::size_t>(n_tokens * rows), NAN);
    MatMul(w, x.data(), n_tokens, y.data(), pool, scratch);
    int failures = 0;
    for (std::size_t i = 0; i < y.size() && failures < 5; ++i) {
      const double tight_error = std::fabs(y[i] - ref.tight[i]);
      const double exact_error = std::fabs(y[i] - ref.exact[i]);
      if (!(tight_error <= ref.tight_tolerance[i]) || !(exact_error <= ref.exact_tolerance[i])) {
        ++failures;
        ADD_FAILURE() << "token " << i / rows << " row " << i % rows << ": got " << y[i]
                      << ", want " << ref.tight[i] << " (tolerance " << ref.tight_tolerance[i]
                      << "), exact " << ref.exact[i] << " (tolerance " << ref.exact_tolerance[i]
                      << ")";
      }
    }
  });
}

const TensorType kAllTypes[] = {
    TensorType::kF32,  TensorType::kF16,  TensorType::kBF16, TensorType::kQ4_0, TensorType::kQ4_1,
    TensorType::kQ5_0, TensorType::kQ5_1, TensorType::kQ8_0, TensorType::kQ2_K, TensorType::kQ3_K,
    TensorType::kQ4_K, TensorType::kQ5_K, TensorType::kQ6_K};

class MatMulTypeTest : public testing::TestWithParam<TensorType> {};

// Awkward shapes: one row, odd row counts (partial register tiles), token counts around the
// register tile and token block sizes, one block and many blocks per row.
TEST_P(MatMulTypeTest, MatchesReferenceOnAwkwardShapes) {
  const TensorType type = GetParam();
  const std::int64_t block = gguf::TraitsOf(type).block_elements;
  std::vector<std::int64_t> col_counts;
  if (block == 1) {
    col_counts = {1, 7, 64, 300};
  } else {
    col_counts = {block, 3 * block, (block == 32 ? 64 : 8) * block};
  }
  for (std::int64_t cols : col_counts) {
    for (std::int64_t rows : {1, 3, 5, 17}) {
      for (std::int64_t tokens : {1, 2, 3, 7, 16, 33}) {
        CheckMatMul(type, rows, cols, tokens, /*threads=*/1);
      }
    }
  }
}

// Rows split across threads, in chunks that do not line up with the register tiles.
TEST_P(MatMulTypeTest, MatchesReferenceWithThreads) {
  const TensorType type = GetParam();
  const std::int64_t block = gguf::TraitsOf(type).block_elements;
  const std::int64_t cols = block == 1 ? 257 : 4 * std::max<std::int64_t>(block, 64);
  CheckMatMul(type, 150, cols, 1, 2);
  CheckMatMul(type, 150, cols, 9, 3);
}

// Rows may sit further apart than their size (views into larger tensors).
TEST_P(MatMulTypeTest, HonoursRowStride) {
  const TensorType type = GetParam();
  const std::int64_t block = gguf::TraitsOf(type).block_elements;
  CheckMatMul(type, 9, block == 1 ? 40 : 2 * block, 5, 2, /*row_padding=*/block == 1 ? 12 : 36);
}

INSTANTIATE_TEST_SUITE_P(AllTypes, MatMulTypeTest, testing::ValuesIn(kAllTypes),
                         [](const testing::TestParamInfo<TensorType>& info) {
                           return std::string(gguf::NameOf(info.param));
                         });

// The activations MatMul multiplies are within half a quantization step of the input, with the
// step set by each block's largest magnitude, and a zero block stays zero.
TEST(MatMulTest, ActivationQuantizationErrorIsBounded) {
  std::mt19937 rng(5);
  for (TensorType type : {TensorType::kQ8_0, TensorType::kQ4_K, TensorType::kF16}) {
    const std::int64_t block = ActivationBlockSize(type);
    const std::int64_t cols = 512;
    std::vector<float> x = RandomActivations(1, cols, rng);
    std::vector<float> xq(static_cast<std::size_t>(cols));
    ForEachTarget([&] {
      ActivationsAsMultiplied(type, x.data(), cols, xq.data());
      for (std::int64_t b = 0; b < cols / block; ++b) {
        float amax = 0;
        for (std::int64_t i = b * block; i < (b + 1) * block; ++i) {
          amax = std::max(amax, std::fabs(x[i]));
        }
        const float step = block == 1 ? 0.0f : amax / 127.0f;
        for (std::int64_t i = b * block; i < (b + 1) * block; ++i) {
          ASSERT_LE(std::fabs(xq[i] - x[i]), step * 0.5f * 1.0001f)
              << gguf::NameOf(type) << " element " << i;
          if (amax == 0.0f) {
            ASSERT_EQ(xq[i], 0.0f);
          }
        }
      }
    });
  }
  EXPECT_EQ(ActivationBlockSize(TensorType::kQ8_0), 32);
  EXPECT_EQ(ActivationBlockSize(TensorType::kQ6_K), 256);
  EXPECT_EQ(ActivationBlockSize(TensorType::kBF16), 1);
}

TEST(MatMulTest, RejectsUnsupportedTypesAndShapes) {
  ThreadPool pool(1);
  MatMulScratch scratch;
  std::vector<std::uint8_t> data(4096);
  std::vector<float> x(256), y(16);
  EXPECT_FALSE(MatMulSupports(TensorType::kIQ2_XXS));
  WeightMatrix iq{TensorType::kIQ4_NL, data.data(), 1, 32, 18};
  EXPECT_THROW(MatMul(iq, x.data(), 1, y.data(), pool, scratch), Error);
  WeightMatrix ragged{TensorType::kQ4_0, data.data(), 1, 48, 27};
  EXPECT_THROW(MatMul(ragged, x.data(), 1, y.data(), pool, scratch), Error);
  WeightMatrix short_rows{TensorType::kQ4_0, data.data(), 2, 64, 20};
  EXPECT_THROW(MatMul(short_rows, x.data(), 1, y.data(), pool, scratch), Error);
  EXPECT_THROW(DenseWeights(TensorType::kQ4_K, data.data(), 1, 128), Error);
  // No tokens: nothing is read or written.
  WeightMatrix fine = DenseWeights(TensorType::kQ8_0, data.data(), 2, 64);
  y[0] = 7.0f;
  MatMul(fine, x.data(), 0, y.data(), pool, scratch);
  EXPECT_EQ(y[0], 7.0f);
}

// Batch invariance, which the serving engine relies on: a token's outputs are bitwise the same
// whether it is multiplied alone or inside a batch of any size (1..33 tokens: partial register
// tiles, the GEMV path and the batched path), whatever rows the threads are given.
TEST_P(MatMulTypeTest, TokenAloneEqualsTokenInsideBatch) {
  const TensorType type = GetParam();
  const std::int64_t block = gguf::TraitsOf(type).block_elements;
  const std::int64_t cols = block == 1 ? 100 : (block == 32 ? 5 : 2) * block;
  const std::int64_t rows = 37;
  constexpr std::int64_t kMaxTokens = 33;
  std::mt19937 rng(11);
  const WeightMatrix w0 = DenseWeights(type, nullptr, rows, cols);
  const std::vector<std::uint8_t> data = RandomWeights(type, rows, cols, w0.row_bytes, rng);
  WeightMatrix w = w0;
  w.data = data.data();
  const std::vector<float> x = RandomActivations(kMaxTokens, cols, rng);
  ThreadPool one(1), two(2);
  MatMulScratch scratch;
  ForEachTarget([&] {
    std::vector<float> alone(static_cast<std::size_t>(kMaxTokens * rows));
    for (std::int64_t t = 0; t < kMaxTokens; ++t) {
      MatMul(w, x.data() + t * cols, 1, alone.data() + t * rows, one, scratch);
    }
    for (std::int64_t n = 1; n <= kMaxTokens; ++n) {
      std::vector<float> batch(static_cast<std::size_t>(n * rows));
      MatMul(w, x.data(), n, batch.data(), n % 2 ? two : one, scratch);
      ASSERT_EQ(0, std::memcmp(batch.data(), alone.data(), batch.size() * sizeof(float)))
          << gguf::NameOf(type) << ": a batch of " << n << " tokens differs from its tokens alone";
    }
  });
}

// Large shapes where the token dimension crosses the kernel's token blocks and threads share rows.
TEST(MatMulTest, LargeBatchMatchesReference) {
  CheckMatMul(TensorType::kQ4_0, 64, 4096, 70, 2);
  CheckMatMul(TensorType::kQ6_K, 40, 4096, 65, 2);
  CheckMatMul(TensorType::kF16, 33, 4096, 70, 2);
}

TEST(MatMulTest, ReportsTargetsTested) {
  std::string names;
  for (std::int64_t target : hwy::SupportedAndGeneratedTargets()) {
    names += std::string(" ") + hwy::TargetName(target);
  }
  std::printf("MatMul kernels tested on targets:%s\n", names.c_str());
  EXPECT_FALSE(names.empty());
}

}  // namespace
}  // namespace kiln::kernels
