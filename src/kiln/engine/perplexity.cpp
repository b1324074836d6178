#include "kiln/engine/perplexity.h"

#include <algorithm>
#include <cmath>

#include "kiln/base/error.h"
#include "kiln/engine/generator.h"
#include "kiln/engine/logprobs.h"

namespace kiln::engine {

PerplexityResult ComputePerplexity(const model::Model& model, std::span<const std::int32_t> tokens,
                                   int context, std::optional<std::int32_t> bos,
                                   kernels::ThreadPool& pool) {
  if (context < 4) Fail("perplexity needs a context of at least 4 tokens, got {}", context);
  const int chunks = static_cast<int>(tokens.size() / context);
  if (chunks == 0) {
    Fail(
        "the text has {} tokens, fewer than one chunk of {} (use a longer text or a smaller "
        "--ctx)",
        tokens.size(), context);
  }
  GeneratorOptions options;
  options.context_size = context;
  options.max_batch_tokens = context;
  options.max_outputs = context;
  Generator generator(model, options, pool);
  LogprobCalculator logprobs;

  PerplexityResult result;
  result.chunks = chunks;
  double nll_sum = 0;
  std::vector<std::int32_t> chunk(context);
  for (int c = 0; c < chunks; ++c) {
    std::copy_n(tokens.begin() + static_cast<std::ptrdiff_t>(c) * context, context, chunk.begin());
    if (bos) chunk[0] = *bos;
    generator.Reset();
    const model::ForwardResult out = generator.FeedAll(chunk);
    // The logits at position j predict token j + 1; score the second half.
    for (int j = context / 2; j < context - 1; ++j) {
      const std::span<const float> logits = out.Logits(j);
      nll_sum -= logits[chunk[j + 1]] - logprobs.LogSumExp(logits);
      ++result.scored_tokens;
    }
    result.chunk_perplexity.push_back(std::exp(nll_sum / result.scored_tokens));
  }
  result.mean_nll = nll_sum / result.scored_tokens;
  result.perplexity = std::exp(result.mean_nll);
  return result;
}

}  // namespace kiln::engine
