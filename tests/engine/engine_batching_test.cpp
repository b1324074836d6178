// The engine's must-shows that involve many sequences: batch invariance, the prefix cache,
// preemption under pool exhaustion, n>1 choices sharing a prompt, and embeddings.
#include <gtest/gtest.h>

#include <cmath>

#include "engine/engine_test_util.h"
#include "kiln/base/error.h"
#include "kiln/engine/engine.h"
#include "kiln/engine/generator.h"

namespace kiln::engine {
namespace {

using testing::Llama;
using testing::Prompt;
using testing::RunRequest;
using testing::RunTogether;
using testing::SmallOptions;

// 32 requests, each with its own prompt, seed and sampling settings.
std::vector<Request> VariedRequests(int count, int max_tokens) {
  std::vector<Request> requests;
  for (int i = 0; i < count; ++i) {
    Request q;
    q.prompt = Prompt(3 + (i * 7) % 37, 500 + i);
    SamplingParams& p = q.params;
    p.seed = 1000 + i;
    p.max_tokens = max_tokens;
    p.ignore_eos = true;
    switch (i % 4) {
      case 0:
        p.temperature = 0;
        break;
      case 1:
        p.temperature = 0.8f;
        p.top_k = 40;
        break;
      case 2:
        p.temperature = 1.2f;
        p.top_p = 0.9f;
        p.min_p = 0.02f;
        break;
      case 3:
        p.temperature = 0.7f;
        p.repetition_penalty = 1.3f;
        p.frequency_penalty = 0.5f;
        break;
    }
    q.request_id = "r" + std::to_string(i);
    requests.push_back(std::move(q));
  }
  return requests;
}

TEST(EngineBatching, ThirtyTwoRequestsGiveTheSameTokensAloneAndTogether) {
  constexpr int kRequests = 32;
  constexpr int kTokens = 6;
  EngineOptions o = SmallOptions();
  o.max_sequences = kRequests;
  o.max_batch_tokens = 96;  // prompts are chunked differently when batched
  o.prefix_caching = false;
  Engine engine(Llama().model, *Llama().tokenizer, o);
  std::vector<std::vector<std::int32_t>> alone;
  for (Request& q : VariedRequests(kRequests, kTokens)) {
    alone.push_back(RunRequest(engine, std::move(q)).choices[0].tokens);
  }
  const std::vector<testing::RequestResult> together =
      RunTogether(engine, VariedRequests(kRequests, kTokens));
  for (int i = 0; i < kRequests; ++i) {
    ASSERT_EQ(alone[i].size(), static_cast<std::size_t>(kTokens));
    EXPECT_EQ(together[i].choices[0].tokens, alone[i]) << "request " << i;
  }
  // Truly batched: far fewer steps than one request at a time would take.
  EXPECT_GT(engine.Stats().steps, 0u);
}

TEST(EngineBatching, APrefixSharedWithAnEarlierRequestPrefillsOnlyTheSuffix) {
  constexpr int kPrefix = 1000;
  EngineOptions o = SmallOptions();
  o.context_size = 1100;
  o.max_sequences = 2;
  const std::vector<std::int32_t> prefix = Prompt(kPrefix, 77);
  auto with_suffix = [&](std::uint32_t salt) {
    Request q;
    q.prompt = prefix;
    const std::vector<std::int32_t> suffix = Prompt(20, salt);
    q.prompt.insert(q.prompt.end(), suffix.begin(), suffix.end());
    q.params.temperature = 0.7f;
    q.params.seed = 5;
    q.params.max_tokens = 6;
    q.params.ignore_eos = true;
    return q;
  };

  Engine cached(Llama().model, *Llama().tokenizer, o);
  RunRequest(cached, with_suffix(1));  // the earlier request
  const EngineStats before = cached.Stats();
  EXPECT_EQ(before.computed_prompt_tokens, static_cast<std::uint64_t>(kPrefix + 20));
  const testing::RequestResult second = RunRequest(cached, with_suffix(2));
  const EngineStats after = cached.Stats();
  // 1000 = 62 full blocks of 16 (992 tokens) + 8: the full blocks are reused.
  const int reused = kPrefix / 16 * 16;
  EXPECT_EQ(second.usage.cached_prompt_tokens, reused);
  EXPECT_EQ(after.cached_prompt_tokens - before.cached_prompt_tokens,
            static_cast<std::uint64_t>(reused));
  EXPECT_EQ(after.computed_prompt_tokens - before.computed_prompt_tokens,
            static_cast<std::uint64_t>(kPrefix + 20 - reused));
  EXPECT_GT(after.prefix_cache_hit_rate(), 0.4);

  o.prefix_caching = false;
  Engine uncached(Llama().model, *Llama().tokenizer, o);
  const testing::RequestResult fresh = RunRequest(uncached, with_suffix(2));
  EXPECT_EQ(fresh.usage.cached_prompt_tokens, 0);
  EXPECT_EQ(uncached.Stats().computed_prompt_tokens, static_cast<std::uint64_t>(kPrefix + 20));
  EXPECT_EQ(second.choices[0].tokens, fresh.choices[0].tokens);
}

TEST(EngineBatching, PoolExhaustionPreemptsAndEveryRequestStillCompletesCorrectly) {
  constexpr int kRequests = 8;
  constexpr int kTokens = 24;
  EngineOptions o = SmallOptions();
  o.max_sequences = kRequests;
  o.block_size = 16;
  o.prefix_caching = false;
  // 12 blocks: each request needs up to 4 (40 + 24 tokens), so 8 at once do not fit.
  const model::KvCache probe(Llama().model.config(), {.num_blocks = 1, .block_size = 16});
  o.kv_memory_bytes = 12 * static_cast<std::int64_t>(probe.bytes());
  auto requests = [&] {
    std::vector<Request> v;
    for (int i = 0; i < kRequests; ++i) {
      Request q;
      q.prompt = Prompt(30 + i, 900 + i);
      q.params.temperature = i % 2 ? 0.0f : 0.9f;
      q.params.seed = i;
      q.params.max_tokens = kTokens;
      q.params.ignore_eos = true;
      v.push_back(std::move(q));
    }
    return v;
  };
  Engine small(Llama().model, *Llama().tokenizer, o);
  const std::vector<testing::RequestResult> squeezed = RunTogether(small, requests());
  EXPECT_GT(small.Stats().preemptions, 0u);

  EngineOptions roomy = SmallOptions();
  roomy.prefix_caching = false;
  Engine big(Llama().model, *Llama().tokenizer, roomy);
  for (int i = 0; i < kRequests; ++i) {
    const testing::RequestResult alone = RunRequest(big, requests()[i]);
    ASSERT_EQ(squeezed[i].choices[0].tokens.size(), static_cast<std::size_t>(kTokens));
    EXPECT_EQ(squeezed[i].choices[0].tokens, alone.choices[0].tokens) << "request " << i;
    EXPECT_EQ(squeezed[i].choices[0].text, alone.choices[0].text);
  }
  EXPECT_EQ(big.Stats().preemptions, 0u);
}

TEST(EngineBatching, ChoicesShareThePromptAndTheFirstMatchesASingleRequest) {
  Engine engine(Llama().model, *Llama().tokenizer, SmallOptions());
  Request q;
  q.prompt = Prompt(37, 31);
  q.params.n = 4;
  q.params.temperature = 1.0f;
  q.params.seed = 99;
  q.params.max_tokens = 8;
  q.params.ignore_eos = true;
  const testing::RequestResult r = RunRequest(engine, q);
  ASSERT_EQ(r.choices.size(), 4u);
  int distinct = 0;
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(r.choices[i].tokens.size(), 8u);
    EXPECT_EQ(r.choices[i].finish, FinishReason::kLength);
    if (i > 0 && r.choices[i].tokens != r.choices[0].tokens) ++distinct;
  }
  EXPECT_GE(distinct, 2);  // independent random streams
  EXPECT_EQ(r.usage.completion_tokens, 32);
  EXPECT_EQ(r.usage.prompt_tokens, 37);
  // The prompt was computed once, plus each later choice's partial last block (37 = 2 * 16 + 5).
  EXPECT_EQ(engine.Stats().computed_prompt_tokens, 37u + 3u * 5u);

