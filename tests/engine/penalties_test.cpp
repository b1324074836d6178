#include "kiln/engine/penalties.h"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>
#include <vector>

#include "kiln/base/error.h"

namespace kiln::engine {
namespace {

constexpr int32_t kVocab = 10;

std::vector<float> BaseLogits() {
  return {2.0f, -1.0f, 0.5f, -3.0f, 1.0f, 0.0f, 4.0f, -2.0f, 3.0f, -0.5f};
}

std::vector<float> Penalised(const SamplingParams& params, const std::vector<int32_t>& prompt,
                             const std::vector<int32_t>& generated) {
  PenaltyTracker tracker(params, kVocab);
  std::vector<float> logits = BaseLogits();
  tracker.Apply({prompt, generated}, logits);
  return logits;
}

TEST(PenaltyTrackerTest, InactiveWithDefaults) {
  SamplingParams params;
  PenaltyTracker tracker(params, kVocab);
  EXPECT_FALSE(tracker.active());
  std::vector<float> logits = BaseLogits();
  const std::vector<int32_t> prompt = {0, 1, 2};
  tracker.Apply({prompt, prompt}, logits);
  EXPECT_EQ(logits, BaseLogits());
}

TEST(PenaltyTrackerTest, RepetitionDividesPositiveAndMultipliesNegativeOncePerToken) {
  SamplingParams params;
  params.repetition_penalty = 2.0f;
  // Token 0 (positive) appears three times, token 1 (negative) in the prompt, token 6 generated.
  const std::vector<float> out = Penalised(params, {0, 1, 0}, {6, 0});
  std::vector<float> expected = BaseLogits();
  expected[0] = 2.0f / 2.0f;
  expected[1] = -1.0f * 2.0f;
  expected[6] = 4.0f / 2.0f;
  EXPECT_EQ(out, expected);
}

TEST(PenaltyTrackerTest, RepetitionWindowCoversOnlyTheLastTokensAcrossTheBoundary) {
  SamplingParams params;
  params.repetition_penalty = 1.5f;
  params.repetition_penalty_window = 3;
  // Positions: prompt 0 8 2 | generated 4 6. The last three are 2, 4, 6.
  const std::vector<float> out = Penalised(params, {0, 8, 2}, {4, 6});
  std::vector<float> expected = BaseLogits();
  for (int id : {2, 4, 6}) expected[static_cast<size_t>(id)] /= 1.5f;
  EXPECT_EQ(out, expected);
}

TEST(PenaltyTrackerTest, PresenceAndFrequencyCountGeneratedTokensOnly) {
  SamplingParams params;
  params.presence_penalty = 0.5f;
  params.frequency_penalty = 0.25f;
  // Token 3 only in the prompt: untouched. Token 4 generated three times, token 9 once.
  const std::vector<float> out = Penalised(params, {3, 3, 4}, {4, 9, 4, 4});
  std::vector<float> expected = BaseLogits();
  expected[4] -= 3 * 0.25f + 0.5f;
  expected[9] -= 1 * 0.25f + 0.5f;
  EXPECT_EQ(out, expected);
}

TEST(PenaltyTrackerTest, RepetitionComesBeforeFrequency) {
  SamplingParams params;
  params.repetition_penalty = 2.0f;
  params.frequency_penalty = 1.0f;
  const std::vector<float> out = Penalised(params, {}, {8});
  EXPECT_EQ(out[8], 3.0f / 2.0f - 1.0f);  // (3 / 2) - 1, not (3 - 1) / 2
}

// Counting incrementally as the sequence grows must give what counting from scratch gives, for
// every window, including windows that slide past the prompt.
TEST(PenaltyTrackerTest, IncrementalCountsMatchCountingFromScratch) {
  std::mt19937 rng(5);
  std::uniform_int_distribution<int32_t> token(0, kVocab - 1);
  std::vector<int32_t> prompt(17);
  for (auto& t : prompt) t = token(rng);
  for (int32_t window : {0, 1, 4, 16, 40}) {
    SamplingParams params;
    params.repetition_penalty = 1.3f;
    params.repetition_penalty_window = window;
    params.presence_penalty = 0.7f;
    params.frequency_penalty = -0.4f;
    PenaltyTracker incremental(params, kVocab);
    std::vector<int32_t> generated;
    for (int step = 0; step < 40; ++step) {
      std::vector<float> a = BaseLogits();
      incremental.Apply({prompt, generated}, a);
      ASSERT_EQ(a, Penalised(params, prompt, generated)) << "window " << window << " step " << step;
      // Sometimes the engine hands over several tokens at once.
      const int appended = step % 5 == 0 ? 3 : 1;
      for (int i = 0; i < appended; ++i) generated.push_back(token(rng));
    }
  }
}

TEST(PenaltyTrackerTest, StartsOverWhenTheHistoryIsRewound) {
  SamplingParams params;
  params.repetition_penalty = 2.0f;
  params.frequency_penalty = 1.0f;
  PenaltyTracker tracker(params, kVocab);
  const std::vector<int32_t> prompt = {1};
  std::vector<int32_t> generated = {6, 6, 8};
  std::vector<float> logits = BaseLogits();
  tracker.Apply({prompt, generated}, logits);
  generated = {2};  // rewound and regenerated
  logits = BaseLogits();
  tracker.Apply({prompt, generated}, logits);
  EXPECT_EQ(logits, Penalised(params, prompt, generated));
}

TEST(PenaltyTrackerTest, RejectsTokensOutsideTheVocabulary) {
  SamplingParams params;
  params.presence_penalty = 1.0f;
  PenaltyTracker tracker(params, kVocab);
  std::vector<float> logits = BaseLogits();
  const std::vector<int32_t> bad = {kVocab};
  EXPECT_THROW(tracker.Apply({{}, bad}, logits), Error);
}

}  // namespace
}  // namespace kiln::engine
