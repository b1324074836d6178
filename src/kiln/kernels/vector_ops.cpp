#include "kiln/kernels/vector_ops.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "kiln/base/error.h"
#include "kiln/kernels/blocks.h"
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

// dot(a, Q8_0 row) over whole blocks.
HWY_INLINE float DotQ8(const float* a, const BlockQ8_0* b, std::size_t n) {
  const DF d;
  const hn::Rebind<std::int32_t, DF> di;
  const hn::Rebind<std::int8_t, DF> d8;
  const std::size_t N = hn::Lanes(d);
  auto total = hn::Zero(d);
  for (std::size_t blk = 0; blk < n / kQK; ++blk, a += kQK) {
    auto acc = hn::Zero(d);
    for (std::size_t i = 0; i < static_cast<std::size_t>(kQK); i += N) {
      const auto q = hn::ConvertTo(d, hn::PromoteTo(di, hn::LoadU(d8, b[blk].qs + i)));
      acc = hn::MulAdd(hn::LoadU(d, a + i), q, acc);
    }
    total = hn::MulAdd(acc, hn::Set(d, F16ToF32(b[blk].d)), total);
  }
  return hn::GetLane(hn::SumOfLanes(d, total));
}

// y += w * (Q8_0 row) over whole blocks.
HWY_INLINE void MulAddQ8(float w, const BlockQ8_0* b, float* y, std::size_t n) {
  const DF d;
  const hn::Rebind<std::int32_t, DF> di;
  const hn::Rebind<std::int8_t, DF> d8;
  const std::size_t N = hn::Lanes(d);
  for (std::size_t blk = 0; blk < n / kQK; ++blk, y += kQK) {
    const auto scale = hn::Set(d, w * F16ToF32(b[blk].d));
    for (std::size_t i = 0; i < static_cast<std::size_t>(kQK); i += N) {
      const auto q = hn::ConvertTo(d, hn::PromoteTo(di, hn::LoadU(d8, b[blk].qs + i)));
      hn::StoreU(hn::MulAdd(scale, q, hn::LoadU(d, y + i)), d, y + i);
    }
  }
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

void SplitForInt8Impl(const float* x, std::size_t n, std::size_t block, float* hi, float* lo) {
  const DF d;
  const std::size_t N = hn::Lanes(d);
  for (std::size_t b = 0; b < n; b += block) {
    const float* xb = x + b;
    auto vmax = hn::Zero(d);
    std::size_t i = 0;
    if (block % N == 0) {
      for (; i < block; i += N) vmax = hn::Max(vmax, hn::Abs(hn::LoadU(d, xb + i)));
    }
    float amax = hn::GetLane(hn::MaxOfLanes(d, vmax));
    for (; i < block; ++i) amax = std::max(amax, std::abs(xb[i]));
    const float step = amax / 127.0f;
    const float inv = amax > 0.0f ? 127.0f / amax : 0.0f;
    const auto vstep = hn::Set(d, step), vinv = hn::Set(d, inv);
    i = 0;
    if (block % N == 0) {
      for (; i < block; i += N) {
        const auto v = hn::LoadU(d, xb + i);
        const auto h = hn::Mul(hn::Round(hn::Mul(v, vinv)), vstep);
        hn::StoreU(h, d, hi + b + i);
        hn::StoreU(hn::Sub(v, h), d, lo + b + i);
      }
    }
    for (; i < block; ++i) {
      hi[b + i] = std::nearbyint(xb[i] * inv) * step;
      lo[b + i] = xb[i] - hi[b + i];
    }
  }
}

template <typename T>
HWY_INLINE void RowDotsT(const float* q, const T* rows, std::size_t stride, std::size_t n_rows,
                         std::size_t dim, float* out) {
  for (std::size_t r = 0; r < n_rows; ++r) out[r] = DotT(q, rows + r * stride, dim);
}

void RowDotsImpl(const float* q, RowsView rows, std::size_t n_rows, std::size_t dim, float* out) {
  if (rows.type == gguf::TensorType::kQ8_0) {
    const auto* blocks = static_cast<const BlockQ8_0*>(rows.data);
    for (std::size_t r = 0; r < n_rows; ++r) out[r] = DotQ8(q, blocks + r * rows.stride / kQK, dim);
  } else if (rows.type == gguf::TensorType::kF16) {
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
  if (rows.type == gguf::TensorType::kQ8_0) {
    const auto* blocks = static_cast<const BlockQ8_0*>(rows.data);
    for (std::size_t r = 0; r < n_rows; ++r) {
      MulAddQ8(weights[r], blocks + r * rows.stride / kQK, acc, dim);
    }
  } else if (rows.type == gguf::TensorType::kF16) {
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

bool IsRowType(gguf::TensorType type) {
  return type == gguf::TensorType::kF32 || type == gguf::TensorType::kF16 ||
         type == gguf::TensorType::kQ8_0;
}

void QuantizeQ8_0(const float* x, std::size_t n, void* out) {
  auto* blocks = static_cast<BlockQ8_0*>(out);
  for (std::size_t b = 0; b < n / kQK; ++b, x += kQK) {
    float amax = 0.0f;
    for (int i = 0; i < kQK; ++i) amax = std::max(amax, std::abs(x[i]));
    const float d = amax / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    blocks[b].d = F32ToF16(d);
    for (int i = 0; i < kQK; ++i) {
      blocks[b].qs[i] = static_cast<std::int8_t>(std::lround(x[i] * id));
    }
  }
}

void ConvertRow(const float* x, std::size_t n, gguf::TensorType type, void* out) {
  switch (type) {
    case gguf::TensorType::kF32:
      std::memcpy(out, x, n * sizeof(float));
      return;
    case gguf::TensorType::kF16:
      ConvertToF16(x, n, static_cast<std::uint16_t*>(out));
      return;
    case gguf::TensorType::kQ8_0:
      QuantizeQ8_0(x, n, out);
      return;
    default:
      break;
  }
  Fail("ConvertRow: {} is not a row type ({})", gguf::NameOf(type), kRowTypes);
}

HWY_EXPORT(DotImpl);
HWY_EXPORT(RmsNormImpl);
HWY_EXPORT(AddToImpl);
HWY_EXPORT(ScaleImpl);
HWY_EXPORT(SwiGluImpl);
HWY_EXPORT(SplitForInt8Impl);
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
void SplitForInt8(const float* x, std::size_t n, std::size_t block, float* hi, float* lo) {
  HWY_DYNAMIC_DISPATCH(SplitForInt8Impl)(x, n, block, hi, lo);
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
