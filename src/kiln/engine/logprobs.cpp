#include "kiln/engine/logprobs.h"

#include <cmath>
#include <limits>

#include "kiln/base/error.h"

namespace kiln::engine {

double LogprobCalculator::LogSumExp(std::span<const float> raw_logits) {
  const int32_t best = ArgMax(raw_logits);
  if (best < 0 || !std::isfinite(raw_logits[static_cast<size_t>(best)])) {
    Fail("Cannot compute log-probabilities: the logits are all -inf, NaN or include +inf");
  }
  const float max = raw_logits[static_cast<size_t>(best)];
  // Each term is exp of a value <= 0, evaluated in float (relative error ~6e-8, far below the
  // float result's own precision) and summed in double; NaN fails the comparison and is skipped.
  double sum = 0.0;
  for (const float logit : raw_logits) {
    if (logit >= -std::numeric_limits<float>::max()) sum += std::exp(logit - max);
  }
  return static_cast<double>(max) + std::log(sum);
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
  SelectTopK(raw_logits, static_cast<size_t>(top), selected_);
  for (const Candidate& c : selected_) out.top.push_back({c.id, logprob(c.logit)});
}

}  // namespace kiln::engine
