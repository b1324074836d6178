// Internals of MatMul shared by its translation units: the layout of the activations as the
// kernels read them (quantized to 8 bits or left as float), and the per-family entry points that
// multiply a range of weight rows by all tokens. Nothing here is part of the kernels' public API.
#pragma once

#include <cstdint>

#include "kiln/gguf/tensor_type.h"
#include "kiln/kernels/matmul.h"

namespace kiln::kernels::detail {

enum class ActFormat {
  kFloat,  // the F32 rows as given (F32/F16/BF16 weights)
  kQ8,     // blocks of 32: d = max|x|/127, q = round(x/d); s = d * sum(q) (legacy types)
  kQ8K,    // blocks of 256 with one d, and sums of q over each 16 (K types)
};

inline constexpr std::int64_t kQ8Block = 32;
inline constexpr std::int64_t kQ8KBlock = 256;
inline constexpr std::int64_t kQ8KSumGroup = 16;

ActFormat ActFormatFor(gguf::TensorType type);

// Activations of n_tokens rows in the kernels' format. Token t's values start at
// q + t * q_stride (bytes), its block scales at d + t * blocks, and so on.
struct ActivationRows {
  ActFormat format = ActFormat::kFloat;
  std::int64_t cols = 0;
  const float* x = nullptr;  // kFloat: row t at x + t * cols
  std::int8_t* q = nullptr;
  std::int64_t q_stride = 0;
  float* d = nullptr;             // per block
  float* s = nullptr;             // kQ8: per block
  std::int16_t* bsums = nullptr;  // kQ8K: per 16 elements
  std::int64_t blocks = 0;        // blocks per token row

  const std::int8_t* QRow(std::int64_t t) const { return q + t * q_stride; }
  const float* DRow(std::int64_t t) const { return d + t * blocks; }
  const float* SRow(std::int64_t t) const { return s + t * blocks; }
  const std::int16_t* BsumsRow(std::int64_t t) const { return bsums + t * (cols / kQ8KSumGroup); }
  const float* XRow(std::int64_t t) const { return x + t * cols; }
};

// Fills the quantized rows [t_begin, t_end) of `acts` (format kQ8 or kQ8K) from x.
void QuantizeActivationRows(const float* x, std::int64_t t_begin, std::int64_t t_end,
                            const ActivationRows& acts);

// y[t][r] for every token and rows [row_begin, row_end), one function per weight family.
void MultiplyLegacyRows(const WeightMatrix& w, const ActivationRows& acts, std::int64_t n_tokens,
                        std::int64_t row_begin, std::int64_t row_end, float* y);
void MultiplyKQuantRows(const WeightMatrix& w, const ActivationRows& acts, std::int64_t n_tokens,
                        std::int64_t row_begin, std::int64_t row_end, float* y);
void MultiplyFloatRows(const WeightMatrix& w, const ActivationRows& acts, std::int64_t n_tokens,
                       std::int64_t row_begin, std::int64_t row_end, float* y);

}  // namespace kiln::kernels::detail
