// Per-target kernels for the K types (Q2_K, Q3_K, Q4_K, Q5_K, Q6_K) against activations quantized
// in blocks of 256 with sums per 16 (ActFormat::kQ8K). A super-block of 256 weights decodes to
// unsigned 8-bit values u, small integer sub-block scales sc and per-16 offsets mn with
//   x = d * sc * u - dmin * mn,
// so its dot with activations d_x * q is
//   d * d_x * sum(sc * u * q) - dmin * d_x * sum_g(mn_g * bsum_g),
// where the first sum runs entirely in 32-bit integers (8-bit multiplies, then 16-bit scale
// multiplies) and only one float update per super-block remains. Q3_K and Q6_K store u - 4 and
// u - 32: their offsets are 4 * sc and 32 * sc with dmin = d.

#if defined(KILN_KERNELS_MATMUL_KQUANT_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef KILN_KERNELS_MATMUL_KQUANT_INL_H_
#undef KILN_KERNELS_MATMUL_KQUANT_INL_H_
#else
#define KILN_KERNELS_MATMUL_KQUANT_INL_H_
#endif

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <utility>

#include "hwy/highway.h"
#include "kiln/kernels/blocks.h"
#include "kiln/kernels/dot_int8-inl.h"
#include "kiln/kernels/k_scales.h"
#include "kiln/kernels/matmul_internal.h"
#include "kiln/kernels/matmul_tiles-inl.h"

HWY_BEFORE_NAMESPACE();
namespace kiln::kernels::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

#if HWY_TARGET != HWY_SCALAR && HWY_TARGET != HWY_EMU128

// The bit field [kFrom, kFrom + width) of every byte of v, moved to start at bit kTo; `mask`
// selects the moved field. Shifting 16-bit lanes is safe: bits crossing into the neighbouring
// byte land outside the mask.
template <int kFrom, int kTo>
HWY_INLINE VU8 MoveBits(VU8 v, std::uint8_t mask) {
  const DU8 du8;
  const DU16 du16;
  VU8 moved = v;
  if constexpr (kTo > kFrom) {
    moved = hn::BitCast(du8, hn::ShiftLeft<kTo - kFrom>(hn::BitCast(du16, v)));
  } else if constexpr (kTo < kFrom) {
    moved = hn::BitCast(du8, hn::ShiftRight<kFrom - kTo>(hn::BitCast(du16, v)));
  }
  return hn::And(moved, hn::Set(du8, mask));
}

// Per row and super-block: the float scales and the integer sub-block scales and offsets.
struct KScales {
  float d;
  float dmin;
  // Types with 32-element sub-blocks use sc[0..7]; the others one per 16 elements.
  alignas(32) std::int16_t sc[16];
  alignas(32) std::int16_t mn[16];  // offset of each 16 elements
};

HWY_INLINE VU8 LoadPart(const std::uint8_t* p, int part) {
  return hn::LoadU(DU8(), p + part * kBytesPerVec);
}

struct DecodeQ4_K {
  using Block = BlockQ4_K;
  static constexpr bool kScalePer16 = false;
  static HWY_INLINE void Scales(const Block& b, KScales& s) {
    s.d = HalfToF32(b.d);
    s.dmin = HalfToF32(b.dmin);
    // Word form of UnpackScaleMinK4: 6-bit scales/mins 0..3 are the low bits of bytes 0..7;
    // 4..7 take their low nibbles from bytes 8..11 and top bits from bits 6..7 of bytes 0..7.
    std::uint32_t u[3];
    std::memcpy(u, b.scales, sizeof u);
    const std::uint32_t words[4] = {
        u[0] & 0x3f3f3f3fu, (u[2] & 0x0f0f0f0fu) | (((u[0] >> 6) & 0x03030303u) << 4),
        u[1] & 0x3f3f3f3fu, ((u[2] >> 4) & 0x0f0f0f0fu) | (((u[1] >> 6) & 0x03030303u) << 4)};
    std::uint8_t bytes[16];  // scales 0..7, then mins 0..7
    std::memcpy(bytes, words, sizeof bytes);
    for (int j = 0; j < 8; ++j) {
      s.sc[j] = bytes[j];
      s.mn[2 * j] = s.mn[2 * j + 1] = bytes[8 + j];
    }
  }
  // Sub-block C is the low (C even) or high nibbles of qs[32 * (C / 2) ...].
  template <int C>
  static HWY_INLINE void Quants(const Block& b, VU8* parts) {
    for (int p = 0; p < kParts; ++p) {
      parts[p] = MoveBits<4 * (C % 2), 0>(LoadPart(b.qs + 32 * (C / 2), p), 0x0F);
    }
  }
};

struct DecodeQ5_K {
  using Block = BlockQ5_K;
  static constexpr bool kScalePer16 = false;
  static HWY_INLINE void Scales(const Block& b, KScales& s) {
    // Same packed scales as Q4_K; the structs differ only after them.
    BlockQ4_K head;
    std::memcpy(&head, &b, offsetof(BlockQ4_K, qs));
    DecodeQ4_K::Scales(head, s);
  }
  // As Q4_K, plus the fifth bit: bit C of qh[l] for element l of sub-block C.
  template <int C>
  static HWY_INLINE void Quants(const Block& b, VU8* parts) {
    for (int p = 0; p < kParts; ++p) {
      const VU8 low = MoveBits<4 * (C % 2), 0>(LoadPart(b.qs + 32 * (C / 2), p), 0x0F);
      parts[p] = hn::Or(low, MoveBits<C, 4>(LoadPart(b.qh, p), 0x10));
    }
  }
};

