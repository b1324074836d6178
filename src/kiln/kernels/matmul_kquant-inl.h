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

#include "hwy/cache_control.h"
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

// 16-byte vectors of sub-block scales, on every target.
using D16U8 = hn::CappedTag<std::uint8_t, 16>;
using D16I8 = hn::RebindToSigned<D16U8>;

// Widens 16 bytes to 16-bit lanes; natural[p] holds bytes [p * lanes, (p + 1) * lanes).
template <class V16>
HWY_INLINE void Widen16(V16 v, VI16* natural) {
  const DI16 di16;
  if constexpr (kParts == 1) {
    natural[0] = hn::PromoteTo(di16, v);
  } else {
    const hn::Half<hn::DFromV<V16>> dh;
    natural[0] = hn::PromoteTo(di16, hn::LowerHalf(dh, v));
    natural[1] = hn::PromoteTo(di16, hn::UpperHalf(dh, v));
  }
}

// Per row and super-block: float scales, the sub-block scales as lookup tables (table[0] holds
// scales 0..7 and table[1] scales 8..15, repeated in each 128-bit block so that one byte shuffle
// per chunk broadcasts them), and the offsets of each 16 elements as 16-bit lanes.
struct KScales {
  float d;
  float dmin;
  VI16 table[2];
  VI16 offsets[kParts];
};

HWY_INLINE void MakeTables(const VI16* natural, KScales& s) {
  const DI16 di16;
  if constexpr (kParts == 1) {
    s.table[0] = hn::ConcatLowerLower(di16, natural[0], natural[0]);
    s.table[1] = hn::ConcatUpperUpper(di16, natural[0], natural[0]);
  } else {
    s.table[0] = natural[0];
    s.table[1] = natural[1];
  }
}

// Byte shuffles that broadcast chunk C's scales from a table: per16 types take scales 2C and
// 2C+1 (for the chunk's two halves), the others scale C for the whole chunk.
struct ScaleShuffles {
  alignas(32) std::uint8_t bytes[8][32];
};
constexpr ScaleShuffles MakeScaleShuffles(bool per16) {
  ScaleShuffles s{};
  for (int c = 0; c < 8; ++c) {
    for (int i = 0; i < 32; ++i) {
      const int scale = per16 ? (2 * c + i / 16) % 8 : c;
      s.bytes[c][i] = static_cast<std::uint8_t>(2 * scale + i % 2);
    }
  }
  return s;
}
alignas(32) inline constexpr ScaleShuffles kPer16Shuffles = MakeScaleShuffles(true);
alignas(32) inline constexpr ScaleShuffles kPer32Shuffles = MakeScaleShuffles(false);

HWY_INLINE VU8 LoadPart(const std::uint8_t* p, int part) {
  return hn::LoadU(DU8(), p + part * kBytesPerVec);
}

