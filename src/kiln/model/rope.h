// Rotary position embedding: the per-frequency rotation speeds of a model (base, scaling,
// Llama 3 frequency factors folded in once at load) and the rotation of query/key heads.
// Angles are computed in double per token, so long positions lose no precision.
#pragma once

#include <span>
#include <vector>

#include "kiln/model/model_config.h"

namespace kiln::model {

class RopeTable {
 public:
  // `freq_factors` (empty, or rope.dimension_count / 2 divisors) come from rope_freqs.weight.
  RopeTable(const RopeConfig& config, std::span<const float> freq_factors);

  int dimension_count() const { return dimension_count_; }
  RopeStyle style() const { return style_; }

  // cos and sin of every frequency at `position` (dimension_count / 2 values each), already
  // multiplied by the YaRN magnitude scale.
  void Angles(int position, float* cos_out, float* sin_out) const;

  // Rotates the first dimension_count() dimensions of each of `heads` heads of `head_size`
  // floats, with the angles from Angles().
  void Rotate(float* x, int heads, int head_size, const float* cos, const float* sin) const;

 private:
  RopeStyle style_;
  int dimension_count_;
  std::vector<double> speeds_;  // radians per position, one per rotated pair
  double magnitude_ = 1.0;
};

}  // namespace kiln::model
