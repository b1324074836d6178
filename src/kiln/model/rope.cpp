#include "kiln/model/rope.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "kiln/base/error.h"

namespace kiln::model {
namespace {

// The dimension at which a frequency turns `rotations` times over the original context
// (YaRN's correction range is between the dimensions for beta_fast and beta_slow rotations).
double YarnCorrectionDim(int dims, int original_context, double rotations, double base) {
  return dims * std::log(original_context / (rotations * 2 * std::numbers::pi)) /
         (2 * std::log(base));
}

}  // namespace

RopeTable::RopeTable(const RopeConfig& config, std::span<const float> freq_factors)
    : style_(config.style), dimension_count_(config.dimension_count) {
  const int pairs = dimension_count_ / 2;
  if (!freq_factors.empty() && static_cast<int>(freq_factors.size()) != pairs) {
    Fail("rope_freqs.weight has {} factors but RoPE rotates {} dimension pairs",
         freq_factors.size(), pairs);
  }
  const double interpolation = config.scaling == RopeScaling::kNone ? 1.0 : 1.0 / config.factor;
  double low = 0, high = 0;
  if (config.scaling == RopeScaling::kYarn) {
    low =
        std::max(0.0, std::floor(YarnCorrectionDim(dimension_count_, config.original_context_length,
                                                   config.yarn_beta_fast, config.freq_base)));
    high = std::min(dimension_count_ - 1.0,
                    std::ceil(YarnCorrectionDim(dimension_count_, config.original_context_length,
                                                config.yarn_beta_slow, config.freq_base)));
    magnitude_ = 1.0 + 0.1 * std::log(config.factor);
  }
  speeds_.resize(pairs);
  for (int i = 0; i < pairs; ++i) {
    double speed = std::pow(config.freq_base, -2.0 * i / dimension_count_);
    if (!freq_factors.empty()) {
      if (!(freq_factors[i] > 0.0f))
        Fail("rope_freqs.weight[{}] = {} is not positive", i, freq_factors[i]);
      speed /= freq_factors[i];
    }
    double interpolated = speed * interpolation;
    if (config.scaling == RopeScaling::kYarn) {
      // High frequencies (few dimensions in) keep their speed; low ones are interpolated.
      double ramp = (i - low) / std::max(0.001, high - low);
      double keep = 1.0 - std::clamp(ramp, 0.0, 1.0);
      speed = interpolated * (1.0 - keep) + speed * keep;
    } else {
      speed = interpolated;
    }
    speeds_[i] = speed;
  }
}

void RopeTable::Angles(int position, float* cos_out, float* sin_out) const {
  for (std::size_t i = 0; i < speeds_.size(); ++i) {
    double theta = position * speeds_[i];
    cos_out[i] = static_cast<float>(std::cos(theta) * magnitude_);
    sin_out[i] = static_cast<float>(std::sin(theta) * magnitude_);
  }
}

void RopeTable::Rotate(float* x, int heads, int head_size, const float* cos,
                       const float* sin) const {
  const int pairs = dimension_count_ / 2;
  for (int h = 0; h < heads; ++h) {
    float* head = x + static_cast<std::ptrdiff_t>(h) * head_size;
    if (style_ == RopeStyle::kNormal) {
      for (int i = 0; i < pairs; ++i) {
        float a = head[2 * i], b = head[2 * i + 1];
        head[2 * i] = a * cos[i] - b * sin[i];
        head[2 * i + 1] = a * sin[i] + b * cos[i];
      }
    } else {
      for (int i = 0; i < pairs; ++i) {
        float a = head[i], b = head[i + pairs];
        head[i] = a * cos[i] - b * sin[i];
        head[i + pairs] = a * sin[i] + b * cos[i];
      }
    }
  }
}

}  // namespace kiln::model