struct DecodeQ6_K {
  using Block = BlockQ6_K;
  static constexpr bool kScalePer16 = true;
  static HWY_INLINE void Scales(const Block& b, KScales& s) {
    s.d = HalfToF32(b.d);
    s.dmin = s.d;
    for (int g = 0; g < 16; ++g) {
      s.sc[g] = b.scales[g];
      s.mn[g] = static_cast<std::int16_t>(32 * b.scales[g]);
    }
  }
  // Each half of 128 elements: 32-element part k takes nibbles of ql[64h + 32 (k % 2) + l]
  // (low for k < 2) and bits 2k, 2k+1 of qh[32h + l] as its top two bits.
  template <int C>
  static HWY_INLINE void Quants(const Block& b, VU8* parts) {
    constexpr int h = C / 4;
    constexpr int k = C % 4;
    for (int p = 0; p < kParts; ++p) {
      const VU8 low = MoveBits<4 * (k / 2), 0>(LoadPart(b.ql + 64 * h + 32 * (k % 2), p), 0x0F);
      parts[p] = hn::Or(low, MoveBits<2 * k, 4>(LoadPart(b.qh + 32 * h, p), 0x30));
    }
  }
};

struct DecodeQ2_K {
  using Block = BlockQ2_K;
  static constexpr bool kScalePer16 = true;
  static HWY_INLINE void Scales(const Block& b, KScales& s) {
    s.d = HalfToF32(b.d);
    s.dmin = HalfToF32(b.dmin);
    for (int g = 0; g < 16; ++g) {
      s.sc[g] = b.scales[g] & 0xF;
      s.mn[g] = b.scales[g] >> 4;
    }
  }
  // Each half of 128 elements: part j is bits 2j, 2j+1 of qs[32h + l].
  template <int C>
  static HWY_INLINE void Quants(const Block& b, VU8* parts) {
    for (int p = 0; p < kParts; ++p) {
      parts[p] = MoveBits<2 * (C % 4), 0>(LoadPart(b.qs + 32 * (C / 4), p), 0x03);
    }
  }
};

struct DecodeQ3_K {
  using Block = BlockQ3_K;
  static constexpr bool kScalePer16 = true;
  static HWY_INLINE void Scales(const Block& b, KScales& s) {
    s.d = HalfToF32(b.d);
    s.dmin = s.d;
    std::int8_t scales[16];
    UnpackQ3KScales(b.scales, scales);
    for (int g = 0; g < 16; ++g) {
      s.sc[g] = scales[g];
      s.mn[g] = static_cast<std::int16_t>(4 * scales[g]);
    }
  }
  // Low two bits as Q2_K; bit C of hmask[l] set means +4 (stored value u - 4 = q).
  template <int C>
  static HWY_INLINE void Quants(const Block& b, VU8* parts) {
    for (int p = 0; p < kParts; ++p) {
      const VU8 low = MoveBits<2 * (C % 4), 0>(LoadPart(b.qs + 32 * (C / 4), p), 0x03);
      parts[p] = hn::Or(low, MoveBits<C, 2>(LoadPart(b.hmask, p), 0x04));
    }
  }
};

template <class Decode>
struct KQuantKernel {
  static constexpr int kRows = kTileRows;
  static constexpr int kTokens = kTileTokens;
  static constexpr int R = kRows;
  using Block = typename Decode::Block;

  // Scale vector of sub-block C, matched to the 16-bit pair sums of MulPairsU8I8.
  template <int C>
  static HWY_INLINE void ChunkScales(const KScales& s, VI16* parts) {
    const DI16 di16;
    if constexpr (!Decode::kScalePer16) {
      for (int p = 0; p < kParts; ++p) parts[p] = hn::Set(di16, s.sc[C]);
    } else if constexpr (kParts == 1) {
      const hn::Half<DI16> dh;
      parts[0] = hn::Combine(di16, hn::Set(dh, s.sc[2 * C + 1]), hn::Set(dh, s.sc[2 * C]));
    } else {
      for (int p = 0; p < kParts; ++p) parts[p] = hn::Set(di16, s.sc[2 * C + p]);
    }
  }

