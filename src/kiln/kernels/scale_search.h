// Scale (and minimum) search for the K quantizers: given a group of values, choose the integer
// levels and the float scale that minimise a weighted squared error, the way ggml's reference
// quantizers do (make_qkx2_quants, make_qx_quants, make_q3_quants). Internal to the quantizers.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

namespace kiln::kernels::detail {

// Round half to even, saturating far outside any level range. Adding 1.5 * 2^23 leaves the rounded
// integer in the low mantissa bits (exact for |v| < 2^22); much faster than a libm call, which
// matters because the scale searches round every value dozens of times.
inline int NearestInt(float v) {
  if (!(v > -4194303.0f)) return -4194303;  // also catches NaN
  if (v > 4194303.0f) return 4194303;
  float shifted = v + 12582912.0f;
  std::int32_t bits;
  std::memcpy(&bits, &shifted, sizeof bits);
  return (bits & 0x007fffff) - 0x00400000;
}

// x ~= scale * L - min with L in [0, nmax] and min >= 0 (zero when every x >= 0).
struct AffineFit {
  float scale = 0;
  float min = 0;  // subtracted: x = scale * L - min
};

// Tries nstep + 1 grids of (nmax + rmin + rdelta * k) levels over [min(x, 0), max(x)]; for each,
// fits scale and min by weighted least squares and keeps the best. `use_mad` weighs absolute
// instead of squared errors. Writes the levels of the best fit to `L`.
AffineFit FitAffine(int n, int nmax, const float* x, const float* weights, std::uint8_t* L,
                    float rmin, float rdelta, int nstep, bool use_mad);

// x ~= scale * (L - nmax) with L in [0, 2 * nmax - 1]; the element of largest magnitude lands on
// level 0 (the side with the extra level). Tries 19 grids around nmax / max|x| and keeps the one
// with the best weighted least-squares fit, weights x^2 (they favour the large values that
// dominate a dot product). Returns 0 and zero levels for an all-zero group.
float FitSymmetric(int n, int nmax, const float* x, std::uint8_t* L);

// As FitSymmetric, but refines by moving single levels while that improves the x^2-weighted
// fit (ggml's make_q3_quants with do_rmse). Used by Q3_K, whose 3-bit grid is too coarse for a
// scale grid search alone.
float FitSymmetricRefined(int n, int nmax, const float* x, std::uint8_t* L);

}  // namespace kiln::kernels::detail
