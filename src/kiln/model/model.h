// Model: a loaded decoder model (llama, qwen2, qwen3): its configuration, its weights bound in
// place in the GGUF memory map, and the batched forward pass over a paged KV cache. A Model is
// immutable after loading; concurrent forward calls need their own workspace, cache and pool.
#pragma once

#include <string>

#include "kiln/gguf/gguf_file.h"
#include "kiln/kernels/thread_pool.h"
#include "kiln/model/forward_batch.h"
#include "kiln/model/forward_workspace.h"
#include "kiln/model/kv_cache.h"
#include "kiln/model/model_config.h"
#include "kiln/model/model_weights.h"
#include "kiln/model/rope.h"

namespace kiln::model {

class Model {
 public:
  // Opens, checks and binds a GGUF model; kiln::Error for anything Kiln cannot run.
  static Model Load(const std::string& path);
  explicit Model(gguf::GgufFile file);

  Model(Model&&) noexcept = default;
  Model& operator=(Model&&) noexcept = default;

  const ModelConfig& config() const { return config_; }
  const ModelWeights& weights() const { return weights_; }
  const gguf::GgufFile& file() const { return file_; }

  // Runs `batch` through the model: writes every token's keys and values into `cache`, attends
  // causally over each token's own sequence, and returns logits (and final hidden states) of
  // the tokens that want them, in batch order. kiln::Error for a batch that does not fit the
  // workspace or refers to tokens, sequences or blocks that do not exist.
  ForwardResult Forward(const ForwardBatch& batch, KvCache& cache, ForwardWorkspace& workspace,
                        kernels::ThreadPool& pool) const;

  // Writes the embedding of `token` (embedding_length floats).
  void EmbedToken(int token, float* out) const;

 private:
  void CheckBatch(const ForwardBatch& batch, const KvCache& cache,
                  const ForwardWorkspace& workspace) const;
  void AttentionBlock(int layer, const ForwardBatch& batch, KvCache& cache, ForwardWorkspace& ws,
                      kernels::ThreadPool& pool) const;
  void FeedForwardBlock(int layer, int n_tokens, ForwardWorkspace& ws,
                        kernels::ThreadPool& pool) const;

  gguf::GgufFile file_;
  ModelConfig config_;
  ModelWeights weights_;
  RopeTable rope_;
};

}  // namespace kiln::model
