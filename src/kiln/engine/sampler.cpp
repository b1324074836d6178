#include "kiln/engine/sampler.h"

#include <cmath>
#include <random>

#include "kiln/base/error.h"

namespace kiln::engine {
namespace {

constexpr uint64_t kGolden = 0x9e3779b97f4a7c15ULL;

// SplitMix64's output function (Steele, Lea, Flood 2014): a bijective 64-bit mixer. Applied to
// key + (i + 1) * golden it is SplitMix64's i-th output, which passes BigCrush.
uint64_t Mix64(uint64_t x) {
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// Validation runs before any member is built (the penalty tables are sized by the vocabulary).
int32_t ValidatedVocabSize(const SamplingParams& params, int32_t vocab_size) {
  params.Validate(vocab_size);
  return vocab_size;
}

void RequireUsable(float best_logit) {
  if (!std::isfinite(best_logit)) {
    Fail("Cannot sample: the best token's logit is {} (the logits are all -inf, NaN or +inf)",
         best_logit);
  }
}

}  // namespace

uint64_t DrawRandomSeed() {
  std::random_device device;
  return (static_cast<uint64_t>(device()) << 32) ^ static_cast<uint64_t>(device());
}

uint64_t ResolveSeed(const SamplingParams& params) {
  return params.seed ? *params.seed : DrawRandomSeed();
}

uint64_t SequenceSeed(uint64_t request_seed, uint32_t sequence_index) {
  if (sequence_index == 0) return request_seed;
  return Mix64(request_seed ^ Mix64(kGolden * sequence_index));
}

Sampler::Sampler(const SamplingParams& params, int32_t vocab_size, uint64_t seed)
    : vocab_size_(ValidatedVocabSize(params, vocab_size)),
      seed_(seed),
      key_(Mix64(seed ^ 0x6a09e667f3bcc909ULL)),
      temperature_(params.temperature),
      top_k_(params.top_k > 0 && params.top_k < vocab_size ? static_cast<size_t>(params.top_k) : 0),
      top_p_(params.top_p),
      min_p_(params.min_p),
      typical_p_(params.typical_p),
      logit_bias_(params.logit_bias.begin(), params.logit_bias.end()),
      penalties_(params, vocab_size) {}

double Sampler::UniformAt(uint64_t step) const {
  const uint64_t bits = Mix64(key_ + (step + 1) * kGolden);
  return static_cast<double>(bits >> 11) * 0x1.0p-53;  // 53 random bits: [0, 1)
}

int32_t Sampler::Sample(std::span<const float> logits, const TokenHistory& history) {
  if (logits.size() != static_cast<size_t>(vocab_size_)) {
    Fail("Got {} logits for a vocabulary of {} tokens", logits.size(), vocab_size_);
  }
  const uint64_t step = step_++;

  std::span<const float> scores = logits;
  if (!logit_bias_.empty() || penalties_.active()) {
    adjusted_.assign(logits.begin(), logits.end());
    for (const auto& [id, bias] : logit_bias_) adjusted_[static_cast<size_t>(id)] += bias;
    penalties_.Apply(history, adjusted_);
    scores = adjusted_;
  }

  if (temperature_ == 0.0f) {
    const int32_t best = ArgMax(scores);
    RequireUsable(best < 0 ? std::nanf("") : scores[static_cast<size_t>(best)]);
    return best;
  }

  if (top_k_ > 0) {
    candidates_.AssignTopK(scores, top_k_);
  } else {
    candidates_.AssignAll(scores);
  }
  RequireUsable(candidates_.MaxLogit());
  if (typical_p_ < 1.0f) candidates_.KeepTypical(typical_p_);
  if (top_p_ < 1.0f) candidates_.KeepTopP(top_p_);
  if (min_p_ > 0.0f) candidates_.KeepMinP(min_p_);
  return candidates_.Draw(temperature_, UniformAt(step));
}

}  // namespace kiln::engine
