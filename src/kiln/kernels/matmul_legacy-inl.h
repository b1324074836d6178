// Per-target kernels for the legacy 32-element block types (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0) against
// activations quantized in blocks of 32 (ActFormat::kQ8). Each block decodes to unsigned 8-bit
// values u with x = d * u + m (Q8_0: signed values, m = 0), so one dot block is
//   d_w * d_x * sum(u * q) + m_w * s_x        with s_x = d_x * sum(q),
// the integer sum coming from 8-bit multiplies (maddubs / VNNI).

#if defined(KILN_KERNELS_MATMUL_LEGACY_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef KILN_KERNELS_MATMUL_LEGACY_INL_H_
#undef KILN_KERNELS_MATMUL_LEGACY_INL_H_
#else
#define KILN_KERNELS_MATMUL_LEGACY_INL_H_
#endif

#include <cstdint>
#include <cstring>

#include "hwy/highway.h"
#include "kiln/kernels/blocks.h"
#include "kiln/kernels/dot_int8-inl.h"
#include "kiln/kernels/matmul_internal.h"
#include "kiln/kernels/matmul_tiles-inl.h"

HWY_BEFORE_NAMESPACE();
namespace kiln::kernels::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

#if HWY_TARGET != HWY_SCALAR && HWY_TARGET != HWY_EMU128

// Elements 0..15 of a block are the low nibbles of qs[0..15], elements 16..31 the high nibbles.
HWY_INLINE void UnpackNibbleBlock(const std::uint8_t* HWY_RESTRICT qs, VU8* parts) {
  const DU8 du8;
  const auto mask = hn::Set(du8, 0x0F);
  if constexpr (kParts == 1) {
    const hn::Half<DU8> dh;
    const auto lo = hn::LoadU(dh, qs);
    const auto hi =
        hn::BitCast(dh, hn::ShiftRight<4>(hn::BitCast(hn::RepartitionToWide<decltype(dh)>(), lo)));
    parts[0] = hn::And(hn::Combine(du8, hi, lo), mask);
  } else {
    const auto v = hn::LoadU(du8, qs);
    parts[0] = hn::And(v, mask);
    parts[1] = hn::And(hn::BitCast(du8, hn::ShiftRight<4>(hn::BitCast(DU16(), v))), mask);
  }
}

// Sets `value` in the lanes whose bit is set in `bits` (bit i belongs to element i of the block).
HWY_INLINE void OrHighBits(std::uint32_t bits, std::uint8_t value, VU8* parts) {
  alignas(32) static constexpr std::uint8_t kByteOf[32] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1,
                                                           1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2,
                                                           2, 2, 3, 3, 3, 3, 3, 3, 3, 3};
  alignas(32) static constexpr std::uint8_t kBitOf[32] = {
      1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128,
      1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128};
  const DU8 du8;
  // Every 4-byte group (so every 128-bit block, which byte lookups stay within) holds all of bits.
  const auto bytes = hn::BitCast(du8, hn::Set(hn::Repartition<std::uint32_t, DU8>(), bits));
  for (int p = 0; p < kParts; ++p) {
    const auto selected = hn::TableLookupBytes(bytes, hn::Load(du8, kByteOf + p * kBytesPerVec));
    const auto set = hn::TestBit(selected, hn::Load(du8, kBitOf + p * kBytesPerVec));
    parts[p] = hn::Or(parts[p], hn::IfThenElseZero(set, hn::Set(du8, value)));
  }
}

