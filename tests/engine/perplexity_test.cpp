// ComputePerplexity against a perplexity computed here from log-softmax of logits produced one
// token at a time (a different path through the model than the batched chunks).
#include "kiln/engine/perplexity.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "kiln/base/error.h"
#include "kiln/engine/generator.h"

namespace kiln::engine {
namespace {

const std::string kModel = std::string(KILN_FIXTURES_DIR) + "/models/tiny-llama-q8_0.gguf";

double LogSoftmaxAt(std::span<const float> logits, int token) {
  double m = -INFINITY, s = 0;
  for (float v : logits) m = std::max<double>(m, v);
  for (float v : logits) s += std::exp(v - m);
  return logits[token] - m - std::log(s);
}

TEST(Perplexity, EqualsExpMeanNllOfTheSecondHalves) {
  const model::Model model = model::Model::Load(kModel);
  kernels::ThreadPool pool(2);
  constexpr int kContext = 16;
  std::vector<std::int32_t> tokens;
  for (int i = 0; i < 2 * kContext + 5; ++i) tokens.push_back((i * 7919 + 13) % 32000);
  const std::int32_t bos = 1;
  const PerplexityResult r = ComputePerplexity(model, tokens, kContext, bos, pool);
  ASSERT_EQ(r.chunks, 2);
  EXPECT_EQ(r.scored_tokens, 2 * (kContext - 1 - kContext / 2));

  GeneratorOptions options;
  options.context_size = kContext;
  Generator generator(model, options, pool);
  double nll = 0;
  int scored = 0;
  for (int c = 0; c < 2; ++c) {
    generator.Reset();
    std::vector<std::int32_t> chunk(tokens.begin() + c * kContext,
                                    tokens.begin() + (c + 1) * kContext);
    chunk[0] = bos;
    for (int j = 0; j < kContext - 1; ++j) {
      const std::span<const float> logits = generator.Feed(std::span(&chunk[j], 1));
      if (j >= kContext / 2) {
        nll -= LogSoftmaxAt(logits, chunk[j + 1]);
        ++scored;
      }
    }
  }
  ASSERT_EQ(scored, r.scored_tokens);
  EXPECT_TRUE(std::isfinite(r.perplexity));
  EXPECT_NEAR(r.mean_nll, nll / scored, 1e-3);
  EXPECT_NEAR(r.perplexity, std::exp(nll / scored), 1e-3 * r.perplexity);
  EXPECT_DOUBLE_EQ(r.chunk_perplexity.back(), r.perplexity);
}

TEST(Perplexity, RejectsTextShorterThanAChunk) {
  const model::Model model = model::Model::Load(kModel);
  kernels::ThreadPool pool(1);
  const std::vector<std::int32_t> tokens(10, 5);
  EXPECT_THROW(ComputePerplexity(model, tokens, 16, std::nullopt, pool), Error);
  EXPECT_THROW(ComputePerplexity(model, tokens, 2, std::nullopt, pool), Error);
}

}  // namespace
}  // namespace kiln::engine
