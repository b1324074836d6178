#include "kiln/kernels/scale_search.h"

#include <algorithm>
#include <cstring>

namespace kiln::kernels::detail {
namespace {

// Below this a group is treated as all zero: any scale fits it and 1 / max would overflow.
constexpr float kGroupMaxEps = 1e-15f;

// The signed value of largest magnitude (first one on ties).
float SignedMax(int n, const float* x) {
  float max = 0, amax = 0;
  for (int i = 0; i < n; ++i) {
    float ax = std::fabs(x[i]);
    if (ax > amax) {
      amax = ax;
      max = x[i];
    }
  }
  return max;
}

}  // namespace

AffineFit FitAffine(int n, int nmax, const float* x, const float* weights, std::uint8_t* L,
                    float rmin, float rdelta, int nstep, bool use_mad) {
  float min = x[0], max = x[0];
  float sum_w = 0, sum_x = 0;
  for (int i = 0; i < n; ++i) {
    min = std::min(min, x[i]);
    max = std::max(max, x[i]);
    sum_w += weights[i];
    sum_x += weights[i] * x[i];
  }
  // The minimum is only ever subtracted, so a group of positive values keeps zero as its floor.
  if (min > 0) min = 0;
  if (max == min) {
    std::memset(L, 0, static_cast<std::size_t>(n));
    return {0.0f, -min};
  }
  auto error_of = [&](const std::uint8_t* levels, float scale, float offset) {
    float err = 0;
    for (int i = 0; i < n; ++i) {
      float diff = scale * levels[i] + offset - x[i];
      err += weights[i] * (use_mad ? std::fabs(diff) : diff * diff);
    }
    return err;
  };

  float iscale = static_cast<float>(nmax) / (max - min);
  float scale = 1 / iscale;
  for (int i = 0; i < n; ++i) {
    L[i] = static_cast<std::uint8_t>(std::clamp(NearestInt(iscale * (x[i] - min)), 0, nmax));
  }
  float best_error = error_of(L, scale, min);

  std::uint8_t trial[256];
  for (int step = 0; step <= nstep; ++step) {
    iscale = (rmin + rdelta * static_cast<float>(step) + static_cast<float>(nmax)) / (max - min);
    float sum_l = 0, sum_l2 = 0, sum_xl = 0;
    for (int i = 0; i < n; ++i) {
      int l = std::clamp(NearestInt(iscale * (x[i] - min)), 0, nmax);
      trial[i] = static_cast<std::uint8_t>(l);
      float w = weights[i];
      sum_l += w * static_cast<float>(l);
      sum_l2 += w * static_cast<float>(l * l);
      sum_xl += w * static_cast<float>(l) * x[i];
    }
    // Weighted least squares for x ~= scale * l + offset on these levels.
    float det = sum_w * sum_l2 - sum_l * sum_l;
    if (det <= 0) continue;
    float this_scale = (sum_w * sum_xl - sum_x * sum_l) / det;
    float this_offset = (sum_l2 * sum_x - sum_l * sum_xl) / det;
    if (this_offset > 0) {  // the format cannot add: refit through zero
      this_offset = 0;
      this_scale = sum_xl / sum_l2;
    }
    float err = error_of(trial, this_scale, this_offset);
    if (err < best_error) {
      std::memcpy(L, trial, static_cast<std::size_t>(n));
      best_error = err;
      scale = this_scale;
      min = this_offset;
    }
  }
  return {scale, -min};
}

float FitSymmetric(int n, int nmax, const float* x, std::uint8_t* L) {
  float max = SignedMax(n, x);
  if (std::fabs(max) < kGroupMaxEps) {
    std::memset(L, 0, static_cast<std::size_t>(n));
    return 0;
  }
  auto fit = [&](float iscale, float& sumlx, float& suml2, bool store) {
    sumlx = suml2 = 0;
    for (int i = 0; i < n; ++i) {
      int l = std::clamp(NearestInt(iscale * x[i]), -nmax, nmax - 1);
      if (store) L[i] = static_cast<std::uint8_t>(l + nmax);
      float w = x[i] * x[i];
      sumlx += w * x[i] * static_cast<float>(l);
      suml2 += w * static_cast<float>(l * l);
    }
  };
  float sumlx, suml2;
  fit(-static_cast<float>(nmax) / max, sumlx, suml2, true);
  float scale = suml2 > 0 ? sumlx / suml2 : 0.0f;
  // For fixed levels the best scale is sumlx / suml2 and the error drops by sumlx^2 / suml2.
  float best = scale * sumlx;
  for (int step = -9; step <= 9; ++step) {
    if (step == 0) continue;
    float iscale = -(static_cast<float>(nmax) + 0.1f * static_cast<float>(step)) / max;
    fit(iscale, sumlx, suml2, false);
    if (suml2 > 0 && sumlx * sumlx > best * suml2) {
      fit(iscale, sumlx, suml2, true);
      scale = sumlx / suml2;
      best = scale * sumlx;
    }
  }
  return scale;
}

float FitSymmetricRefined(int n, int nmax, const float* x, std::uint8_t* L) {
  float max = SignedMax(n, x);
  if (std::fabs(max) < kGroupMaxEps) {
    std::memset(L, 0, static_cast<std::size_t>(n));
    return 0;
  }
  float iscale = -static_cast<float>(nmax) / max;
  int levels[256];
  float sumlx = 0, suml2 = 0;
  for (int i = 0; i < n; ++i) {
    int l = std::clamp(NearestInt(iscale * x[i]), -nmax, nmax - 1);
    levels[i] = l;
    float w = x[i] * x[i];
    sumlx += w * x[i] * static_cast<float>(l);
    suml2 += w * static_cast<float>(l * l);
  }
  // Coordinate descent: move one level to its best value for the scale the others imply, and
  // keep the move when it raises sumlx^2 / suml2 (equivalently, lowers the fitted error).
  for (int pass = 0; pass < 5; ++pass) {
    int changed = 0;
    for (int i = 0; i < n; ++i) {
      float w = x[i] * x[i];
      float slx = sumlx - w * x[i] * static_cast<float>(levels[i]);
      if (slx <= 0) continue;
      float sl2 = suml2 - w * static_cast<float>(levels[i] * levels[i]);
      int new_l = std::clamp(NearestInt(x[i] * sl2 / slx), -nmax, nmax - 1);
      if (new_l == levels[i]) continue;
      slx += w * x[i] * static_cast<float>(new_l);
      sl2 += w * static_cast<float>(new_l * new_l);
      if (sl2 > 0 && slx * slx * suml2 > sumlx * sumlx * sl2) {
        levels[i] = new_l;
        sumlx = slx;
        suml2 = sl2;
        ++changed;
      }
    }
    if (changed == 0) break;
  }
  for (int i = 0; i < n; ++i) L[i] = static_cast<std::uint8_t>(levels[i] + nmax);
  return suml2 > 0 ? sumlx / suml2 : 0.0f;
}

}  // namespace kiln::kernels::detail
