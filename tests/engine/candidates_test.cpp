#include "kiln/engine/candidates.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>
#include <set>
#include <vector>

namespace kiln::engine {
namespace {

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr float kInf = std::numeric_limits<float>::infinity();

std::vector<float> LogitsOf(const std::vector<double>& probs) {
  std::vector<float> logits;
  for (double p : probs) logits.push_back(static_cast<float>(std::log(p)));
  return logits;
}

std::set<int32_t> Ids(const CandidateSet& set) {
  std::set<int32_t> ids;
  for (const Candidate& c : set.ToVector()) ids.insert(c.id);
  return ids;
}

// Logits drawn from a handful of values, so that ties are common.
std::vector<float> TiedLogits(size_t n, std::mt19937& rng) {
  std::uniform_int_distribution<int> level(0, 40);
  std::vector<float> v(n);
  for (float& x : v) x = static_cast<float>(level(rng)) * 0.25f - 5.0f;
  return v;
}

// The slow, obviously right order: every non-NaN entry, fully sorted.
std::vector<Candidate> SortedReference(const std::vector<float>& v) {
  std::vector<Candidate> all;
  for (size_t i = 0; i < v.size(); ++i) {
    if (!std::isnan(v[i])) all.push_back({v[i], static_cast<int32_t>(i)});
  }
  std::sort(all.begin(), all.end(), RanksBefore);
  return all;
}

TEST(ArgMaxTest, LowestIndexAmongTiesAndNaNIgnored) {
  EXPECT_EQ(ArgMax(std::vector<float>{1, 3, 2, 3}), 1);
  EXPECT_EQ(ArgMax(std::vector<float>{kNaN, 1, kNaN, 0.5f}), 1);
  EXPECT_EQ(ArgMax(std::vector<float>{kNaN, kNaN}), -1);
  EXPECT_EQ(ArgMax(std::vector<float>{kNaN, -kInf, -kInf}), 1);
  EXPECT_EQ(ArgMax(std::vector<float>{}), -1);
}

TEST(ArgMaxTest, MatchesReferenceAcrossBlockBoundaries) {
  std::mt19937 rng(7);
  for (size_t n : {1u, 15u, 16u, 17u, 33u, 1000u, 4099u}) {
    for (int trial = 0; trial < 20; ++trial) {
      std::vector<float> v = TiedLogits(n, rng);
      if (n > 1 && trial % 3 == 0) v[rng() % n] = kNaN;
      if (trial % 4 == 0) v[n - 1] = 100.0f;  // the maximum in the scalar tail
      ASSERT_EQ(ArgMax(v), SortedReference(v).front().id) << "n=" << n << " trial " << trial;
    }
  }
}

TEST(TopKSelectorTest, MatchesFullSortIncludingTiesForSmallAndLargeK) {
  std::mt19937 rng(11);
  std::vector<Candidate> out;
  TopKSelector selector;
  // 5000 and 100000 take the block-maximum path for small k, 100 the plain heap.
  for (size_t n : {1u, 7u, 100u, 5000u, 100000u}) {
    std::vector<float> v = TiedLogits(n, rng);
    v[rng() % n] = kNaN;
    const std::vector<Candidate> reference = SortedReference(v);
    for (size_t k : {size_t{1}, size_t{5}, size_t{40}, n / 8 + 1, n - 1, n, n + 3}) {
      if (k == 0) continue;
      selector.Select(v, k, out);
      const size_t expected = std::min(k, reference.size());
      ASSERT_EQ(out.size(), expected) << "n=" << n << " k=" << k;
      for (size_t i = 0; i < expected; ++i) {
        ASSERT_EQ(out[i].id, reference[i].id) << "n=" << n << " k=" << k << " i=" << i;
        ASSERT_EQ(out[i].logit, reference[i].logit);
      }
    }
  }
}

TEST(CandidateSetTest, TopPKeepsExactlyTheMinimalNucleus) {
  // Probabilities 0.5, 0.25, 0.125, 0.0625, 0.0625, given in scrambled order.
  const std::vector<float> logits = LogitsOf({0.0625, 0.25, 0.5, 0.0625, 0.125});
  struct Case {
    float top_p;
    std::set<int32_t> nucleus;
  };
  for (const Case& c : {Case{0.3f, {2}}, Case{0.74f, {2, 1}}, Case{0.76f, {2, 1, 4}},
                        Case{0.9f, {2, 1, 4, 0}}, Case{0.99f, {0, 1, 2, 3, 4}}}) {
    CandidateSet unsorted;
    unsorted.AssignAll(logits);
    unsorted.KeepTopP(c.top_p);
    EXPECT_EQ(Ids(unsorted), c.nucleus) << "top_p " << c.top_p;

    CandidateSet sorted;
    sorted.AssignTopK(logits, 5);
    sorted.KeepTopP(c.top_p);
    EXPECT_EQ(Ids(sorted), c.nucleus) << "top_p " << c.top_p << " after top_k";
  }
}

TEST(CandidateSetTest, TopPOnALargeFlatVocabularyMatchesAFullSort) {
  // A flat distribution: the nucleus is far larger than the top-64 probe, so the whole-vocabulary
  // path goes to its buckets and the list path grows its sorted prefix through several rounds.
  std::mt19937 rng(3);
  std::normal_distribution<float> normal(0.0f, 0.5f);
  std::vector<float> logits(20000);
  for (float& x : logits) x = normal(rng);
  const std::vector<Candidate> reference = SortedReference(logits);
  double total = 0;
  for (float x : logits) total += std::exp(static_cast<double>(x));
  for (float top_p : {0.05f, 0.5f, 0.95f}) {
    size_t expected = 0;
    double cumulative = 0;
    while (cumulative < top_p * total) cumulative += std::exp(double{reference[expected++].logit});
    std::set<int32_t> nucleus;
    for (size_t i = 0; i < expected; ++i) nucleus.insert(reference[i].id);
    CandidateSet set;
    set.AssignAll(logits);
    set.KeepTopP(top_p);
    EXPECT_EQ(Ids(set), nucleus) << "top_p " << top_p;
    // The same through the explicit-list path: min_p this small keeps every token but turns the
    // set into an unordered list.
    CandidateSet list;
    list.AssignAll(logits);
    list.KeepMinP(1e-30f);
    ASSERT_FALSE(list.whole_vocabulary());
    ASSERT_EQ(list.ToVector().size(), logits.size());
    list.KeepTopP(top_p);
    EXPECT_EQ(Ids(list), nucleus) << "top_p " << top_p << " on a list";
  }
}

TEST(CandidateSetTest, MinPKeepsTokensAtLeastMinPTimesTheBest) {
  const std::vector<float> logits = LogitsOf({0.1, 0.4, 0.2, 0.3});
  CandidateSet set;
  set.AssignAll(logits);
  set.KeepMinP(0.6f);  // threshold 0.24: 0.4 and 0.3 stay
  EXPECT_EQ(Ids(set), (std::set<int32_t>{1, 3}));
  set.AssignAll(logits);
  set.KeepMinP(0.45f);  // threshold 0.18
  EXPECT_EQ(Ids(set), (std::set<int32_t>{1, 2, 3}));
  set.AssignTopK(logits, 4);
  set.KeepMinP(1.0f);  // only the best
  EXPECT_EQ(Ids(set), (std::set<int32_t>{1}));
}

TEST(CandidateSetTest, TypicalPCanDropTheMostLikelyToken) {
  // Entropy of {0.4, 0.15 x4} is 1.505 nats. Surprisal of the 0.4 token is 0.916 (0.589 away),
  // of each 0.15 token 1.897 (0.392 away): the four unlikely tokens are the typical ones.
  const std::vector<float> logits = LogitsOf({0.4, 0.15, 0.15, 0.15, 0.15});
  CandidateSet set;
  set.AssignAll(logits);
  set.KeepTypical(0.5f);  // 0.15 x3 = 0.45 < 0.5, x4 = 0.6
  EXPECT_EQ(Ids(set), (std::set<int32_t>{1, 2, 3, 4}));
  set.AssignAll(logits);
  set.KeepTypical(0.61f);  // needs the 0.4 token as well
  EXPECT_EQ(Ids(set), (std::set<int32_t>{0, 1, 2, 3, 4}));
  set.AssignAll(logits);
  set.KeepTypical(0.1f);  // the single most typical token; equal distances go to the lower id
  EXPECT_EQ(Ids(set), (std::set<int32_t>{1}));
}

TEST(CandidateSetTest, DrawInvertsTheCdfInCandidateOrder) {
  const std::vector<float> logits = LogitsOf({0.5, 0.25, 0.25});
  auto draw = [&](double u) {
    CandidateSet set;
    set.AssignAll(logits);
    return set.Draw(1.0f, u);
  };
  EXPECT_EQ(draw(0.0), 0);
  EXPECT_EQ(draw(0.49), 0);
  EXPECT_EQ(draw(0.51), 1);
  EXPECT_EQ(draw(0.74), 1);
  EXPECT_EQ(draw(0.76), 2);
  EXPECT_EQ(draw(std::nextafter(1.0, 0.0)), 2);
}

TEST(CandidateSetTest, DrawNeverPicksAZeroWeightToken) {
  // At a tiny temperature every token but the best has weight exactly 0.
  const std::vector<float> logits = {1.0f, 3.0f, 2.0f, -kInf};
  for (double u : {0.0, 0.5, std::nextafter(1.0, 0.0)}) {
    CandidateSet set;
    set.AssignAll(logits);
    EXPECT_EQ(set.Draw(1e-30f, u), 1);
  }
}

}  // namespace
}  // namespace kiln::engine
