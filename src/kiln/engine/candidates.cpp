#include "kiln/engine/candidates.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace kiln::engine {
namespace {

// Scans go block by block: a branch-free "does any value in this block beat the threshold?" test
// that the compiler turns into a few vector compares, and a scalar pass only over the rare
// blocks that do. For top-k and argmax over 128k logits almost every block is skipped.
constexpr size_t kBlock = 16;

bool AnyAbove(const float* values, float threshold) {
  int any = 0;
  for (size_t j = 0; j < kBlock; ++j) any |= values[j] > threshold;
  return any != 0;
}

// The fewest leading entries of `items` (in `less` order) whose `mass` sums to at least
// `target`, sorting only as far as needed: the sorted prefix grows 4x per round through
// nth_element, so a peaked distribution sorts a few dozen entries and a flat one pays about
// one full sort. `sorted` is the length of the already sorted prefix and is updated.
template <typename T, typename Less, typename Mass>
size_t MinimalMassPrefix(std::vector<T>& items, size_t& sorted, Less less, Mass mass,
                         double target) {
  double cumulative = 0.0;
  size_t i = 0;
  while (i < items.size()) {
    if (i == sorted) {
      const size_t next = std::min(items.size(), std::max<size_t>(4 * sorted, 64));
      const auto begin = items.begin() + static_cast<std::ptrdiff_t>(sorted);
      const auto middle = items.begin() + static_cast<std::ptrdiff_t>(next);
      if (middle != items.end()) std::nth_element(begin, middle, items.end(), less);
      std::sort(begin, middle, less);
      sorted = next;
    }
    for (; i < sorted; ++i) {
      cumulative += mass(items[i]);
      if (cumulative >= target) return i + 1;
    }
  }
  // Rounding can leave the walk a hair short of target = p * total when p is close to 1.
  return items.size();
}

}  // namespace

int32_t ArgMax(std::span<const float> values) {
  const size_t n = values.size();
  const float* v = values.data();
  float best = -std::numeric_limits<float>::infinity();
  int64_t best_index = -1;
  size_t i = 0;
  for (; i + kBlock <= n; i += kBlock) {
    if (!AnyAbove(v + i, best)) continue;
    for (size_t j = i; j < i + kBlock; ++j) {
      if (v[j] > best) {
        best = v[j];
        best_index = static_cast<int64_t>(j);
      }
    }
  }
  for (; i < n; ++i) {
    if (v[i] > best) {
      best = v[i];
      best_index = static_cast<int64_t>(i);
    }
  }
  if (best_index < 0) {  // nothing above -inf: the first non-NaN value, if any
    for (size_t j = 0; j < n; ++j) {
      if (!std::isnan(v[j])) return static_cast<int32_t>(j);
    }
  }
  return static_cast<int32_t>(best_index);
}

void SelectTopK(std::span<const float> values, size_t k, std::vector<Candidate>& out) {
  out.clear();
  const size_t n = values.size();
  const float* v = values.data();
  if (k == 0 || n == 0) return;

  if (k > n / 8) {
    // A large share of the vocabulary: selecting then sorting beats a big heap.
    out.reserve(n);
    for (size_t i = 0; i < n; ++i) {
      if (!std::isnan(v[i])) out.push_back({v[i], static_cast<int32_t>(i)});
    }
    if (out.size() > k) {
      std::nth_element(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(k), out.end(),
                       RanksBefore);
      out.resize(k);
    }
    std::sort(out.begin(), out.end(), RanksBefore);
    return;
  }

  // A heap of the k best so far with the worst on top. Ids are scanned in increasing order, so a
  // later value that merely equals the worst never ranks before it: ">" is the whole test.
  out.reserve(k);
  size_t i = 0;
  for (; i < n && out.size() < k; ++i) {
    if (std::isnan(v[i])) continue;
    out.push_back({v[i], static_cast<int32_t>(i)});
    std::push_heap(out.begin(), out.end(), RanksBefore);
  }
  if (out.size() == k) {
    float threshold = out.front().logit;
    auto consider = [&](size_t j) {
      if (v[j] > threshold) {
        std::pop_heap(out.begin(), out.end(), RanksBefore);
        out.back() = {v[j], static_cast<int32_t>(j)};
        std::push_heap(out.begin(), out.end(), RanksBefore);
        threshold = out.front().logit;
      }
    };
    for (; i + kBlock <= n; i += kBlock) {
      if (!AnyAbove(v + i, threshold)) continue;
      for (size_t j = i; j < i + kBlock; ++j) consider(j);
    }
    for (; i < n; ++i) consider(i);
  }
  std::sort_heap(out.begin(), out.end(), RanksBefore);
}

