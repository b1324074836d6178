// Candidate tokens of one sampling step and the truncation rules over them (top-k, typical-p,
// top-p, min-p), plus the final temperature-scaled draw. Works on a 128k vocabulary without
// copying or sorting it unless a rule really needs that.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "kiln/engine/softmax_weights.h"

namespace kiln::engine {

struct Candidate {
  float logit;
  int32_t id;
};

// The one total order every rule uses: higher logit first, lower id first among equal logits, so
// that ties resolve the same way everywhere (and greedy agrees with top_k = 1).
inline bool RanksBefore(const Candidate& a, const Candidate& b) {
  return a.logit > b.logit || (a.logit == b.logit && a.id < b.id);
}

// Index of the largest value, the lowest index among equal ones. NaN is never chosen; returns -1
// only when every value is NaN (an all -inf input returns the first -inf).
int32_t ArgMax(std::span<const float> values);

// Selects the k best entries of a vector of logits; keeps its scratch between calls.
class TopKSelector {
 public:
  // The min(k, non-NaN count) best entries of `values` by RanksBefore, best first, into `out`
  // (cleared first; its capacity is reused). For small k it costs one vectorized pass over
  // `values` plus work on about k blocks of 64, so k = 40 over 128k logits sorts nothing big.
  void Select(std::span<const float> values, size_t k, std::vector<Candidate>& out);

 private:
  std::vector<Candidate> blocks_;  // per block of values: its largest value and block index
};

// The candidates still in play during one sampling step, in one of two forms:
//  - the whole vocabulary read in place from the logits, optionally cut after a given token in
//    RanksBefore order (top-p and min-p both keep a prefix of that order, so a cut is all they
//    need, and nothing vocabulary-sized is copied);
//  - an explicit list, whose leading sorted_count_ entries are the best ones in order (rules
//    that need order sort only as far as they have to).
// NaN logits never count as candidates.
class CandidateSet {
 public:
  // Every token of `logits`, read in place: `logits` must stay alive and unchanged until Draw.
  void AssignAll(std::span<const float> logits);
  // The k best tokens of `logits`, in order.
  void AssignTopK(std::span<const float> logits, size_t k);

  // Locally typical sampling: keep the tokens whose surprisal -log p is closest to the entropy of
  // the current distribution, the smallest such set with probability mass >= p.
  void KeepTypical(float p);
  // Nucleus: keep the smallest set of best tokens with probability mass >= p.
  void KeepTopP(float p);
  // Keep tokens with p >= min_p * p_max, i.e. logit >= max_logit + log(min_p).
  void KeepMinP(float min_p);

  // Softmax at `temperature` (> 0) over the remaining candidates and the inverse-CDF draw for
  // the uniform variate `u` in [0, 1), walking candidates in their current order (token id
  // order for the whole vocabulary).
  int32_t Draw(float temperature, double u);

  // The largest logit in play (NaN if there is none).
  float MaxLogit() const;
  // Whether the candidates are still read in place from the whole vocabulary.
  bool whole_vocabulary() const { return whole_; }
  // The candidates, in their current order. Copies; for tests.
  std::vector<Candidate> ToVector() const;

 private:
  bool InPlay(size_t id) const;   // whole_: not NaN and not after the cut
  void CutAfter(Candidate last);  // whole_: narrow to the prefix ending at `last`
  void Materialize();             // whole_ -> explicit list
  void KeepTopPOfWholeVocabulary(float p);

  bool whole_ = false;
  std::span<const float> all_;  // while whole_
  float all_max_ = 0.0f;
  Candidate cut_;  // while whole_: the last token in play

  std::vector<Candidate> items_;  // while !whole_
  size_t sorted_count_ = 0;

  // Scratch reused across steps.
  TopKSelector top_k_;
  SoftmaxWeights weights_;
  std::vector<float> gathered_;  // logits of items_, contiguous for SoftmaxWeights
  std::vector<uint16_t> bucket_of_;
  std::vector<double> bucket_mass_;
  std::vector<Candidate> boundary_;
  struct Typical {
    float distance;
    Candidate candidate;
  };
  std::vector<Typical> typical_;
};

}  // namespace kiln::engine
