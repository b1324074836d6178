// Unnormalised softmax weights exp((logit - max) / T) over a whole vocabulary, and drawing an
// index in proportion to them. These are the per-token O(vocabulary) loops of sampling and
// logprobs, written so that the compiler vectorizes them (fixed-size inner blocks, no branches).
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <vector>

namespace kiln::engine {

// exp(x) for x <= 0, with a relative error below 2e-7 (Cody-Waite range reduction and the
// Cephes polynomial). Returns exactly 0 for x < -87 (where float exp underflows anyway), for
// -inf and for NaN, so masked or broken logits simply get no weight. Branch-free, so loops over
// it vectorize.
inline float ExpNonPositive(float x) {
  const int32_t keep = -static_cast<int32_t>(x >= -87.0f);  // all ones, or 0 for small/NaN
  const float xc = std::bit_cast<float>(std::bit_cast<int32_t>(x) & keep);
  // k = round(x / ln 2) (truncation of a value <= -0.5 rounds toward +inf, i.e. to nearest).
  const int32_t k = static_cast<int32_t>(xc * 1.44269504088896341f - 0.5f);
  const float kf = static_cast<float>(k);
  const float r = (xc - kf * 0.693359375f) - kf * -2.12194440e-4f;  // ln 2 split hi + lo
  float y = 1.9875691500e-4f;
  y = y * r + 1.3981999507e-3f;
  y = y * r + 8.3334519073e-3f;
  y = y * r + 4.1665795894e-2f;
  y = y * r + 1.6666665459e-1f;
  y = y * r + 5.0000001201e-1f;
  y = y * r * r + r + 1.0f;
  const float two_k = std::bit_cast<float>((k + 127) << 23);  // k in [-126, 0]: a normal float
  return std::bit_cast<float>(std::bit_cast<int32_t>(y * two_k) & keep);
}

// Softmax weights in blocks: weights[i] = ExpNonPositive((logits[i] - max) / temperature), and
// the sum of each block of kWeightBlock weights in double. `max` must be >= every logit.
class SoftmaxWeights {
 public:
  static constexpr size_t kWeightBlock = 64;

  // Returns the total weight (sum of the block sums, in order, in double). Only tokens that rank
  // at or before the cutoff (logit > cutoff_logit, or equal with id <= cutoff_id) get weight;
  // the default cutoff lets every token in.
  double Compute(std::span<const float> logits, float max, float temperature,
                 float cutoff_logit = -std::numeric_limits<float>::infinity(),
                 int32_t cutoff_id = std::numeric_limits<int32_t>::max());

  // The index drawn for u in [0, 1): the first i whose cumulative weight exceeds u * total.
  // Walks block sums first, then one block, so the cost is vocabulary / 64 + 64 additions.
  // Weight-0 entries are never chosen. Requires Compute() and a positive total.
  size_t Pick(double u) const;

  std::span<const float> weights() const { return weights_; }

 private:
  std::vector<float> weights_;
  std::vector<double> block_sums_;
  double total_ = 0.0;
};

}  // namespace kiln::engine
