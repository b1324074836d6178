// Log-probabilities reported to clients: the log-softmax of the model's RAW logits (before bias,
// penalties, truncation or temperature, as OpenAI and vLLM report them) for the chosen token and
// the most likely alternatives.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "kiln/engine/candidates.h"
#include "kiln/engine/softmax_weights.h"

namespace kiln::engine {

struct TokenLogprob {
  int32_t token;
  float logprob;
};

struct TokenLogprobs {
  TokenLogprob chosen;
  std::vector<TokenLogprob> top;  // most likely first, ties by lower id
};

// Reuses its selection buffer across tokens; one per sequence or per worker thread.
class LogprobCalculator {
 public:
  // log p(t) = logit[t] - (max + log sum_i exp(logit[i] - max)). The max is subtracted before
  // exponentiating (so nothing overflows however large the logits); each exp is a float with
  // relative error < 2e-7 and the sum and the log run in double, so the result is within
  // ~3e-7 of a float64 reference. NaN logits are left out of the sum. `top` (<=
  // vocabulary size) alternatives are written to out.top, reusing its capacity. Throws
  // kiln::Error for a chosen id outside the vocabulary or logits that are all -inf/NaN.
  void Compute(std::span<const float> raw_logits, int32_t chosen, int32_t top, TokenLogprobs& out);

  // The log of the softmax denominator, exposed for tests and for callers that want logprobs
  // of several tokens of one position.
  double LogSumExp(std::span<const float> raw_logits);

 private:
  SoftmaxWeights weights_;
  TopKSelector top_k_;
  std::vector<Candidate> selected_;
};

}  // namespace kiln::engine