HWY_INLINE std::uint32_t LoadU32(const std::uint8_t* p) {
  std::uint32_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// Decoders: Quants() gives the block's 8-bit values, Scale() its d and Min() its m.
struct DecodeQ4_0 {
  using Block = BlockQ4_0;
  static constexpr bool kSigned = false;
  static constexpr bool kHasMin = true;
  static HWY_INLINE void Quants(const Block& b, VU8* parts) { UnpackNibbleBlock(b.qs, parts); }
  static HWY_INLINE float Scale(const Block& b) { return HalfToF32(b.d); }
  static HWY_INLINE float Min(const Block& b) { return -8.0f * HalfToF32(b.d); }
};

struct DecodeQ4_1 {
  using Block = BlockQ4_1;
  static constexpr bool kSigned = false;
  static constexpr bool kHasMin = true;
  static HWY_INLINE void Quants(const Block& b, VU8* parts) { UnpackNibbleBlock(b.qs, parts); }
  static HWY_INLINE float Scale(const Block& b) { return HalfToF32(b.d); }
  static HWY_INLINE float Min(const Block& b) { return HalfToF32(b.m); }
};

struct DecodeQ5_0 {
  using Block = BlockQ5_0;
  static constexpr bool kSigned = false;
  static constexpr bool kHasMin = true;
  static HWY_INLINE void Quants(const Block& b, VU8* parts) {
    UnpackNibbleBlock(b.qs, parts);
    OrHighBits(LoadU32(b.qh), 0x10, parts);
  }
  static HWY_INLINE float Scale(const Block& b) { return HalfToF32(b.d); }
  static HWY_INLINE float Min(const Block& b) { return -16.0f * HalfToF32(b.d); }
};

struct DecodeQ5_1 {
  using Block = BlockQ5_1;
  static constexpr bool kSigned = false;
  static constexpr bool kHasMin = true;
  static HWY_INLINE void Quants(const Block& b, VU8* parts) {
    UnpackNibbleBlock(b.qs, parts);
    OrHighBits(LoadU32(b.qh), 0x10, parts);
  }
  static HWY_INLINE float Scale(const Block& b) { return HalfToF32(b.d); }
  static HWY_INLINE float Min(const Block& b) { return HalfToF32(b.m); }
};

struct DecodeQ8_0 {
  using Block = BlockQ8_0;
  static constexpr bool kSigned = true;
  static constexpr bool kHasMin = false;
  static HWY_INLINE void Quants(const Block& b, VU8* parts) {
    const auto* qs = reinterpret_cast<const std::uint8_t*>(b.qs);
    for (int p = 0; p < kParts; ++p) parts[p] = hn::LoadU(DU8(), qs + p * kBytesPerVec);
  }
  static HWY_INLINE float Scale(const Block& b) { return HalfToF32(b.d); }
  static HWY_INLINE float Min(const Block&) { return 0.0f; }
};

template <class Decode>
struct LegacyKernel {
  static constexpr int kRows = kTileRows;
  static constexpr int kTokens = kTileTokens;

  template <int T>
  static HWY_INLINE void Tile(const std::uint8_t* const* rows, const detail::ActivationRows& acts,
                              const std::int64_t* tokens, float* HWY_RESTRICT out) {
    constexpr int R = kRows;
    using Block = typename Decode::Block;
    const DF32 df;
    const DI32 di32;
    const DI8 di8;
    const std::int64_t blocks = acts.cols / detail::kQ8Block;

    const Block* w[R];
    for (int r = 0; r < R; ++r) w[r] = reinterpret_cast<const Block*>(rows[r]);
    const std::int8_t* xq[T];
    const float* xd[T];
    const float* xs[T];
    for (int t = 0; t < T; ++t) {
      xq[t] = acts.QRow(tokens[t]);
      xd[t] = acts.DRow(tokens[t]);
      xs[t] = Decode::kHasMin ? acts.SRow(tokens[t]) : nullptr;
    }

    VF32 acc[R][T];
    for (int r = 0; r < R; ++r) {
      for (int t = 0; t < T; ++t) acc[r][t] = hn::Zero(df);
    }
    // Min terms are added in every lane, so they are pre-divided by the lane count.
    const float min_share = 1.0f / static_cast<float>(kFloatLanes);

    for (std::int64_t b = 0; b < blocks; ++b) {
      VU8 wq[R][kParts];
      VF32 wd[R];
      VF32 wm[R];
#pragma GCC unroll 4
      for (int r = 0; r < R; ++r) {
        Decode::Quants(w[r][b], wq[r]);
        wd[r] = hn::Set(df, Decode::Scale(w[r][b]));
        if constexpr (Decode::kHasMin) wm[r] = hn::Set(df, Decode::Min(w[r][b]) * min_share);
      }
#pragma GCC unroll 4
      for (int t = 0; t < T; ++t) {
        VI8 xv[kParts];
        for (int p = 0; p < kParts; ++p) {
          xv[p] = hn::LoadU(di8, xq[t] + b * detail::kQ8Block + p * kBytesPerVec);
        }
        const VF32 dx = hn::Set(df, xd[t][b]);
#pragma GCC unroll 4
        for (int r = 0; r < R; ++r) {
          VI32 isum = hn::Zero(di32);
          for (int p = 0; p < kParts; ++p) {
            if constexpr (Decode::kSigned) {
              isum = DotI8I8(isum, hn::BitCast(di8, wq[r][p]), xv[p]);
            } else {
              isum = DotU8I8(isum, wq[r][p], xv[p]);
            }
          }
          acc[r][t] = hn::MulAdd(hn::ConvertTo(df, isum), hn::Mul(wd[r], dx), acc[r][t]);
          if constexpr (Decode::kHasMin) {
            acc[r][t] = hn::MulAdd(wm[r], hn::Set(df, xs[t][b]), acc[r][t]);
          }
        }
      }
    }
    for (int r = 0; r < R; ++r) {
      for (int t = 0; t < T; ++t) out[r * T + t] = ReduceSum(acc[r][t]);
    }
  }
};

#endif  // HWY_TARGET != HWY_SCALAR

inline void MultiplyLegacyRows(const WeightMatrix& w, const detail::ActivationRows& acts,
                               std::int64_t n_tokens, std::int64_t row_begin, std::int64_t row_end,
                               float* y) {
#if HWY_TARGET == HWY_SCALAR || HWY_TARGET == HWY_EMU128
  MultiplyRowsScalar(w, acts, n_tokens, row_begin, row_end, y);
#else
  using gguf::TensorType;
  switch (w.type) {
    case TensorType::kQ4_0:
      return MultiplyRowsTiled<LegacyKernel<DecodeQ4_0> >(w, acts, n_tokens, row_begin, row_end, y);
    case TensorType::kQ4_1:
      return MultiplyRowsTiled<LegacyKernel<DecodeQ4_1> >(w, acts, n_tokens, row_begin, row_end, y);
    case TensorType::kQ5_0:
      return MultiplyRowsTiled<LegacyKernel<DecodeQ5_0> >(w, acts, n_tokens, row_begin, row_end, y);
    case TensorType::kQ5_1:
      return MultiplyRowsTiled<LegacyKernel<DecodeQ5_1> >(w, acts, n_tokens, row_begin, row_end, y);
    case TensorType::kQ8_0:
      return MultiplyRowsTiled<LegacyKernel<DecodeQ8_0> >(w, acts, n_tokens, row_begin, row_end, y);
    default:
      break;
  }
#endif
}

}  // namespace kiln::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // include guard
