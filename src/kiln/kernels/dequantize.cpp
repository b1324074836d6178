#include "kiln/kernels/dequantize.h"

#include <array>
#include <cstring>
#include <string>

#include "kiln/base/error.h"
#include "kiln/kernels/blocks.h"
#include "kiln/kernels/fp16.h"
#include "kiln/kernels/k_scales.h"

namespace kiln::kernels {
namespace {

using gguf::TensorType;

constexpr std::array kSupported{
    TensorType::kF32,  TensorType::kF16,  TensorType::kBF16, TensorType::kQ4_0, TensorType::kQ4_1,
    TensorType::kQ5_0, TensorType::kQ5_1, TensorType::kQ8_0, TensorType::kQ8_1, TensorType::kQ2_K,
    TensorType::kQ3_K, TensorType::kQ4_K, TensorType::kQ5_K, TensorType::kQ6_K, TensorType::kQ8_K,
};

std::string SupportedNames() {
  std::string names;
  for (TensorType t : kSupported) {
    if (!names.empty()) names += ", ";
    names += gguf::NameOf(t);
  }
  return names;
}

// Blocks are copied out of the source because a row may start at any byte (only the tensor start
// is aligned in a GGUF file, and callers may hand us a pointer into a packed buffer).
template <typename Block>
Block LoadBlock(const std::uint8_t* src, std::int64_t i) {
  Block b;
  std::memcpy(&b, src + i * static_cast<std::int64_t>(sizeof(Block)), sizeof(Block));
  return b;
}

void DequantizeQ4_0(const BlockQ4_0& b, float* y) {
  float d = F16ToF32(b.d);
  for (int j = 0; j < kQK / 2; ++j) {
    y[j] = static_cast<float>((b.qs[j] & 0xF) - 8) * d;
    y[j + kQK / 2] = static_cast<float>((b.qs[j] >> 4) - 8) * d;
  }
}

void DequantizeQ4_1(const BlockQ4_1& b, float* y) {
  float d = F16ToF32(b.d);
  float m = F16ToF32(b.m);
  for (int j = 0; j < kQK / 2; ++j) {
    y[j] = static_cast<float>(b.qs[j] & 0xF) * d + m;
    y[j + kQK / 2] = static_cast<float>(b.qs[j] >> 4) * d + m;
  }
}

// Fifth bits: bit j of the little-endian qh word belongs to element j.
template <typename Block>
void FifthBits(const Block& b, int out[kQK]) {
  std::uint32_t qh =
      static_cast<std::uint32_t>(b.qh[0]) | static_cast<std::uint32_t>(b.qh[1]) << 8 |
      static_cast<std::uint32_t>(b.qh[2]) << 16 | static_cast<std::uint32_t>(b.qh[3]) << 24;
  for (int j = 0; j < kQK / 2; ++j) {
    out[j] = (b.qs[j] & 0xF) | static_cast<int>(((qh >> j) & 1u) << 4);
    out[j + kQK / 2] = (b.qs[j] >> 4) | static_cast<int>(((qh >> (j + kQK / 2)) & 1u) << 4);
  }
}

void DequantizeQ5_0(const BlockQ5_0& b, float* y) {
  float d = F16ToF32(b.d);
  int q[kQK];
  FifthBits(b, q);
  for (int j = 0; j < kQK; ++j) y[j] = static_cast<float>(q[j] - 16) * d;
}

void DequantizeQ5_1(const BlockQ5_1& b, float* y) {
  float d = F16ToF32(b.d);
  float m = F16ToF32(b.m);
  int q[kQK];
  FifthBits(b, q);
  for (int j = 0; j < kQK; ++j) y[j] = static_cast<float>(q[j]) * d + m;
}

void DequantizeQ8_0(const BlockQ8_0& b, float* y) {
  float d = F16ToF32(b.d);
  for (int j = 0; j < kQK; ++j) y[j] = static_cast<float>(b.qs[j]) * d;
}

void DequantizeQ8_1(const BlockQ8_1& b, float* y) {
  float d = F16ToF32(b.d);
  for (int j = 0; j < kQK; ++j) y[j] = static_cast<float>(b.qs[j]) * d;
}

// Each qs byte holds four 2-bit quants of elements 32 apart within a 128-element half; every 16
// elements have their own 4-bit scale and min.
void DequantizeQ2_K(const BlockQ2_K& b, float* y) {
  float d = F16ToF32(b.d);
  float dmin = F16ToF32(b.dmin);
  for (int e = 0; e < kQK_K; ++e) {
    int half = e / 128;
    int shift = 2 * ((e % 128) / 32);
    int q = (b.qs[half * 32 + e % 32] >> shift) & 3;
    std::uint8_t sc = b.scales[e / 16];
    y[e] = d * static_cast<float>(sc & 0xF) * static_cast<float>(q) -
           dmin * static_cast<float>(sc >> 4);
  }
}

// Low two bits as in Q2_K; the third bit of element e is bit e / 32 of hmask[e % 32], and a clear
// bit means "subtract 4".
void DequantizeQ3_K(const BlockQ3_K& b, float* y) {
  float d = F16ToF32(b.d);
  std::int8_t scales[16];
  UnpackQ3KScales(b.scales, scales);
  for (int e = 0; e < kQK_K; ++e) {
    int half = e / 128;
    int shift = 2 * ((e % 128) / 32);
    int low = (b.qs[half * 32 + e % 32] >> shift) & 3;
    int high = (b.hmask[e % 32] >> (e / 32)) & 1;
    int q = low - (high ? 0 : 4);
    y[e] = d * static_cast<float>(scales[e / 16]) * static_cast<float>(q);
  }
}

// 64-element chunks: byte l of chunk c holds element 64c + l in its low nibble and 64c + 32 + l in
// its high nibble.
void DequantizeQ4_K(const BlockQ4_K& b, float* y) {
  float d = F16ToF32(b.d);
  float dmin = F16ToF32(b.dmin);
  for (int sub = 0; sub < 8; ++sub) {
    ScaleMin sm = UnpackScaleMinK4(sub, b.scales);
    float dl = d * sm.scale;
    float ml = dmin * sm.min;
    const std::uint8_t* q = b.qs + 32 * (sub / 2);
    int shift = 4 * (sub % 2);
    for (int l = 0; l < 32; ++l) {
      y[32 * sub + l] = dl * static_cast<float>((q[l] >> shift) & 0xF) - ml;
    }
  }
}

// As Q4_K, plus a fifth bit: bit `sub` of qh[l] for element 32 * sub + l.
void DequantizeQ5_K(const BlockQ5_K& b, float* y) {
  float d = F16ToF32(b.d);
  float dmin = F16ToF32(b.dmin);
  for (int sub = 0; sub < 8; ++sub) {
    ScaleMin sm = UnpackScaleMinK4(sub, b.scales);
    float dl = d * sm.scale;
    float ml = dmin * sm.min;
    const std::uint8_t* q = b.qs + 32 * (sub / 2);
    int shift = 4 * (sub % 2);
    for (int l = 0; l < 32; ++l) {
      int v = ((q[l] >> shift) & 0xF) | (((b.qh[l] >> sub) & 1) << 4);
      y[32 * sub + l] = dl * static_cast<float>(v) - ml;
    }
  }
}

// Per 128-element half: ql[l] holds elements l (low nibble) and 64 + l (high nibble), ql[32 + l]
// holds 32 + l and 96 + l; qh[l] holds the top two bits of l, 32 + l, 64 + l, 96 + l in that order.
void DequantizeQ6_K(const BlockQ6_K& b, float* y) {
  float d = F16ToF32(b.d);
  for (int half = 0; half < 2; ++half) {
    const std::uint8_t* ql = b.ql + 64 * half;
    const std::uint8_t* qh = b.qh + 32 * half;
    const std::int8_t* sc = b.scales + 8 * half;
    float* out = y + 128 * half;
    for (int l = 0; l < 32; ++l) {
      int is = l / 16;
      int q1 = ((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
      int q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
      int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
      int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
      out[l] = d * static_cast<float>(sc[is + 0]) * static_cast<float>(q1);
      out[l + 32] = d * static_cast<float>(sc[is + 2]) * static_cast<float>(q2);
      out[l + 64] = d * static_cast<float>(sc[is + 4]) * static_cast<float>(q3);
      out[l + 96] = d * static_cast<float>(sc[is + 6]) * static_cast<float>(q4);
    }
  }
}

void DequantizeQ8_K(const BlockQ8_K& b, float* y) {
  for (int j = 0; j < kQK_K; ++j) y[j] = b.d * static_cast<float>(b.qs[j]);
}

template <typename Block, int kElements>
void DequantizeBlocks(void (*decode)(const Block&, float*), const void* src, float* dst,
                      std::int64_t n) {
  const auto* bytes = static_cast<const std::uint8_t*>(src);
  for (std::int64_t i = 0; i < n / kElements; ++i) {
    decode(LoadBlock<Block>(bytes, i), dst + i * kElements);
  }
}

}  // namespace

std::span<const gguf::TensorType> SupportedWeightTypes() {
  return kSupported;
}

bool IsSupportedWeightType(gguf::TensorType type) {
  for (TensorType t : kSupported) {
    if (t == type) return true;
  }
  return false;
}

std::size_t RowSizeBytes(gguf::TensorType type, std::int64_t n) {
  gguf::TensorTypeTraits traits = gguf::TraitsOf(type);
  if (n < 0 || n % traits.block_elements != 0) {
    Fail("a row of {} elements is not a whole number of {} blocks ({} elements each)", n,
         traits.name, traits.block_elements);
  }
  return static_cast<std::size_t>(n / traits.block_elements) * traits.block_bytes;
}

void DequantizeRow(gguf::TensorType type, const void* src, float* dst, std::int64_t n) {
  if (!IsSupportedWeightType(type)) {
    Fail("cannot decode tensor type {}: supported types are {}", gguf::NameOf(type),
         SupportedNames());
  }
  RowSizeBytes(type, n);  // validates n
  if (n == 0) return;
  const auto* bytes = static_cast<const std::uint8_t*>(src);
  switch (type) {
    case TensorType::kF32:
      std::memcpy(dst, src, static_cast<std::size_t>(n) * sizeof(float));
      return;
    case TensorType::kF16:
    case TensorType::kBF16:
      for (std::int64_t i = 0; i < n; ++i) {
        std::uint16_t h;
        std::memcpy(&h, bytes + 2 * i, sizeof h);
        dst[i] = type == TensorType::kF16 ? F16ToF32(h) : Bf16ToF32(h);
      }
      return;
    case TensorType::kQ4_0:
      return DequantizeBlocks<BlockQ4_0, kQK>(DequantizeQ4_0, src, dst, n);
    case TensorType::kQ4_1:
      return DequantizeBlocks<BlockQ4_1, kQK>(DequantizeQ4_1, src, dst, n);
    case TensorType::kQ5_0:
      return DequantizeBlocks<BlockQ5_0, kQK>(DequantizeQ5_0, src, dst, n);
    case TensorType::kQ5_1:
      return DequantizeBlocks<BlockQ5_1, kQK>(DequantizeQ5_1, src, dst, n);
    case TensorType::kQ8_0:
      return DequantizeBlocks<BlockQ8_0, kQK>(DequantizeQ8_0, src, dst, n);
    case TensorType::kQ8_1:
      return DequantizeBlocks<BlockQ8_1, kQK>(DequantizeQ8_1, src, dst, n);
    case TensorType::kQ2_K:
      return DequantizeBlocks<BlockQ2_K, kQK_K>(DequantizeQ2_K, src, dst, n);
    case TensorType::kQ3_K:
      return DequantizeBlocks<BlockQ3_K, kQK_K>(DequantizeQ3_K, src, dst, n);
    case TensorType::kQ4_K:
      return DequantizeBlocks<BlockQ4_K, kQK_K>(DequantizeQ4_K, src, dst, n);
    case TensorType::kQ5_K:
      return DequantizeBlocks<BlockQ5_K, kQK_K>(DequantizeQ5_K, src, dst, n);
    case TensorType::kQ6_K:
      return DequantizeBlocks<BlockQ6_K, kQK_K>(DequantizeQ6_K, src, dst, n);
    case TensorType::kQ8_K:
      return DequantizeBlocks<BlockQ8_K, kQK_K>(DequantizeQ8_K, src, dst, n);
    default:
      break;
  }
  Fail("internal error: tensor type {} listed as supported but not decoded", gguf::NameOf(type));
}

}  // namespace kiln::kernels
