#include "kiln/engine/candidates.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "kiln/engine/vector_clones.h"

namespace kiln::engine {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr Candidate kNoCut = {-kInf, std::numeric_limits<int32_t>::max()};

// Scans go block by block: a branch-free "does anything in this block qualify?" test that the
// compiler turns into a few vector compares, and a scalar pass only over the rare blocks that
// do. For argmax, top-k and min-p over 128k logits almost every block is skipped.
constexpr size_t kBlock = 64;

bool AnyAbove(const float* values, float threshold) {
  int any = 0;
  for (size_t j = 0; j < kBlock; ++j) any |= values[j] > threshold;
  return any != 0;
}

bool AnyAtLeast(const float* values, float threshold) {
  int any = 0;
  for (size_t j = 0; j < kBlock; ++j) any |= values[j] >= threshold;
  return any != 0;
}

bool AnyEqual(const uint16_t* values, uint16_t wanted) {
  int any = 0;
  for (size_t j = 0; j < kBlock; ++j) any |= values[j] == wanted;
  return any != 0;
}

// Largest value of a block, NaN ignored (-inf if there is nothing else). Eight running maxima
// so that it vectorizes; "x > m ? x : m" is exactly what MAXPS computes.
float BlockMax(const float* values) {
  float m[8];
  for (float& x : m) x = -kInf;
  for (size_t j = 0; j < kBlock; j += 8) {
    for (size_t l = 0; l < 8; ++l) m[l] = values[j + l] > m[l] ? values[j + l] : m[l];
  }
  float best = m[0];
  for (size_t l = 1; l < 8; ++l) best = m[l] > best ? m[l] : best;
  return best;
}

// The entries of `values` that are >= threshold, in id order (NaN fails ">=" and stays out).
KILN_VECTOR_CLONES void CollectAtLeast(std::span<const float> values, float threshold,
                                       std::vector<Candidate>& out) {
  out.clear();
  const float* v = values.data();
  const size_t n = values.size();
  auto consider = [&](size_t i) {
    if (v[i] >= threshold) out.push_back({v[i], static_cast<int32_t>(i)});
  };
  size_t i = 0;
  for (; i + kBlock <= n; i += kBlock) {
    if (!AnyAtLeast(v + i, threshold)) continue;
    for (size_t j = i; j < i + kBlock; ++j) consider(j);
  }
  for (; i < n; ++i) consider(i);
}

// Top-p over the whole vocabulary first looks at this many best tokens; language models usually
// put the nucleus among them.
constexpr size_t kTopPProbe = 64;
// Otherwise it buckets the vocabulary by distance from the best logit, 1/32 nat per bucket over
// 32 nats (the last bucket takes everything further down), and sorts only the bucket where the
// cumulative mass crosses top_p.
constexpr size_t kBuckets = 1024;
constexpr float kBucketsPerNat = 32.0f;

// Never increases as the logit grows, so whole buckets above the crossing one are in.
uint16_t BucketOf(float logit, float max) {
  const float distance = (max - logit) * kBucketsPerNat;
  return distance < static_cast<float>(kBuckets - 1)
             ? static_cast<uint16_t>(static_cast<int32_t>(distance))
             : static_cast<uint16_t>(kBuckets - 1);  // also -inf and NaN
}

// The ids whose bucket is `wanted`, as candidates, in id order.
KILN_VECTOR_CLONES void CollectBucket(std::span<const float> logits,
                                      std::span<const uint16_t> bucket_of, uint16_t wanted,
                                      std::vector<Candidate>& out) {
  out.clear();
  const size_t n = logits.size();
  auto consider = [&](size_t i) {
    if (bucket_of[i] == wanted) out.push_back({logits[i], static_cast<int32_t>(i)});
  };
  size_t i = 0;
  for (; i + kBlock <= n; i += kBlock) {
    if (!AnyEqual(bucket_of.data() + i, wanted)) continue;
    for (size_t j = i; j < i + kBlock; ++j) consider(j);
  }
  for (; i < n; ++i) consider(i);
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

KILN_VECTOR_CLONES int32_t ArgMax(std::span<const float> values) {
  const size_t n = values.size();
  const float* v = values.data();
  float best = -kInf;
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

KILN_VECTOR_CLONES void TopKSelector::Select(std::span<const float> values, size_t k,
                                             std::vector<Candidate>& out) {
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

  // A heap of the k best so far with the worst on top. Ids are visited in increasing order, so a
  // later value that merely equals the worst never ranks before it: ">" is the whole test.
  out.reserve(k);
  float threshold = -kInf;
  auto consider = [&](size_t j) {
    if (out.size() < k) {
      if (std::isnan(v[j])) return;
      out.push_back({v[j], static_cast<int32_t>(j)});
      std::push_heap(out.begin(), out.end(), RanksBefore);
      if (out.size() == k) threshold = out.front().logit;
    } else if (v[j] > threshold) {
      std::pop_heap(out.begin(), out.end(), RanksBefore);
      out.back() = {v[j], static_cast<int32_t>(j)};
      std::push_heap(out.begin(), out.end(), RanksBefore);
      threshold = out.front().logit;
    }
  };

  const size_t full_blocks = n / kBlock;
  if (full_blocks >= 2 * k) {
    // The k blocks with the largest maxima each hold an entry >= the k-th largest block maximum
    // (`floor`), so the k-th best entry overall is >= floor too: blocks whose maximum is below
    // floor cannot contribute. About k blocks remain, visited in id order.
    blocks_.resize(full_blocks);
    for (size_t b = 0; b < full_blocks; ++b) {
      blocks_[b] = {BlockMax(v + b * kBlock), static_cast<int32_t>(b)};
    }
    const auto kth = blocks_.begin() + static_cast<std::ptrdiff_t>(k - 1);
    std::nth_element(blocks_.begin(), kth, blocks_.end(),
                     [](const Candidate& a, const Candidate& b) { return a.logit > b.logit; });
    const float floor = kth->logit;
    const auto kept = std::partition(blocks_.begin(), blocks_.end(),
                                     [floor](const Candidate& b) { return b.logit >= floor; });
    std::sort(blocks_.begin(), kept,
              [](const Candidate& a, const Candidate& b) { return a.id < b.id; });
    for (auto block = blocks_.begin(); block != kept; ++block) {
      const size_t begin = static_cast<size_t>(block->id) * kBlock;
      for (size_t j = begin; j < begin + kBlock; ++j) consider(j);
    }
    for (size_t j = full_blocks * kBlock; j < n; ++j) consider(j);
  } else {
    size_t i = 0;
    for (; i + kBlock <= n; i += kBlock) {
      if (out.size() == k && !AnyAbove(v + i, threshold)) continue;
      for (size_t j = i; j < i + kBlock; ++j) consider(j);
    }
    for (; i < n; ++i) consider(i);
  }
  std::sort_heap(out.begin(), out.end(), RanksBefore);
}

void CandidateSet::AssignAll(std::span<const float> logits) {
  whole_ = true;
  all_ = logits;
  const int32_t best = ArgMax(logits);
  all_max_ = best < 0 ? std::numeric_limits<float>::quiet_NaN() : logits[static_cast<size_t>(best)];
  cut_ = kNoCut;
  items_.clear();
  sorted_count_ = 0;
}

void CandidateSet::AssignTopK(std::span<const float> logits, size_t k) {
  whole_ = false;
  top_k_.Select(logits, k, items_);
  sorted_count_ = items_.size();
}

bool CandidateSet::InPlay(size_t id) const {
  const Candidate c = {all_[id], static_cast<int32_t>(id)};
  return !std::isnan(c.logit) && !RanksBefore(cut_, c);
}

void CandidateSet::CutAfter(Candidate last) {
  if (RanksBefore(last, cut_)) cut_ = last;
}

void CandidateSet::Materialize() {
  items_.clear();
  for (size_t i = 0; i < all_.size(); ++i) {
    if (InPlay(i)) items_.push_back({all_[i], static_cast<int32_t>(i)});
  }
  whole_ = false;
  sorted_count_ = 0;
}

std::vector<Candidate> CandidateSet::ToVector() const {
  if (!whole_) return items_;
  std::vector<Candidate> out;
  for (size_t i = 0; i < all_.size(); ++i) {
    if (InPlay(i)) out.push_back({all_[i], static_cast<int32_t>(i)});
  }
  return out;
}

float CandidateSet::MaxLogit() const {
  if (whole_) return all_max_;  // cuts never remove the best token
  if (items_.empty()) return std::numeric_limits<float>::quiet_NaN();
  if (sorted_count_ > 0) return items_.front().logit;
  float best = items_.front().logit;
  for (const Candidate& c : items_) best = std::max(best, c.logit);
  return best;
}

void CandidateSet::KeepTypical(float p) {
  if (whole_) Materialize();
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
  if (whole_) {
    KeepTopPOfWholeVocabulary(p);
    return;
  }
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

void CandidateSet::KeepTopPOfWholeVocabulary(float p) {
  const float max = all_max_;
  const double target = p * weights_.Compute(all_, max, 1.0f, cut_.logit, cut_.id);
  const std::span<const float> weight = weights_.weights();
  auto weight_of = [&](const Candidate& c) {
    return static_cast<double>(weight[static_cast<size_t>(c.id)]);
  };

  // A peaked distribution: the nucleus is among the best few, which become an explicit list.
  top_k_.Select(all_, kTopPProbe, boundary_);
  double cumulative = 0.0;
  for (size_t i = 0; i < boundary_.size(); ++i) {
    if (RanksBefore(cut_, boundary_[i])) return;  // everything in play is in the nucleus
    cumulative += weight_of(boundary_[i]);
    if (cumulative >= target) {
      items_.assign(boundary_.begin(), boundary_.begin() + static_cast<std::ptrdiff_t>(i + 1));
      sorted_count_ = items_.size();
      whole_ = false;
      return;
    }
  }
  if (boundary_.size() < kTopPProbe) return;  // that was every candidate

  // A flat one: find the bucket where the cumulative mass crosses the target, then the exact
  // token inside it, and cut there.
  const size_t n = all_.size();
  bucket_of_.resize(n);
  bucket_mass_.assign(kBuckets, 0.0);
  for (size_t i = 0; i < n; ++i) {
    const uint16_t b = BucketOf(all_[i], max);
    bucket_of_[i] = b;
    bucket_mass_[b] += static_cast<double>(weight[i]);
  }
  uint16_t crossing = kBuckets - 1;
  double before = 0.0;
  for (size_t b = 0; b + 1 < kBuckets; ++b) {
    if (before + bucket_mass_[b] >= target) {
      crossing = static_cast<uint16_t>(b);
      break;
    }
    before += bucket_mass_[b];
  }
  CollectBucket(all_, bucket_of_, crossing, boundary_);
  boundary_.erase(std::remove_if(boundary_.begin(), boundary_.end(),
                                 [this](const Candidate& c) {
                                   return std::isnan(c.logit) || RanksBefore(cut_, c);
                                 }),
                  boundary_.end());
  std::sort(boundary_.begin(), boundary_.end(), RanksBefore);
  if (boundary_.empty()) return;
  cumulative = before;
  for (const Candidate& c : boundary_) {
    cumulative += weight_of(c);
    if (cumulative >= target) {
      CutAfter(c);
      return;
    }
  }
  CutAfter(boundary_.back());  // rounding: the whole crossing bucket
}

void CandidateSet::KeepMinP(float min_p) {
  if (min_p <= 0.0f) return;
  const float threshold = MaxLogit() + std::log(min_p);
  if (whole_) {
    // The survivors are usually few: collect them rather than cut.
    CollectAtLeast(all_, threshold, items_);
    items_.erase(std::remove_if(items_.begin(), items_.end(),
                                [this](const Candidate& c) { return RanksBefore(cut_, c); }),
                 items_.end());
    whole_ = false;
    sorted_count_ = 0;
    return;
  }
  if (items_.size() <= 1) return;
  // remove_if keeps the order, and whatever it drops from the sorted prefix is its tail, so the
  // surviving prefix stays sorted.
  items_.erase(std::remove_if(items_.begin(), items_.end(),
                              [threshold](const Candidate& c) { return c.logit < threshold; }),
               items_.end());
  sorted_count_ = std::min(sorted_count_, items_.size());
}

int32_t CandidateSet::Draw(float temperature, double u) {
  if (whole_) {
    weights_.Compute(all_, all_max_, temperature, cut_.logit, cut_.id);
    return static_cast<int32_t>(weights_.Pick(u));
  }
  gathered_.resize(items_.size());
  for (size_t i = 0; i < items_.size(); ++i) gathered_[i] = items_[i].logit;
  weights_.Compute(gathered_, MaxLogit(), temperature);
  return items_[weights_.Pick(u)].id;
}

}  // namespace kiln::engine
