#include "kiln/model/model.h"

#include "kiln/base/error.h"
#include "kiln/kernels/dequantize.h"

namespace kiln::model {

Model Model::Load(const std::string& path) {
  return Model(gguf::GgufFile::Open(path));
}

Model::Model(gguf::GgufFile file)
    : file_(std::move(file)),
      config_(ReadModelConfig(file_)),
      weights_(BindWeights(file_, config_)),
      rope_(config_.rope, weights_.rope_freqs) {}

void Model::EmbedToken(int token, float* out) const {
  const Weight& e = weights_.token_embd;
  kernels::DequantizeRow(e.type, RowOf(e, token), out, e.cols);
}

void Model::CheckBatch(const ForwardBatch& b, const KvCache& cache,
                       const ForwardWorkspace& ws) const {
  const std::size_t n = b.tokens.size();
  if (!b.want_hidden.empty() && b.want_hidden.size() != n) {
    Fail("forward batch: {} tokens but {} hidden-state flags", n, b.want_hidden.size());
  }
  if (b.positions.size() != n || b.sequences.size() != n || b.want_logits.size() != n) {
    Fail("forward batch: {} tokens but {} positions, {} sequence ids and {} logits flags", n,
         b.positions.size(), b.sequences.size(), b.want_logits.size());
  }
  if (n > static_cast<std::size_t>(ws.max_tokens())) {
    Fail("forward batch of {} tokens exceeds the workspace's {}", n, ws.max_tokens());
  }
  if (cache.num_layers() != config_.block_count || cache.kv_heads() != config_.head_count_kv ||
      cache.key_length() != config_.key_length || cache.value_length() != config_.value_length) {
    Fail("KV cache shape ({} layers, {} heads of {}/{}) does not match the model ({}, {}, {}/{})",
         cache.num_layers(), cache.kv_heads(), cache.key_length(), cache.value_length(),
         config_.block_count, config_.head_count_kv, config_.key_length, config_.value_length);
  }
  for (const std::span<const std::int32_t>& table : b.block_tables) {
    for (std::int32_t block : table) {
      if (block < 0 || block >= cache.num_blocks()) {
        Fail("forward batch: block {} is outside the KV cache's {} blocks", block,
             cache.num_blocks());
      }
    }
  }
  int outputs = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (b.tokens[i] < 0 || b.tokens[i] >= config_.vocab_size) {
      Fail("forward batch: token id {} is outside the vocabulary of {}", b.tokens[i],
           config_.vocab_size);
    }
    if (b.sequences[i] < 0 || static_cast<std::size_t>(b.sequences[i]) >= b.block_tables.size()) {
      Fail("forward batch: sequence {} has no block table ({} given)", b.sequences[i],
           b.block_tables.size());
    }
    const std::size_t capacity =
        b.block_tables[b.sequences[i]].size() * static_cast<std::size_t>(cache.block_size());
    if (b.positions[i] < 0 || static_cast<std::size_t>(b.positions[i]) >= capacity) {
      Fail("forward batch: position {} of sequence {} is outside its {} cache slots",
           b.positions[i], b.sequences[i], capacity);
    }
    outputs += b.want_logits[i] != 0;
  }
  if (outputs > ws.max_outputs()) {
    Fail("forward batch wants {} logits rows but the workspace holds {}", outputs,
         ws.max_outputs());
  }
}

}  // namespace kiln::model
