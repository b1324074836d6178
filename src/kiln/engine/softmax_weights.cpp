#include "kiln/engine/softmax_weights.h"

#include <algorithm>

#include "kiln/engine/vector_clones.h"

namespace kiln::engine {
namespace {

// Four independent double accumulators: the additions pipeline (and pair up into vector adds)
// instead of waiting on one another. Compute's full blocks add in exactly this order.
double SumBlock(const float* w, size_t count) {
  double acc[4] = {0.0, 0.0, 0.0, 0.0};
  size_t j = 0;
  for (; j + 4 <= count; j += 4) {
    for (size_t k = 0; k < 4; ++k) acc[k] += static_cast<double>(w[j + k]);
  }
  for (; j < count; ++j) acc[0] += static_cast<double>(w[j]);
  return (acc[0] + acc[1]) + (acc[2] + acc[3]);
}

// `weight` if the token ranks at or before the cutoff, else 0; bitwise rather than short-circuit
// logic, so that it stays branch-free and vectorizes.
inline float InPlay(float weight, float logit, int32_t id, float cutoff_logit, int32_t cutoff_id) {
  const bool in_play = (logit > cutoff_logit) | ((logit == cutoff_logit) & (id <= cutoff_id));
  return std::bit_cast<float>(std::bit_cast<int32_t>(weight) & -static_cast<int32_t>(in_play));
}

}  // namespace

KILN_VECTOR_CLONES double SoftmaxWeights::Compute(std::span<const float> logits, float max,
                                                  float temperature, float cutoff_logit,
                                                  int32_t cutoff_id) {
  const size_t n = logits.size();
  weights_.resize(n);
  block_sums_.resize((n + kWeightBlock - 1) / kWeightBlock);
  // Multiplying beats dividing; below 1e-30 every temperature acts as greedy anyway, and the
  // clamp keeps 1/T finite (0 * inf would be NaN for the best token).
  const float inverse = 1.0f / std::max(temperature, 1e-30f);
  const float* in = logits.data();
  float* out = weights_.data();
  double total = 0.0;
  size_t i = 0;
  size_t block = 0;
  for (; i + kWeightBlock <= n; i += kWeightBlock, ++block) {
    // A fixed trip count and a local buffer (no aliasing question) let the compiler vectorize
    // this at -O2.
    float local[kWeightBlock];
    for (size_t j = 0; j < kWeightBlock; ++j) {
      const float logit = in[i + j];
      const int32_t id = static_cast<int32_t>(i + j);
      local[j] =
          InPlay(ExpNonPositive((logit - max) * inverse), logit, id, cutoff_logit, cutoff_id);
    }
    for (size_t j = 0; j < kWeightBlock; ++j) out[i + j] = local[j];
    // Written out here rather than calling SumBlock so that the AVX2 clone vectorizes it too.
    double acc[4] = {0.0, 0.0, 0.0, 0.0};
    for (size_t j = 0; j < kWeightBlock; j += 4) {
      for (size_t k = 0; k < 4; ++k) acc[k] += static_cast<double>(local[j + k]);
    }
    block_sums_[block] = (acc[0] + acc[1]) + (acc[2] + acc[3]);
    total += block_sums_[block];
  }
  if (i < n) {
    for (size_t j = i; j < n; ++j) {
      const float logit = in[j];
      const int32_t id = static_cast<int32_t>(j);
      out[j] = InPlay(ExpNonPositive((logit - max) * inverse), logit, id, cutoff_logit, cutoff_id);
    }
    block_sums_[block] = SumBlock(out + i, n - i);
    total += block_sums_[block];
  }
  total_ = total;
  return total;
}

size_t SoftmaxWeights::Pick(double u) const {
  const double target = u * total_;
  double cumulative = 0.0;
  for (size_t block = 0; block < block_sums_.size(); ++block) {
    const double next = cumulative + block_sums_[block];
    if (next > target) {
      // This block holds the draw; it has a positive weight since its sum exceeds
      // target - cumulative >= 0.
      const size_t begin = block * kWeightBlock;
      const size_t end = std::min(begin + kWeightBlock, weights_.size());
      size_t last = begin;
      for (size_t i = begin; i < end; ++i) {
        if (weights_[i] <= 0.0f) continue;
        cumulative += static_cast<double>(weights_[i]);
        last = i;
        if (cumulative > target) return i;
      }
      // The block sum added in another order can round a hair above this walk.
      return last;
    }
    cumulative = next;
  }
  // Only reachable through rounding of u * total: the last token with any weight.
  for (size_t i = weights_.size(); i-- > 0;) {
    if (weights_[i] > 0.0f) return i;
  }
  return 0;
}

}  // namespace kiln::engine
