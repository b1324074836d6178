#include "kiln/kernels/vector_ops.h"

#include <cmath>
#include <cstring>

#include "kiln/kernels/fp16.h"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kiln/kernels/vector_ops.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
// Must come after foreach_target.h.
#include <hwy/contrib/math/math-inl.h>
#include <hwy/highway.h>

HWY_BEFORE_NAMESPACE();
namespace kiln::kernels {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

using DF = hn::ScalableTag<float>;
using DH = hn::Rebind<hwy::float16_t, DF>;

// Loads N floats from F32 or F16 memory.
HWY_INLINE hn::Vec<DF> LoadF32(DF d, const float* p) {
  return hn::LoadU(d, p);
}
HWY_INLINE hn::Vec<DF> LoadF32(DF d, const hwy::float16_t* p) {
  return hn::PromoteTo(d, hn::LoadU(DH(), p));
}
HWY_INLINE float ScalarF32(const float* p) {
  return *p;
}
HWY_INLINE float ScalarF32(const hwy::float16_t* p) {
  std::uint16_t bits;
  std::memcpy(&bits, p, sizeof bits);
  return F16ToF32(bits);
}

template <typename T>
HWY_INLINE float DotT(const float* a, const T* b, std::size_t n) {
  const DF d;
  const std::size_t N = hn::Lanes(d);
  auto s0 = hn::Zero(d), s1 = hn::Zero(d), s2 = hn::Zero(d), s3 = hn::Zero(d);
  std::size_t i = 0;
  for (; i + 4 * N <= n; i += 4 * N) {
    s0 = hn::MulAdd(hn::LoadU(d, a + i), LoadF32(d, b + i), s0);
    s1 = hn::MulAdd(hn::LoadU(d, a + i + N), LoadF32(d, b + i + N), s1);
    s2 = hn::MulAdd(hn::LoadU(d, a + i + 2 * N), LoadF32(d, b + i + 2 * N), s2);
    s3 = hn::MulAdd(hn::LoadU(d, a + i + 3 * N), LoadF32(d, b + i + 3 * N), s3);
  }
  for (; i + N <= n; i += N) s0 = hn::MulAdd(hn::LoadU(d, a + i), LoadF32(d, b + i), s0);
  float sum = hn::GetLane(hn::SumOfLanes(d, hn::Add(hn::Add(s0, s1), hn::Add(s2, s3))));
  for (; i < n; ++i) sum += a[i] * ScalarF32(b + i);
  return sum;
}

template <typename T>
HWY_INLINE void MulAddT(float w, const T* x, float* y, std::size_t n) {
  const DF d;
  const std::size_t N = hn::Lanes(d);
  const auto vw = hn::Set(d, w);
  std::size_t i = 0;
  for (; i + N <= n; i += N) {
    hn::StoreU(hn::MulAdd(vw, LoadF32(d, x + i), hn::LoadU(d, y + i)), d, y + i);
  }
  for (; i < n; ++i) y[i] += w * ScalarF32(x + i);
}

float DotImpl(const float* a, const float* b, std::size_t n) {
  return DotT(a, b, n);
}

void RmsNormImpl(const float* x, const float* weight, std::size_t n, float eps, float* out) {
  const DF d;
  const std::size_t N = hn::Lanes(d);
  float sum_sq = DotT(x, x, n);
  const float inv = static_cast<float>(1.0 / std::sqrt(static_cast<double>(sum_sq) / n + eps));
  const auto vinv = hn::Set(d, inv);
  std::size_t i = 0;
  for (; i + N <= n; i += N) {
    hn::StoreU(hn::Mul(hn::Mul(hn::LoadU(d, x + i), vinv), hn::LoadU(d, weight + i)), d, out + i);
  }
  for (; i < n; ++i) out[i] = x[i] * inv * weight[i];
}

void AddToImpl(const float* x, float* y, std::size_t n) {
  const DF d;
  const std::size_t N = hn::Lanes(d);
  std::size_t i = 0;
  for (; i + N <= n; i += N)
    hn::StoreU(hn::Add(hn::LoadU(d, x + i), hn::LoadU(d, y + i)), d, y + i);
  for (; i < n; ++i) y[i] += x[i];
}

void ScaleImpl(float s, float* x, std::size_t n) {
  const DF d;
  const std::size_t N = hn::Lanes(d);
  const auto vs = hn::Set(d, s);
  std::size_t i = 0;
  for (; i + N <= n; i += N) hn::StoreU(hn::Mul(hn::LoadU(d, x + i), vs), d, x + i);
  for (; i < n; ++i) x[i] *= s;
}

void SwiGluImpl(const float* gate, const float* up, std::size_t n, float* out) {
  const DF d;
  const std::size_t N = hn::Lanes(d);
  const auto one = hn::Set(d, 1.0f);
  std::size_t i = 0;
  for (; i + N <= n; i += N) {
    const auto g = hn::LoadU(d, gate + i);
    const auto silu = hn::Div(g, hn::Add(one, hn::Exp(d, hn::Neg(g))));
    hn::StoreU(hn::Mul(silu, hn::LoadU(d, up + i)), d, out + i);
  }
  for (; i < n; ++i) out[i] = gate[i] / (1.0f + std::exp(-gate[i])) * up[i];
}

template <typename T>
HWY_INLINE void RowDotsT(const float* q, const T* rows, std::size_t stride, std::size_t n_rows,
                         std::size_t dim, float* out) {
  for (std::size_t r = 0; r < n_rows; ++r) out[r] = DotT(q, rows + r * stride, dim);
}

void RowDotsImpl(const float* q, RowsView rows, std::size_t n_rows, std::size_t dim, float* out) {
  if (rows.type == gguf::TensorType::kF16) {
    RowDotsT(q, static_cast<const hwy::float16_t*>(rows.data), rows.stride, n_rows, dim, out);
  } else {
    RowDotsT(q, static_cast<const float*>(rows.data), rows.stride, n_rows, dim, out);
  }
}

template <typename T>
HWY_INLINE void AccumulateRowsT(const float* weights, const T* rows, std::size_t stride,
                                std::size_t n_rows, std::size_t dim, float* acc) {
  for (std::size_t r = 0; r < n_rows; ++r) MulAddT(weights[r], rows + r * stride, acc, dim);
}

void AccumulateRowsImpl(const float* weights, RowsView rows, std::size_t n_rows, std::size_t dim,
                        float* acc) {
  if (rows.type == gguf::TensorType::kF16) {
    AccumulateRowsT(weights, static_cast<const hwy::float16_t*>(rows.data), rows.stride, n_rows,
                    dim, acc);
  } else {
    AccumulateRowsT(weights, static_cast<const float*>(rows.data), rows.stride, n_rows, dim, acc);
  }
}

void ConvertToF16Impl(const float* x, std::size_t n, std::uint16_t* out) {
  const DF d;
  const DH dh;
  const std::size_t N = hn::Lanes(d);
  auto* out16 = reinterpret_cast<hwy::float16_t*>(out);
  std::size_t i = 0;
  for (; i + N <= n; i += N) hn::StoreU(hn::DemoteTo(dh, hn::LoadU(d, x + i)), dh, out16 + i);
  for (; i < n; ++i) out[i] = F32ToF16(x[i]);
}

}  // namespace HWY_NAMESPACE
}  // namespace kiln::kernels
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace kiln::kernels {

HWY_EXPORT(DotImpl);
HWY_EXPORT(RmsNormImpl);
HWY_EXPORT(AddToImpl);
HWY_EXPORT(ScaleImpl);
HWY_EXPORT(SwiGluImpl);
HWY_EXPORT(RowDotsImpl);
HWY_EXPORT(AccumulateRowsImpl);
HWY_EXPORT(ConvertToF16Impl);

float Dot(const float* a, const float* b, std::size_t n) {
  return HWY_DYNAMIC_DISPATCH(DotImpl)(a, b, n);
}
void RmsNorm(const float* x, const float* weight, std::size_t n, float eps, float* out) {
  HWY_DYNAMIC_DISPATCH(RmsNormImpl)(x, weight, n, eps, out);
}
void AddTo(const float* x, float* y, std::size_t n) {
  HWY_DYNAMIC_DISPATCH(AddToImpl)(x, y, n);
}
void Scale(float s, float* x, std::size_t n) {
  HWY_DYNAMIC_DISPATCH(ScaleImpl)(s, x, n);
}
void SwiGlu(const float* gate, const float* up, std::size_t n, float* out) {
  HWY_DYNAMIC_DISPATCH(SwiGluImpl)(gate, up, n, out);
}
void RowDots(const float* q, RowsView rows, std::size_t n_rows, std::size_t dim, float* out) {
  HWY_DYNAMIC_DISPATCH(RowDotsImpl)(q, rows, n_rows, dim, out);
}
void AccumulateRows(const float* weights, RowsView rows, std::size_t n_rows, std::size_t dim,
                    float* acc) {
  HWY_DYNAMIC_DISPATCH(AccumulateRowsImpl)(weights, rows, n_rows, dim, acc);
}
void ConvertToF16(const float* x, std::size_t n, std::uint16_t* out) {
  HWY_DYNAMIC_DISPATCH(ConvertToF16Impl)(x, n, out);
}

}  // namespace kiln::kernels
#endif  // HWY_ONCE
