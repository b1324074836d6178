// Scheduler: decides, step by step, which tokens of which sequences the next forward pass
// computes. Running sequences go first (one decode token each, or the next chunk of a prompt),
// then waiting ones are admitted in the admission policy's order under the per-step token
// budget. When the KV pool runs dry a running sequence is preempted (its blocks freed, its tokens
// recomputed later). It knows nothing of models or sampling, so it is unit-tested on its own.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "kiln/engine/admission_policy.h"
#include "kiln/engine/kv_block_manager.h"

namespace kiln::engine {

// One sequence as the scheduler sees it. The owner (the engine, or a test) creates it, appends
// generated tokens between steps and keeps it alive until Remove.
struct Sequence {
  enum class State { kNew, kWaiting, kRunning, kFinished };

  SequenceId id = 0;
  AdmissionInfo info;
  std::vector<std::int32_t> tokens;  // the prompt, then the generated tokens
  int prompt_length = 0;
  // Embeddings need every prompt token's hidden state, so they never start from cached blocks.
  bool use_prefix_cache = true;
  // n>1: a later choice waits until its parent's prompt is computed, then shares its full blocks.
  // The parent must outlive the child's admission.
  const Sequence* fork_parent = nullptr;

  // Maintained by the scheduler.
  State state = State::kNew;
  int num_computed = 0;   // leading tokens whose keys and values are in the cache
  int cached_tokens = 0;  // tokens the latest admission found in the prefix cache
  int preemptions = 0;
};

struct SchedulerOptions {
  int max_sequences = 8;       // running at once
  int max_batch_tokens = 512;  // tokens per step
};

// A run of tokens [start, start + count) of one sequence to compute this step.
struct ScheduledChunk {
  Sequence* sequence = nullptr;
  int start = 0;
  int count = 0;
  // The chunk ends at the sequence's last known token, whose output (logits) is then due.
  bool completes() const { return start + count == static_cast<int>(sequence->tokens.size()); }
};

struct StepPlan {
  std::vector<ScheduledChunk> chunks;  // running sequences first, then newly admitted ones
  std::vector<Sequence*> preempted;    // sent back to waiting this step (recomputed later)
  std::vector<Sequence*> admitted;     // moved from waiting to running this step
  int tokens = 0;
  bool empty() const { return chunks.empty(); }
};

class Scheduler {
 public:
  Scheduler(const SchedulerOptions& options, KvBlockManager& blocks, AdmissionPolicy& policy);

  // Queues a sequence (state kNew) for admission.
  void Add(Sequence* sequence);
  // Drops a sequence (finished or cancelled) and frees its blocks. Idempotent.
  void Remove(Sequence* sequence);

  // Plans the next step. Allocates the KV blocks the plan needs (preempting when it must).
  StepPlan Schedule();
  // After the forward pass: advances num_computed and registers full blocks in the prefix cache.
  void Commit(const StepPlan& plan);

  int num_running() const { return static_cast<int>(running_.size()); }
  int num_waiting() const { return static_cast<int>(waiting_.size()); }
  bool has_work() const { return !running_.empty() || !waiting_.empty(); }
  std::span<Sequence* const> running() const { return running_; }
  std::span<Sequence* const> waiting() const { return waiting_; }
  std::uint64_t preemptions() const { return preemptions_; }

 private:
  void Preempt(Sequence* victim);
  // Blocks to take from a fork parent, or -1 when the child must wait for it.
  int ForkBlocks(const Sequence& child) const;
  bool Before(const Sequence* a, const Sequence* b) const {
    return policy_.Before(a->info, b->info);
  }

  SchedulerOptions options_;
  KvBlockManager& blocks_;
  AdmissionPolicy& policy_;
  std::vector<Sequence*> running_;
  std::vector<Sequence*> waiting_;
  std::uint64_t preemptions_ = 0;
};

}  // namespace kiln::engine
