// Scheduler without a model: decode before prefill, chunked prefill under the token budget,
// admission order, the sequence limit, preemption and recompute, prefix reuse and n>1 forks.
#include "kiln/engine/scheduler.h"

#include <gtest/gtest.h>

#include <memory>
#include <numeric>
#include <vector>

namespace kiln::engine {
namespace {

struct Harness {
  Harness(int blocks, int block_size, SchedulerOptions options, bool caching = true)
      : manager(blocks, block_size, "test", caching), scheduler(options, manager, policy) {}

  // Prompts differ between sequences unless first_token says otherwise.
  Sequence* Add(int prompt_length, int priority = 0, int first_token = -1) {
    if (first_token < 0) first_token = 1000 * static_cast<int>(next_id);
    auto s = std::make_unique<Sequence>();
    s->id = next_id++;
    s->info.arrival = arrival++;
    s->info.priority = priority;
    s->tokens.resize(prompt_length);
    std::iota(s->tokens.begin(), s->tokens.end(), first_token);
    s->prompt_length = prompt_length;
    scheduler.Add(s.get());
    sequences.push_back(std::move(s));
    return sequences.back().get();
  }

  // One step: plan, "run" it, and append a generated token to every sequence whose output came.
  StepPlan Step() {
    StepPlan plan = scheduler.Schedule();
    scheduler.Commit(plan);
    for (const ScheduledChunk& c : plan.chunks) {
      if (c.completes()) c.sequence->tokens.push_back(7);
    }
    return plan;
  }

