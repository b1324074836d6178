// Sampler: chooses each next token of one sequence from the model's logits, applying that
// request's SamplingParams. It owns the sequence's random stream and every buffer a step needs,
// so sampling allocates nothing per token and its result depends only on the seed, the logits
// and the history — never on which other sequences share the batch or how many threads run.
#pragma once

#include <cstdint>
#include <span>
#include <utility>
#include <vector>

#include "kiln/engine/candidates.h"
#include "kiln/engine/penalties.h"
#include "kiln/engine/sampling_params.h"

namespace kiln::engine {

// A fresh seed from std::random_device, for requests that did not give one.
uint64_t DrawRandomSeed();
// The request's seed if it gave one, otherwise a fresh one. Call once per request, at creation.
uint64_t ResolveSeed(const SamplingParams& params);
// The seed of the index-th of a request's n sequences: index 0 keeps the request seed (so n = 1
// reproduces a single request), the others get distinct, reproducible streams.
uint64_t SequenceSeed(uint64_t request_seed, uint32_t sequence_index);

// Transform order, the one llama.cpp's default chain uses:
//   logit_bias -> repetition penalty -> presence/frequency penalties
//   -> greedy argmax if temperature == 0
//   -> top_k -> typical_p -> top_p -> min_p -> temperature -> softmax -> draw.
// Bias and penalties precede greedy, so they steer greedy decoding too (as in vLLM). Note that
// top_p, typical_p and min_p here see the temperature-1 distribution (llama.cpp); vLLM and
// Hugging Face divide by the temperature first, which gives different nuclei for T != 1.
//
// Randomness is counter-based: the i-th token of a sequence uses the uniform variate
// SplitMix64(key(seed), i), one per token whether or not it is used, so a sequence's draws
// never depend on anything but its own seed and position.
class Sampler {
 public:
  // Validates `params` (throws kiln::Error) and keeps what sampling needs.
  Sampler(const SamplingParams& params, int32_t vocab_size, uint64_t seed);

  // The next token given the model's raw `logits` (vocab_size of them) for this sequence and
  // its `history` (needed only by the penalties). Throws kiln::Error when the logits do not
  // match the vocabulary or no token has a finite score.
  int32_t Sample(std::span<const float> logits, const TokenHistory& history = {});

  uint64_t seed() const { return seed_; }
  // Tokens sampled so far (the position of the next random draw).
  uint64_t steps() const { return step_; }

 private:
  double UniformAt(uint64_t step) const;

  int32_t vocab_size_;
  uint64_t seed_;
  uint64_t key_;  // seed_ hashed, so that nearby seeds start far apart in the stream
  uint64_t step_ = 0;

  float temperature_;
  size_t top_k_;  // 0 = off
  float top_p_;
  float min_p_;
  float typical_p_;
  std::vector<std::pair<int32_t, float>> logit_bias_;

  PenaltyTracker penalties_;
  std::vector<float> adjusted_;  // logits after bias and penalties, when there are any
  CandidateSet candidates_;
};

}  // namespace kiln::engine
