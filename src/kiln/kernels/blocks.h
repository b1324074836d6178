// Block layouts of ggml's quantized tensor types, bit for bit as they sit in GGUF files.
// Weights are read in place from the memory map through these structs; the quantizer writes them.
#pragma once

#include <cstddef>
#include <cstdint>

namespace kiln::kernels {

inline constexpr int kQK = 32;    // elements per block of the legacy types (Q4_0 … Q8_1)
inline constexpr int kQK_K = 256; // elements per super-block of the K types
inline constexpr int kKScaleBytes = 12;  // packed 6-bit scales/mins of Q4_K and Q5_K

using f16_bits = std::uint16_t;   // IEEE half, stored as raw bits
using bf16_bits = std::uint16_t;  // bfloat16, stored as raw bits

// x = (q - 8) * d; element j is the low nibble of qs[j], element j+16 the high nibble.
struct BlockQ4_0 {
  f16_bits d;
  std::uint8_t qs[kQK / 2];
};
// x = q * d + m
struct BlockQ4_1 {
  f16_bits d;
  f16_bits m;
  std::uint8_t qs[kQK / 2];
};
// x = (q - 16) * d; bit j of qh is the fifth bit of element j.
struct BlockQ5_0 {
  f16_bits d;
  std::uint8_t qh[4];
  std::uint8_t qs[kQK / 2];
};
struct BlockQ5_1 {
  f16_bits d;
  f16_bits m;
  std::uint8_t qh[4];
  std::uint8_t qs[kQK / 2];
};
// x = q * d
struct BlockQ8_0 {
  f16_bits d;
  std::int8_t qs[kQK];
};
// s = d * sum(qs), kept so that offset types (Q4_1, Q5_1) fold their minimum in one multiply.
struct BlockQ8_1 {
  f16_bits d;
  f16_bits s;
  std::int8_t qs[kQK];
};

struct BlockQ2_K {
  std::uint8_t scales[kQK_K / 16];  // 4-bit scale and 4-bit min per 16 elements
  std::uint8_t qs[kQK_K / 4];
  f16_bits d;
  f16_bits dmin;
};
struct BlockQ3_K {
  std::uint8_t hmask[kQK_K / 8];
  std::uint8_t qs[kQK_K / 4];
  std::uint8_t scales[12];  // 16 6-bit scales
  f16_bits d;
};
// 8 sub-blocks of 32; x = d * sc * q - dmin * m with 6-bit sc, m packed in scales.
struct BlockQ4_K {
  f16_bits d;
  f16_bits dmin;
  std::uint8_t scales[kKScaleBytes];
  std::uint8_t qs[kQK_K / 2];
};
struct BlockQ5_K {
  f16_bits d;
  f16_bits dmin;
  std::uint8_t scales[kKScaleBytes];
  std::uint8_t qh[kQK_K / 8];
  std::uint8_t qs[kQK_K / 2];
};
// 16 sub-blocks of 16; x = d * scales[i] * (q - 32) with 6-bit q split over ql and qh.
struct BlockQ6_K {
  std::uint8_t ql[kQK_K / 2];
  std::uint8_t qh[kQK_K / 4];
  std::int8_t scales[kQK_K / 16];
  f16_bits d;
};
// Activation blocks for the K types: float scale, and sums of each 16 elements.
struct BlockQ8_K {
  float d;
  std::int8_t qs[kQK_K];
  std::int16_t bsums[kQK_K / 16];
};

static_assert(sizeof(BlockQ4_0) == 18);
static_assert(sizeof(BlockQ4_1) == 20);
static_assert(sizeof(BlockQ5_0) == 22);
static_assert(sizeof(BlockQ5_1) == 24);
static_assert(sizeof(BlockQ8_0) == 34);
static_assert(sizeof(BlockQ8_1) == 36);
static_assert(sizeof(BlockQ2_K) == 84);
static_assert(sizeof(BlockQ3_K) == 110);
static_assert(sizeof(BlockQ4_K) == 144);
static_assert(sizeof(BlockQ5_K) == 176);
static_assert(sizeof(BlockQ6_K) == 210);
static_assert(sizeof(BlockQ8_K) == 292);

}  // namespace kiln::kernels
