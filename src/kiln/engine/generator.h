// Generator: runs one token sequence through a Model, owning everything that sequence needs — a
// KV cache with blocks for the whole context, a forward workspace and a block table — so a CLI,
// a benchmark or a perplexity loop can feed tokens and read logits without knowing about paging.
// Sampling stays with the caller (engine::Sampler); this class only feeds tokens.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "kiln/kernels/thread_pool.h"
#include "kiln/model/forward_batch.h"
#include "kiln/model/forward_workspace.h"
#include "kiln/model/kv_cache.h"
#include "kiln/model/model.h"

namespace kiln::engine {

struct GeneratorOptions {
  // Tokens the sequence may hold; 0 means the model's trained context, capped at kDefaultContext
  // (a 128k-context model would otherwise reserve gigabytes of KV cache for a short prompt).
  int context_size = 0;
  // Largest forward call: longer prompts are prefilled in chunks of this many tokens.
  int max_batch_tokens = 512;
  // Most tokens of one call whose logits FeedAll can return (perplexity wants a whole chunk's).
  int max_outputs = 1;
  int block_size = 16;
  gguf::TensorType cache_type = gguf::TensorType::kF16;

  static constexpr int kDefaultContext = 4096;
};

class Generator {
 public:
  // kiln::Error for options the model cannot honour (a context longer than it was trained for
  // is allowed; a non-positive size is not).
  Generator(const model::Model& model, const GeneratorOptions& options, kernels::ThreadPool& pool);

  int context_size() const { return context_size_; }
  // Tokens in the cache so far: the position the next token will get.
  int position() const { return position_; }
  // Forgets the sequence (the cache is reused from position 0).
  void Reset() { position_ = 0; }

  // Appends `tokens` to the sequence, in forward calls of at most max_batch_tokens, and returns
  // the logits after the last one (valid until the next call). kiln::Error when the tokens do not
  // fit in the remaining context or are not in the vocabulary.
  std::span<const float> Feed(std::span<const std::int32_t> tokens);

  // Appends `tokens` (at most max_outputs of them) in one forward call and returns the logits
  // after every one of them.
  model::ForwardResult FeedAll(std::span<const std::int32_t> tokens);

 private:
  model::ForwardResult Forward(std::span<const std::int32_t> tokens, bool all_logits);

  const model::Model& model_;
  kernels::ThreadPool& pool_;
  int context_size_;
  int max_batch_tokens_;
  model::KvCache cache_;
  model::ForwardWorkspace workspace_;
  std::vector<std::int32_t> block_table_;
  std::vector<std::int32_t> positions_, sequences_;
  std::vector<std::uint8_t> want_logits_;
  int position_ = 0;
};

}  // namespace kiln::engine
