// MatMul: Y = X·Wᵀ for weights kept in their GGUF storage format (F32, F16, BF16, the legacy
// 32-element block types and the K types) and a batch of F32 activation rows. Quantized weights are
// multiplied with 8-bit integer dot products against activations quantized once per call; the
// widest SIMD target the CPU supports is chosen at run time (Highway dynamic dispatch).
#pragma once

#include <cstddef>
#include <cstdint>

#include "kiln/gguf/tensor_type.h"
#include "kiln/kernels/thread_pool.h"

namespace kiln::kernels {

// A weight matrix of `rows` rows, each `cols` elements stored back to back in `type`'s format,
// row r starting at data + r * row_bytes (usually a tensor inside a memory-mapped GGUF file).
struct WeightMatrix {
  gguf::TensorType type = gguf::TensorType::kF32;
  const void* data = nullptr;
  std::int64_t rows = 0;
  std::int64_t cols = 0;
  std::size_t row_bytes = 0;
};

// Builds the WeightMatrix of a dense 2-D tensor (rows of gguf::RowBytes(type, cols) bytes).
WeightMatrix DenseWeights(gguf::TensorType type, const void* data, std::int64_t rows,
                          std::int64_t cols);

// Whether MatMul accepts weights of this type.
bool MatMulSupports(gguf::TensorType type);

// Working memory for MatMul: the activations quantized for the current call. It grows to the
// largest shape seen and is then reused, so steady-state calls allocate nothing. One scratch per
// thread that calls MatMul.
class MatMulScratch {
 public:
  MatMulScratch() = default;
  ~MatMulScratch();
  MatMulScratch(const MatMulScratch&) = delete;
  MatMulScratch& operator=(const MatMulScratch&) = delete;

  // Makes room for `n_tokens` rows of `cols` activations ahead of time (optional).
  void Reserve(std::int64_t n_tokens, std::int64_t cols);

  // Aligned storage of at least `bytes` bytes; contents are not kept across growth.
  void* Bytes(std::size_t bytes);

 private:
  void* data_ = nullptr;
  std::size_t capacity_ = 0;
};

// y[t][r] = sum_k W[r][k] * x[t][k] for t < n_tokens, r < w.rows. x is [n_tokens][w.cols] and y is
// [n_tokens][w.rows], both row-major and not overlapping. Rows are split across `pool`; each weight
// byte is read from memory once per call whatever n_tokens is. Throws kiln::Error for an
// unsupported type or a shape that does not fit the type's blocks.
void MatMul(const WeightMatrix& w, const float* x, std::int64_t n_tokens, float* y,
            ThreadPool& pool, MatMulScratch& scratch);

// How the activations enter the multiplication for weights of `type`: quantized to 8 bits in
// blocks of 32 (legacy types) or 256 (K types) elements, or used as they are (float types).
// Writes into `out` the values MatMul actually multiplies for activation row `x` of `cols`
// elements: x itself, or x quantized and dequantized. For tests and error analysis.
void ActivationsAsMultiplied(gguf::TensorType type, const float* x, std::int64_t cols, float* out);

// Elements per activation quantization block for weights of `type` (1 when not quantized).
std::int64_t ActivationBlockSize(gguf::TensorType type);

}  // namespace kiln::kernels
