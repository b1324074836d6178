// Per-target kernels for float weights (F32, F16, BF16) against F32 activations: weights are
// widened to F32 in registers and multiplied with FMA; 16-bit rows halve the bytes read, which is
// what bounds single-token speed.

#if defined(KILN_KERNELS_MATMUL_FLOAT_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef KILN_KERNELS_MATMUL_FLOAT_INL_H_
#undef KILN_KERNELS_MATMUL_FLOAT_INL_H_
#else
#define KILN_KERNELS_MATMUL_FLOAT_INL_H_
#endif

#include <cstdint>
#include <cstring>

#include "hwy/highway.h"
#include "kiln/kernels/dot_int8-inl.h"
#include "kiln/kernels/fp16.h"
#include "kiln/kernels/matmul_internal.h"
#include "kiln/kernels/matmul_tiles-inl.h"

HWY_BEFORE_NAMESPACE();
namespace kiln::kernels::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

#if HWY_TARGET != HWY_SCALAR && HWY_TARGET != HWY_EMU128

// Loaders: Vector() widens kFloatLanes elements starting at element k; Scalar() one element.
struct LoadF32 {
  static HWY_INLINE VF32 Vector(const std::uint8_t* row, std::int64_t k) {
    return hn::LoadU(DF32(), reinterpret_cast<const float*>(row) + k);
  }
  static HWY_INLINE float Scalar(const std::uint8_t* row, std::int64_t k) {
    float f;
    std::memcpy(&f, row + k * 4, sizeof f);
    return f;
  }
};

struct LoadF16 {
  static HWY_INLINE VF32 Vector(const std::uint8_t* row, std::int64_t k) {
    const hn::Rebind<hwy::float16_t, DF32> df16;
    return hn::PromoteTo(DF32(), hn::LoadU(df16, reinterpret_cast<const hwy::float16_t*>(row) + k));
  }
  static HWY_INLINE float Scalar(const std::uint8_t* row, std::int64_t k) {
    std::uint16_t h;
    std::memcpy(&h, row + k * 2, sizeof h);
    return F16ToF32(h);
  }
};

struct LoadBF16 {
  static HWY_INLINE VF32 Vector(const std::uint8_t* row, std::int64_t k) {
    const hn::Rebind<hwy::bfloat16_t, DF32> dbf16;
    return hn::PromoteTo(DF32(),
                         hn::LoadU(dbf16, reinterpret_cast<const hwy::bfloat16_t*>(row) + k));
  }
  static HWY_INLINE float Scalar(const std::uint8_t* row, std::int64_t k) {
    std::uint16_t h;
    std::memcpy(&h, row + k * 2, sizeof h);
    return Bf16ToF32(h);
  }
};

template <class Load>
struct FloatKernel {
  static constexpr int kRows = kFloatTile.rows;
  static constexpr int kTokens = kFloatTile.tokens;
  static constexpr int kGemvRows = kFloatTile.rows;

  template <int R, int T>
  static HWY_INLINE void Tile(const std::uint8_t* const* rows, std::size_t /*ahead*/,
                              const detail::ActivationRows& acts, const std::int64_t* tokens,
                              float* HWY_RESTRICT out) {
    constexpr auto N = static_cast<std::int64_t>(kFloatLanes);
    const DF32 df;
    const std::int64_t cols = acts.cols;
    const float* x[T];
    for (int t = 0; t < T; ++t) x[t] = acts.XRow(tokens[t]);

    VF32 acc[R][T];
    for (int r = 0; r < R; ++r) {
      for (int t = 0; t < T; ++t) acc[r][t] = hn::Zero(df);
    }
    std::int64_t k = 0;
    for (; k + N <= cols; k += N) {
      VF32 wv[R];
#pragma GCC unroll 4
      for (int r = 0; r < R; ++r) wv[r] = Load::Vector(rows[r], k);
#pragma GCC unroll 4
      for (int t = 0; t < T; ++t) {
        const VF32 xv = hn::LoadU(df, x[t] + k);
#pragma GCC unroll 4
        for (int r = 0; r < R; ++r) acc[r][t] = hn::MulAdd(wv[r], xv, acc[r][t]);
      }
    }
    for (int r = 0; r < R; ++r) {
      for (int t = 0; t < T; ++t) {
        float sum = ReduceSum(acc[r][t]);
        for (std::int64_t i = k; i < cols; ++i) sum += Load::Scalar(rows[r], i) * x[t][i];
        out[r * T + t] = sum;
      }
    }
  }
};

#endif  // HWY_TARGET != HWY_SCALAR

inline void MultiplyFloatRows(const WeightMatrix& w, const detail::ActivationRows& acts,
                              std::int64_t n_tokens, std::int64_t row_begin, std::int64_t row_end,
                              float* y) {
#if HWY_TARGET == HWY_SCALAR || HWY_TARGET == HWY_EMU128
  MultiplyRowsScalar(w, acts, n_tokens, row_begin, row_end, y);
#else
  using gguf::TensorType;
  switch (w.type) {
    case TensorType::kF32:
      return MultiplyRowsTiled<FloatKernel<LoadF32> >(w, acts, n_tokens, row_begin, row_end, y);
    case TensorType::kF16:
      return MultiplyRowsTiled<FloatKernel<LoadF16> >(w, acts, n_tokens, row_begin, row_end, y);
    case TensorType::kBF16:
      return MultiplyRowsTiled<FloatKernel<LoadBF16> >(w, acts, n_tokens, row_begin, row_end, y);
    default:
      break;
  }
#endif
}

}  // namespace kiln::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // include guard