  template <int C, int T>
  static HWY_INLINE void Chunk(const Block* const* wb, const KScales* s,
                               const std::int8_t* const* xq, VI32 (&iacc)[R][T]) {
    const DI8 di8;
    VU8 wq[R][kParts];
    VI16 sc[R][kParts];
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) {
      Decode::template Quants<C>(*wb[r], wq[r]);
      ChunkScales<C>(s[r], sc[r]);
    }
#pragma GCC unroll 4
    for (int t = 0; t < T; ++t) {
      VI8 xv[kParts];
      for (int p = 0; p < kParts; ++p) xv[p] = hn::LoadU(di8, xq[t] + 32 * C + p * kBytesPerVec);
#pragma GCC unroll 4
      for (int r = 0; r < R; ++r) {
        for (int p = 0; p < kParts; ++p) {
          iacc[r][t] = MulPairsAccumulate(iacc[r][t], MulPairsU8I8(wq[r][p], xv[p]), sc[r][p]);
        }
      }
    }
  }

  template <int T, int... C>
  static HWY_INLINE void AllChunks(std::integer_sequence<int, C...>, const Block* const* wb,
                                   const KScales* s, const std::int8_t* const* xq,
                                   VI32 (&iacc)[R][T]) {
    (Chunk<C, T>(wb, s, xq, iacc), ...);
  }

  template <int T>
  static HWY_INLINE void Tile(const std::uint8_t* const* rows, const detail::ActivationRows& acts,
                              const std::int64_t* tokens, float* HWY_RESTRICT out) {
    const DF32 df;
    const DI16 di16;
    const DI32 di32;
    constexpr int kGroups = detail::kQ8KBlock / detail::kQ8KSumGroup;
    constexpr auto kI16Lanes = static_cast<int>(hn::MaxLanes(DI16()));
    const std::int64_t super_blocks = acts.cols / detail::kQ8KBlock;

    const Block* w[R];
    for (int r = 0; r < R; ++r) w[r] = reinterpret_cast<const Block*>(rows[r]);
    VF32 acc[R][T];
    for (int r = 0; r < R; ++r) {
      for (int t = 0; t < T; ++t) acc[r][t] = hn::Zero(df);
    }

    for (std::int64_t sb = 0; sb < super_blocks; ++sb) {
      const Block* wb[R];
      KScales s[R];
      for (int r = 0; r < R; ++r) {
        wb[r] = w[r] + sb;
        Decode::Scales(*wb[r], s[r]);
      }
      const std::int8_t* xq[T];
      for (int t = 0; t < T; ++t) xq[t] = acts.QRow(tokens[t]) + sb * detail::kQ8KBlock;

      VI32 iacc[R][T];
      for (int r = 0; r < R; ++r) {
        for (int t = 0; t < T; ++t) iacc[r][t] = hn::Zero(di32);
      }
      AllChunks<T>(std::make_integer_sequence<int, 8>(), wb, s, xq, iacc);

#pragma GCC unroll 4
      for (int t = 0; t < T; ++t) {
        const std::int16_t* bsums = acts.BsumsRow(tokens[t]) + sb * kGroups;
        const float dx = acts.DRow(tokens[t])[sb];
        VI16 bs[kParts];
        for (int p = 0; p < kParts; ++p) bs[p] = hn::LoadU(di16, bsums + p * kI16Lanes);
#pragma GCC unroll 4
        for (int r = 0; r < R; ++r) {
          VI32 offsets = hn::Zero(di32);
          for (int p = 0; p < kParts; ++p) {
            offsets = MulPairsAccumulate(offsets, hn::Load(di16, s[r].mn + p * kI16Lanes), bs[p]);
          }
          acc[r][t] =
              hn::MulAdd(hn::ConvertTo(df, iacc[r][t]), hn::Set(df, s[r].d * dx), acc[r][t]);
          acc[r][t] =
              hn::NegMulAdd(hn::ConvertTo(df, offsets), hn::Set(df, s[r].dmin * dx), acc[r][t]);
        }
      }
    }
    for (int r = 0; r < R; ++r) {
      for (int t = 0; t < T; ++t) out[r * T + t] = ReduceSum(acc[r][t]);
    }
  }
};

#endif  // HWY_TARGET != HWY_SCALAR

inline void MultiplyKQuantRows(const WeightMatrix& w, const detail::ActivationRows& acts,
                               std::int64_t n_tokens, std::int64_t row_begin, std::int64_t row_end,
                               float* y) {
#if HWY_TARGET == HWY_SCALAR || HWY_TARGET == HWY_EMU128
  MultiplyRowsScalar(w, acts, n_tokens, row_begin, row_end, y);
#else
  using gguf::TensorType;
  switch (w.type) {
    case TensorType::kQ2_K:
      return MultiplyRowsTiled<KQuantKernel<DecodeQ2_K> >(w, acts, n_tokens, row_begin, row_end, y);
    case TensorType::kQ3_K:
      return MultiplyRowsTiled<KQuantKernel<DecodeQ3_K> >(w, acts, n_tokens, row_begin, row_end, y);
    case TensorType::kQ4_K:
      return MultiplyRowsTiled<KQuantKernel<DecodeQ4_K> >(w, acts, n_tokens, row_begin, row_end, y);
    case TensorType::kQ5_K:
      return MultiplyRowsTiled<KQuantKernel<DecodeQ5_K> >(w, acts, n_tokens, row_begin, row_end, y);
    case TensorType::kQ6_K:
      return MultiplyRowsTiled<KQuantKernel<DecodeQ6_K> >(w, acts, n_tokens, row_begin, row_end, y);
    default:
      break;
  }
#endif
}

}  // namespace kiln::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // include guard
