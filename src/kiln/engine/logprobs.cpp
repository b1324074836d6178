#include "kiln/engine/logprobs.h"

#include <cmath>

#include "kiln/base/error.h"

namespace kiln::engine {

double LogprobCalculator::LogSumExp(std::span<const float> raw_logits) {
  const int32_t best = ArgMax(raw_logits);
  if (best < 0 || !std::isfinite(raw_logits[static_cast<size_t>(best)])) {
    Fail("Cannot compute log-probabilities: the logits are all -inf, NaN or include +inf");
  }
  const float max = raw_logits[static_cast<size_t>(best)];
  return static_cast<double>(max) + std::log(weights_.Compute(raw_logits, max, 1.0f));
}

void LogprobCalculator::Compute(std::span<const float> raw_logits, int32_t chosen, int32_t top,
                                TokenLogprobs& out) {
  if (chosen < 0 || static_cast<size_t>(chosen) >= raw_logits.size()) {
    Fail("Token id {} is outside the vocabulary (0..{})", chosen, raw_logits.size() - 1);
  }
  const double log_total = LogSumExp(raw_logits);
  auto logprob = [log_total](float logit) {
    return static_cast<float>(static_cast<double>(logit) - log_total);
  };
  out.chosen = {chosen, logprob(raw_logits[static_cast<size_t>(chosen)])};
  out.top.clear();
  if (top <= 0) return;
  top_k_.Select(raw_logits, static_cast<size_t>(top), selected_);
  for (const Candidate& c : selected_) out.top.push_back({c.id, logprob(c.logit)});
}

}  // namespace kiln::engine
