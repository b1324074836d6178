// Per-target kernels for the legacy 32-element block types (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0) against
// activations quantized in blocks of 32 (ActFormat::kQ8). Each block decodes to unsigned 8-bit
// values u with x = d * u + m (m = -8d for Q4_0, -16d for Q5_0; Q8_0: signed values, m = 0), so
// one dot block is
//   d_w * d_x * sum(u * q) + m_w * s_x        with s_x = d_x * sum(q),
// the integer sum coming from 8-bit multiplies (maddubs / VNNI).

#if defined(KILN_KERNELS_MATMUL_LEGACY_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef KILN_KERNELS_MATMUL_LEGACY_INL_H_
#undef KILN_KERNELS_MATMUL_LEGACY_INL_H_
#else
#define KILN_KERNELS_MATMUL_LEGACY_INL_H_
#endif

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "hwy/cache_control.h"
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
    // Both 128-bit halves hold the 16 bytes; shifting the upper half's 32-bit lanes by 4 brings
    // its high nibbles down.
    const hn::Repartition<std::uint32_t, DU8> du32;
    const auto shifts = hn::Combine(du32, hn::Set(hn::Half<decltype(du32)>(), 4),
                                    hn::Zero(hn::Half<decltype(du32)>()));
    const auto both = hn::BitCast(du32, hn::LoadDup128(du8, qs));
    parts[0] = hn::And(hn::BitCast(du8, hn::Shr(both, shifts)), mask);
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

// Decoders: Quants() gives the block's 8-bit values u (the scale d is the block's field d). The
// value is
//   kMinField: d * u + m with m = Min(),   kOffset > 0: d * (u - kOffset),   else d * u (signed).
struct DecodeQ4_0 {
  using Block = BlockQ4_0;
  static constexpr bool kSigned = false;
  static constexpr bool kMinField = false;
  static constexpr int kOffset = 8;
  static HWY_INLINE void Quants(const Block& b, VU8* parts) { UnpackNibbleBlock(b.qs, parts); }
  static HWY_INLINE float Min(const Block&) { return 0.0f; }
};

struct DecodeQ4_1 {
  using Block = BlockQ4_1;
  static constexpr bool kSigned = false;
  static constexpr bool kMinField = true;
  static constexpr int kOffset = 0;
  static HWY_INLINE void Quants(const Block& b, VU8* parts) { UnpackNibbleBlock(b.qs, parts); }
  static HWY_INLINE float Min(const Block& b) { return HalfToF32(b.m); }
};

struct DecodeQ5_0 {
  using Block = BlockQ5_0;
  static constexpr bool kSigned = false;
  static constexpr bool kMinField = false;
  static constexpr int kOffset = 16;
  static HWY_INLINE void Quants(const Block& b, VU8* parts) {
    UnpackNibbleBlock(b.qs, parts);
    OrHighBits(LoadU32(b.qh), 0x10, parts);
  }
  static HWY_INLINE float Min(const Block&) { return 0.0f; }
};

struct DecodeQ5_1 {
  using Block = BlockQ5_1;
  static constexpr bool kSigned = false;
  static constexpr bool kMinField = true;
  static constexpr int kOffset = 0;
  static HWY_INLINE void Quants(const Block& b, VU8* parts) {
    UnpackNibbleBlock(b.qs, parts);
    OrHighBits(LoadU32(b.qh), 0x10, parts);
  }
  static HWY_INLINE float Min(const Block& b) { return HalfToF32(b.m); }
};

struct DecodeQ8_0 {
  using Block = BlockQ8_0;
  static constexpr bool kSigned = true;
  static constexpr bool kMinField = false;
  static constexpr int kOffset = 0;
  static HWY_INLINE void Quants(const Block& b, VU8* parts) {
    const auto* qs = reinterpret_cast<const std::uint8_t*>(b.qs);
    for (int p = 0; p < kParts; ++p) parts[p] = hn::LoadU(DU8(), qs + p * kBytesPerVec);
  }
  static HWY_INLINE float Min(const Block&) { return 0.0f; }
};

