// Reference (scalar) quantizers: one row of float32 values to a GGUF tensor encoding,
// bit-compatible with ggml's block layouts. The K types search scales and minimums by weighted
// least squares as llama.cpp's reference quantizer does; `kiln quantize` and the kernels' tests are
// built on these.
#pragma once

#include <cstdint>
#include <span>

#include "kiln/gguf/tensor_type.h"

namespace kiln::kernels {

// F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q8_1, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, Q8_K.
std::span<const gguf::TensorType> QuantizableTypes();
bool IsQuantizableType(gguf::TensorType type);

// Encodes `n` values (a whole number of blocks) of `src` into `dst`, which must hold
// RowSizeBytes(type, n) bytes and needs no alignment. kiln::Error for an unsupported type, a bad
// `n`, a value that is not finite, or a block whose scale overflows the type's half-precision
// scale (|x| beyond roughly 65504 times the type's largest level; such tensors belong in F32/BF16).
// Values too small for a half-precision scale quantize to zero, as in llama.cpp.
void QuantizeRow(gguf::TensorType type, const float* src, void* dst, std::int64_t n);

}  // namespace kiln::kernels
