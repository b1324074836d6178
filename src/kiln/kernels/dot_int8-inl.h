// Per-target building blocks of the quantized kernels: 8-bit integer dot products (x86 maddubs,
// AVX-512 VNNI, portable Highway ops elsewhere) and scalar half-float scale conversion.
// Included once per Highway target; the vector width is capped at 256 bits (one 32-element block).

#if defined(KILN_KERNELS_DOT_INT8_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef KILN_KERNELS_DOT_INT8_INL_H_
#undef KILN_KERNELS_DOT_INT8_INL_H_
#else
#define KILN_KERNELS_DOT_INT8_INL_H_
#endif

#include <cstdint>
#include <cstring>

#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace kiln::kernels::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

#if HWY_TARGET != HWY_SCALAR && HWY_TARGET != HWY_EMU128

// Byte vectors hold (part of) one 32-element block: 32 lanes on AVX2/AVX-512, 16 on 128-bit
// targets.
using DU8 = hn::CappedTag<std::uint8_t, 32>;
using DI8 = hn::RebindToSigned<DU8>;
using DI16 = hn::Repartition<std::int16_t, DU8>;
using DU16 = hn::RebindToUnsigned<DI16>;
using DI32 = hn::Repartition<std::int32_t, DU8>;
using DF32 = hn::Repartition<float, DU8>;
using VU8 = hn::Vec<DU8>;
using VI8 = hn::Vec<DI8>;
using VI16 = hn::Vec<DI16>;
using VI32 = hn::Vec<DI32>;
using VF32 = hn::Vec<DF32>;

inline constexpr std::size_t kBytesPerVec = hn::MaxLanes(DU8());
// Vectors per 32-element block.
inline constexpr int kParts = static_cast<int>(32 / kBytesPerVec);
inline constexpr std::size_t kFloatLanes = hn::MaxLanes(DF32());

// Register tile of the batched kernels (weight rows x tokens): as large as the target's vector
// registers hold (16 on AVX2 and 128-bit targets, 32 with AVX-512).
#if HWY_ARCH_X86 && HWY_TARGET <= HWY_AVX3
inline constexpr int kTileRows = 4;
inline constexpr int kTileTokens = 4;
#elif HWY_ARCH_X86 && HWY_TARGET <= HWY_AVX2
inline constexpr int kTileRows = 4;
inline constexpr int kTileTokens = 2;
#else
inline constexpr int kTileRows = 2;
inline constexpr int kTileTokens = 2;
#endif

// Re-evaluated for every target (this part is compiled once per target). Defining
// KILN_KERNELS_GENERIC_INT8 makes x86 use the portable code, to test it on an x86 machine.
#undef KILN_X86_INT8
#undef KILN_VNNI
#if HWY_ARCH_X86 && !defined(KILN_KERNELS_GENERIC_INT8)
#define KILN_X86_INT8 1
#endif
#if HWY_TARGET == HWY_AVX3_DL && defined(KILN_X86_INT8)
#define KILN_VNNI 1
#endif

// 16-bit lanes p[i] = a[2i]*b[2i] + a[2i+1]*b[2i+1] for unsigned a and signed b. Callers keep every
// pair sum inside int16 (x86's instruction saturates; the portable version wraps).
HWY_INLINE VI16 MulPairsU8I8(VU8 a, VI8 b) {
#if defined(KILN_X86_INT8) && HWY_TARGET <= HWY_AVX2
  return VI16{_mm256_maddubs_epi16(a.raw, b.raw)};
#elif defined(KILN_X86_INT8)
  return VI16{_mm_maddubs_epi16(a.raw, b.raw)};
#else
  const DU16 du16;
  const DI16 di16;
  const auto a16 = hn::BitCast(du16, a);
  const auto a_even = hn::BitCast(di16, hn::And(a16, hn::Set(du16, 0xFF)));
  const auto a_odd = hn::BitCast(di16, hn::ShiftRight<8>(a16));
  const auto b16 = hn::BitCast(di16, b);
  const auto b_even = hn::ShiftRight<8>(hn::ShiftLeft<8>(b16));
  const auto b_odd = hn::ShiftRight<8>(b16);
  return hn::Add(hn::Mul(a_even, b_even), hn::Mul(a_odd, b_odd));
#endif
}

