// PenaltyTracker: the per-sequence token counts behind the repetition, presence and frequency
// penalties, kept up to date incrementally as the sequence grows, so that a long prompt is
// counted once rather than on every generated token.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "kiln/engine/sampling_params.h"

namespace kiln::engine {

// The tokens of one sequence so far. The engine appends to `generated` between samples; the
// tracker relies on the already-seen part not changing (it starts over if `prompt` changes
// length or `generated` shrinks, e.g. after the scheduler rewinds a sequence).
struct TokenHistory {
  std::span<const int32_t> prompt;
  std::span<const int32_t> generated;
};

class PenaltyTracker {
 public:
  PenaltyTracker(const SamplingParams& params, int32_t vocab_size);

  // Whether any penalty is configured; when not, Apply is a no-op and nothing is allocated.
  bool active() const { return repetition_ || occurrence_; }

  // Brings the counts up to date with `history`, then adjusts `logits` (one per vocabulary
  // entry) in place: first the repetition penalty over the window, then
  //   logit -= frequency_penalty * count + presence_penalty * (count > 0)
  // over the generated tokens. Throws kiln::Error for a token id outside the vocabulary.
  void Apply(const TokenHistory& history, std::span<float> logits);

 private:
  // A multiset of token ids with O(1) add/remove and iteration over the distinct ids present.
  class TokenCounts {
   public:
    struct Entry {
      int32_t token;
      int32_t count;
    };
    void Init(int32_t vocab_size) { slot_.assign(static_cast<size_t>(vocab_size), -1); }
    void Add(int32_t token);
    void Remove(int32_t token);
    void Clear();
    std::span<const Entry> entries() const { return entries_; }

   private:
    std::vector<int32_t> slot_;  // per vocabulary id: index into entries_, or -1
    std::vector<Entry> entries_;
  };

  void Sync(const TokenHistory& history);
  int32_t TokenAt(const TokenHistory& history, size_t position) const;

  int32_t vocab_size_;
  float repetition_penalty_;
  size_t window_;  // 0 = unlimited
  float presence_penalty_;
  float frequency_penalty_;
  bool repetition_;
  bool occurrence_;  // presence or frequency

  TokenCounts in_window_;  // tokens among the last window_ positions of prompt + generated
  TokenCounts generated_;  // tokens of the generated part
  size_t prompt_size_ = 0;
  size_t folded_ = 0;        // positions of prompt + generated counted so far
  size_t window_begin_ = 0;  // first position counted in in_window_
  size_t generated_folded_ = 0;
};

}  // namespace kiln::engine