  Request single = q;
  single.params.n = 1;
  EXPECT_EQ(RunRequest(engine, single).choices[0].tokens, r.choices[0].tokens);
  // And every choice is reproducible with its seed.
  EXPECT_EQ(RunRequest(engine, q).choices[3].tokens, r.choices[3].tokens);
}

TEST(EngineBatching, EmbeddingsAreTheNormalizedMeanOfFinalHiddenStates) {
  EngineOptions o = SmallOptions();
  o.max_batch_tokens = 16;  // the prompt is embedded over several steps
  Engine engine(Llama().model, *Llama().tokenizer, o);
  Request q;
  q.task = Task::kEmbed;
  q.prompt = Prompt(40, 41);
  const testing::RequestResult r = RunRequest(engine, q);
  const int embd = Llama().model.config().embedding_length;
  ASSERT_EQ(r.embedding.size(), static_cast<std::size_t>(embd));
  EXPECT_TRUE(r.choices[0].tokens.empty());
  EXPECT_EQ(r.choices[0].finish, FinishReason::kStop);

  // Reference: every token's hidden state from the single-sequence generator.
  kernels::ThreadPool pool(2);
  GeneratorOptions g;
  g.context_size = 64;
  g.max_outputs = 40;
  g.max_batch_tokens = 40;
  Generator generator(Llama().model, g, pool);
  const model::ForwardResult all = generator.FeedAll(q.prompt);
  std::vector<double> mean(embd, 0.0);
  for (int t = 0; t < 40; ++t) {
    for (int d = 0; d < embd; ++d) mean[d] += all.Hidden(t)[d] / 40.0;
  }
  double norm = 0;
  for (double v : mean) norm += v * v;
  norm = std::sqrt(norm);
  double length = 0;
  for (int d = 0; d < embd; ++d) {
    EXPECT_NEAR(r.embedding[d], mean[d] / norm, 1e-5) << d;
    length += static_cast<double>(r.embedding[d]) * r.embedding[d];
  }
  EXPECT_NEAR(length, 1.0, 1e-5);

  Request bad = q;
  bad.params.n = 2;
  EXPECT_THROW(engine.Submit(bad, [](Event&&) {}), Error);
}

}  // namespace
}  // namespace kiln::engine
