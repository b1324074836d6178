// Scalar conversions between float and the 16-bit float formats stored in GGUF files
// (IEEE half and bfloat16). SIMD kernels convert in bulk with Highway; these are the reference.
#pragma once

#include <cstdint>
#include <cstring>

namespace kiln::kernels {

inline float Bf16ToF32(std::uint16_t h) {
  std::uint32_t bits = static_cast<std::uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

// Round to nearest even; NaN stays NaN.
inline std::uint16_t F32ToBf16(float f) {
  std::uint32_t bits;
  std::memcpy(&bits, &f, sizeof bits);
  if ((bits & 0x7fffffffu) > 0x7f800000u) return static_cast<std::uint16_t>((bits >> 16) | 0x40);
  bits += 0x7fffu + ((bits >> 16) & 1u);
  return static_cast<std::uint16_t>(bits >> 16);
}

float F16ToF32(std::uint16_t h);
// Round to nearest even, overflow to infinity, NaN stays NaN.
std::uint16_t F32ToF16(float f);

}  // namespace kiln::kernels
