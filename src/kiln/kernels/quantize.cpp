#include "kiln/kernels/quantize.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <string>

#include "kiln/base/error.h"
#include "kiln/kernels/dequantize.h"
#include "kiln/kernels/quantize_blocks.h"
#include "kiln/kernels/scale_search.h"

namespace kiln::kernels {
namespace detail {
namespace {

// Value of largest magnitude, with its sign (the first one on ties).
float SignedAbsMax(const float* x, int n) {
  float max = 0, amax = 0;
  for (int i = 0; i < n; ++i) {
    if (std::fabs(x[i]) > amax) {
      amax = std::fabs(x[i]);
      max = x[i];
    }
  }
  return max;
}

// The legacy types quantize against the scale as stored (rounded to half precision), so that
// rounding of the scale does not shift every level of the block.
float Inverse(float d) {
  return d != 0 ? 1.0f / d : 0.0f;
}

// Symmetric 4/5-bit: the value of largest magnitude maps to level -half (the side with the spare
// level), as in ggml's reference quantizer.
template <int kHalf>
void QuantizeSymmetric(const float* x, f16_bits& d_bits, int q[kQK], const char* name) {
  float max = SignedAbsMax(x, kQK);
  d_bits = ScaleToF16(max / -static_cast<float>(kHalf), name);
  float id = Inverse(F16ToF32(d_bits));
  for (int j = 0; j < kQK; ++j) q[j] = std::clamp(NearestInt(x[j] * id) + kHalf, 0, 2 * kHalf - 1);
}

// Asymmetric 4/5-bit: [min, max] spread over the levels.
template <int kLevels>
void QuantizeMinMax(const float* x, f16_bits& d_bits, f16_bits& m_bits, int q[kQK],
                    const char* name) {
  float min = x[0], max = x[0];
  for (int j = 1; j < kQK; ++j) {
    min = std::min(min, x[j]);
    max = std::max(max, x[j]);
  }
  d_bits = ScaleToF16((max - min) / static_cast<float>(kLevels - 1), name);
  m_bits = ScaleToF16(min, name);
  float id = Inverse(F16ToF32(d_bits));
  float m = F16ToF32(m_bits);
  for (int j = 0; j < kQK; ++j) q[j] = std::clamp(NearestInt((x[j] - m) * id), 0, kLevels - 1);
}

void PackNibbles(const int q[kQK], std::uint8_t qs[kQK / 2]) {
  for (int j = 0; j < kQK / 2; ++j) {
    qs[j] = static_cast<std::uint8_t>((q[j] & 0xF) | (q[j + kQK / 2] & 0xF) << 4);
  }
}

void PackFifthBits(const int q[kQK], std::uint8_t qh[4]) {
  std::uint32_t bits = 0;
  for (int j = 0; j < kQK; ++j) bits |= static_cast<std::uint32_t>((q[j] >> 4) & 1) << j;
  for (int k = 0; k < 4; ++k) qh[k] = static_cast<std::uint8_t>(bits >> (8 * k));
}

// 8-bit symmetric on [-127, 127] (never -128, so SIMD kernels may negate levels freely).
int QuantizeQ8(const float* x, int n, std::int8_t* qs, float d) {
  float id = Inverse(d);
  int sum = 0;
  for (int j = 0; j < n; ++j) {
    int q = std::clamp(NearestInt(x[j] * id), -127, 127);
    qs[j] = static_cast<std::int8_t>(q);
    sum += q;
  }
  return sum;
}

float AbsMax(const float* x, int n) {
  float amax = 0;
  for (int j = 0; j < n; ++j) amax = std::max(amax, std::fabs(x[j]));
  return amax;
}

}  // namespace

void QuantizeBlock(const float* x, BlockQ4_0& y) {
  int q[kQK];
  QuantizeSymmetric<8>(x, y.d, q, "Q4_0");
  PackNibbles(q, y.qs);
}

void QuantizeBlock(const float* x, BlockQ4_1& y) {
  int q[kQK];
  QuantizeMinMax<16>(x, y.d, y.m, q, "Q4_1");
  PackNibbles(q, y.qs);
}

void QuantizeBlock(const float* x, BlockQ5_0& y) {
  int q[kQK];
  QuantizeSymmetric<16>(x, y.d, q, "Q5_0");
  PackNibbles(q, y.qs);
  PackFifthBits(q, y.qh);
}

void QuantizeBlock(const float* x, BlockQ5_1& y) {
  int q[kQK];
  QuantizeMinMax<32>(x, y.d, y.m, q, "Q5_1");
  PackNibbles(q, y.qs);
  PackFifthBits(q, y.qh);
}

void QuantizeBlock(const float* x, BlockQ8_0& y) {
  y.d = ScaleToF16(AbsMax(x, kQK) / 127.0f, "Q8_0");
  QuantizeQ8(x, kQK, y.qs, F16ToF32(y.d));
}

void QuantizeBlock(const float* x, BlockQ8_1& y) {
  y.d = ScaleToF16(AbsMax(x, kQK) / 127.0f, "Q8_1");
  float d = F16ToF32(y.d);
  int sum = QuantizeQ8(x, kQK, y.qs, d);
  y.s = ScaleToF16(d * static_cast<float>(sum), "Q8_1");
}

// The scale stays in float: Q8_K carries activations, whose range no half scale bounds.
void QuantizeBlock(const float* x, BlockQ8_K& y) {
  y.d = AbsMax(x, kQK_K) / 127.0f;
  QuantizeQ8(x, kQK_K, y.qs, y.d);
  for (int g = 0; g < kQK_K / 16; ++g) {
    int sum = 0;
    for (int j = 0; j < 16; ++j) sum += y.qs[16 * g + j];
    y.bsums[g] = static_cast<std::int16_t>(sum);
  }
}

}  // namespace detail

namespace {

using gguf::TensorType;

constexpr std::array kQuantizable{
    TensorType::kF32,  TensorType::kF16,  TensorType::kBF16, TensorType::kQ4_0, TensorType::kQ4_1,
    TensorType::kQ5_0, TensorType::kQ5_1, TensorType::kQ8_0, TensorType::kQ8_1, TensorType::kQ2_K,
    TensorType::kQ3_K, TensorType::kQ4_K, TensorType::kQ5_K, TensorType::kQ6_K, TensorType::kQ8_K,
};

std::string QuantizableNames() {
  std::string names;
  for (TensorType t : kQuantizable) {
    if (!names.empty()) names += ", ";
    names += gguf::NameOf(t);
  }
  return names;
}

template <typename Block, int kElements>
void QuantizeBlocks(const float* src, void* dst, std::int64_t n) {
  auto* out = static_cast<std::uint8_t*>(dst);
  for (std::int64_t i = 0; i < n / kElements; ++i) {
    Block block;
    std::memset(&block, 0, sizeof block);
    detail::QuantizeBlock(src + i * kElements, block);
    std::memcpy(out + i * static_cast<std::int64_t>(sizeof(Block)), &block, sizeof block);
  }
}

void QuantizeHalves(TensorType type, const float* src, void* dst, std::int64_t n) {
  auto* out = static_cast<std::uint8_t*>(dst);
  for (std::int64_t i = 0; i < n; ++i) {
    std::uint16_t h = type == TensorType::kF16 ? F32ToF16(src[i]) : F32ToBf16(src[i]);
    float back = type == TensorType::kF16 ? F16ToF32(h) : Bf16ToF32(h);
    if (std::isinf(back)) {
      Fail(
          "cannot convert to {}: element {} is {:g}, beyond the type's range; keep this tensor "
          "in F32",
          gguf::NameOf(type), i, src[i]);
    }
    std::memcpy(out + 2 * i, &h, sizeof h);
  }
}

}  // namespace

std::span<const gguf::TensorType> QuantizableTypes() {
  return kQuantizable;
}

bool IsQuantizableType(gguf::TensorType type) {
  return std::find(kQuantizable.begin(), kQuantizable.end(), type) != kQuantizable.end();
}

void QuantizeRow(gguf::TensorType type, const float* src, void* dst, std::int64_t n) {
  if (!IsQuantizableType(type)) {
    Fail("cannot quantize to {}: supported types are {}", gguf::NameOf(type), QuantizableNames());
  }
  RowSizeBytes(type, n);  // validates n
  for (std::int64_t i = 0; i < n; ++i) {
    if (!std::isfinite(src[i])) {
      Fail("cannot quantize to {}: element {} is {}", gguf::NameOf(type), i, src[i]);
    }
  }
  if (n == 0) return;
  switch (type) {
    case TensorType::kF32:
      std::memcpy(dst, src, static_cast<std::size_t>(n) * sizeof(float));
      return;
    case TensorType::kF16:
    case TensorType::kBF16:
      return QuantizeHalves(type, src, dst, n);
    case TensorType::kQ4_0:
      return QuantizeBlocks<BlockQ4_0, kQK>(src, dst, n);
    case TensorType::kQ4_1:
      return QuantizeBlocks<BlockQ4_1, kQK>(src, dst, n);
    case TensorType::kQ5_0:
      return QuantizeBlocks<BlockQ5_0, kQK>(src, dst, n);
    case TensorType::kQ5_1:
      return QuantizeBlocks<BlockQ5_1, kQK>(src, dst, n);
    case TensorType::kQ8_0:
      return QuantizeBlocks<BlockQ8_0, kQK>(src, dst, n);
    case TensorType::kQ8_1:
      return QuantizeBlocks<BlockQ8_1, kQK>(src, dst, n);
    case TensorType::kQ2_K:
      return QuantizeBlocks<BlockQ2_K, kQK_K>(src, dst, n);
    case TensorType::kQ3_K:
      return QuantizeBlocks<BlockQ3_K, kQK_K>(src, dst, n);
    case TensorType::kQ4_K:
      return QuantizeBlocks<BlockQ4_K, kQK_K>(src, dst, n);
    case TensorType::kQ5_K:
      return QuantizeBlocks<BlockQ5_K, kQK_K>(src, dst, n);
    case TensorType::kQ6_K:
      return QuantizeBlocks<BlockQ6_K, kQK_K>(src, dst, n);
    case TensorType::kQ8_K:
      return QuantizeBlocks<BlockQ8_K, kQK_K>(src, dst, n);
    default:
      break;
  }
  Fail("internal error: tensor type {} listed as quantizable but not encoded", gguf::NameOf(type));
}

}  // namespace kiln::kernels
