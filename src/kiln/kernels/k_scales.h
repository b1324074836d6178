// The packed 6-bit sub-block scales of the K types: Q4_K/Q5_K keep 8 (scale, min) pairs in 12
// bytes, Q3_K keeps 16 signed scales in 12 bytes. Packing and unpacking live together here so the
// quantizer, the reference dequantizer and the SIMD kernels agree on one bit layout.
#pragma once

#include <cstdint>
#include <cstring>

#include "kiln/kernels/blocks.h"

namespace kiln::kernels {

// Q4_K / Q5_K: pairs 0..3 sit in the low 6 bits of bytes 0..3 (scale) and 4..7 (min); pairs 4..7
// put their low 4 bits in the nibbles of bytes 8..11 and their top 2 bits in the spare top bits of
// bytes 0..7.
struct ScaleMin {
  std::uint8_t scale;
  std::uint8_t min;
};

inline ScaleMin UnpackScaleMinK4(int j, const std::uint8_t* packed) {
  if (j < 4) {
    return {static_cast<std::uint8_t>(packed[j] & 63),
            static_cast<std::uint8_t>(packed[j + 4] & 63)};
  }
  return {static_cast<std::uint8_t>((packed[j + 4] & 0xF) | ((packed[j - 4] >> 6) << 4)),
          static_cast<std::uint8_t>((packed[j + 4] >> 4) | ((packed[j] >> 6) << 4))};
}

// `scales` and `mins` are 6-bit values (0..63).
inline void PackScalesMinsK4(const std::uint8_t scales[8], const std::uint8_t mins[8],
                             std::uint8_t packed[kKScaleBytes]) {
  std::memset(packed, 0, kKScaleBytes);
  for (int j = 0; j < 8; ++j) {
    std::uint8_t ls = scales[j] & 63;
    std::uint8_t lm = mins[j] & 63;
    if (j < 4) {
      packed[j] = ls;
      packed[j + 4] = lm;
    } else {
      packed[j + 4] = static_cast<std::uint8_t>((ls & 0xF) | ((lm & 0xF) << 4));
      packed[j - 4] |= static_cast<std::uint8_t>((ls >> 4) << 6);
      packed[j] |= static_cast<std::uint8_t>((lm >> 4) << 6);
    }
  }
}

// Q3_K: scale j (biased by 32) keeps its low 4 bits in a nibble of bytes 0..7 (low nibbles for
// j < 8, high nibbles for j >= 8) and its top 2 bits in byte 8 + j % 4 at bit 2 * (j / 4).
inline void UnpackQ3KScales(const std::uint8_t packed[12], std::int8_t scales[16]) {
  for (int j = 0; j < 16; ++j) {
    int low = j < 8 ? packed[j] & 0xF : packed[j - 8] >> 4;
    int high = (packed[8 + j % 4] >> (2 * (j / 4))) & 3;
    scales[j] = static_cast<std::int8_t>((low | (high << 4)) - 32);
  }
}

// `scales` are in -32..31.
inline void PackQ3KScales(const std::int8_t scales[16], std::uint8_t packed[12]) {
  std::memset(packed, 0, 12);
  for (int j = 0; j < 16; ++j) {
    int biased = scales[j] + 32;
    if (j < 8) {
      packed[j] = static_cast<std::uint8_t>(biased & 0xF);
    } else {
      packed[j - 8] |= static_cast<std::uint8_t>((biased & 0xF) << 4);
    }
    packed[8 + j % 4] |= static_cast<std::uint8_t>((biased >> 4) << (2 * (j / 4)));
  }
}

}  // namespace kiln::kernels