void CandidateSet::AssignAll(std::span<const float> logits) {
  items_.clear();
  items_.reserve(logits.size());
  for (size_t i = 0; i < logits.size(); ++i) {
    if (!std::isnan(logits[i])) items_.push_back({logits[i], static_cast<int32_t>(i)});
  }
  sorted_count_ = 0;
}

void CandidateSet::AssignTopK(std::span<const float> logits, size_t k) {
  SelectTopK(logits, k, items_);
  sorted_count_ = items_.size();
}

float CandidateSet::MaxLogit() const {
  if (sorted_count_ > 0) return items_.front().logit;
  float best = -std::numeric_limits<float>::infinity();
  for (const Candidate& c : items_) best = std::max(best, c.logit);
  return best;
}

void CandidateSet::SortPrefix(size_t count) {
  count = std::min(count, items_.size());
  if (count <= sorted_count_) return;
  const auto begin = items_.begin() + static_cast<std::ptrdiff_t>(sorted_count_);
  const auto middle = items_.begin() + static_cast<std::ptrdiff_t>(count);
  if (middle != items_.end()) std::nth_element(begin, middle, items_.end(), RanksBefore);
  std::sort(begin, middle, RanksBefore);
  sorted_count_ = count;
}

void CandidateSet::KeepTypical(float p) {
  if (items_.size() <= 1) return;
  const float max_logit = MaxLogit();
  double total = 0.0;
  for (const Candidate& c : items_) total += std::exp(c.logit - max_logit);
  const double log_total = std::log(total);
  // Entropy H = -sum p log p, with log p = logit - max - log(total).
  double entropy = 0.0;
  for (const Candidate& c : items_) {
    const double log_p = static_cast<double>(c.logit - max_logit) - log_total;
    entropy -= std::exp(log_p) * log_p;
  }
  typical_.clear();
  typical_.reserve(items_.size());
  for (const Candidate& c : items_) {
    const double log_p = static_cast<double>(c.logit - max_logit) - log_total;
    typical_.push_back({static_cast<float>(std::fabs(-log_p - entropy)), c});
  }
  auto closer = [](const Typical& a, const Typical& b) {
    return a.distance < b.distance ||
           (a.distance == b.distance && RanksBefore(a.candidate, b.candidate));
  };
  auto mass = [max_logit](const Typical& t) {
    return static_cast<double>(std::exp(t.candidate.logit - max_logit));
  };
  size_t sorted = 0;
  const size_t keep = MinimalMassPrefix(typical_, sorted, closer, mass, p * total);
  items_.clear();
  for (size_t i = 0; i < keep; ++i) items_.push_back(typical_[i].candidate);
  sorted_count_ = items_.size() == 1 ? 1 : 0;  // now in distance order, not logit order
}

void CandidateSet::KeepTopP(float p) {
  if (items_.size() <= 1) return;
  const float max_logit = MaxLogit();
  double total = 0.0;
  for (const Candidate& c : items_) total += std::exp(c.logit - max_logit);
  auto mass = [max_logit](const Candidate& c) {
    return static_cast<double>(std::exp(c.logit - max_logit));
  };
  const size_t keep = MinimalMassPrefix(items_, sorted_count_, RanksBefore, mass, p * total);
  items_.resize(keep);
  sorted_count_ = std::min(sorted_count_, keep);
}

void CandidateSet::KeepMinP(float min_p) {
  if (items_.size() <= 1 || min_p <= 0.0f) return;
  const float threshold = MaxLogit() + std::log(min_p);
  // remove_if keeps the order, and whatever it drops from the sorted prefix is its tail, so the
  // surviving prefix stays sorted.
  items_.erase(std::remove_if(items_.begin(), items_.end(),
                              [threshold](const Candidate& c) { return c.logit < threshold; }),
               items_.end());
  sorted_count_ = std::min(sorted_count_, items_.size());
}

int32_t CandidateSet::Draw(float temperature, double u) {
  const float max_logit = MaxLogit();
  double total = 0.0;
  for (Candidate& c : items_) {
    // Divide rather than multiply by 1/T: for a tiny T, 1/T overflows and 0 * inf is NaN.
    c.logit = std::exp((c.logit - max_logit) / temperature);
    total += c.logit;
  }
  const double target = u * total;
  double cumulative = 0.0;
  int32_t last = -1;
  for (const Candidate& c : items_) {
    if (c.logit <= 0.0f) continue;
    cumulative += c.logit;
    last = c.id;
    if (cumulative > target) return c.id;
  }
  return last;  // only reachable through rounding; the last token with non-zero weight
}

}  // namespace kiln::engine
