// Test helper: drives a Model over whole token sequences the way an engine would (prefill in
// one batch, chunked, token-by-token decode, or many sequences in one call), handing out KV
// blocks in a scrambled order so that paging bugs cannot hide behind contiguous blocks.
#pragma once

#include <memory>
#include <vector>

#include "kiln/kernels/thread_pool.h"
#include "kiln/model/model.h"

namespace kiln::model::testing {

class ModelRunner {
 public:
  ModelRunner(const Model& model, int max_tokens, int max_outputs, int num_blocks,
              gguf::TensorType cache_type = gguf::TensorType::kF16, int block_size = 16,
              ActivationPrecision precision = ActivationPrecision::kExact);

  // Logits after every position of each sequence ([sequence][position][vocab]), running the
  // sequences through the model together, `chunk` tokens of each per forward call (0: all of
  // them at once). Every call starts from an empty cache.
  std::vector<std::vector<std::vector<float>>> Run(const std::vector<std::vector<int>>& sequences,
                                                   int chunk);

  KvCache& cache() { return cache_; }
  ForwardWorkspace& workspace() { return workspace_; }
  kernels::ThreadPool& pool() { return pool_; }

 private:
  const Model& model_;
  KvCache cache_;
  ForwardWorkspace workspace_;
  kernels::ThreadPool pool_;
};

}  // namespace kiln::model::testing
