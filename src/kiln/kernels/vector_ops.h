// Vector kernels of the forward pass other than matrix multiplication: RMSNorm, residual adds,
// SwiGLU, and the two halves of attention over rows of keys and values (F32 or F16). Written
// once with Highway and dispatched to the best instruction set at run time.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kiln/gguf/tensor_type.h"

namespace kiln::kernels {

float Dot(const float* a, const float* b, std::size_t n);

// out = x / sqrt(mean(x^2) + eps) * weight. `out` may be `x`.
void RmsNorm(const float* x, const float* weight, std::size_t n, float eps, float* out);

// y += x
void AddTo(const float* x, float* y, std::size_t n);
// x *= s
void Scale(float s, float* x, std::size_t n);
// out = silu(gate) * up, where silu(g) = g / (1 + exp(-g)). `out` may alias either input.
void SwiGlu(const float* gate, const float* up, std::size_t n, float* out);

// Splits x into hi + lo for matmuls that quantize activations to 8 bits: in each `block` of
// elements, hi holds x rounded to a multiple of max|x| / 127 (which an 8-bit kernel represents
// exactly) and lo = x - hi the remainder. Multiplying both halves and adding the products gives
// about 16-bit activation precision at the cost of twice the (cheap) integer work. n % block == 0.
void SplitForInt8(const float* x, std::size_t n, std::size_t block, float* hi, float* lo);

// Rows of `n_rows` vectors of `dim` elements, `stride` elements apart, of type F32, F16 or
// Q8_0 (then `dim` and `stride` are whole numbers of 32-element blocks).
struct RowsView {
  const void* data;
  gguf::TensorType type;  // kF32, kF16 or kQ8_0
  std::size_t stride;

  // The rows from `first` on.
  RowsView From(std::size_t first) const {
    return {static_cast<const std::uint8_t*>(data) + gguf::RowBytes(type, first * stride), type,
            stride};
  }
};

// The element types RowsView supports, for messages: "F32, F16, Q8_0".
inline constexpr const char* kRowTypes = "F32, F16, Q8_0";
bool IsRowType(gguf::TensorType type);

// out[r] = dot(q, row r) for each row.
void RowDots(const float* q, RowsView rows, std::size_t n_rows, std::size_t dim, float* out);
// acc += sum over r of weights[r] * row r.
void AccumulateRows(const float* weights, RowsView rows, std::size_t n_rows, std::size_t dim,
                    float* acc);

// Rounds to IEEE half, nearest even.
void ConvertToF16(const float* x, std::size_t n, std::uint16_t* out);
// Quantizes to Q8_0 blocks as ggml does (scale max|x| / 127, round to nearest); n % 32 == 0.
void QuantizeQ8_0(const float* x, std::size_t n, void* out);
// Writes `n` elements of `type` (a RowsView type) from floats.
void ConvertRow(const float* x, std::size_t n, gguf::TensorType type, void* out);

}  // namespace kiln::kernels
