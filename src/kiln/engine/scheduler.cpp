#include "kiln/engine/scheduler.h"

#include <algorithm>

#include "kiln/base/error.h"

namespace kiln::engine {

Scheduler::Scheduler(const SchedulerOptions& options, KvBlockManager& blocks,
                     AdmissionPolicy& policy)
    : options_(options), blocks_(blocks), policy_(policy) {
  if (options.max_sequences < 1)
    Fail("max sequences must be positive, got {}", options.max_sequences);
  if (options.max_batch_tokens < 1) {
    Fail("the per-step token budget must be positive, got {}", options.max_batch_tokens);
  }
}

void Scheduler::Add(Sequence* sequence) {
  if (sequence->tokens.empty()) Fail("scheduler: sequence {} has no tokens", sequence->id);
  sequence->state = Sequence::State::kWaiting;
  sequence->num_computed = 0;
  waiting_.push_back(sequence);
}

void Scheduler::Remove(Sequence* sequence) {
  std::erase(running_, sequence);
  std::erase(waiting_, sequence);
  blocks_.Free(sequence->id);
  sequence->state = Sequence::State::kFinished;
}

void Scheduler::Preempt(Sequence* victim) {
  blocks_.Free(victim->id);
  victim->num_computed = 0;
  victim->state = Sequence::State::kWaiting;
  ++victim->preemptions;
  ++preemptions_;
  waiting_.push_back(victim);
}

int Scheduler::ForkBlocks(const Sequence& child) const {
  const Sequence* parent = child.fork_parent;
  if (parent == nullptr || parent->state == Sequence::State::kFinished) return 0;
  if (parent->state != Sequence::State::kRunning || parent->num_computed < parent->prompt_length) {
    return -1;  // its prompt is not in the cache yet: wait rather than compute it twice
  }
  // Full blocks of the prompt, keeping the last prompt token for the child to compute.
  const int blocks = (child.prompt_length - 1) / blocks_.block_size();
  return std::min<int>(blocks, static_cast<int>(blocks_.Table(parent->id).size()));
}

StepPlan Scheduler::Schedule() {
  StepPlan plan;
  int budget = options_.max_batch_tokens;
  auto before = [this](const Sequence* a, const Sequence* b) { return Before(a, b); };

  // Running sequences in policy order, so that victims (taken from the back) are never ones
  // already scheduled this step.
  std::stable_sort(running_.begin(), running_.end(), before);
  for (std::size_t i = 0; i < running_.size() && budget > 0;) {
    Sequence* seq = running_[i];
    const int n = std::min(static_cast<int>(seq->tokens.size()) - seq->num_computed, budget);
    if (n <= 0) {
      ++i;
      continue;
    }
    bool preempted_self = false;
    while (!blocks_.Reserve(seq->id, seq->num_computed + n)) {
      Sequence* victim = running_.back();
      running_.pop_back();
      Preempt(victim);
      plan.preempted.push_back(victim);
      if (victim == seq) {
        preempted_self = true;
        break;
      }
    }
    if (preempted_self) break;  // it was the last running one in order
    plan.chunks.push_back({seq, seq->num_computed, n});
    plan.tokens += n;
    budget -= n;
    ++i;
  }

  // Admit waiting sequences unless this step already had to preempt (the pool is full).
  if (!plan.preempted.empty()) return plan;
  std::stable_sort(waiting_.begin(), waiting_.end(), before);
  for (std::size_t i = 0; i < waiting_.size();) {
    if (budget <= 0 || static_cast<int>(running_.size()) >= options_.max_sequences) break;
    Sequence* seq = waiting_[i];
    const int fork = ForkBlocks(*seq);
    if (fork < 0) {
      ++i;
      continue;
    }
    seq->num_computed = 0;
    seq->cached_tokens = 0;
    if (fork > 0) {
      blocks_.Share(seq->id, seq->fork_parent->id, fork);
      seq->num_computed = fork * blocks_.block_size();
    } else if (seq->use_prefix_cache) {
      seq->cached_tokens = blocks_.AcquireCachedPrefix(seq->id, seq->tokens);
      seq->num_computed = seq->cached_tokens;
    }
    const int n = std::min(static_cast<int>(seq->tokens.size()) - seq->num_computed, budget);
    if (!blocks_.Reserve(seq->id, seq->num_computed + n)) {
      // Strict order: a later, smaller request does not overtake this one.
      blocks_.Free(seq->id);
      seq->num_computed = 0;
      seq->cached_tokens = 0;
      break;
    }
    waiting_.erase(waiting_.begin() + static_cast<std::ptrdiff_t>(i));
    seq->state = Sequence::State::kRunning;
    running_.push_back(seq);
    plan.admitted.push_back(seq);
    plan.chunks.push_back({seq, seq->num_computed, n});
    plan.tokens += n;
    budget -= n;
  }
  return plan;
}

void Scheduler::Commit(const StepPlan& plan) {
  for (const ScheduledChunk& c : plan.chunks) {
    Sequence* seq = c.sequence;
    if (seq->state != Sequence::State::kRunning) continue;
    seq->num_computed = c.start + c.count;
    blocks_.MarkComputed(seq->id, seq->tokens, seq->num_computed);
    policy_.OnTokensScheduled(seq->info.tenant, c.count);
  }
}

}  // namespace kiln::engine
