// Per-target quantization of F32 activation rows to the 8-bit formats the integer kernels read
// (see ActFormat in matmul_internal.h). Scales are symmetric (max|x| maps to 127) and values round
// to nearest even, identically on every target, so all targets multiply the same numbers.

#if defined(KILN_KERNELS_QUANTIZE_ACTIVATIONS_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef KILN_KERNELS_QUANTIZE_ACTIVATIONS_INL_H_
#undef KILN_KERNELS_QUANTIZE_ACTIVATIONS_INL_H_
#else
#define KILN_KERNELS_QUANTIZE_ACTIVATIONS_INL_H_
#endif

#include <cmath>
#include <cstdint>

#include "hwy/highway.h"
#include "kiln/kernels/matmul_internal.h"

HWY_BEFORE_NAMESPACE();
namespace kiln::kernels::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

#if HWY_TARGET == HWY_SCALAR || HWY_TARGET == HWY_EMU128

// Quantizes x[0, n) with one scale; returns the scale and writes sums of each `group` values.
inline float QuantizeBlock(const float* x, std::int64_t n, std::int8_t* q, std::int64_t group,
                           std::int32_t* group_sums) {
  float amax = 0.0f;
  for (std::int64_t i = 0; i < n; ++i) amax = std::fmax(amax, std::fabs(x[i]));
  const float inv = amax > 0.0f ? 127.0f / amax : 0.0f;
  for (std::int64_t g = 0; g < n / group; ++g) {
    std::int32_t sum = 0;
    for (std::int64_t i = g * group; i < (g + 1) * group; ++i) {
      q[i] = static_cast<std::int8_t>(std::nearbyint(x[i] * inv));
      sum += q[i];
    }
    group_sums[g] = sum;
  }
  return amax / 127.0f;
}

inline void QuantizeRowQ8(const float* x, std::int64_t cols, std::int8_t* q, float* d, float* s) {
  for (std::int64_t b = 0; b < cols / detail::kQ8Block; ++b) {
    std::int32_t sum;
    const std::int64_t at = b * detail::kQ8Block;
    d[b] = QuantizeBlock(x + at, detail::kQ8Block, q + at, detail::kQ8Block, &sum);
    s[b] = d[b] * static_cast<float>(sum);
  }
}

inline void QuantizeRowQ8K(const float* x, std::int64_t cols, std::int8_t* q, float* d,
                           std::int16_t* bsums) {
  constexpr std::int64_t kGroups = detail::kQ8KBlock / detail::kQ8KSumGroup;
  for (std::int64_t b = 0; b < cols / detail::kQ8KBlock; ++b) {
    std::int32_t sums[kGroups];
    const std::int64_t at = b * detail::kQ8KBlock;
    d[b] = QuantizeBlock(x + at, detail::kQ8KBlock, q + at, detail::kQ8KSumGroup, sums);
    for (std::int64_t g = 0; g < kGroups; ++g) {
      bsums[b * kGroups + g] = static_cast<std::int16_t>(sums[g]);
    }
  }
}

#else

// Quantizes x[0, kN) (kN a multiple of `kGroup`, both multiples of the float vector length) with
// one scale; returns the scale and writes the sum of q over each kGroup values.
template <std::int64_t kN, std::int64_t kGroup>
HWY_INLINE float QuantizeBlock(const float* HWY_RESTRICT x, std::int8_t* HWY_RESTRICT q,
                               std::int32_t* HWY_RESTRICT group_sums) {
  const hn::CappedTag<float, 8> df;
  const hn::RebindToSigned<decltype(df)> di32;
  const hn::Rebind<std::int8_t, decltype(di32)> di8;
  constexpr std::int64_t kLanes = static_cast<std::int64_t>(hn::MaxLanes(df));
  static_assert(kGroup % kLanes == 0);

  auto amax = hn::Zero(df);
  for (std::int64_t i = 0; i < kN; i += kLanes) amax = hn::Max(amax, hn::Abs(hn::LoadU(df, x + i)));
  const float max_abs = hn::GetLane(hn::MaxOfLanes(df, amax));
  const float inv = max_abs > 0.0f ? 127.0f / max_abs : 0.0f;
  const auto vinv = hn::Set(df, inv);
  for (std::int64_t g = 0; g < kN / kGroup; ++g) {
    auto sum = hn::Zero(di32);
    for (std::int64_t i = g * kGroup; i < (g + 1) * kGroup; i += kLanes) {
      const auto qi = hn::NearestInt(hn::Mul(hn::LoadU(df, x + i), vinv));
      sum = hn::Add(sum, qi);
      hn::StoreU(hn::DemoteTo(di8, qi), di8, q + i);
    }
    group_sums[g] = hn::GetLane(hn::SumOfLanes(di32, sum));
  }
  return max_abs / 127.0f;
}

inline void QuantizeRowQ8(const float* x, std::int64_t cols, std::int8_t* q, float* d, float* s) {
  for (std::int64_t b = 0; b < cols / detail::kQ8Block; ++b) {
    std::int32_t sum;
    const std::int64_t at = b * detail::kQ8Block;
    d[b] = QuantizeBlock<detail::kQ8Block, detail::kQ8Block>(x + at, q + at, &sum);
    s[b] = d[b] * static_cast<float>(sum);
  }
}

inline void QuantizeRowQ8K(const float* x, std::int64_t cols, std::int8_t* q, float* d,
                           std::int16_t* bsums) {
  constexpr std::int64_t kGroups = detail::kQ8KBlock / detail::kQ8KSumGroup;
  for (std::int64_t b = 0; b < cols / detail::kQ8KBlock; ++b) {
    std::int32_t sums[kGroups];
    const std::int64_t at = b * detail::kQ8KBlock;
    d[b] = QuantizeBlock<detail::kQ8KBlock, detail::kQ8KSumGroup>(x + at, q + at, sums);
    for (std::int64_t g = 0; g < kGroups; ++g) {
      bsums[b * kGroups + g] = static_cast<std::int16_t>(sums[g]);
    }
  }
}

#endif  // HWY_TARGET == HWY_SCALAR

inline void QuantizeActivationRows(const float* x, std::int64_t t_begin, std::int64_t t_end,
                                   const detail::ActivationRows& acts) {
  const std::int64_t cols = acts.cols;
  for (std::int64_t t = t_begin; t < t_end; ++t) {
    std::int8_t* q = acts.q + t * acts.q_stride;
    float* d = acts.d + t * acts.blocks;
    if (acts.format == detail::ActFormat::kQ8) {
      QuantizeRowQ8(x + t * cols, cols, q, d, acts.s + t * acts.blocks);
    } else {
      QuantizeRowQ8K(x + t * cols, cols, q, d, acts.bsums + t * (cols / detail::kQ8KSumGroup));
    }
  }
}

}  // namespace kiln::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // include guard
