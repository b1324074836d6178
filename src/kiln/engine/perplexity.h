// Perplexity of a model on a token stream, as llama.cpp's llama-perplexity measures it: the
// stream is cut into chunks of `context` tokens, each chunk runs in one forward pass from an
// empty cache, and only the second half of each chunk's predictions is scored (those tokens
// have at least context/2 tokens of history), so numbers are comparable with llama.cpp's.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "kiln/kernels/thread_pool.h"
#include "kiln/model/model.h"

namespace kiln::engine {

struct PerplexityResult {
  int chunks = 0;
  std::int64_t scored_tokens = 0;
  double mean_nll = 0;                   // mean negative log-likelihood (nats) of the scored tokens
  double perplexity = 0;                 // exp(mean_nll)
  std::vector<double> chunk_perplexity;  // running perplexity after each chunk
};

// `bos`: when set, the first token of every chunk is replaced by it (llama.cpp does this for
// vocabularies that add BOS). kiln::Error when the stream holds fewer than one chunk or
// `context` < 4.
PerplexityResult ComputePerplexity(const model::Model& model, std::span<const std::int32_t> tokens,
                                   int context, std::optional<std::int32_t> bos,
                                   kernels::ThreadPool& pool);

}  // namespace kiln::engine
