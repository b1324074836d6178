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

// Rows of `n_rows` vectors of `dim` elements, `stride` elements apart, of type F32 or F16.
struct RowsView {
  const void* data;
  gguf::TensorType type;  // kF32 or kF16
  std::size_t stride;

  std::size_t element_bytes() const { return type == gguf::TensorType::kF16 ? 2 : 4; }
  // The rows from `first` on.
  RowsView From(std::size_t first) const {
    return {static_cast<const std::uint8_t*>(data) + first * stride * element_bytes(), type,
            stride};
  }
};

// out[r] = dot(q, row r) for each row.
void RowDots(const float* q, RowsView rows, std::size_t n_rows, std::size_t dim, float* out);
// acc += sum over r of weights[r] * row r.
void AccumulateRows(const float* weights, RowsView rows, std::size_t n_rows, std::size_t dim,
                    float* acc);

// Rounds to IEEE half, nearest even.
void ConvertToF16(const float* x, std::size_t n, std::uint16_t* out);

}  // namespace kiln::kernels