  FcfsPriorityPolicy policy;
  KvBlockManager manager;
  Scheduler scheduler;
  std::vector<std::unique_ptr<Sequence>> sequences;
  SequenceId next_id = 1;
  std::uint64_t arrival = 0;
};

int ChunkOf(const StepPlan& plan, const Sequence* s) {
  for (const ScheduledChunk& c : plan.chunks) {
    if (c.sequence == s) return c.count;
  }
  return 0;
}

TEST(Scheduler, ChunksLongPromptsUnderTheTokenBudget) {
  Harness h(64, 4, {.max_sequences = 4, .max_batch_tokens = 8});
  Sequence* a = h.Add(20);
  StepPlan p1 = h.Step();
  ASSERT_EQ(p1.chunks.size(), 1u);
  EXPECT_EQ(p1.chunks[0].start, 0);
  EXPECT_EQ(p1.chunks[0].count, 8);
  EXPECT_FALSE(p1.chunks[0].completes());
  StepPlan p2 = h.Step();
  EXPECT_EQ(p2.chunks[0].start, 8);
  EXPECT_EQ(p2.chunks[0].count, 8);
  StepPlan p3 = h.Step();
  EXPECT_EQ(p3.chunks[0].count, 4);
  EXPECT_EQ(a->num_computed, 20);
  EXPECT_EQ(a->tokens.size(), 21u);
}

TEST(Scheduler, DecodesRunningSequencesBeforeAdmittingPrompts) {
  Harness h(64, 4, {.max_sequences = 4, .max_batch_tokens = 8});
  Sequence* a = h.Add(5);
  h.Step();  // a prefilled, one token generated
  Sequence* b = h.Add(10);
  StepPlan p = h.Step();
  ASSERT_EQ(p.chunks.size(), 2u);
  EXPECT_EQ(p.chunks[0].sequence, a);
  EXPECT_EQ(p.chunks[0].count, 1);
  EXPECT_EQ(p.chunks[1].sequence, b);
  EXPECT_EQ(p.chunks[1].count, 7);  // the rest of the budget
  EXPECT_EQ(p.tokens, 8);
  EXPECT_EQ(p.admitted, std::vector<Sequence*>{b});
}

TEST(Scheduler, RespectsTheSequenceLimitAndPriority) {
  Harness h(64, 4, {.max_sequences = 2, .max_batch_tokens = 64});
  Sequence* low = h.Add(3, /*priority=*/0);
  Sequence* mid = h.Add(3, /*priority=*/1);
  Sequence* high = h.Add(3, /*priority=*/5);
  StepPlan p = h.Step();
  ASSERT_EQ(p.chunks.size(), 2u);
  EXPECT_EQ(p.chunks[0].sequence, high);
  EXPECT_EQ(p.chunks[1].sequence, mid);
  EXPECT_EQ(h.scheduler.num_waiting(), 1);
  h.scheduler.Remove(high);
  StepPlan q = h.Step();
  EXPECT_EQ(ChunkOf(q, mid), 1);
  EXPECT_EQ(ChunkOf(q, low), 3);
}

TEST(Scheduler, FirstComeFirstServedWithinAPriority) {
  Harness h(64, 4, {.max_sequences = 1, .max_batch_tokens = 64});
  Sequence* first = h.Add(3);
  h.Add(3);
  StepPlan p = h.Step();
  ASSERT_EQ(p.chunks.size(), 1u);
  EXPECT_EQ(p.chunks[0].sequence, first);
}

TEST(Scheduler, PreemptsTheNewestWhenThePoolRunsOutAndRecomputesItLater) {
  // 4 blocks of 4 tokens; two sequences of 6 prompt tokens each take 2 blocks each.
  Harness h(4, 4, {.max_sequences = 4, .max_batch_tokens = 64}, /*caching=*/false);
  Sequence* a = h.Add(6);
  Sequence* b = h.Add(6);
  h.Step();  // both prefilled: 7 tokens each, 2 blocks each, pool full
  EXPECT_EQ(h.manager.free_blocks(), 0);
  h.Step();  // both compute positions 6, then 7: still within 2 blocks
  h.Step();
  EXPECT_TRUE(h.scheduler.preemptions() == 0);
  // Position 8 needs a third block each: b (newest) is preempted for a.
  StepPlan p = h.Step();
  EXPECT_EQ(p.preempted, std::vector<Sequence*>{b});
  EXPECT_EQ(ChunkOf(p, a), 1);
  EXPECT_EQ(ChunkOf(p, b), 0);
  EXPECT_EQ(b->state, Sequence::State::kWaiting);
  EXPECT_EQ(b->num_computed, 0);
  EXPECT_EQ(b->preemptions, 1);
  EXPECT_EQ(h.scheduler.preemptions(), 1u);
  const std::size_t b_tokens = b->tokens.size();
  // When a finishes, b is recomputed from scratch: prompt and generated tokens alike.
  h.scheduler.Remove(a);
  StepPlan q = h.Step();
  EXPECT_EQ(ChunkOf(q, b), static_cast<int>(b_tokens));
  EXPECT_EQ(b->tokens.size(), b_tokens + 1);
}

TEST(Scheduler, PreemptsTheLowestPriorityFirst) {
  Harness h(4, 4, {.max_sequences = 4, .max_batch_tokens = 64}, /*caching=*/false);
  Sequence* important = h.Add(6, /*priority=*/3);
  Sequence* casual = h.Add(6, /*priority=*/0);
  h.Step();
  h.Step();
  h.Step();
  // The casual one is newer and lower: it goes.
  StepPlan p = h.Step();
  EXPECT_EQ(p.preempted, std::vector<Sequence*>{casual});
  EXPECT_EQ(ChunkOf(p, important), 1);
}

TEST(Scheduler, APreemptedSequenceIsNotReadmittedInTheSameStep) {
  Harness h(4, 4, {.max_sequences = 4, .max_batch_tokens = 64}, /*caching=*/false);
  h.Add(6);
  Sequence* b = h.Add(6);
  h.Step();
  h.Step();
  h.Step();
  StepPlan p = h.Step();
  ASSERT_EQ(p.preempted.size(), 1u);
  EXPECT_TRUE(p.admitted.empty());
  EXPECT_EQ(b->state, Sequence::State::kWaiting);
}

TEST(Scheduler, StartsFromTheCachedPrefix) {
  Harness h(32, 4, {.max_sequences = 4, .max_batch_tokens = 64});
  Sequence* a = h.Add(13);
  h.Step();
  h.scheduler.Remove(a);
  Sequence* b = h.Add(13, 0, 1000 * static_cast<int>(a->id));  // the same prompt
  StepPlan p = h.Step();
  ASSERT_EQ(p.chunks.size(), 1u);
  EXPECT_EQ(p.chunks[0].start, 12);  // three full blocks reused
  EXPECT_EQ(p.chunks[0].count, 1);
  EXPECT_EQ(b->cached_tokens, 12);
}

TEST(Scheduler, EmbeddingsIgnoreThePrefixCache) {
  Harness h(32, 4, {.max_sequences = 4, .max_batch_tokens = 64});
  Sequence* a = h.Add(13);
  h.Step();
  h.scheduler.Remove(a);
  auto e = std::make_unique<Sequence>();
  e->id = 99;
  e->tokens = a->tokens;
  e->tokens.resize(13);
  e->prompt_length = 13;
  e->use_prefix_cache = false;
  h.scheduler.Add(e.get());
  StepPlan p = h.scheduler.Schedule();
  ASSERT_EQ(p.chunks.size(), 1u);
  EXPECT_EQ(p.chunks[0].start, 0);
  EXPECT_EQ(p.chunks[0].count, 13);
  h.scheduler.Remove(e.get());
}

TEST(Scheduler, ForkedChoicesWaitForTheParentPromptThenShareItsBlocks) {
  Harness h(32, 4, {.max_sequences = 4, .max_batch_tokens = 8}, /*caching=*/false);
  Sequence* parent = h.Add(10);
  auto child = std::make_unique<Sequence>();
  child->id = 50;
  child->info = parent->info;
  child->info.choice = 1;
  child->tokens = parent->tokens;
  child->prompt_length = 10;
  child->fork_parent = parent;
  h.scheduler.Add(child.get());

  StepPlan p1 = h.Step();  // parent's first 8 prompt tokens; the child waits
  EXPECT_EQ(ChunkOf(p1, parent), 8);
  EXPECT_EQ(ChunkOf(p1, child.get()), 0);
  StepPlan p2 = h.Step();  // parent completes its prompt; the child still waits
  EXPECT_EQ(ChunkOf(p2, parent), 2);
  EXPECT_EQ(ChunkOf(p2, child.get()), 0);
  StepPlan p3 = h.Step();  // child forks: shares 2 full blocks, computes the last 2 tokens
  EXPECT_EQ(ChunkOf(p3, parent), 1);
  ASSERT_EQ(ChunkOf(p3, child.get()), 2);
  const auto pt = h.manager.Table(parent->id);
  const auto ct = h.manager.Table(child->id);
  ASSERT_EQ(ct.size(), 3u);
  EXPECT_EQ(ct[0], pt[0]);
  EXPECT_EQ(ct[1], pt[1]);
  EXPECT_NE(ct[2], pt[2]);  // the partial block is the child's own
  EXPECT_EQ(h.manager.RefCount(pt[0]), 2);
  h.scheduler.Remove(child.get());
  EXPECT_EQ(h.manager.RefCount(pt[0]), 1);
}

TEST(Scheduler, RemoveFreesBlocksAndIsIdempotent) {
  Harness h(8, 4, {.max_sequences = 4, .max_batch_tokens = 64}, /*caching=*/false);
  Sequence* a = h.Add(10);
  h.Step();
  EXPECT_EQ(h.manager.used_blocks(), 3);
  h.scheduler.Remove(a);
  h.scheduler.Remove(a);
  EXPECT_EQ(h.manager.used_blocks(), 0);
  EXPECT_FALSE(h.scheduler.has_work());
  EXPECT_EQ(a->state, Sequence::State::kFinished);
}

}  // namespace
}  // namespace kiln::engine