struct DecodeQ4_K {
  using Block = BlockQ4_K;
  static constexpr bool kScalePer16 = false;
  static HWY_INLINE void Scales(const Block& b, KScales& s) {
    s.d = HalfToF32(b.d);
    s.dmin = HalfToF32(b.dmin);
    PackedScales(b.scales, s);
  }
  // `scales` is followed by at least 4 more bytes of the block.
  static HWY_INLINE void PackedScales(const std::uint8_t* scales, KScales& s) {
    // Word form of UnpackScaleMinK4 on 32-bit lanes: 6-bit scales/mins 0..3 are the low bits of
    // bytes 0..7; 4..7 take their low nibbles from bytes 8..11 and top bits from bits 6..7 of
    // bytes 0..7. Lanes of the result: scales 0..3, scales 4..7, mins 0..3, mins 4..7. Done in
    // vector lanes: a scalar version goes through memory and stalls store forwarding.
    const hn::Repartition<std::uint32_t, D16U8> d32;
    const D16U8 d16;
    const auto u = hn::BitCast(d32, hn::LoadU(d16, scales));  // lane 3 is unused
    alignas(16) static constexpr std::uint32_t kLowIndex[4] = {0, 2, 1, 2};
    alignas(16) static constexpr std::uint32_t kLowShift[4] = {0, 0, 0, 4};
    alignas(16) static constexpr std::uint32_t kLowMask[4] = {0x3f3f3f3fu, 0x0f0f0f0fu, 0x3f3f3f3fu,
                                                              0x0f0f0f0fu};
    alignas(16) static constexpr std::uint32_t kTopIndex[4] = {0, 0, 1, 1};
    alignas(16) static constexpr std::uint32_t kTopMask[4] = {0, 0x30303030u, 0, 0x30303030u};
    const auto low = hn::And(hn::Shr(hn::TableLookupLanes(u, hn::SetTableIndices(d32, kLowIndex)),
                                     hn::Load(d32, kLowShift)),
                             hn::Load(d32, kLowMask));
    const auto top =
        hn::And(hn::ShiftRight<2>(hn::TableLookupLanes(u, hn::SetTableIndices(d32, kTopIndex))),
                hn::Load(d32, kTopMask));
    const auto v = hn::BitCast(d16, hn::Or(low, top));  // scales 0..7, then mins 0..7
    VI16 natural[kParts];
    Widen16(v, natural);
    MakeTables(natural, s);
    // Each min covers 32 elements, i.e. two of the 16-element sums.
    alignas(16) static constexpr std::uint8_t kPairMins[16] = {8,  8,  9,  9,  10, 10, 11, 11,
                                                               12, 12, 13, 13, 14, 14, 15, 15};
    Widen16(hn::TableLookupBytes(v, hn::Load(d16, kPairMins)), s.offsets);
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
    // Same packed scales as Q4_K (followed here by qh).
    s.d = HalfToF32(b.d);
    s.dmin = HalfToF32(b.dmin);
    DecodeQ4_K::PackedScales(b.scales, s);
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

// Signed 8-bit scales of 16-element groups: tables, and offsets = kOffset * scale.
template <int kOffsetShift>
HWY_INLINE void SignedGroupScales(const std::int8_t* scales, KScales& s) {
  VI16 natural[kParts];
  Widen16(hn::LoadU(D16I8(), scales), natural);
  MakeTables(natural, s);
  for (int p = 0; p < kParts; ++p) s.offsets[p] = hn::ShiftLeft<kOffsetShift>(natural[p]);
}

struct DecodeQ6_K {
  using Block = BlockQ6_K;
  static constexpr bool kScalePer16 = true;
  static HWY_INLINE void Scales(const Block& b, KScales& s) {
    s.d = HalfToF32(b.d);
    s.dmin = s.d;
    SignedGroupScales<5>(b.scales, s);  // stored u - 32
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

struct DecodeQ3_K {
  using Block = BlockQ3_K;
  static constexpr bool kScalePer16 = true;
  static HWY_INLINE void Scales(const Block& b, KScales& s) {
    s.d = HalfToF32(b.d);
    s.dmin = s.d;
    std::int8_t scales[16];
    UnpackQ3KScales(b.scales, scales);
    SignedGroupScales<2>(scales, s);  // stored u - 4
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

struct DecodeQ2_K {
  using Block = BlockQ2_K;
  static constexpr bool kScalePer16 = true;
  static HWY_INLINE void Scales(const Block& b, KScales& s) {
    s.d = HalfToF32(b.d);
    s.dmin = HalfToF32(b.dmin);
    // Low nibble: scale, high nibble: min of each 16 elements.
    const D16U8 d16;
    const hn::Repartition<std::uint16_t, D16U8> d16u16;
    const auto v = hn::LoadU(d16, b.scales);
    const auto nibble = hn::Set(d16, 0x0F);
    VI16 natural[kParts];
    Widen16(hn::And(v, nibble), natural);
    MakeTables(natural, s);
    Widen16(hn::And(hn::BitCast(d16, hn::ShiftRight<4>(hn::BitCast(d16u16, v))), nibble),
            s.offsets);
  }
  // Each half of 128 elements: part j is bits 2j, 2j+1 of qs[32h + l].
  template <int C>
  static HWY_INLINE void Quants(const Block& b, VU8* parts) {
    for (int p = 0; p < kParts; ++p) {
      parts[p] = MoveBits<2 * (C % 4), 0>(LoadPart(b.qs + 32 * (C / 4), p), 0x03);
    }
  }
};

template <class Decode>
struct KQuantKernel {
  static constexpr int kRows = kKQuantTile.rows;
  static constexpr int kTokens = kKQuantTile.tokens;
  static constexpr int kGemvRows = kGemvTileRows;
  using Block = typename Decode::Block;

  // Scale vector of sub-block C, matched to the 16-bit pair sums of MulPairsU8I8.
  template <int C>
  static HWY_INLINE void ChunkScales(const KScales& s, VI16* parts) {
    const DU8 du8;
    const DI16 di16;
    const ScaleShuffles& shuffles = Decode::kScalePer16 ? kPer16Shuffles : kPer32Shuffles;
    const VU8 table = hn::BitCast(du8, s.table[Decode::kScalePer16 ? C / 4 : 0]);
    for (int p = 0; p < kParts; ++p) {
      const VU8 shuffle = hn::Load(du8, shuffles.bytes[C] + p * kBytesPerVec);
      parts[p] = hn::BitCast(di16, hn::TableLookupBytes(table, shuffle));
    }
  }

  template <int C, int R, int T>
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

  template <int R, int T, int... C>
  static HWY_INLINE void AllChunks(std::integer_sequence<int, C...>, const Block* const* wb,
                                   const KScales* s, const std::int8_t* const* xq,
                                   VI32 (&iacc)[R][T]) {
    (Chunk<C, R, T>(wb, s, xq, iacc), ...);
  }

  template <int R, int T>
  static HWY_INLINE void Tile(const std::uint8_t* const* rows, std::size_t ahead,
                              const detail::ActivationRows& acts, const std::int64_t* tokens,
                              float* HWY_RESTRICT out) {
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
        if (ahead) {
          const auto* next = reinterpret_cast<const std::uint8_t*>(wb[r]) + ahead;
          for (std::size_t at = 0; at < sizeof(Block); at += 64) hwy::Prefetch(next + at);
        }
        Decode::Scales(*wb[r], s[r]);
      }
      const std::int8_t* xq[T];
      for (int t = 0; t < T; ++t) xq[t] = acts.QRow(tokens[t]) + sb * detail::kQ8KBlock;

      VI32 iacc[R][T];
      for (int r = 0; r < R; ++r) {
        for (int t = 0; t < T; ++t) iacc[r][t] = hn::Zero(di32);
      }
      AllChunks<R, T>(std::make_integer_sequence<int, 8>(), wb, s, xq, iacc);

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
            offsets = MulPairsAccumulate(offsets, s[r].offsets[p], bs[p]);
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
      return MultiplyRowsTiled<KQuantKernel<DecodeQ2_K>>(w, acts, n_tokens, row_begin, row_end, y);
    case TensorType::kQ3_K:
      return MultiplyRowsTiled<KQuantKernel<DecodeQ3_K>>(w, acts, n_tokens, row_begin, row_end, y);
    case TensorType::kQ4_K:
      return MultiplyRowsTiled<KQuantKernel<DecodeQ4_K>>(w, acts, n_tokens, row_begin, row_end, y);
    case TensorType::kQ5_K:
      return MultiplyRowsTiled<KQuantKernel<DecodeQ5_K>>(w, acts, n_tokens, row_begin, row_end, y);
    case TensorType::kQ6_K:
      return MultiplyRowsTiled<KQuantKernel<DecodeQ6_K>>(w, acts, n_tokens, row_begin, row_end, y);
    default:
      break;
  }
#endif
}

}  // namespace kiln::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // include guard
