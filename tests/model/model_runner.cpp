#include "model_runner.h"

#include <algorithm>
#include <numeric>
#include <random>
#include <stdexcept>
#include <thread>

namespace kiln::model::testing {

ModelRunner::ModelRunner(const Model& model, int max_tokens, int max_outputs, int num_blocks,
                         gguf::TensorType cache_type, int block_size, ActivationPrecision precision)
    : model_(model),
      cache_(model.config(), {num_blocks, block_size, cache_type}),
      workspace_(model.config(), max_tokens, max_outputs, precision),
      pool_(static_cast<int>(std::clamp(std::thread::hardware_concurrency(), 1u, 4u))) {}

std::vector<std::vector<std::vector<float>>> ModelRunner::Run(
    const std::vector<std::vector<int>>& sequences, int chunk) {
  // Scrambled block ids, dealt out to the sequences in turn.
  std::vector<int> free_blocks(cache_.num_blocks());
  std::iota(free_blocks.begin(), free_blocks.end(), 0);
  std::shuffle(free_blocks.begin(), free_blocks.end(), std::mt19937(1234));
  const int bs = cache_.block_size();
  BatchBuilder builder;
  std::vector<std::vector<std::int32_t>> tables(sequences.size());
  for (std::size_t s = 0; s < sequences.size(); ++s) {
    const std::size_t blocks = (sequences[s].size() + bs - 1) / bs;
    for (std::size_t b = 0; b < blocks; ++b) {
      if (free_blocks.empty()) throw std::runtime_error("ModelRunner: KV cache too small");
      tables[s].push_back(free_blocks.back());
      free_blocks.pop_back();
    }
  }

  std::vector<std::vector<std::vector<float>>> out(sequences.size());
  std::size_t longest = 0;
  for (const auto& s : sequences) longest = std::max(longest, s.size());
  const std::size_t step = chunk > 0 ? static_cast<std::size_t>(chunk) : longest;
  for (std::size_t begin = 0; begin < longest; begin += step) {
    builder.Clear();
    std::vector<int> owner;  // sequence of each output, in batch order
    for (std::size_t s = 0; s < sequences.size(); ++s) {
      const int seq = builder.AddSequence(tables[s]);
      const std::size_t end = std::min(sequences[s].size(), begin + step);
      for (std::size_t p = begin; p < end; ++p) {
        builder.AddToken(sequences[s][p], static_cast<int>(p), seq, true);
        owner.push_back(static_cast<int>(s));
      }
    }
    ForwardResult r = model_.Forward(builder.View(), cache_, workspace_, pool_);
    if (r.n_outputs != static_cast<int>(owner.size())) {
      throw std::runtime_error("ModelRunner: wrong number of outputs");
    }
    for (int o = 0; o < r.n_outputs; ++o) {
      std::span<const float> logits = r.Logits(o);
      out[owner[o]].emplace_back(logits.begin(), logits.end());
    }
  }
  return out;
}

}  // namespace kiln::model::testing
