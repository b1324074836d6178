// Block quantizers behind QuantizeRow, one per type: each encodes one block's worth of values.
// Internal to the kernels layer; QuantizeRow validates input (finite values, whole blocks) first.
#pragma once

#include <cmath>

#include "kiln/base/error.h"
#include "kiln/kernels/blocks.h"
#include "kiln/kernels/fp16.h"

namespace kiln::kernels::detail {

// A block's scale in half precision; kiln::Error naming the type when it overflows.
inline f16_bits ScaleToF16(float scale, const char* type_name) {
  f16_bits h = F32ToF16(scale);
  if (std::isinf(F16ToF32(h))) {
    Fail(
        "cannot quantize to {}: a block needs scale {:g}, beyond half precision's 65504; keep "
        "this tensor in F32 or BF16",
        type_name, scale);
  }
  return h;
}

void QuantizeBlock(const float* x, BlockQ4_0& y);
void QuantizeBlock(const float* x, BlockQ4_1& y);
void QuantizeBlock(const float* x, BlockQ5_0& y);
void QuantizeBlock(const float* x, BlockQ5_1& y);
void QuantizeBlock(const float* x, BlockQ8_0& y);
void QuantizeBlock(const float* x, BlockQ8_1& y);
void QuantizeBlock(const float* x, BlockQ8_K& y);
void QuantizeBlock(const float* x, BlockQ2_K& y);
void QuantizeBlock(const float* x, BlockQ3_K& y);
void QuantizeBlock(const float* x, BlockQ4_K& y);
void QuantizeBlock(const float* x, BlockQ5_K& y);
void QuantizeBlock(const float* x, BlockQ6_K& y);

}  // namespace kiln::kernels::detail
