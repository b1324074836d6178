// The K-type block quantizers. Each super-block of 256 values is cut into sub-blocks; every
// sub-block gets its own scale (and minimum) from the least-squares searches in scale_search.h,
// those scales are themselves quantized to 4, 6 or 8 bits against one half-precision super-scale,
// and finally the levels are recomputed against the scales as stored.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "kiln/kernels/k_scales.h"
#include "kiln/kernels/quantize_blocks.h"
#include "kiln/kernels/scale_search.h"

namespace kiln::kernels::detail {
namespace {

// Levels are stored as 2-bit planes: byte l of each 128-element half holds elements l, l + 32,
// l + 64 and l + 96 of that half, lowest bits first.
void PackTwoBitPlanes(const std::uint8_t L[kQK_K], std::uint8_t qs[kQK_K / 4]) {
  for (int j = 0; j < kQK_K; j += 128) {
    for (int l = 0; l < 32; ++l) {
      qs[j / 4 + l] =
          static_cast<std::uint8_t>((L[j + l] & 3) | (L[j + l + 32] & 3) << 2 |
                                    (L[j + l + 64] & 3) << 4 | (L[j + l + 96] & 3) << 6);
    }
  }
}

// Weights for the affine fits of Q4_K/Q5_K: the group's RMS plus each value's magnitude, so large
// values count more without letting one outlier own the fit.
void RmsPlusMagnitude(const float* x, float weights[32]) {
  float sum_x2 = 0;
  for (int l = 0; l < 32; ++l) sum_x2 += x[l] * x[l];
  float av_x = std::sqrt(sum_x2 / 32);
  for (int l = 0; l < 32; ++l) weights[l] = av_x + std::fabs(x[l]);
}

// Shared by Q4_K and Q5_K: 8 sub-blocks of 32 with 6-bit scales and minimums. Fills `d`, `dmin`,
// `scales` and the levels `L` (0..nmax).
void QuantizeScaleMinK4(const float* x, int nmax, float rmin, int nstep, f16_bits& d,
                        f16_bits& dmin, std::uint8_t packed[kKScaleBytes], std::uint8_t L[kQK_K],
                        const char* name) {
  float scales[8], mins[8], weights[32];
  float max_scale = 0, max_min = 0;
  for (int j = 0; j < 8; ++j) {
    RmsPlusMagnitude(x + 32 * j, weights);
    AffineFit fit = FitAffine(32, nmax, x + 32 * j, weights, L + 32 * j, rmin, 0.1f, nstep, false);
    scales[j] = fit.scale;
    mins[j] = fit.min;
    max_scale = std::max(max_scale, fit.scale);
    max_min = std::max(max_min, fit.min);
  }
  float inv_scale = max_scale > 0 ? 63.0f / max_scale : 0.0f;
  float inv_min = max_min > 0 ? 63.0f / max_min : 0.0f;
  std::uint8_t ls[8], lm[8];
  for (int j = 0; j < 8; ++j) {
    ls[j] = static_cast<std::uint8_t>(std::clamp(NearestInt(inv_scale * scales[j]), 0, 63));
    lm[j] = static_cast<std::uint8_t>(std::clamp(NearestInt(inv_min * mins[j]), 0, 63));
  }
  PackScalesMinsK4(ls, lm, packed);
  d = ScaleToF16(max_scale / 63.0f, name);
  dmin = ScaleToF16(max_min / 63.0f, name);

  float d_all = F16ToF32(d), dmin_all = F16ToF32(dmin);
  for (int j = 0; j < 8; ++j) {
    float dl = d_all * ls[j];
    if (dl == 0) continue;  // the sub-block decodes to -min whatever its levels
    float ml = dmin_all * lm[j];
    for (int l = 0; l < 32; ++l) {
      L[32 * j + l] =
          static_cast<std::uint8_t>(std::clamp(NearestInt((x[32 * j + l] + ml) / dl), 0, nmax));
    }
  }
}

}  // namespace

void QuantizeBlock(const float* x, BlockQ2_K& y) {
  std::uint8_t L[kQK_K];
  float scales[16], mins[16], weights[16];
  float max_scale = 0, max_min = 0;
  for (int j = 0; j < 16; ++j) {
    for (int l = 0; l < 16; ++l) weights[l] = std::fabs(x[16 * j + l]);
    // Two bits leave so few levels that absolute error weighs outliers more sensibly.
    AffineFit fit = FitAffine(16, 3, x + 16 * j, weights, L + 16 * j, -0.5f, 0.1f, 15, true);
    scales[j] = fit.scale;
    mins[j] = fit.min;
    max_scale = std::max(max_scale, fit.scale);
    max_min = std::max(max_min, fit.min);
  }
  float inv_scale = max_scale > 0 ? 15.0f / max_scale : 0.0f;
  float inv_min = max_min > 0 ? 15.0f / max_min : 0.0f;
  for (int j = 0; j < 16; ++j) {
    int ls = std::clamp(NearestInt(inv_scale * scales[j]), 0, 15);
    int lm = std::clamp(NearestInt(inv_min * mins[j]), 0, 15);
    y.scales[j] = static_cast<std::uint8_t>(ls | lm << 4);
  }
  y.d = ScaleToF16(max_scale / 15.0f, "Q2_K");
  y.dmin = ScaleToF16(max_min / 15.0f, "Q2_K");

  float d_all = F16ToF32(y.d), dmin_all = F16ToF32(y.dmin);
  for (int j = 0; j < 16; ++j) {
    float dl = d_all * (y.scales[j] & 0xF);
    if (dl == 0) continue;
    float ml = dmin_all * (y.scales[j] >> 4);
    for (int l = 0; l < 16; ++l) {
      L[16 * j + l] =
          static_cast<std::uint8_t>(std::clamp(NearestInt((x[16 * j + l] + ml) / dl), 0, 3));
    }
  }
  PackTwoBitPlanes(L, y.qs);
}

void QuantizeBlock(const float* x, BlockQ3_K& y) {
  std::uint8_t L[kQK_K];
  float scales[16];
  float max_scale = 0, amax = 0;
  for (int j = 0; j < 16; ++j) {
    scales[j] = FitSymmetricRefined(16, 4, x + 16 * j, L + 16 * j);
    if (std::fabs(scales[j]) > amax) {
      amax = std::fabs(scales[j]);
      max_scale = scales[j];
    }
  }
  std::int8_t ls[16] = {};
  y.d = 0;
  if (max_scale != 0) {
    float iscale = -32.0f / max_scale;
    for (int j = 0; j < 16; ++j) {
      ls[j] = static_cast<std::int8_t>(std::clamp(NearestInt(iscale * scales[j]), -32, 31));
    }
    y.d = ScaleToF16(1 / iscale, "Q3_K");
  }
  PackQ3KScales(ls, y.scales);

  float d_all = F16ToF32(y.d);
  for (int j = 0; j < 16; ++j) {
    float dl = d_all * ls[j];
    if (dl == 0) continue;
    for (int l = 0; l < 16; ++l) {
      L[16 * j + l] =
          static_cast<std::uint8_t>(std::clamp(NearestInt(x[16 * j + l] / dl), -4, 3) + 4);
    }
  }
  // Third bits: element e sets bit e / 32 of hmask[e % 32].
  std::memset(y.hmask, 0, sizeof y.hmask);
  for (int e = 0; e < kQK_K; ++e) {
    if (L[e] > 3) y.hmask[e % 32] |= static_cast<std::uint8_t>(1u << (e / 32));
  }
  PackTwoBitPlanes(L, y.qs);
}

void QuantizeBlock(const float* x, BlockQ4_K& y) {
  std::uint8_t L[kQK_K];
  QuantizeScaleMinK4(x, 15, -1.0f, 20, y.d, y.dmin, y.scales, L, "Q4_K");
  // Byte l of each 64-element chunk: element l in the low nibble, element 32 + l in the high one.
  for (int c = 0; c < 4; ++c) {
    for (int l = 0; l < 32; ++l) {
      y.qs[32 * c + l] = static_cast<std::uint8_t>(L[64 * c + l] | L[64 * c + 32 + l] << 4);
    }
  }
}

void QuantizeBlock(const float* x, BlockQ5_K& y) {
  std::uint8_t L[kQK_K];
  QuantizeScaleMinK4(x, 31, -0.5f, 15, y.d, y.dmin, y.scales, L, "Q5_K");
  std::memset(y.qh, 0, sizeof y.qh);
  for (int c = 0; c < 4; ++c) {
    for (int l = 0; l < 32; ++l) {
      int lo = L[64 * c + l], hi = L[64 * c + 32 + l];
      y.qs[32 * c + l] = static_cast<std::uint8_t>((lo & 0xF) | (hi & 0xF) << 4);
      // The fifth bit of sub-block s (= 2c or 2c + 1) is bit s of qh[l].
      y.qh[l] |= static_cast<std::uint8_t>((lo >> 4) << (2 * c) | (hi >> 4) << (2 * c + 1));
    }
  }
}

void QuantizeBlock(const float* x, BlockQ6_K& y) {
  std::uint8_t L[kQK_K];
  float scales[16];
  float max_scale = 0, amax = 0;
  for (int j = 0; j < 16; ++j) {
    scales[j] = FitSymmetric(16, 32, x + 16 * j, L + 16 * j);
    if (std::fabs(scales[j]) > amax) {
      amax = std::fabs(scales[j]);
      max_scale = scales[j];
    }
  }
  if (amax < 1e-15f) {  // all zero
    std::memset(&y, 0, sizeof y);
    return;
  }
  float iscale = -128.0f / max_scale;
  y.d = ScaleToF16(1 / iscale, "Q6_K");
  for (int j = 0; j < 16; ++j) {
    y.scales[j] = static_cast<std::int8_t>(std::clamp(NearestInt(iscale * scales[j]), -128, 127));
  }
  float d_all = F16ToF32(y.d);
  for (int j = 0; j < 16; ++j) {
    float dl = d_all * y.scales[j];
    if (dl == 0) continue;
    for (int l = 0; l < 16; ++l) {
      L[16 * j + l] =
          static_cast<std::uint8_t>(std::clamp(NearestInt(x[16 * j + l] / dl), -32, 31) + 32);
    }
  }
  // Per 128-element half: ql[l] = elements l | 64 + l (low nibbles), ql[32 + l] = 32 + l |
  // 96 + l; qh[l] = the top two bits of l, 32 + l, 64 + l, 96 + l.
  for (int h = 0; h < 2; ++h) {
    const std::uint8_t* Lh = L + 128 * h;
    std::uint8_t* ql = y.ql + 64 * h;
    std::uint8_t* qh = y.qh + 32 * h;
    for (int l = 0; l < 32; ++l) {
      ql[l] = static_cast<std::uint8_t>((Lh[l] & 0xF) | (Lh[l + 64] & 0xF) << 4);
      ql[l + 32] = static_cast<std::uint8_t>((Lh[l + 32] & 0xF) | (Lh[l + 96] & 0xF) << 4);
      qh[l] = static_cast<std::uint8_t>((Lh[l] >> 4) | (Lh[l + 32] >> 4) << 2 |
                                        (Lh[l + 64] >> 4) << 4 | (Lh[l + 96] >> 4) << 6);
    }
  }
}

}  // namespace kiln::kernels::detail
