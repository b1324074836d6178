// Candidate tokens of one sampling step and the truncation rules over them (top-k, typical-p,
// top-p, min-p), plus the final temperature-scaled draw. Works on any vocabulary size without
// sorting the whole vocabulary unless a rule really needs the full order.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

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

// The min(k, non-NaN count) best entries of `values` by RanksBefore, best first, into `out`
// (cleared first; its capacity is reused). Cost is one pass over `values` plus O(k log k) for
// small k, so k = 40 over a 128k vocabulary never sorts the vocabulary.
void SelectTopK(std::span<const float> values, size_t k, std::vector<Candidate>& out);

// The candidates still in play during one sampling step. The leading `sorted_count` entries are
// always the best ones in RanksBefore order; the rest are unordered and rank after them. Rules
// that need order (top-p) sort only as far as they have to.
class CandidateSet {
 public:
  // Every non-NaN token of `logits`, unordered.
  void AssignAll(std::span<const float> logits);
  // The k best tokens of `logits`, ordered.
  void AssignTopK(std::span<const float> logits, size_t k);

  // Locally typical sampling: keep the tokens whose surprisal -log p is closest to the entropy of
  // the current distribution, the smallest such set with probability mass >= p.
  void KeepTypical(float p);
  // Nucleus: keep the smallest set of best tokens with probability mass >= p.
  void KeepTopP(float p);
  // Keep tokens with p >= min_p * p_max, i.e. logit >= max_logit + log(min_p).
  void KeepMinP(float min_p);

  // Softmax at `temperature` (> 0) over the remaining candidates and the inverse-CDF draw for
  // the uniform variate `u` in [0, 1). Walks candidates in their current order. Overwrites the
  // logits with weights, so it is the last call of a step.
  int32_t Draw(float temperature, double u);

  std::span<const Candidate> items() const { return items_; }
  size_t size() const { return items_.size(); }
  float MaxLogit() const;

 private:
  // Makes the first `count` entries the best `count` ones, in order.
  void SortPrefix(size_t count);

  std::vector<Candidate> items_;
  size_t sorted_count_ = 0;
  // Typical-p ranks by distance to the entropy rather than by logit.
  struct Typical {
    float distance;
    Candidate candidate;
  };
  std::vector<Typical> typical_;
};

}  // namespace kiln::engine