// Per block and (row r, token t), with isum = sum(u * q) in 32-bit lanes:
//   offset types:  acc += d_r * (isum * d_t - kOffset * s_t / lanes)
//   min types:     acc += d_r * (isum * d_t) + (m_r / lanes) * s_t
//   Q8_0:          acc += d_r * (isum * d_t)
// Terms added to every lane are divided by the lane count because the lanes are summed at the
// end. Per-row and per-token factors are broadcast once per block and shared across the tile.
template <class Decode>
struct LegacyKernel {
  static constexpr int kRows = kLegacyTile.rows;
  static constexpr int kTokens = kLegacyTile.tokens;
  static constexpr int kGemvRows = kLegacyTile.rows;

  template <int R, int T>
  static HWY_INLINE void Tile(const std::uint8_t* const* rows, std::size_t ahead,
                              const detail::ActivationRows& acts, const std::int64_t* tokens,
                              float* HWY_RESTRICT out) {
    using Block = typename Decode::Block;
    const DF32 df;
    const DI32 di32;
    const DI8 di8;
    const std::int64_t blocks = acts.cols / detail::kQ8Block;
    constexpr float kLaneShare = 1.0f / static_cast<float>(kFloatLanes);
    constexpr bool kUsesSums = Decode::kMinField || Decode::kOffset != 0;

    const Block* w[R];
    for (int r = 0; r < R; ++r) w[r] = reinterpret_cast<const Block*>(rows[r]);
    const std::int8_t* xq[T];
    const float* xd[T];
    const float* xs[T];
    for (int t = 0; t < T; ++t) {
      xq[t] = acts.QRow(tokens[t]);
      xd[t] = acts.DRow(tokens[t]);
      xs[t] = kUsesSums ? acts.SRow(tokens[t]) : nullptr;
    }

    VF32 acc[R][T];
    for (int r = 0; r < R; ++r) {
      for (int t = 0; t < T; ++t) acc[r][t] = hn::Zero(df);
    }

    for (std::int64_t b = 0; b < blocks; ++b) {
      // Token factors first, then one row at a time: a decoded row is used by every token of the
      // tile and then dropped, so only one row's values are live besides the accumulators.
      VI8 xv[T][kParts];
      VF32 dx[T];
      VF32 sx[T];
#pragma GCC unroll 4
      for (int t = 0; t < T; ++t) {
        for (int p = 0; p < kParts; ++p) {
          xv[t][p] = hn::LoadU(di8, xq[t] + b * detail::kQ8Block + p * kBytesPerVec);
        }
        dx[t] = hn::Set(df, xd[t][b]);
        if constexpr (Decode::kMinField) sx[t] = hn::Set(df, xs[t][b]);
        if constexpr (Decode::kOffset != 0) {
          sx[t] = hn::Set(df, xs[t][b] * (-static_cast<float>(Decode::kOffset) * kLaneShare));
        }
      }
#pragma GCC unroll 4
      for (int r = 0; r < R; ++r) {
        if (ahead) hwy::Prefetch(reinterpret_cast<const std::uint8_t*>(w[r] + b) + ahead);
        VU8 wq[kParts];
        Decode::Quants(w[r][b], wq);
        const VF32 wd = BroadcastHalf(w[r][b].d);
        VF32 wm;
        if constexpr (Decode::kMinField) wm = hn::Set(df, Decode::Min(w[r][b]) * kLaneShare);
#pragma GCC unroll 4
        for (int t = 0; t < T; ++t) {
          VI32 isum = hn::Zero(di32);
          for (int p = 0; p < kParts; ++p) {
            if constexpr (Decode::kSigned) {
              isum = DotI8I8(isum, hn::BitCast(di8, wq[p]), xv[t][p]);
            } else {
              isum = DotU8I8(isum, wq[p], xv[t][p]);
            }
          }
          const VF32 fsum = hn::ConvertTo(df, isum);
          if constexpr (Decode::kOffset != 0) {
            acc[r][t] = hn::MulAdd(wd, hn::MulAdd(fsum, dx[t], sx[t]), acc[r][t]);
          } else {
            if constexpr (Decode::kMinField) acc[r][t] = hn::MulAdd(wm, sx[t], acc[r][t]);
            acc[r][t] = hn::MulAdd(wd, hn::Mul(fsum, dx[t]), acc[r][t]);
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