// acc[i] += p[2i]*s[2i] + p[2i+1]*s[2i+1] in 32-bit lanes.
HWY_INLINE VI32 MulPairsAccumulate(VI32 acc, VI16 p, VI16 s) {
#if defined(KILN_VNNI)
  // Written as assembly: GCC would pick the VEX form (AVX-VNNI), which AVX-512 VNNI CPUs such as
  // Ice Lake and Zen 4 lack.
  auto r = acc.raw;
  asm("%{evex%} vpdpwssd %[s], %[p], %[acc]" : [acc] "+v"(r) : [p] "v"(p.raw), [s] "v"(s.raw));
  return VI32{r};
#elif defined(KILN_X86_INT8) && HWY_TARGET <= HWY_AVX2
  return hn::Add(acc, VI32{_mm256_madd_epi16(p.raw, s.raw)});
#elif defined(KILN_X86_INT8)
  return hn::Add(acc, VI32{_mm_madd_epi16(p.raw, s.raw)});
#else
  const DI32 di32;
  const auto p32 = hn::BitCast(di32, p);
  const auto s32 = hn::BitCast(di32, s);
  const auto even = hn::Mul(hn::ShiftRight<16>(hn::ShiftLeft<16>(p32)),
                            hn::ShiftRight<16>(hn::ShiftLeft<16>(s32)));
  const auto odd = hn::Mul(hn::ShiftRight<16>(p32), hn::ShiftRight<16>(s32));
  return hn::Add(acc, hn::Add(even, odd));
#endif
}

// acc[i] += sum_{j<4} a[4i+j] * b[4i+j] for unsigned a and signed b, with a[k] <= 128 and
// |b[k]| <= 127 so that no intermediate saturates.
HWY_INLINE VI32 DotU8I8(VI32 acc, VU8 a, VI8 b) {
#if defined(KILN_VNNI)
  auto r = acc.raw;
  asm("%{evex%} vpdpbusd %[b], %[a], %[acc]" : [acc] "+v"(r) : [a] "v"(a.raw), [b] "v"(b.raw));
  return VI32{r};
#else
  return MulPairsAccumulate(acc, MulPairsU8I8(a, b), hn::Set(DI16(), 1));
#endif
}

// As DotU8I8 for signed a (any int8) and signed b with |b| <= 127: |a| times b with a's sign.
HWY_INLINE VI32 DotI8I8(VI32 acc, VI8 a, VI8 b) {
  const DU8 du8;
#if defined(KILN_X86_INT8) && HWY_TARGET <= HWY_AVX2
  const VI8 signed_b{_mm256_sign_epi8(b.raw, a.raw)};
#elif defined(KILN_X86_INT8)
  const VI8 signed_b{_mm_sign_epi8(b.raw, a.raw)};
#else
  const VI8 signed_b = hn::IfThenElse(hn::Lt(a, hn::Zero(DI8())), hn::Neg(b), b);
#endif
  // |-128| wraps to -128, which reads back as the unsigned 128 it should be.
  return DotU8I8(acc, hn::BitCast(du8, hn::Abs(a)), signed_b);
}

// Converts the IEEE half `h` (a block scale: finite) to float.
HWY_INLINE float HalfToF32(std::uint16_t h) {
#if HWY_ARCH_X86 && HWY_TARGET <= HWY_AVX2
  return _cvtsh_ss(h);
#else
  // Shift exponent and mantissa into float position and rebias by 2^112; subnormal halves land
  // on float subnormals, which the multiply normalises.
  const std::uint32_t magnitude = static_cast<std::uint32_t>(h & 0x7fffu) << 13;
  float f;
  std::memcpy(&f, &magnitude, sizeof f);
  f *= 0x1p112f;
  return (h & 0x8000u) ? -f : f;
#endif
}

// Sum of all lanes of a float vector.
HWY_INLINE float ReduceSum(VF32 v) {
  return hn::GetLane(hn::SumOfLanes(DF32(), v));
}

#endif  // HWY_TARGET != HWY_SCALAR && HWY_TARGET != HWY_EMU128

}  // namespace kiln::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // include guard
