// Reference (scalar) dequantization of every weight format Kiln reads: one row of a tensor in its
// stored GGUF encoding to float32, with ggml's formulas exactly. SIMD kernels are tested against
// it, and anything without a fast path (norm weights, embeddings) is read through it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "kiln/gguf/tensor_type.h"

namespace kiln::kernels {

// The types DequantizeRow decodes: F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q8_1 and the
// K family Q2_K … Q8_K.
std::span<const gguf::TensorType> SupportedWeightTypes();
bool IsSupportedWeightType(gguf::TensorType type);

// Bytes taken by `n` elements of `type`. kiln::Error when n is negative or not a whole number of
// blocks (a row never splits a block).
std::size_t RowSizeBytes(gguf::TensorType type, std::int64_t n);

// Decodes `n` elements (a whole number of blocks) from `src` into `dst`. `src` needs no
// alignment. kiln::Error for a type outside SupportedWeightTypes() or a bad `n`.
void DequantizeRow(gguf::TensorType type, const void* src, float* dst, std::int64_t n);

}  // namespace kiln::kernels
